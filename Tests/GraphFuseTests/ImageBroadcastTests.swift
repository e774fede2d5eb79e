import Testing

@testable import GraphFuse

/// A conv's tail that adds a tensor of one image's shape `[1, C, H, W]` over a batch (TNT's pixel
/// position embedding) is an epilogue operand read modulo one image (``ElementwiseTail/Operand``
/// `imageBroadcast`): the conv stays on the blocked kernel instead of the generic loops.
@Suite struct ImageBroadcastTests {
  /// `[batch, 3, 16, 16]` → 7×7 stride-4 conv to `c` channels `[batch, c, 4, 4]` + a `[1, c, 4, 4]`
  /// constant, then a relu.
  static func graph(batch: Int, c: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 3, 16, 16])
    let y = try b.conv2d(x, weight: CompiledTesting.weight(b, [c, 3, 7, 7], seed: 31), stride: 4, padding: 3)
    b.output(try b.relu(try b.add(y, CompiledTesting.weight(b, [1, c, 4, 4], seed: 32))))
    return try b.finish()
  }

  @Test(arguments: [(5, 24), (3, 16), (2, 40)])
  func convAddsAnImageBroadcastOnTheBlockedKernel(_ c: (Int, Int)) throws {
    let graph = try Self.graph(batch: c.0, c: c.1)
    let input = Tensor.random(shape: [c.0, 3, 16, 16], in: -1...1, seed: 33)
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "image \(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = fused.program.schedules.joined().map(\.kind)
    #expect(kinds.contains(.convDense) && !kinds.contains(.loops), "\(kinds)")
  }

  /// The operand's kind: one image broadcast over a batch, a full tensor at batch 1.
  @Test func classifiesOneImageOverTheBatch() throws {
    for (batch, broadcast) in [(4, true), (1, false)] {
      let graph = try Self.graph(batch: batch, c: 24)
      let plan = Fusion.plan(graph)
      let group = try #require(plan.groups.first { graph.nodes[$0.nodes[0]].op == "conv2d" })
      let tail = try #require(ElementwiseTail.make(graph, group: group, anchor: group.nodes[0]))
      let isImage = tail.operands.contains { if case .imageBroadcast(_, 24, 16) = $0 { true } else { false } }
      #expect(isImage == broadcast, "batch \(batch): \(tail.operands)")
    }
  }
}
