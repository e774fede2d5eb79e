import Testing

@testable import GraphFuse

/// Swin's shifted-window mask: scores `[B·W, H, N, N]` reshaped to `[B, W, H, N, N]`, a constant
/// mask `[1, W, 1, N, N]` added, reshaped back before the softmax. The reshape pair goes, the mask
/// becomes a `[B·W, 1, N, N]` operand, the attention fuses, and the results match the reference.
@Suite struct ReshapePairTests {
  /// Windowed attention over `batch` images of `windows` windows, `heads` heads, `n` tokens.
  static func graph(batch: Int, windows: Int, heads: Int, n: Int, maskIsInput: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let d = 8, bw = batch * windows
    let q = b.input("q", shape: [bw, heads, n, d]), k = b.input("k", shape: [bw, heads, d, n])
    let v = b.input("v", shape: [bw, heads, n, d])
    let maskShape = [1, windows, 1, n, n]
    let mask =
      maskIsInput
      ? b.input("mask", shape: maskShape)
      : b.constant(Tensor.random(shape: maskShape, in: -4...0, seed: 3))
    let scores = try b.matmul(q, k)
    let split = try b.reshape(scores, to: [batch, windows, heads, n, n])
    let masked = try b.reshape(try b.add(split, mask), to: [bw, heads, n, n])
    b.output(try b.matmul(try b.softmax(masked), v))
    return try b.finish()
  }

  static func inputs(_ graph: Graph) -> [Tensor] {
    graph.inputs.enumerated().map { Tensor.random(shape: graph.shape(of: $1), in: -1...1, seed: UInt64(5 + $0)) }
  }

  @Test(arguments: [(1, 4, 2, 7), (2, 4, 3, 9), (3, 2, 1, 16)]) func maskMovesAndAttentionFuses(
    _ batch: Int, _ windows: Int, _ heads: Int, _ n: Int
  ) throws {
    let graph = try Self.graph(batch: batch, windows: windows, heads: heads, n: n)
    let optimized = try Pipeline.optimize(graph)
    #expect(!optimized.graph.nodes.contains { $0.op == "reshape" }, "\(optimized.graph.opCounts)")
    let add = try #require(optimized.graph.nodes.first { $0.op == "add" })
    let mask = try #require(add.inputs.compactMap { optimized.graph.constant($0) }.first)
    #expect(mask.shape == [batch * windows, 1, n, n])
    #expect(optimized.plan.groups.contains { $0.attention != nil })
    // The mask, broadcast over the heads, is an operand the attention kernel reads: one kernel.
    let kinds = try AttentionTests.kinds(graph)
    #expect(kinds.contains(.attention) && !kinds.contains(.matmul), "\(kinds)")
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "\(batch)×\(windows)")
  }

  /// A mask computed at run time cannot be rewritten: the reshapes stay, results unchanged.
  @Test func runTimeMaskKeepsTheReshapes() throws {
    let graph = try Self.graph(batch: 1, windows: 4, heads: 2, n: 7, maskIsInput: true)
    let optimized = try Pipeline.optimize(graph)
    #expect(optimized.graph.nodes.filter { $0.op == "reshape" }.count == 2)
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "run-time mask")
  }

  /// The operand shrinks along every axis it is constant on, and only those.
  @Test func operandShrinksWhereConstant() throws {
    let c = Tensor(shape: [1, 2, 1, 3], data: [1, 2, 3, 4, 5, 6])
    let moved = try #require(ReshapedOperand.make(c, broadcastTo: [2, 2, 4, 3], readAs: [4, 4, 3]))
    #expect(moved.shape == [4, 1, 3])
    #expect(moved.data == [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
    #expect(ReshapedOperand.make(c, broadcastTo: [2, 3, 4, 3], readAs: [24, 3]) == nil)
  }
}
