import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Kernel rows and columns that read only padding are cropped; the outputs match the reference.
@Suite struct DeadConvTapsTests {
  static func conv(
    map: [Int], kernel: [Int], strides: [Int] = [1, 1], pads: [Int], dilations: [Int], relu: Bool = true
  ) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 24] + map)
    let w = CT.weight(b, [32, 24] + kernel, seed: 12, range: -0.3...0.3)
    let y = try b.conv2d(
      x, weight: w, bias: CT.weight(b, [32], seed: 13), strides: strides, pads: pads, dilations: dilations)
    b.output(relu ? try b.relu(y) : y)
    return try b.finish()
  }

  static func optimizedConv(_ graph: Graph) throws -> (Node, Graph) {
    let optimized = try Pipeline.optimize(graph).graph
    return (try #require(optimized.nodes.first { $0.op == "conv2d" }), optimized)
  }

  @Test(arguments: [([14, 14], 24), ([1, 1], 1)])
  func convReadingOnlyItsCentreBecomesOneByOne(map: [Int], dilation: Int) throws {
    // DeepLabV3's pyramid: 3×3 at dilation 24 (padding 24) on a 14×14 map reads only the centre, as
    // a padded 3×3 conv on a 1×1 map does.
    let d = dilation
    let graph = try Self.conv(map: map, kernel: [3, 3], pads: [d, d, d, d], dilations: [d, d])
    let (conv, optimized) = try Self.optimizedConv(graph)
    #expect(optimized.shape(of: conv.inputs[1]) == [32, 24, 1, 1])
    #expect(conv.attributes["pads"] == .ints([0, 0, 0, 0]) && conv.attributes["dilations"] == .ints([1, 1]))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 24] + map, seed: 14)], context: "dilation \(d) on \(map)")
  }

  @Test func oneAxisAndOneSideAreCropped() throws {
    // Rows: dilation 4, padding 4 at the top only, 8 rows, 4 output rows: the first kernel row reads
    // only the top padding, the other two read rows. Columns: 3 taps, dilation 1, all read.
    let graph = try Self.conv(map: [8, 7], kernel: [3, 3], pads: [4, 1, 0, 1], dilations: [4, 1])
    let (conv, optimized) = try Self.optimizedConv(graph)
    #expect(optimized.shape(of: conv.inputs[1]) == [32, 24, 2, 3], "\(optimized.shape(of: conv.inputs[1]))")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 24, 8, 7], seed: 15)], context: "one side cropped")
    #expect(conv.attributes["pads"] == .ints([0, 1, 0, 1]) && conv.attributes["dilations"] == .ints([4, 1]))
  }

  @Test func convsReadingEveryTapKeepTheirKernel() throws {
    for (map, pads, dilations, strides) in [
      ([14, 14], [12, 12, 12, 12], [12, 12], [1, 1]), ([9, 9], [1, 1, 1, 1], [1, 1], [2, 2]),
    ] {
      let graph = try Self.conv(map: map, kernel: [3, 3], strides: strides, pads: pads, dilations: dilations)
      let (conv, optimized) = try Self.optimizedConv(graph)
      #expect(optimized.shape(of: conv.inputs[1]) == [32, 24, 3, 3])
      #expect(conv.attributes["pads"] == .ints(pads))
    }
  }
}
