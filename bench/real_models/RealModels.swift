import Foundation
import GraphFuse
import GraphFuseONNX

enum RealModels {
  static func run(_ name: String, runs: Int, threads: Int) throws {
    let dir = "/work/shared/models/"
    let graph = try ONNXImporter.load(path: dir + name + ".onnx")
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + name + ".json"))) as! [String: Any]
    let inShape = meta["input_shape"] as! [Int], outShape = meta["output_shape"] as! [Int]
    let input = try RawTensorFile.read(path: dir + name + ".input.bin", shape: inShape)
    let golden = try RawTensorFile.read(path: dir + name + ".output.bin", shape: outShape)
    let opt = try graph.optimized()
    for (label, g, plan) in [("unfused", graph, FusionPlan.unfused(graph)), ("fused", opt.graph, opt.plan)] {
      var model: CompiledModel! = nil
      let t = try seconds { model = try CompiledModel.compile(g, plan: plan, options: CompileOptions(threads: threads)) }
      let out = try model.run([input])[0]
      let l = try latency(model, [input], runs: runs)
      print(
        String(
          format: "%@ %@: %d groups, compile %.2f s, median %.3f ms (min %.3f), vs golden: %@", name, label, plan.groups.count, t,
          l.median * 1e3, l.min * 1e3, out.compared(to: golden).description))
      if CommandLine.arguments.contains("--profile") {
        for t in try model.profile([input], runs: 10).sorted(by: { $0.seconds > $1.seconds }).prefix(14) {
          let group = plan.groups[t.group]
          print(
            String(
              format: "  %7.3f ms %@  %@", t.seconds * 1e3, t.name, group.nodes.map { g.shape(of: g.nodes[$0].outputs[0]).description }.joined(separator: " ")))
        }
      }
    }
  }
}
