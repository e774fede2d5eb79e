import Testing

@testable import GraphFuse

/// With several images, conv tasks run channel group by channel group (images inside), so a
/// thread's consecutive tasks share one group's weights; the results match the reference for
/// row-tiled, flat-pixel and 1×1 convs at batch 3, and batch 1 keeps the image-outer order.
@Suite struct BatchTaskOrderTests {
  /// conv 3×3 on `size`×`size` (+ relu), then a 1×1 conv, at `batch` images.
  static func graph(batch: Int, size: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 32, size, size])
    let c = try b.relu(
      try b.conv2d(x, weight: CompiledTesting.weight(b, [64, 32, 3, 3], seed: 2, range: -0.2...0.2), padding: 1))
    b.output(try b.conv2d(c, weight: CompiledTesting.weight(b, [48, 64, 1, 1], seed: 3, range: -0.2...0.2)))
    return try b.finish()
  }

  @Test(arguments: [(3, 7), (3, 30), (1, 7)]) func convTasksAndResults(_ batch: Int, _ size: Int) throws {
    let graph = try Self.graph(batch: batch, size: size)
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winograd: false)
    let convs = program.schedules.flatMap { $0 }.filter { [.convDense, .convPointwise].contains($0.kind) }
    #expect(convs.count == 2)
    for conv in convs {
      let outer: [KernelSchedule.Axis] = batch > 1 ? [.channelGroup, .batch] : [.batch, .channelGroup]
      #expect(Array(conv.parallel.prefix(2)) == outer, "\(conv)")
    }
    let inputs = [Tensor.random(shape: [batch, 32, size, size], seed: 4)]
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "batch \(batch), \(size)²")
  }
}
