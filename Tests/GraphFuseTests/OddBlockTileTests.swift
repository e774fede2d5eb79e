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
