import Testing

@testable import GraphFuse

/// A row-tiled conv whose input is larger than a core's L2 and whose weights are small runs its
/// output channel groups innermost, so each input row is read once instead of once per group
/// (``BlockedConv/prefersGroupsInnermost(l2Bytes:)``); the result is the same.
@Suite struct ConvTaskOrderTests {
  /// conv 1×1 stride 2, 128 → 256 (8 groups of two vectors) from `size`², + relu.
  static func graph(size: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 128, size, size])
    let w = CompiledTesting.weight(b, [256, 128, 1, 1], seed: 3, range: -0.1...0.1)
    b.output(try b.relu(try b.conv2d(x, weight: w, bias: CompiledTesting.weight(b, [256], seed: 4), stride: 2)))
    return try b.finish()
  }

  /// conv 3×3 stride 2, 72 → 72 in groups of 24 (RegNetX-1.6GF's first stage) from `size`², + relu:
  /// its 5 vector groups read 2, 3, 2, 3, 2 of the input's 5 blocks, 2.4 sweeps of the input.
  static func groupedGraph(size: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 72, size, size])
    let w = CompiledTesting.weight(b, [72, 24, 3, 3], seed: 6, range: -0.1...0.1)
    let y = try b.conv2d(x, weight: w, bias: CompiledTesting.weight(b, [72], seed: 7), stride: 2, padding: 1, groups: 3)
    b.output(try b.relu(y))
    return try b.finish()
  }

  static func convSchedule(size: Int, l2Bytes: Int, grouped: Bool = false) throws -> KernelSchedule {
    let optimized = try Pipeline.optimize(try grouped ? groupedGraph(size: size) : graph(size: size))
    var target = ScheduleTarget(vectorWidth: 16, threads: 2)
    target.l2Bytes = l2Bytes
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target)
    return try #require(program.schedules.joined().first { $0.kind == (grouped ? .convGrouped : .convPointwise) })
  }

  @Test func groupsRunInnermostWhenTheInputOutgrowsL2() throws {
    // 72² × 128 floats: 2.7 MB.
    let large = try Self.convSchedule(size: 72, l2Bytes: 1 << 20)
    #expect(large.parallel == [.batch, .row, .channelGroup], "\(large)")
    #expect(large.tile?.reason.contains("channel groups innermost") == true)
    // With an L2 that holds the input (the same conv, or a 48² input): rows innermost.
    #expect(try Self.convSchedule(size: 72, l2Bytes: 4 << 20).parallel == [.batch, .channelGroup, .row])
    #expect(try Self.convSchedule(size: 48, l2Bytes: 2 << 20).parallel == [.batch, .channelGroup, .row])
  }

  /// A grouped conv sweeps its input fewer times (each group reads a few blocks), and turns the
  /// order over from 2 sweeps: 112² × 72 floats, 3.6 MB.
  @Test func groupedConvRunsGroupsInnermostFromTwoSweeps() throws {
    let large = try Self.convSchedule(size: 112, l2Bytes: 1 << 20, grouped: true)
    #expect(large.parallel == [.batch, .row, .channelGroup], "\(large)")
    #expect(
      try Self.convSchedule(size: 112, l2Bytes: 8 << 20, grouped: true).parallel == [.batch, .channelGroup, .row])
    try Self.compiledMatches(try Self.groupedGraph(size: 112), input: [1, 72, 112, 112], kind: .convGrouped)
  }

  @Test func groupsInnermostMatchesTheReference() throws {
    try Self.compiledMatches(try Self.graph(size: 72), input: [1, 128, 72, 72], kind: .convPointwise)
  }

  /// The fused and unfused builds match the reference; the conv of `kind` runs its groups innermost
  /// wherever this host's L2 is smaller than the input (every current server core).
  static func compiledMatches(
    _ graph: Graph, input: [Int], kind: KernelSchedule.Kind, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let inputs = [Tensor.random(shape: input, seed: 5)]
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: inputs, context: "\(input)", sourceLocation: sourceLocation)
    let fused = try #require(models.first { $0.name == "fused" }).model
    let conv = try #require(fused.program.schedules.joined().first { $0.kind == kind })
    if let l2 = System.l2Bytes, l2 < input.reduce(4, *) {
      #expect(conv.parallel == [.batch, .row, .channelGroup], "\(conv)", sourceLocation: sourceLocation)
    }
  }
}
