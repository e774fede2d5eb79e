import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A zero pad of the spatial axes before a conv becomes the conv's (asymmetric) padding; pads of
/// another value or of the channel axis stay; the results match the reference.
@Suite struct PadIntoConvTests {
  /// `x → pad(pads) → conv2d(3×3, stride, own pads, groups) → relu`.
  static func padded(
    _ pads: [Int], value: Double = 0, convPads: [Int] = [0, 0, 0, 0], stride: Int = 2, groups: Int = 1
  )
    throws -> Graph
  {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 11, 11])
    let p = try b.apply("pad", [x], ["pads": .ints(pads), "value": .float(value)])[0]
    let channels = b.shape(of: p)[1]
    let w = CT.weight(b, [8, channels / groups, 3, 3], seed: 2)
    let y = try b.conv2d(p, weight: w, strides: [stride, stride], pads: convPads, groups: groups)
    b.output(try b.apply("relu", [y])[0])
    return try b.finish()
  }

  @Test(arguments: [
    ([0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0], 2, 1),  // TensorFlow "same", stride 2: bottom and right only
    ([0, 0, 1, 1, 0, 0, 1, 1], [0, 0, 0, 0], 1, 8),  // depthwise, symmetric
    ([0, 0, 2, 0, 0, 0, 1, 3], [1, 1, 1, 1], 1, 1),  // added to the conv's own pads
  ])
  func zeroSpatialPadsFoldIntoTheConv(_ c: ([Int], [Int], Int, Int)) throws {
    let graph = try Self.padded(c.0, convPads: c.1, stride: c.2, groups: c.3)
    let optimized = try Pipeline.optimize(graph)
    #expect(!optimized.graph.nodes.contains { $0.op == "pad" }, "\(optimized.graph.nodes.map(\.op))")
    let conv = try #require(optimized.graph.nodes.first { $0.op == "conv2d" })
    let own = c.1
    #expect(
      conv.attributes.ints("pads", default: []) == [own[0] + c.0[2], own[1] + c.0[3], own[2] + c.0[6], own[3] + c.0[7]])
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 11, 11], seed: 4)], context: "pads \(c.0)")
  }

  @Test func otherPadsStay() throws {
    // A pad value other than 0, and a pad of the channel axis, change what the conv sees.
    for graph in [try Self.padded([0, 0, 1, 1, 0, 0, 1, 1], value: 1), try Self.padded([0, 0, 0, 0, 0, 1, 0, 0])] {
      #expect(try Pipeline.optimize(graph).graph.nodes.contains { $0.op == "pad" })
    }
    // Unfused means nothing folded.
    let graph = try Self.padded([0, 0, 0, 0, 0, 0, 1, 1])
    #expect(try Pipeline.optimize(graph, options: .unfused).graph.nodes.contains { $0.op == "pad" })
  }
}
