import Testing

@testable import GraphFuse

/// A conv with one input channel per group and `k` outputs per group runs as a channel remap that
/// repeats each input channel `k` times and a depthwise conv; the results match the reference.
@Suite struct ChannelMultiplierTests {
  /// A 1×1 conv to `c` channels (blocked), then the multiplier conv to `k·c` with `kernel`, `stride`.
  static func graph(c: Int, k: Int, kernel: Int, stride: Int, groups: Int? = nil) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 15, 15])
    let y = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [c, 8, 1, 1], seed: 21)))
    let g = groups ?? c
    let w = CompiledTesting.weight(b, [k * c, c / g, kernel, kernel], seed: 22)
    b.output(
      try b.conv2d(
        y, weight: w, bias: CompiledTesting.weight(b, [k * c], seed: 23), stride: stride,
        padding: kernel / 2, groups: g))
    return try b.finish()
  }

  /// FastViT's 7×7 stride-2 (48 → 96), a 3×3 with multiplier 3 over 20 channels (partial blocks),
  /// a 5×5 stride-2 with multiplier 4.
  @Test(arguments: [(48, 2, 7, 2), (20, 3, 3, 1), (16, 4, 5, 2)])
  func multiplierConvsRunDepthwise(_ c: (Int, Int, Int, Int)) throws {
    let graph = try Self.graph(c: c.0, k: c.1, kernel: c.2, stride: c.3)
    let input = Tensor.random(shape: [1, 8, 15, 15], in: -1...1, seed: 24)
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "multiplier \(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = fused.program.schedules.joined().map(\.kind)
    #expect(kinds.contains(.channelRemap) && !kinds.contains(.convGrouped), "\(kinds)")
    #expect(kinds.contains(.convDepthwise) || kinds.contains(.convChain), "\(kinds)")
  }

  /// Two input channels per group, or a plain depthwise conv (k = 1): unchanged.
  @Test func otherGroupedConvsStay() throws {
    for graph in [
      try Self.graph(c: 32, k: 2, kernel: 3, stride: 1, groups: 16), try Self.graph(c: 32, k: 1, kernel: 3, stride: 1),
    ] {
      let optimized = try Pipeline.optimize(graph)
      #expect(!optimized.graph.nodes.contains { $0.op == "gather" })
    }
  }
}
