import Testing

@testable import GraphFuse

/// Layout changes between plain and blocked layouts split a map over chunks of pixels and move whole
/// tiles of pixels turned over in registers (``LayoutChange``); channels past the last whole block,
/// and pixels past the last whole tile, go one by one. Compiled results match the reference.
@Suite struct LayoutChangeTests {
  /// HGNetV2's stem: a conv to `c` channels (blocked), padded at the bottom and right by the
  /// generic loops in plain layout, a 2×2 max pool of stride 1 (plain), concatenated with the conv's
  /// output (a change to blocked), a 1×1 conv, and the graph output (a change to plain).
  static func graph(c: Int, h: Int, w: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, h, w])
    let y = try b.conv2d(x, weight: CompiledTesting.weight(b, [c, 8, 3, 3], seed: 11), padding: 1)
    let padded = try b.apply("pad", [y], ["pads": .ints([0, 0, 0, 0, 0, 0, 1, 1])])[0]
    let pooled = try b.maxPool2d(padded, kernel: 2, stride: 1)
    let joined = try b.concat([pooled, y])
    b.output(try b.conv2d(joined, weight: CompiledTesting.weight(b, [c, 2 * c, 1, 1], seed: 12)))
    return try b.finish()
  }

  /// 16 channels at 112×112: 784 whole tiles in 13 chunks; 20 channels (a partial block) at 9×9
  /// (5 tiles and a pixel over); 32 at 4×4 (one tile); 5 at 1×1 (no whole tile).
  @Test(arguments: [(16, 112, 112, 13), (20, 9, 9, 1), (32, 4, 4, 1), (5, 1, 1, 1)])
  func changesMatchTheReference(_ c: (Int, Int, Int, Int)) throws {
    let graph = try Self.graph(c: c.0, h: c.1, w: c.2)
    let input = Tensor.random(shape: [1, 8, c.1, c.2], in: -1...1, seed: 13)
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "layout \(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = fused.program.schedules.joined().map(\.kind)
    #expect(kinds.contains(.toBlocked) && kinds.contains(.toPlain), "\(kinds)")
    let change = LayoutChange(n: 1, c: c.0, hw: c.1 * c.2, vector: 16, toBlocked: true)
    #expect(change.chunks == c.3)
  }
}
