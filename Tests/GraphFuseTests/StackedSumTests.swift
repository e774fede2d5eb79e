import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A selective-kernel block's sums over its stacked branches become sums of the branches: no
/// concat, no rank-5 reduction left; the outputs match the reference.
@Suite struct StackedSumTests {
  /// SK-Net's block: two conv branches stacked on axis 1, summed, squeezed to an attention over the
  /// branches (softmax over axis 1 of `[1, 2, C, 1, 1]`), then weighed by it and summed again.
  static func selectiveKernel(channels c: Int, keepDims: Bool) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 10, 10])
    func conv(_ seed: UInt64, _ input: ValueID, out: Int) throws -> ValueID {
      try b.relu(
        try b.conv2d(
          input, weight: CT.weight(b, [out, b.shape(of: input)[1], 3, 3], seed: seed, range: -0.4...0.4),
          strides: [1, 1], pads: [1, 1, 1, 1]))
    }
    let branches = [try conv(101, x, out: c), try conv(102, x, out: c)]
    let stack = try b.concat(try branches.map { v throws(GraphFuseError) in try b.unsqueeze(v, axes: [1]) }, axis: 1)
    let summed = try b.reduceSum(stack, axes: [1], keepDims: false)
    let squeeze = try b.reduceMean(summed, axes: [2, 3])
    let logits = try b.conv2d(
      squeeze, weight: CT.weight(b, [2 * c, c, 1, 1], seed: 103), strides: [1, 1], pads: [0, 0, 0, 0])
    let attention = try b.softmax(try b.reshape(logits, to: [1, 2, c, 1, 1]), axis: 1)
    var selected = try b.reduceSum(try b.mul(stack, attention), axes: [1], keepDims: keepDims)
    if keepDims { selected = try b.reshape(selected, to: [1, c, 10, 10]) }
    b.output(try conv(104, selected, out: 16))
    return try b.finish()
  }

  @Test(arguments: [(24, false), (16, true)])
  func branchSumsReplaceTheStack(channels: Int, keepDims: Bool) throws {
    let graph = try Self.selectiveKernel(channels: channels, keepDims: keepDims)
    let optimized = try Pipeline.optimize(graph).graph
    let ops = optimized.nodes.map(\.op)
    #expect(!ops.contains("concat") && !ops.contains("reduce_sum"), "\(ops)")
    #expect(ops.contains("global_avg_pool"), "the squeeze after the branch sum is a global average pool: \(ops)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 10, 10], seed: 105)], context: "\(channels) channels")
  }

  @Test func radixSplitByReshapeBecomesChannelSlices() throws {
    // ResNeSt's split attention: one conv's [1, 2·C, H, W] output viewed as [1, 2, C, H, W].
    let c = 16
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 6, 6])
    let y = try b.relu(
      try b.conv2d(x, weight: CT.weight(b, [2 * c, 8, 3, 3], seed: 107), strides: [1, 1], pads: [1, 1, 1, 1]))
    let stack = try b.reshape(y, to: [1, 2, c, 6, 6])
    let gap = try b.reduceMean(try b.reduceSum(stack, axes: [1], keepDims: false), axes: [2, 3])
    let attention = try b.softmax(
      try b.reshape(try b.sigmoid(try b.concat([gap, gap], axis: 1)), to: [1, 2, c, 1, 1]), axis: 1)
    b.output(try b.relu(try b.reduceSum(try b.mul(stack, attention), axes: [1], keepDims: false)))
    let graph = try b.finish()
    let ops = try Pipeline.optimize(graph).graph.nodes.map(\.op)
    #expect(!ops.contains("reduce_sum") && ops.filter { $0 == "slice" }.count >= 2, "\(ops)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 6, 6], seed: 108)], context: "radix split")
  }

  @Test func sumOverAnotherAxisStays() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 6, 6])
    let stack = try b.concat([try b.unsqueeze(x, axes: [1]), try b.unsqueeze(try b.relu(x), axes: [1])], axis: 1)
    b.output(try b.reduceSum(stack, axes: [2], keepDims: false))
    let graph = try b.finish()
    #expect(try Pipeline.optimize(graph).graph.nodes.contains { $0.op == "reduce_sum" })
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 4, 6, 6], seed: 106)], context: "sum over channels of a stack")
  }
}
