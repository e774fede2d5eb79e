import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Transposed convolutions with constant weights run as a forward conv over their output phases,
/// a depth-to-space and a crop (``convTransposeAsConvPass``): no `conv_transpose2d` is left, and
/// the result matches the reference's transposed conv for kernels equal to, larger and smaller
/// than the stride, per-axis strides and pads, output padding, batches and a relu after it.
@Suite struct ConvTransposeAsConvTests {
  struct Shape: Sendable, CustomStringConvertible {
    var channels: Int, outputs: Int, height: Int, width: Int
    var kernel: [Int], strides: [Int], pads: [Int], outputPadding: [Int] = [0, 0]
    var batch = 1, bias = true
    var description: String { "k\(kernel) s\(strides) p\(pads) op\(outputPadding) \(channels)->\(outputs)" }
  }

  static let shapes: [Shape] = [
    Shape(channels: 16, outputs: 16, height: 6, width: 6, kernel: [4, 4], strides: [4, 4], pads: [0, 0, 0, 0]),
    Shape(
      channels: 32, outputs: 24, height: 7, width: 5, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], batch: 2),
    Shape(channels: 8, outputs: 16, height: 5, width: 6, kernel: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1]),
    Shape(
      channels: 16, outputs: 8, height: 6, width: 4, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1],
      outputPadding: [1, 1], bias: false),
    Shape(channels: 5, outputs: 3, height: 4, width: 7, kernel: [3, 5], strides: [1, 3], pads: [0, 2, 1, 0]),
    Shape(channels: 17, outputs: 33, height: 3, width: 3, kernel: [2, 3], strides: [3, 2], pads: [0, 0, 0, 0]),
  ]

  @Test(arguments: shapes)
  func matchesTheTransposedConv(_ shape: Shape) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [shape.batch, shape.channels, shape.height, shape.width])
    let w = CT.weight(b, [shape.channels, shape.outputs] + shape.kernel, seed: 7)
    let bias = shape.bias ? CT.weight(b, [shape.outputs], seed: 8) : nil
    let y = try b.apply(
      "conv_transpose2d", [x, w] + (bias.map { [$0] } ?? []),
      [
        "strides": .ints(shape.strides), "pads": .ints(shape.pads), "output_padding": .ints(shape.outputPadding),
      ])[0]
    b.output(try b.relu(y))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph, options: OptimizeOptions(verifyEachPass: true))
    #expect(!optimized.graph.nodes.contains { $0.op == "conv_transpose2d" }, "\(shape)")
    #expect(optimized.graph.nodes.contains { $0.op == "conv2d" })
    #expect(optimized.graph.shape(of: optimized.graph.outputs[0]) == graph.shape(of: graph.outputs[0]))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [shape.batch, shape.channels, shape.height, shape.width], seed: 9)],
      context: "\(shape)")
  }

  /// Weights computed at run time keep the transposed conv.
  @Test func runtimeWeightsKeepTheTransposedConv() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 5, 5])
    let w = b.input("w", shape: [4, 3, 2, 2])
    b.output(try b.convTranspose2d(x, weight: w, stride: 2))
    let optimized = try Pipeline.optimize(try b.finish())
    #expect(optimized.graph.nodes.contains { $0.op == "conv_transpose2d" })
  }
}
