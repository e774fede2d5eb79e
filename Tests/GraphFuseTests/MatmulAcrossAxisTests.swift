import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A linear layer along an axis that is not the last, between a transpose and its inverse,
/// becomes a matmul with the weights on the left and no transposes; its reshapes are views of
/// their inputs, not copies; the results match the reference.
@Suite struct MatmulAcrossAxisTests {
  /// CaiT's talking heads: `[1, heads, n, n]` scores, the heads mixed by a linear layer with a
  /// bias between `transpose(0, 2, 3, 1)` and `transpose(0, 3, 1, 2)`, then a softmax.
  static func talkingHeads(heads: Int, mixed: Int, n: Int, bias: Bool) throws -> Graph {
    let b = GraphBuilder()
    let q = b.input("q", shape: [1, heads, n, 8]), k = b.input("k", shape: [1, heads, 8, n])
    let scores = try b.apply("matmul", [q, k])[0]
    let moved = try b.transpose(scores, perm: [0, 2, 3, 1])
    var mixedScores = try b.apply("matmul", [moved, CT.weight(b, [heads, mixed], seed: 71)])[0]
    if bias { mixedScores = try b.add(mixedScores, CT.weight(b, [mixed], seed: 72)) }
    let back = try b.transpose(mixedScores, perm: [0, 3, 1, 2])
    b.output(try b.softmax(back, axis: -1))
    return try b.finish()
  }

  @Test(arguments: [(4, 4, 9, true), (3, 5, 13, false), (6, 2, 20, true)])
  func talkingHeadsLoseTheirTransposes(_ c: (Int, Int, Int, Bool)) throws {
    let graph = try Self.talkingHeads(heads: c.0, mixed: c.1, n: c.2, bias: c.3)
    let optimized = try Pipeline.optimize(graph)
    #expect(!optimized.graph.nodes.contains { $0.op == "transpose" }, "\(optimized.graph.nodes.map(\.op))")
    let inputs = [
      Tensor.random(shape: [1, c.0, c.2, 8], seed: 73), Tensor.random(shape: [1, c.0, 8, c.2], seed: 74),
    ]
    let models = try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "talking heads \(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = fused.program.schedules.joined().map(\.kind)
    // Both matmuls on the matmul kernel, both reshapes views (no copies), the softmax its own loops.
    #expect(kinds == [.matmul, .reshapeView, .matmul, .reshapeView, .loops], "\(kinds)")
  }

  /// MLP-Mixer's token mixing on `[batch, tokens, channels]`: `transpose(0, 2, 1)`, a linear
  /// layer over the tokens, `transpose(0, 2, 1)` back.
  @Test func tokenMixingLosesItsTransposes() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 12, 20])
    let t = try b.transpose(x, perm: [0, 2, 1])
    let y = try b.add(try b.apply("matmul", [t, CT.weight(b, [12, 7], seed: 75)])[0], CT.weight(b, [7], seed: 76))
    b.output(try b.relu(try b.transpose(y, perm: [0, 2, 1])))
    let graph = try b.finish()
    #expect(!(try Pipeline.optimize(graph)).graph.nodes.contains { $0.op == "transpose" })
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [2, 12, 20], seed: 77)], context: "token mixing")
  }

  /// Transposes that are not a move and its inverse, a second reader of the moved tensor, and the
  /// unfused configuration keep the transposes.
  @Test func otherTransposesStay() throws {
    func ops(perm1: [Int], perm2: [Int], secondReader: Bool = false, options: OptimizeOptions = .init())
      throws -> [String]
    {
      let b = GraphBuilder()
      let x = b.input("x", shape: [1, 4, 6, 6])
      let t = try b.transpose(x, perm: perm1)
      let m = try b.apply("matmul", [t, CT.weight(b, [b.shape(of: t).last!, 3], seed: 78)])[0]
      b.output(try b.transpose(m, perm: perm2))
      if secondReader { b.output(try b.relu(t)) }
      return try Pipeline.optimize(try b.finish(), options: options).graph.nodes.map(\.op)
    }
    #expect(!(try ops(perm1: [0, 2, 3, 1], perm2: [0, 3, 1, 2])).contains("transpose"))
    #expect(try ops(perm1: [0, 2, 3, 1], perm2: [0, 3, 2, 1]).contains("transpose"))
    #expect(try ops(perm1: [0, 3, 2, 1], perm2: [0, 3, 2, 1]).contains("transpose"))
    #expect(try ops(perm1: [0, 2, 3, 1], perm2: [0, 3, 1, 2], secondReader: true).contains("transpose"))
    #expect(try ops(perm1: [0, 2, 3, 1], perm2: [0, 3, 1, 2], options: .unfused).contains("transpose"))
    #expect(MatmulAcrossAxis.movedAxis([0, 2, 3, 1], rank: 4) == 1)
    #expect(MatmulAcrossAxis.movedAxis([0, 1, 3, 2], rank: 4) == 2)
    #expect(MatmulAcrossAxis.movedAxis([0, 3, 1, 2], rank: 4) == nil)
    #expect(MatmulAcrossAxis.inverse(of: 1, rank: 4) == [0, 3, 1, 2])
  }
}
