import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// RDNet's dense-block output: a gate product on one input of a concat, the concat, then a
/// transpose to channels-last, fused as one group. The product runs first as a stage of its own,
/// then the concat as a channel remap, then the transpose; the remap once ran first and read the
/// product's buffer before anything wrote it (outputs off by 1.35 relative). A plan whose launch
/// reads an arena buffer no launch before it wrote is refused (``KernelPlan/firstUnwrittenRead()``).
@Suite struct ConcatPrologueTests {
  static func graph(first: Int, second: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 14, 14])
    func conv(_ seed: UInt64, _ out: Int) throws -> ValueID {
      try b.conv2d(x, weight: CT.weight(b, [out, 8, 1, 1], seed: seed), strides: [1, 1], pads: [0, 0, 0, 0])
    }
    let a = try conv(101, first), gated = try conv(102, second)
    let gate = try b.sigmoid(try b.reduceMean(gated, axes: [2, 3]))
    let joined = try b.concat([a, try b.mul(gated, gate)], axis: 1)
    b.output(try b.transpose(joined, perm: [0, 2, 3, 1]))
    return try b.finish()
  }

  @Test(arguments: [(216, 128), (64, 64), (8, 120)])
  func gateProductRunsBeforeTheRemap(channels: (Int, Int)) throws {
    let graph = try Self.graph(first: channels.0, second: channels.1)
    let optimized = try Pipeline.optimize(graph)
    let index = try #require(optimized.plan.groups.firstIndex { optimized.graph.nodes[$0.anchor].op == "concat" })
    let ops = optimized.plan.groups[index].nodes.map { optimized.graph.nodes[$0].op }
    #expect(ops.contains("mul") && ops.contains("transpose"), "\(ops)")
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(plan.firstUnwrittenRead() == nil)
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 14, 14], seed: 103)], context: "\(channels) channels")
  }

  @Test func aLaunchBeforeItsInputsProducerIsFound() throws {
    let graph = try Self.graph(first: 64, second: 64)
    let optimized = try Pipeline.optimize(graph)
    var plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(plan.firstUnwrittenRead() == nil)
    let last = plan.steps.count - 1
    plan.steps.swapAt(0, last)
    #expect(plan.firstUnwrittenRead()?.step == 0, "the last launch reads what earlier launches write")
  }
}
