import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Sums, means and maxima over the spatial axes of a conv's blocked output run as one blocked
/// kernel, a vector of channels at a time, with the elementwise ops before them (ConvNeXt-V2's
/// `ReduceL2` as `x²` summed) evaluated as each pixel is read and the ops after them as the
/// epilogue; the outputs match the reference.
@Suite struct SpatialReductionTests {
  enum Form: String, CaseIterable, Sendable { case squaresThenRoot, maxOfScaled, meanDroppingAxes }

  /// `y = gelu(conv(x))`, the form's reduction `r` over axes 2 and 3 of `[n, c, h, w]`, and `y`
  /// scaled or shifted by `r`, as ConvNeXt-V2's global response norm does: `y` has two readers, so
  /// the ops before the reduction are not the conv's epilogue but the reduction's prologue.
  static func graph(_ form: Form, n: Int, c: Int, map: [Int]) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [n, 8] + map)
    let w = CT.weight(b, [c, 8, 3, 3], seed: 71, range: -0.3...0.3)
    let y = try b.apply("gelu", [try b.conv2d(x, weight: w, strides: [1, 1], pads: [1, 1, 1, 1])])[0]
    switch form {
    case .squaresThenRoot:
      b.output(try b.mul(y, try b.sqrt(try b.reduceSum(try b.mul(y, y), axes: [2, 3]))))
    case .maxOfScaled:
      let scaled = try b.mul(y, CT.weight(b, [c, 1, 1], seed: 72))
      b.output(try b.add(y, try b.add(try b.reduceMax(scaled, axes: [-1, -2]), CT.weight(b, [c, 1, 1], seed: 73))))
    case .meanDroppingAxes:
      let mean = try b.reduceMean(try b.relu(y), axes: [3, 2], keepDims: false)
      b.output(try b.mul(y, try b.reshape(mean, to: [n, c, 1, 1])))
    }
    return try b.finish()
  }

  @Test(arguments: Form.allCases, [(1, 40, [14, 14]), (2, 16, [5, 7]), (1, 20, [1, 1])])
  func reductionRunsBlocked(_ form: Form, _ shape: (n: Int, c: Int, map: [Int])) throws {
    let graph = try Self.graph(form, n: shape.n, c: shape.c, map: shape.map)
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let kinds = plan.schedules.flatMap { $0.map(\.kind) }
    let groups = optimized.plan.groups.map { $0.nodes.map { optimized.graph.nodes[$0].op } }
    // The mean of a conv's output is a global average pool (`spatialMeanAsGlobalPool`), the same kernel.
    let expected: KernelSchedule.Kind = form == .meanDroppingAxes ? .globalAveragePool : .spatialReduction
    #expect(kinds.contains(expected), "\(kinds) \(groups)")
    if form != .meanDroppingAxes {
      #expect(groups.contains { $0.count == 2 && $0[0] == "mul" }, "the reduction's prologue: \(groups)")
    }
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [shape.n, 8] + shape.map, seed: 74)], context: "\(form) \(shape)")
  }

  /// A mean over 128 × 128 pixels of 0.1 (the float nearest it) from a conv: 4,096 additions per accumulator,
  /// which one float running sum gets wrong by about 1e-5 relative; in partial sums of 64 steps
  /// (``VectorAccumulators/block``) the result is within a few units in the last place.
  @Test func longSumsStayAccurate() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 128, 128])
    // An identity 1×1 conv: its output, blocked, is x exactly.
    let identity = b.constant(Tensor(shape: [16, 16, 1, 1], data: (0..<256).map { $0 / 16 == $0 % 16 ? 1 : 0 }))
    b.output(try b.globalAvgPool(try b.conv2d(x, weight: identity, strides: [1, 1], pads: [0, 0, 0, 0])))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(plan.schedules.flatMap { $0.map(\.kind) }.contains(.globalAveragePool))
    let tenth = Float(0.1)
    var running: Float = 0
    for _ in 0..<4096 { running += tenth }
    let drift = abs(Double(running) / 4096 - Double(tenth)) / Double(tenth)
    #expect(drift > 4e-6, "a single running sum drifts (\(drift)): the check below means something")
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CT.options)
    let mean = try model.run([Tensor(shape: [1, 16, 128, 128], repeating: tenth)])[0]
    for m in mean.data { #expect(abs(Double(m) - Double(tenth)) / Double(tenth) < 1e-6, "\(m)") }
  }

  @Test func reductionOverOtherAxesStaysGeneric() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 6, 6])
    let y = try b.conv2d(x, weight: CT.weight(b, [16, 8, 1, 1], seed: 75), strides: [1, 1], pads: [0, 0, 0, 0])
    b.output(try b.reduceSum(y, axes: [1, 2]))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(!plan.schedules.flatMap { $0.map(\.kind) }.contains(.spatialReduction))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 6, 6], seed: 76)], context: "sum over channels and rows")
  }
}
