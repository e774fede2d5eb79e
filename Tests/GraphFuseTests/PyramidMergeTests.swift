import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// An FPN / UperNet decoder: a lateral conv plus its coarser level upsampled bilinearly, then the
/// levels upsampled to the finest and concatenated for a conv.
/// - The upsampling's gathers fused into the lateral conv's tail kept the conv off its tiled kernel
///   (a generic scalar loop); ``SideInputPeel`` moves them to a group of their own.
/// - The concat writes blocked layout for the conv after it, so its lanes run along channels; the
///   upsampled level, computed in plain layout, is changed to blocked first instead of read a float
///   per lane (`Scheduler.emitGeneric`).
@Suite struct PyramidMergeTests {
  static func graph() throws -> Graph {
    let b = GraphBuilder()
    let fine = b.input("fine", shape: [1, 16, 16, 16])
    let coarse = b.input("coarse", shape: [1, 32, 8, 8])
    let top = try b.relu(try b.conv2d(coarse, weight: CT.weight(b, [32, 32, 1, 1], seed: 1), padding: 0))
    func up() throws -> ValueID {
      try ChainedUpsamplingTests.upsample(
        b, try ChainedUpsamplingTests.upsample(b, top, axis: 2, extent: 8), axis: 3, extent: 8)
    }
    let lateral = try b.relu(try b.conv2d(fine, weight: CT.weight(b, [32, 16, 1, 1], seed: 2), padding: 0))
    let merged = try b.add(lateral, try up())
    let levels = try b.concat([merged, try up()], axis: 1)
    b.output(try b.conv2d(levels, weight: CT.weight(b, [16, 64, 3, 3], seed: 3), padding: 1))
    return try b.finish()
  }

  @Test func lateralConvStaysTiledAndTheConcatReadsVectors() throws {
    let graph = try Self.graph()
    let optimized = try Pipeline.optimize(graph)
    let kernels = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(kernels.offFastPath(optimized.graph, plan: optimized.plan).isEmpty, "\(optimized.plan.groups.map(\.name))")
    // The loops writing blocked layout load whole vectors: no load steps across planes per lane.
    let blockedLoops = Set(
      kernels.schedules.joined().filter { $0.kind == .loops && $0.output == .blocked(16) }.compactMap(\.symbol))
    #expect(!blockedLoops.isEmpty)
    for function in kernels.functions where blockedLoops.contains(function.symbol) {
      let strided = InnerVectorize.stridedLoads(function.nest.body, width: 16)
      #expect(strided.isEmpty, "\(function.symbol) reads \(strided) a float per lane")
    }
    #expect(kernels.schedules.joined().contains { $0.kind == .toBlocked })
    try CT.fusedAndUnfusedMatchReference(
      graph,
      inputs: [Tensor.random(shape: [1, 16, 16, 16], seed: 4), Tensor.random(shape: [1, 32, 8, 8], seed: 5)],
      context: "pyramid merge")
  }
}
