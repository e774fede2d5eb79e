import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Sums, means and maxima over a run of axes before the last of a plain tensor (a channels-last
/// global response norm over H and W, a mean over tokens) run as one kernel over vectors of
/// contiguous columns, the last block's extra columns one by one; the outputs match the reference.
@Suite struct ColumnReductionTests {
  struct Case: Sendable, CustomStringConvertible {
    var shape: [Int], axes: [Int], op: String, keepDims: Bool
    var description: String { "\(op) over \(axes) of \(shape)" }
  }

  static let cases: [Case] = [
    Case(shape: [1, 14, 14, 64], axes: [1, 2], op: "reduce_sum", keepDims: true),  // ConvNeXt-V2's GRN, channels last
    Case(shape: [2, 197, 40], axes: [1], op: "reduce_mean", keepDims: false),  // token mean, a partial last block
    Case(shape: [3, 5, 7, 33], axes: [0, 1, 2], op: "reduce_max", keepDims: true),  // from the first axis, 33 columns
    Case(shape: [4, 6, 16], axes: [1], op: "reduce_sum", keepDims: false),  // one whole vector of columns
    Case(shape: [1, 2, 24, 5, 5], axes: [1], op: "reduce_sum", keepDims: false),  // SK-Net's branches, 600 columns
  ]

  /// `x · s` (s per column, or a whole tensor when the columns are several axes), squared, reduced,
  /// then `sqrt(r) + t` (t per column, or a scalar).
  static func graph(_ c: Case) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: c.shape)
    let lastAxis = c.axes.last! == c.shape.count - 2
    let columns = lastAxis ? c.shape.last! : 1
    let scaled = try b.mul(x, lastAxis ? CT.weight(b, [columns], seed: 81) : try b.relu(x))
    let reduced = try b.apply(
      "reduce_" + c.op.dropFirst(7), [try b.mul(scaled, scaled)],
      [
        "axes": .ints(c.axes), "keepdims": .int(c.keepDims ? 1 : 0),
      ])[0]
    b.output(try b.add(try b.sqrt(reduced), CT.weight(b, [columns], seed: 82)))
    return try b.finish()
  }

  @Test(arguments: cases)
  func reductionRunsOverVectorsOfColumns(_ c: Case) throws {
    let graph = try Self.graph(c)
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let kinds = plan.schedules.flatMap { $0.map(\.kind) }
    let groups = optimized.plan.groups.map { $0.nodes.map { optimized.graph.nodes[$0].op } }
    #expect(kinds.contains(.columnReduction), "\(kinds) \(groups)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: c.shape, in: 0.1...2, seed: 83)], context: c.description)
  }

  @Test func vectorsAcrossRowsReadNoRowOperand() throws {
    // SK-Net weighs its stacked branches `[N, 2, C, H, W]` by an attention `[N, 2, C, 1, 1]` before
    // summing them: over columns C·H·W a vector crosses rows of W, so the attention, read a value
    // per row, is no operand of the column kernel and the group stays generic.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 2, 24, 5, 5])
    let attention = b.input("a", shape: [1, 2, 24, 1, 1])
    b.output(try b.reduceSum(try b.mul(x, attention), axes: [1], keepDims: false))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(!plan.schedules.flatMap { $0.map(\.kind) }.contains(.columnReduction))
    let inputs = [Tensor.random(shape: [1, 2, 24, 5, 5], seed: 85), Tensor.random(shape: [1, 2, 24, 1, 1], seed: 86)]
    try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "branches weighed per channel")
  }

  @Test func reductionOverTheLastAxisOrASplitRunStaysGeneric() throws {
    for (shape, axes) in [([2, 8, 32], [2]), ([4, 3, 5, 32], [0, 2])] {
      let b = GraphBuilder()
      let x = b.input("x", shape: shape)
      b.output(try b.reduceSum(try b.relu(x), axes: axes))
      let graph = try b.finish()
      let optimized = try Pipeline.optimize(graph)
      let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
      #expect(!plan.schedules.flatMap { $0.map(\.kind) }.contains(.columnReduction))
      try CT.fusedAndUnfusedMatchReference(
        graph, inputs: [Tensor.random(shape: shape, seed: 84)], context: "sum over \(axes) of \(shape)")
    }
  }
}
