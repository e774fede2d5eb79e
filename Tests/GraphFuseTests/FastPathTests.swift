import Foundation
import Testing

@testable import GraphFuse

/// Every conv, gemm and matmul runs on a register-tiled kernel whatever surrounds it, and a
/// group that does not is named (`KernelPlan.offFastPath`, the report's "off the fast path").
@Suite struct FastPathTests {
  /// A re-parameterizable block in its training form (RepVGG, MobileOne): a 3×3 conv + BN, a 1×1
  /// conv + BN and a BN-only identity branch, summed, then relu. The identity BN has no conv to
  /// fold into, so it stays a per-channel affine; it is built first, so fusion puts it before
  /// the 3×3 conv in the group (`scale_shift conv2d add add relu`).
  static func trainingFormBlocks(channels c: Int, size: Int, blocks: Int, batch: Int = 1) throws -> Graph {
    let b = GraphBuilder()
    let input = b.input("x", shape: [batch, 3, size, size])
    var x = try b.relu(
      try b.conv2d(input, weight: CompiledTesting.weight(b, [c, 3, 3, 3], seed: 1), padding: 1))
    func batchNorm(_ v: ValueID, seed: UInt64) throws(GraphFuseError) -> ValueID {
      try b.batchNorm(
        v, scale: CompiledTesting.weight(b, [c], seed: seed, range: 0.5...1.5),
        bias: CompiledTesting.weight(b, [c], seed: seed + 1, range: -0.2...0.2),
        mean: CompiledTesting.weight(b, [c], seed: seed + 2, range: -0.2...0.2),
        variance: CompiledTesting.weight(b, [c], seed: seed + 3, range: 0.5...1.5))
    }
    for k in 0..<blocks {
      let seed = UInt64(10 * k + 10)
      let identity = try batchNorm(x, seed: seed)
      let wide = try batchNorm(
        try b.conv2d(
          x, weight: CompiledTesting.weight(b, [c, c, 3, 3], seed: seed + 4, range: -0.1...0.1), padding: 1),
        seed: seed + 5)
      let narrow = try batchNorm(
        try b.conv2d(x, weight: CompiledTesting.weight(b, [c, c, 1, 1], seed: seed + 6, range: -0.2...0.2)),
        seed: seed + 7)
      x = try b.relu(try b.add(try b.add(wide, narrow), identity))
    }
    b.output(x)
    return try b.finish()
  }

  @Test(arguments: [(16, 12, 1), (24, 9, 2), (40, 7, 1)])
  func trainingFormBlocksRunOnTiledConvs(_ shape: (channels: Int, size: Int, batch: Int)) throws {
    let graph = try Self.trainingFormBlocks(channels: shape.channels, size: shape.size, blocks: 2, batch: shape.batch)
    // Not re-parameterized (that folds the branches away): the training form as it is.
    var options = OptimizeOptions()
    options.reparameterize = false
    let optimized = try graph.optimized(options)
    // The case this test is about: an affine member before the conv anchor.
    #expect(optimized.plan.groups.contains { $0.nodes.first != $0.anchor })
    let kernels = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: System.vectorWidth)
    #expect(kernels.offFastPath(optimized.graph, plan: optimized.plan).isEmpty)
    #expect(!kernels.schedules.joined().contains { $0.kind == .loops })
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 3)
    let expected = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompiledTesting.options)
    let comparison = try model.run([input])[0].compared(to: expected)
    #expect(comparison.isWithin(relative: 1e-4), "\(shape): \(comparison)")
  }

  @Test func groupsOffTheFastPathAreNamed() throws {
    // A dilated transposed conv keeps the generic loop (``convTransposeAsConvPass`` takes the
    // undilated ones): the report names its group.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 6, 6])
    let y = try b.convTranspose2d(
      x, weight: CompiledTesting.weight(b, [8, 4, 3, 3], seed: 1), stride: 2, dilation: 2)
    b.output(try b.relu(y))
    let graph = try b.finish()
    let optimized = try graph.optimized()
    let kernels = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16)
    #expect(kernels.offFastPath(optimized.graph, plan: optimized.plan) == [0])
    let report = FusionReport(optimized, model: "m")
    #expect(report.layouts?.offFastPath == [optimized.plan.groups[0].name])
    #expect(report.description.contains("off the fast path: 1 group run a conv or matmul as generic loops:"))
  }

  @Test(arguments: ["resnet18", "mobilenet_v2", "tiny"])
  func zooModelsStayOnTheFastPath(_ name: String) throws {
    let optimized = try ModelZoo.build(name).optimized()
    let kernels = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(kernels.offFastPath(optimized.graph, plan: optimized.plan).isEmpty)
    #expect(FusionReport(optimized, model: "m").layouts?.offFastPath == nil)
  }
}
