import Foundation
import GraphFuse

/// `graphfuse demo`: the main job on the built-in default — optimize zoo:resnet18, print its
/// fused-group report, check the compiled output against the reference executor, and time
/// unfused / folded / fused on the compiled backend.
enum DemoCommand {
  static func run(_ raw: [String]) throws(GraphFuseError) {
    let args = try Arguments(raw, valued: ["runs", "warmup", "threads", "peak"], flags: [])
    let model = "zoo:resnet18"
    let graph = try ModelZoo.build("resnet18")
    print("GraphFuse demo: \(model), input \(graph.shape(of: graph.inputs[0]))")
    print("source ops: " + graph.opCounts.map { "\($0.op)×\($0.count)" }.joined(separator: " "))
    print("")
    let optimized = try graph.optimized()
    print(optimized.report(model: model))
    print("")

    let options = try BenchCommand.benchOptions(args, runs: 20, warmup: 3)
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 42)
    let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompileOptions(threads: options.threads))
    let output = try compiled.run([input])[0]
    let reference = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let comparison = output.compared(to: reference)
    print("compiled fused model vs reference executor on the unoptimized graph: \(comparison)")
    guard comparison.isWithin(relative: 1e-4) else { throw GraphFuseError("the compiled output differs from the reference: \(comparison)") }
    print(OutputSummary.describe(output, index: 0))
    print("")
    print(try BenchCommand.measure(graph, model: model, options: options))
  }
}
