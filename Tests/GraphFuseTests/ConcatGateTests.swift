import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// GhostNetV2's gate: the ghost module's concat of two halves, a slice, then a product with a gate
/// upsampled by gathers. The concat and slice run as a channel remap, the gathers and product as
/// a stage of their own reading it in place, its whole channel blocks as vectors; outputs match
/// the reference for whole and partial channel blocks.
@Suite struct ConcatGateTests {
  static func graph(half: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 8, 8])
    func conv(_ seed: UInt64, _ out: Int, _ input: ValueID) throws -> ValueID {
      try b.conv2d(
        input, weight: CT.weight(b, [out, b.shape(of: input)[1], 1, 1], seed: seed), strides: [1, 1],
        pads: [0, 0, 0, 0])
    }
    let first = try conv(91, half, x)
    let second = try b.relu(try conv(92, half, first))
    let joined = try b.concat([first, second], axis: 1)
    let sliced = try b.slice(joined, starts: [0], ends: [2 * half], axes: [1])
    let gate = try b.sigmoid(try conv(93, 2 * half, try b.avgPool2d(x, kernel: 2, stride: 2)))
    let rows = try b.apply("gather", [gate], ["indices": .ints([0, 0, 1, 1, 2, 2, 3, 3]), "axis": .int(2)])[0]
    let upsampled = try b.apply("gather", [rows], ["indices": .ints([0, 0, 1, 1, 2, 2, 3, 3]), "axis": .int(3)])[0]
    b.output(try conv(94, 16, try b.mul(sliced, upsampled)))
    return try b.finish()
  }

  @Test(arguments: [24, 20])
  func concatRunsAsARemapThenTheGatedProduct(half: Int) throws {
    let graph = try Self.graph(half: half)
    let optimized = try Pipeline.optimize(graph)
    let group = try #require(optimized.plan.groups.first { optimized.graph.nodes[$0.anchor].op == "concat" })
    #expect(group.nodes.map { optimized.graph.nodes[$0].op }.contains("gather"), "the gate is in the concat's group")
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let index = try #require(optimized.plan.groups.firstIndex { $0.anchor == group.anchor })
    let kinds = plan.schedules[index].map(\.kind)
    #expect(kinds == [.channelRemap, .loops], "\(kinds)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 8, 8], seed: 95)], context: "\(2 * half) channels")
  }
}
