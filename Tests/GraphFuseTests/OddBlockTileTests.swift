import Foundation
import Testing

@testable import GraphFuse

/// Convs whose output channels make an odd number of blocks (5 or more) take two-vector register
/// tiles too: the last tile's second vector runs on zero weights from block 0's bias and stores
/// nothing, so it must neither write past the output nor read past an epilogue operand.
@Suite struct OddBlockTileTests {
  typealias T = CompiledTesting

  struct Case: Sendable, CustomStringConvertible {
    var batch = 1
    var cin: Int, cout: Int, size: Int, kernel: Int
    var description: String { "\(batch)×\(cin)→\(cout) at \(size)² k\(kernel)" }
  }

  /// Row tiles (28 wide) and flat tiles (7 and 13 wide), 1×1 and 3×3, a partial last block (100,
  /// 1000 channels), two images.
  static let cases: [Case] = [
    Case(cin: 32, cout: 80, size: 28, kernel: 3),
    Case(batch: 2, cin: 24, cout: 100, size: 7, kernel: 1),
    Case(cin: 64, cout: 1000, size: 13, kernel: 1),
    Case(batch: 2, cin: 40, cout: 112, size: 9, kernel: 3),
  ]

  /// conv → + residual (read at the output offsets) → relu, and a second conv over the result
  /// (which reads the padded blocks as zeros).
  static func graph(_ c: Case) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [c.batch, c.cin, c.size, c.size])
    let r = b.input("r", shape: [c.batch, c.cout, c.size, c.size])
    let y = try b.conv2d(
      x, weight: T.weight(b, [c.cout, c.cin, c.kernel, c.kernel], seed: 1, range: -0.2...0.2),
      bias: T.weight(b, [c.cout], seed: 2), padding: c.kernel / 2)
    let z = try b.relu(try b.add(y, r))
    b.output(try b.conv2d(z, weight: T.weight(b, [16, c.cout, 1, 1], seed: 3, range: -0.1...0.1)))
    return try b.finish()
  }

  /// A conv chain (1×1 → depthwise 3×3 → 1×1) whose expansion (80 channels, 5 blocks) and
  /// projection (112, 7 blocks) take two-vector tiles too, with a residual after the projection.
  @Test(arguments: [1, 2]) func chainWithOddBlockCountsMatchesTheReference(_ batch: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 112, 14, 14])
    let e = try b.relu(try b.conv2d(x, weight: T.weight(b, [80, 112, 1, 1], seed: 1, range: -0.2...0.2)))
    let d = try b.relu(
      try b.conv2d(e, weight: T.weight(b, [80, 1, 3, 3], seed: 2, range: -0.3...0.3), padding: 1, groups: 80))
    let p = try b.conv2d(d, weight: T.weight(b, [112, 80, 1, 1], seed: 3, range: -0.2...0.2))
    b.output(try b.add(p, x))
    let graph = try b.finish()
    let inputs = [Tensor.random(shape: [batch, 112, 14, 14], seed: 4)]
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "chain, batch \(batch)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    #expect(fused.program.schedules.joined().contains { $0.kind == .convChain })
  }

  @Test(arguments: cases) func oddBlockCountsUseTwoVectorTiles(_ c: Case) throws {
    let graph = try Self.graph(c)
    let inputs = graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), seed: 7 + UInt64(k)) }
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "\(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let conv = try #require(
      fused.program.schedules.joined().first { [.convDense, .convPointwise, .convWinograd].contains($0.kind) })
    #expect(conv.tile?.vectors == 2, "\(c): \(conv)")
  }
}
