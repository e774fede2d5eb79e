import Testing

@testable import GraphFuse

/// Small maps: the flat-pixel conv picks its tile count so its tasks split evenly over the threads.
@Suite struct SmallMapSplitTests {
  struct Split: Sendable, CustomStringConvertible {
    var width, maxTile, outer, threads, limit: Int
    var description: String { "\(width) px, tile \(maxTile), \(outer) groups, \(threads) threads" }
  }

  static let splits: [Split] = [
    // 7×7 with 5 channel groups: 5 tiles give 25 tasks (13 against 12); 6 tiles of ≤ 9 give 30.
    Split(width: 49, maxTile: 12, outer: 5, threads: 2, limit: 9),
    // Already even (4 × 5 tiles), or many tasks (28 × 4): the register budget's tile.
    Split(width: 49, maxTile: 12, outer: 4, threads: 2, limit: 12),
    Split(width: 49, maxTile: 14, outer: 28, threads: 2, limit: 14),
    // One thread, or no tile count within 3/4 of the budget that divides evenly.
    Split(width: 49, maxTile: 12, outer: 5, threads: 1, limit: 12),
    Split(width: 9, maxTile: 12, outer: 1, threads: 2, limit: 12),
    // 6×6 with 3 groups of one vector: 3 tiles → 9 tasks; 4 tiles of ≤ 11 → 12.
    Split(width: 36, maxTile: 14, outer: 3, threads: 2, limit: 11),
    // Many tasks (14×14, 3 groups: 51): left to the runtime's shrinking chunks.
    Split(width: 196, maxTile: 12, outer: 3, threads: 2, limit: 12),
  ]

  @Test(arguments: splits)
  func tileLimitBalancesTheTasks(_ s: Split) {
    #expect(TaskSplit.tileLimit(s.width, maxTile: s.maxTile, outer: s.outer, threads: s.threads) == s.limit)
  }

  /// conv 3×3 160 → 160 on a 7×7 map (+ relu): 5 channel groups of 2 vectors.
  static func build(_ b: GraphBuilder) throws(GraphFuseError) {
    let x = b.input("x", shape: [1, 160, 7, 7])
    let w = CompiledTesting.weight(b, [160, 160, 3, 3], seed: 5, range: -0.1...0.1)
    b.output(try b.relu(try b.conv2d(x, weight: w, bias: CompiledTesting.weight(b, [160], seed: 6), padding: 1)))
  }

  /// The scheduled program of ``build(_:)`` for 16-float vectors.
  static func program(threads: Int, winograd: Bool) throws -> KernelPlan {
    let b = GraphBuilder()
    try build(b)
    let optimized = try Pipeline.optimize(try b.finish())
    return try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: threads, winograd: winograd,
      winogradEverywhere: winograd)
  }

  @Test func smallMapConvKeepsBothThreadsBusy() throws {
    let program = try Self.program(threads: 2, winograd: false)
    let conv = try #require(program.schedules.flatMap { $0 }.first { $0.kind == .convDense })
    #expect(conv.parallel == [.batch, .channelGroup, .pixelTile])
    #expect(conv.tasks == 30)
    #expect(conv.tile?.pixels == 9)
    #expect(conv.tile?.reason.contains("split evenly over 2 threads") == true)
    let one = try Self.program(threads: 1, winograd: false)
    #expect(one.schedules.flatMap { $0 }.first { $0.kind == .convDense }?.tasks == 25)
  }

  /// Each step of the register tile hints both lines of weights it reads, `weightsAhead` floats on
  /// (`Docs/Scheduling.md`, "Weights hinted ahead"): direct and Winograd alike.
  @Test(arguments: [false, true]) func smallMapConvHintsItsWeightsAhead(_ winograd: Bool) throws {
    let program = try Self.program(threads: 2, winograd: winograd)
    let kind: KernelSchedule.Kind = winograd ? .convWinograd : .convDense
    #expect(program.schedules.joined().contains { $0.kind == kind })
    let text = program.functions.map { KernelFunction($0).text }.joined()
    let ahead = RegisterTile.weightsAhead
    #expect(text.contains("gf_prefetch_l1(wp + i*32 + \(ahead));"), "\(text)")
    #expect(text.contains("gf_prefetch_l1(wp + i*32 + \(ahead + 16));"))
  }

  /// On a 7×7 map a channel group's weights serve 6 pixel tiles, so its first tiles hint the weights
  /// of the group `threads` groups on into L2 (`Docs/Scheduling.md`, "The next group's weights into
  /// L2"); on 14×14 they serve 17 tiles and nothing is hinted, nor in Winograd's products.
  @Test func smallMapConvHintsTheNextGroupsWeights() throws {
    let slice = 10 * 9 * 2 * 16 * 16
    for threads in [1, 2] {
      let text = try Self.program(threads: threads, winograd: false).functions.map { KernelFunction($0).text }.joined()
      #expect(text.contains("gf_prefetch_l2(wt + (og + \(threads))*\(slice) + "), "\(text)")
    }
    let winograd = try Self.program(threads: 2, winograd: true).functions.map { KernelFunction($0).text }.joined()
    #expect(!winograd.contains("gf_prefetch_l2(wt + "))
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 64, 14, 14])
    let w = CompiledTesting.weight(b, [64, 64, 3, 3], seed: 5, range: -0.1...0.1)
    b.output(try b.conv2d(x, weight: w, bias: CompiledTesting.weight(b, [64], seed: 6), padding: 1))
    let optimized = try Pipeline.optimize(try b.finish())
    let large = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winograd: false)
    let text = large.functions.map { KernelFunction($0).text }.joined()
    #expect(text.contains("gf_prefetch_l1(wp + ") && !text.contains("gf_prefetch_l2(wt + "), "\(text)")
  }

  /// The next group's lines are spread over every pixel tile of the group, one every `spread` FMA
  /// steps: all of them hinted by the end of the group's last tile, none past it, and the C guards
  /// the hint with the spread (`Docs/Scheduling.md`, "Spread over the group").
  @Test(arguments: [160, 320, 512])
  func nextGroupsWeightsSpreadOverTheTiles(_ channels: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, channels, 14, 14])
    let w = CompiledTesting.weight(b, [channels, channels, 3, 3], seed: 5, range: -0.1...0.1)
    let first = try b.relu(try b.conv2d(x, weight: w, bias: CompiledTesting.weight(b, [channels], seed: 6), padding: 1))
    let w2 = CompiledTesting.weight(b, [channels, channels, 1, 1], seed: 7, range: -0.1...0.1)
    b.output(try b.conv2d(first, weight: w2, bias: nil, stride: 2))
    let optimized = try Pipeline.optimize(try b.finish())
    let program = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winograd: false)
    let pointwise = try #require(program.schedules.joined().first { $0.kind == .convPointwise })
    var conv = BlockedConv(
      n: 1, cin: channels, h: 14, w: 14, cout: channels, oh: 7, ow: 7, kh: 1, kw: 1, sh: 2, sw: 2,
      pt: 0, pl: 0, dh: 1, dw: 1, inputBlocked: true, depthwise: false, v: 16,
      epilogue: Epilogue(expr: .local("acc"), operands: [], output: first, vectorWidth: 16))
    conv.flatTileLimit = TaskSplit.tileLimit(49, maxTile: conv.maxTile, outer: conv.channelGroups, threads: 2)
    #expect(pointwise.tasks == conv.channelGroups * conv.flatTiles.count)
    let (steps, lines, spread) = conv.nextWeightsPace
    let tiles = min(conv.flatTiles.count, BlockedConv.hintedTiles)
    #expect(spread * lines <= tiles * steps && (spread + 1) * lines > tiles * steps)
    let text = program.functions.map { KernelFunction($0).text }.joined()
    if spread > 1 { #expect(text.contains(")%\(spread) == 0"), "\(pointwise.tasks) \(text)") }
    #expect(text.contains("gf_prefetch_l2(wt + "))
  }

  /// Each window position of a flat tile prefetches its pixels `inputLookahead` input blocks on
  /// while such blocks remain (`Docs/Scheduling.md`, "Input pixels prefetched ahead"); the outputs
  /// stay the reference's (``smallMapConvMatchesReference()``).
  @Test func smallMapConvPrefetchesItsInputAhead() throws {
    let text = try Self.program(threads: 2, winograd: false).functions.map { KernelFunction($0).text }.joined()
    let ahead = BlockedConv.inputLookahead
    #expect(text.contains("if ((unsigned long)(ib) < \(10 - ahead)ul) {"), "\(text)")
    for t in 0..<9 { #expect(text.contains("gf_prefetch_l1(in + (n*10 + ib + \(ahead))*784 + offs\(t)[q]);")) }
  }

  @Test func smallMapConvMatchesReference() throws {
    let b = GraphBuilder()
    try Self.build(b)
    let graph = try b.finish()
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 7) }
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "small map")
  }
}
