import Foundation
import GraphFuse

/// One MobileNetV2 inverted residual block, timed as a conv chain and as TVM's three groups
/// (`GraphFuseBench block CIN EXPAND COUT SIZE STRIDE [runs] [threads]`).
enum ChainBlock {
  static func graph(cin: Int, expand: Int, cout: Int, size: Int, stride: Int) throws -> Graph {
    let b = GraphBuilder()
    let batch = Int(ProcessInfo.processInfo.environment["BATCH"] ?? "1") ?? 1
    let x = b.input("x", shape: [batch, cin, size, size])
    func conv(_ x: ValueID, _ o: Int, _ i: Int, k: Int, stride: Int = 1, groups: Int = 1, seed: UInt64) throws
      -> ValueID
    {
      let r = Tensor.random(shape: [o, i / groups, k, k], seed: seed)
      let w = b.constant(Tensor(shape: r.shape, data: r.data.map { $0 * 0.2 }))
      let bias = b.constant(Tensor.random(shape: [o], seed: seed + 1))
      return try b.conv2d(x, weight: w, bias: bias, stride: stride, padding: k / 2, groups: groups)
    }
    var y = x
    if expand != cin { y = try b.clip(try conv(y, expand, cin, k: 1, seed: 1), min: 0, max: 6) }
    y = try b.clip(try conv(y, expand, expand, k: 3, stride: stride, groups: expand, seed: 3), min: 0, max: 6)
    y = try conv(y, cout, expand, k: 1, seed: 5)
    if stride == 1 && cin == cout { y = try b.add(y, x) }
    b.output(y)
    return try b.finish()
  }

  static func run(_ args: [String]) throws {
    let n = args.dropFirst(2).prefix(5).map { Int($0)! }
    let runs = args.count > 7 ? Int(args[7])! : 200
    let threads = args.count > 8 ? Int(args[8])! : 2
    let graph = try graph(cin: n[0], expand: n[1], cout: n[2], size: n[3], stride: n[4])
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 7) }
    let reference = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    for chain in [true, false] {
      let optimized = try graph.optimized(OptimizeOptions(chainConvs: chain))
      let model = try CompiledModel.compile(
        optimized.graph, plan: optimized.plan, options: CompileOptions(threads: threads))
      let check = try model.run(inputs)[0].compared(to: reference)
      let t = try latency(model, inputs, runs: runs)
      print(
        String(
          format: "%@: %d groups, median %.4f ms (min %.4f)  %@", chain ? "chain   " : "no chain",
          optimized.plan.groups.count,
          t.median * 1e3, t.min * 1e3, "\(check)"))
    }
  }
}
