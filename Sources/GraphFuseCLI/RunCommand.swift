import Foundation
import GraphFuse
import GraphFuseONNX

/// `graphfuse run MODEL --input F [--output PATH] [--expect F] [--backend compiled|reference]`.
enum RunCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    guard let inputPath = args.value(.input) else {
      throw GraphFuseError(
        "run needs --input FILE (.npy of float32, int64, int32 or bool, or raw little-endian float32)")
    }
    let paths = inputPath.split(separator: ",").map(String.init)
    // An .npy file's own shape fills an input's symbolic dimensions (batch, sequence) without --shape.
    let fileShapes = paths.map { $0.hasSuffix(".npy") ? (try? NPYFile.readTyped(path: $0))?.tensor.shape : nil }
    let graph = try ModelLoader.load(
      model, shapes: args.shapes(), batch: args.value(.batch).flatMap { Int($0) }, inputShapes: fileShapes)
    let inputs = try readInputs(graph, paths: paths)
    let optimized = try graph.optimized(args.optimizeOptions())
    let outputs: [Tensor]
    switch args.value(.backend) ?? "compiled" {
    case "reference": outputs = try ReferenceExecutor.run(optimized.graph, inputs: inputs)
    default:
      let threads = args.int(.threads, default: ProcessInfo.processInfo.activeProcessorCount)
      let compiled = try CompiledModel.compile(
        optimized.graph, plan: optimized.plan, options: CompileOptions(threads: threads))
      outputs = try compiled.run(inputs)
    }
    if let spec = args.value(.output) {
      let paths = try TensorFiles.paths(spec, count: outputs.count, option: "--output")
      for (k, (output, path)) in zip(outputs, paths).enumerated() {
        try TensorFiles.write(output, to: path, dataType: optimized.graph.dataType(of: optimized.graph.outputs[k]))
      }
    }
    for (k, out) in outputs.enumerated() { print(OutputSummary.describe(out, index: k)) }
    if let spec = args.value(.expect) { try expect(outputs, spec: spec, tolerance: args.value(.tolerance)) }
  }

  /// The model's inputs from `paths`, one per input in order, each of its shape and element type.
  static func readInputs(_ graph: Graph, paths: [String]) throws(GraphFuseError) -> [Tensor] {
    guard paths.count == graph.inputs.count else {
      throw GraphFuseError(
        "the model has \(graph.inputs.count) input\(graph.inputs.count == 1 ? "" : "s"); give --input with "
          + (graph.inputs.count == 1 ? "one file" : "\(graph.inputs.count) comma-separated files"))
    }
    var inputs: [Tensor] = []
    for (k, (path, id)) in zip(paths, graph.inputs).enumerated() {
      inputs.append(
        try TensorFiles.read(
          path, shape: graph.shape(of: id), dataType: graph.dataType(of: id),
          what: "model input \(k) ('\(graph.values[id].name)')"))
    }
    return inputs
  }

  /// Compares every output with its expected file; a difference above the tolerance is an error.
  static func expect(_ outputs: [Tensor], spec: String, tolerance: String?) throws(GraphFuseError) {
    let relative = Float(tolerance ?? "") ?? 1e-4
    var failures: [String] = []
    for (k, (output, path)) in zip(outputs, try TensorFiles.paths(spec, count: outputs.count, option: "--expect"))
      .enumerated()
    {
      let expected = try TensorFiles.read(path, shape: output.shape, what: "output \(k)")
      let comparison = output.compared(to: expected)
      let ok = comparison.isWithin(relative: relative)
      print("output \(k) vs \(path): \(comparison) — \(ok ? "ok" : "DIFFERS") (tolerance \(relative))")
      if !ok { failures.append("output \(k) differs from \(path): \(comparison), tolerance \(relative)") }
    }
    if !failures.isEmpty { throw GraphFuseError(failures.joined(separator: "; ")) }
  }
}

/// One-line summaries of output tensors: shape, range, and the top-5 classes of a [1, N] output.
enum OutputSummary {
  static func describe(_ t: Tensor, index: Int) -> String {
    let lo = t.data.min() ?? 0, hi = t.data.max() ?? 0
    var text = "output \(index): \(t.shape) min \(String(format: "%.4f", lo)) max \(String(format: "%.4f", hi))"
    if t.rank == 2, t.shape[0] == 1, t.shape[1] > 5 {
      let top = t.data.enumerated().sorted { $0.element > $1.element }.prefix(5)
      text += "\n  top-5: " + top.map { "\($0.offset) (\(String(format: "%.4f", $0.element)))" }.joined(separator: ", ")
    }
    return text
  }
}
