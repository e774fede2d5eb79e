import Foundation
import GraphFuse

/// `graphfuse demo`: the main job on the built-in default, zoo:resnet18.
enum DemoCommand {
  static func run(_ raw: [String]) throws(GraphFuseError) {
    _ = try Arguments(raw, valued: [], flags: [])
    let model = "zoo:resnet18"
    let graph = try ModelZoo.build("resnet18")
    print("GraphFuse demo: \(model), input \(graph.shape(of: graph.inputs[0]))")
    print("source ops: " + graph.opCounts.map { "\($0.op)×\($0.count)" }.joined(separator: " "))
    print("")
    let optimized = try graph.optimized()
    print(optimized.report(model: model))
    print("")
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 2024)
    let start = DispatchTime.now()
    let output = try ReferenceExecutor.run(optimized.graph, inputs: [input])[0]
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print("reference executor (folded graph): \(String(format: "%.2f", seconds)) s")
    print(OutputSummary.describe(output, index: 0))
  }
}
