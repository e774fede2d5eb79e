import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// ECA's gate: a sigmoid of a `[1, 1, 1, C]` channel vector, reshaped to `[1, C, 1, 1]` and
/// multiplied into a map. Fused whole, the sigmoid ran once per pixel, scalar, in a generic loop;
/// an operand that is a transcendental of a tensor read 8 or more times per element is a group
/// boundary (``IndexedForwardGraph/recomputes(_:operand:producerPattern:_:)``), so the gate is
/// computed once. A cheap producer (a relu) stays fused; outputs match the reference either way.
@Suite struct BroadcastRecomputeTests {
  static func graph(gate op: String) throws -> Graph {
    let b = GraphBuilder()
    let y = b.input("y", shape: [1, 32, 14, 14])
    let g = b.input("g", shape: [1, 1, 1, 32])
    let gate = try b.reshape(try b.apply(op, [g])[0], to: [1, 32, 1, 1])
    b.output(try b.add(try b.mul(y, gate), y))
    return try b.finish()
  }

  @Test(arguments: ["sigmoid", "relu"])
  func transcendentalGateIsComputedOnce(_ op: String) throws {
    let graph = try Self.graph(gate: op)
    let optimized = try Pipeline.optimize(graph)
    let groups = optimized.plan.groups.map { $0.nodes.map { optimized.graph.nodes[$0].op } }
    let gateWithProduct = groups.contains { $0.contains(op) && $0.contains("mul") }
    #expect(gateWithProduct == (op == "relu"), "\(groups)")
    try CT.fusedAndUnfusedMatchReference(
      graph,
      inputs: [Tensor.random(shape: [1, 32, 14, 14], seed: 112), Tensor.random(shape: [1, 1, 1, 32], seed: 113)],
      context: op)
  }
}
