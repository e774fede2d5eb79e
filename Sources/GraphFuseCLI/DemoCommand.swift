import Foundation
import GraphFuse

/// `graphfuse demo [MODEL]`: the main job on one model (default zoo:resnet18) — optimize it, print
/// its fused-group report, check the compiled output against the reference executor, and time
/// unfused / folded / fused on the compiled backend.
enum DemoCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    guard args.positional.count <= 1 else {
      throw GraphFuseError("usage: graphfuse demo [MODEL] … (one model; see graphfuse demo --help)")
    }
    let model = args.positional.first ?? "zoo:resnet18"
    let graph = try ModelLoader.load(model, shapes: args.shapes(), batch: args.value(.batch).flatMap { Int($0) })
    let optimizeOptions = try args.optimizeOptions()
    let json = args.flag(.json)
    let inputs = graph.sampleInputs()
    let optimized = try graph.optimized(optimizeOptions)
    if !json {
      print("GraphFuse demo: \(model), input " + graph.inputs.map { "\(graph.shape(of: $0))" }.joined(separator: " "))
      print("source ops: " + graph.opCounts.map { "\($0.op)×\($0.count)" }.joined(separator: " "))
      print("")
      print(optimized.report(model: model))
      print("")
    }
    let options = try BenchCommand.benchOptions(args, runs: 20, warmup: 3)
    let compiled = try CompiledModel.compile(
      optimized.graph, plan: optimized.plan, options: CompileOptions(threads: options.threads))
    let outputs = try compiled.run(inputs)
    let references = try ReferenceExecutor.run(graph, inputs: inputs)
    for (k, (output, reference)) in zip(outputs, references).enumerated() {
      let comparison = output.compared(to: reference)
      if !json {
        print("compiled fused model vs reference executor on the unoptimized graph, output \(k): \(comparison)")
      }
      guard comparison.isWithin(relative: 1e-4) else {
        throw GraphFuseError("the compiled output \(k) differs from the reference: \(comparison)")
      }
      if !json { print(OutputSummary.describe(output, index: k)) }
    }
    if !json { print("") }
    let report = try BenchCommand.measure(
      graph, model: model, options: options, inputs: inputs, check: .golden(references))
    print(json ? report.json : report.description)
  }
}
