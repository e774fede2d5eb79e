import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A mean over the spatial axes of a conv's output, kept as `[N, C, 1, 1]`, becomes a global
/// average pool; other means keep their op; the results match the reference.
@Suite struct SpatialMeanTests {
  /// conv 3×3 → relu → (×0.5) → mean over `axes`, as a squeeze-and-excitation block starts.
  static func block(axes: [Int], keepDims: Bool = true, scaled: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 24, 9, 11])
    let w = CT.weight(b, [40, 24, 3, 3], seed: 3, range: -0.2...0.2)
    var y = try b.relu(try b.conv2d(x, weight: w, bias: CT.weight(b, [40], seed: 4), padding: 1))
    if scaled { y = try b.mul(y, b.constant(Tensor(scalar: 0.5))) }
    b.output(try b.reduceMean(y, axes: axes, keepDims: keepDims))
    return try b.finish()
  }

  static func ops(_ graph: Graph) throws -> [String] { try Pipeline.optimize(graph).graph.nodes.map(\.op) }

  @Test(arguments: [[2, 3], [-1, -2], [3, 2]]) func meanAfterConvBecomesGlobalPool(axes: [Int]) throws {
    for scaled in [false, true] {
      let graph = try Self.block(axes: axes, scaled: scaled)
      let ops = try Self.ops(graph)
      #expect(ops.last == "global_avg_pool" && !ops.contains("reduce_mean"), "\(ops)")
      try CT.fusedAndUnfusedMatchReference(
        graph, inputs: [Tensor.random(shape: [1, 24, 9, 11], seed: 5)], context: "mean \(axes) scaled \(scaled)")
    }
  }

  @Test func meanDroppingTheAxesBecomesGlobalPoolAndReshape() throws {
    let graph = try Self.block(axes: [2, 3], keepDims: false)
    let optimized = try Pipeline.optimize(graph).graph
    #expect(optimized.nodes.map(\.op).suffix(2) == ["global_avg_pool", "reshape"], "\(optimized.nodes.map(\.op))")
    #expect(optimized.shape(of: optimized.outputs[0]) == [1, 40])
    #expect(optimized.values[optimized.outputs[0]].name == graph.values[graph.outputs[0]].name)
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 24, 9, 11], seed: 7)], context: "mean dropping the axes")
  }

  @Test func otherMeansKeepTheirOp() throws {
    // Over other axes.
    #expect(try Self.ops(try Self.block(axes: [1, 2, 3])).last == "reduce_mean")
    // Not after a conv: the relu fuses into the reduction instead.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 40, 16, 16])
    b.output(try b.reduceMean(try b.relu(x), axes: [2, 3]))
    let graph = try b.finish()
    #expect(try Self.ops(graph) == ["relu", "reduce_mean"])
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 40, 16, 16], seed: 6)], context: "mean after relu")
  }
}
