import Foundation
import GraphFuse
import GraphFuseONNX

/// `graphfuse run MODEL --input F [--output F] [--backend compiled|reference]`.
enum RunCommand {
  static func run(_ raw: [String]) throws(GraphFuseError) {
    let args = try Arguments(raw, valued: ["input", "output", "backend", "threads", "shape", "keep", "opaque"], flags: ["no-fold", "no-fuse", "no-chain"])
    let model = try args.model("run")
    let graph = try ModelLoader.load(model, shapes: args.shapes())
    guard let inputPath = args.value("input") else { throw GraphFuseError("run needs --input FILE (raw little-endian float32)") }
    let paths = inputPath.split(separator: ",").map(String.init)
    guard paths.count == graph.inputs.count else {
      throw GraphFuseError("the model has \(graph.inputs.count) inputs; give --input with \(graph.inputs.count) comma-separated files")
    }
    var inputs: [Tensor] = []
    for (path, id) in zip(paths, graph.inputs) { inputs.append(try RawTensorFile.read(path: path, shape: graph.shape(of: id))) }
    let backend = args.value("backend") ?? "compiled"
    let optimized = try graph.optimized(args.optimizeOptions())
    let outputs: [Tensor]
    switch backend {
    case "reference": outputs = try ReferenceExecutor.run(optimized.graph, inputs: inputs)
    case "compiled":
      let threads = try args.int("threads", default: ProcessInfo.processInfo.activeProcessorCount)
      outputs = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompileOptions(threads: threads)).run(inputs)
    default: throw GraphFuseError("unknown backend '\(backend)' (compiled or reference)")
    }
    if let outputPath = args.value("output") { try RawTensorFile.write(outputs[0], path: outputPath) }
    for (k, out) in outputs.enumerated() { print(OutputSummary.describe(out, index: k)) }
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
