import Testing

@testable import GraphFuse

/// Grouped convolutions run as the dense blocked kernel over a run of input blocks per tile with
/// block-diagonal weights (``GroupedConvBlocks``): which blocks each tile reads, and compiled
/// results against the reference over group counts and widths on and off the vector width.
@Suite struct GroupedConvTests {
  struct Blocks: Sendable, CustomStringConvertible {
    var cin, cout, groups, vector: Int
    /// Expected vectors per tile, blocks per tile, first block of each tile, waste.
    var vectors, count: Int
    var start: [Int]
    var waste: Double
    var description: String { "\(cin)->\(cout) in \(groups) groups, v\(vector)" }
  }

  static let blockCases: [Blocks] = [
    // Width 8 (RegNet): two groups per output vector, one input block each; half the FMAs useful
    // (which is why such groups run as ``RotatedGroupConv`` instead).
    // The last tile holds group 12 alone, so it skips the block's second half: 13 halves of 14.
    Blocks(cin: 104, cout: 104, groups: 13, vector: 16, vectors: 1, count: 1, start: Array(0..<7), waste: 13.0 / 7),
    // Width 32: two output vectors share one group's two input blocks; nothing wasted.
    Blocks(cin: 128, cout: 128, groups: 4, vector: 16, vectors: 2, count: 2, start: [0, 2, 4, 6], waste: 1),
    // Width 24 does not align with 16: the middle output vector needs all three input blocks, the
    // outer two their group's one and a half (12 half blocks of 8 lanes where 3 × 24 channels are
    // useful; 7 whole blocks, 1.56, before the unused halves were skipped).
    Blocks(cin: 48, cout: 48, groups: 2, vector: 16, vectors: 1, count: 3, start: [0, 0, 1], waste: 12.0 * 8 / 72),
    // Unequal widths (3 in, 2 out per group): runs of two blocks, the last clamped to the end; the
    // tiles read channels 0–23 and 24–47, so each skips one half of its two blocks.
    Blocks(cin: 48, cout: 32, groups: 16, vector: 16, vectors: 1, count: 2, start: [0, 1], waste: 8),
    // Channel multiplier 2 (one input channel per group): one block per tile, the 16x waste limit.
    Blocks(cin: 16, cout: 32, groups: 16, vector: 16, vectors: 2, count: 1, start: [0], waste: 16),
    // AVX2 width: width 8 fills a vector exactly.
    Blocks(cin: 48, cout: 48, groups: 6, vector: 8, vectors: 1, count: 1, start: Array(0..<6), waste: 1),
  ]

  @Test(arguments: blockCases)
  func tilesReadTheBlocksOfTheirGroups(_ c: Blocks) throws {
    let blocks = try #require(GroupedConvBlocks(cin: c.cin, cout: c.cout, groups: c.groups, vector: c.vector))
    #expect(blocks.vectors == c.vectors)
    #expect(blocks.count == c.count)
    #expect(blocks.start == c.start)
    #expect(abs(blocks.waste - c.waste) < 1e-9)
  }

  /// Tiles whose groups span fewer blocks than the widest skip the rest: RegNetX-1.6GF's width-24
  /// groups over 168 channels read 2, 3 and 2 blocks in turn, and the kernel tests each step's block
  /// against the tile's own count; widths that align read the same count everywhere, untested.
  @Test func tilesSkipBlocksPastTheirOwn() throws {
    let uneven = try #require(GroupedConvBlocks(cin: 168, cout: 168, groups: 7, vector: 16))
    #expect(uneven.counts == [2, 3, 2, 2, 3, 2, 2, 3, 2, 2, 2])
    #expect(uneven.start == [0, 0, 1, 3, 3, 4, 6, 6, 7, 9, 9])
    #expect(uneven.countsDiffer && uneven.count == 3)
    #expect(uneven.reason(cin: 168, cout: 168, groups: 7).contains("reads 2-3 input blocks"))
    let aligned = try #require(GroupedConvBlocks(cin: 128, cout: 128, groups: 4, vector: 16))
    #expect(!aligned.countsDiffer)
    // The kernel of a width-24 grouped conv tests its step against the tile's count; it matches the
    // reference.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 9, 9])
    let y = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [168, 16, 1, 1], seed: 1)))
    b.output(try b.conv2d(y, weight: CompiledTesting.weight(b, [168, 24, 3, 3], seed: 2), padding: 1, groups: 7))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let texts = program.functions.map { KernelFunction($0).text }
    #expect(texts.filter { $0.contains("if (ib < tab") }.count == 1)
    // Its outer tiles use half of one block: the kernel steps over that half only (a table of codes
    // per tile and block, 3 for both halves, 1 or 2 for one).
    #expect(texts.filter { $0.contains("const float *wph = wp + ") }.count == 1)
    let input = Tensor.random(shape: [1, 16, 9, 9], in: -1...1, seed: 5)
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "width 24")
  }

  @Test func refusesAbsurdWasteAndUnevenGroups() {
    // One input channel per group in vectors of 32 lanes: 1 useful FMA in 32.
    #expect(GroupedConvBlocks(cin: 32, cout: 64, groups: 32, vector: 32) == nil)
    #expect(GroupedConvBlocks(cin: 30, cout: 32, groups: 4, vector: 16) == nil)
    #expect(GroupedConvBlocks(cin: 32, cout: 32, groups: 1, vector: 16) == nil)
  }

  /// A grouped conv plans a blocked kernel, reading the blocked output of the conv before it,
  /// with no layout change and no generic loop nest.
  @Test func groupedConvPlansTheBlockedKernel() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 14, 14])
    let y = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [104, 16, 1, 1], seed: 1)))
    let z = try b.conv2d(y, weight: CompiledTesting.weight(b, [104, 8, 3, 3], seed: 2), padding: 1, groups: 13)
    b.output(try b.relu(z))
    let optimized = try Pipeline.optimize(try b.finish())
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let schedules = program.schedules.flatMap { $0 }
    #expect(!schedules.contains { $0.kind == .loops })
    let grouped = try #require(schedules.first { $0.kind == .convGrouped })
    #expect(grouped.inputs == [.blocked(16), .packed, .packed])
    #expect(grouped.output == .blocked(16))
    #expect(grouped.epilogue == ["relu"])
    #expect(grouped.tile?.vectors == 1)
    // Groups of 8 in 16 lanes: the partial sums rotated within each group's lanes (``RotatedGroupConv``),
    // a task per channel block and output row.
    #expect(grouped.tile?.reason.contains("13 groups of 8 channels, 2 to a vector") == true)
    #expect(grouped.tasks == 7 * 14)
    // Only the graph input and output change layout.
    #expect(schedules.filter { $0.kind == .toBlocked || $0.kind == .toPlain }.count == 2)
  }

  /// On a 14×14 map a grouped conv reducing over one to three blocks a tile runs row tiles (a flat
  /// tile's window offsets cost more than so few blocks' FMAs pay for), a dense conv flat tiles; on
  /// 7×7 both run flat. 240 channels: groups of 16 (one block a tile), of 24 (two or three), dense.
  @Test(arguments: [(14, 15, false), (14, 10, false), (14, 1, true), (7, 15, true)])
  func narrowReductionsKeepRowTiles(_ size: Int, _ groups: Int, _ flat: Bool) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, size, size])
    let y = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [240, 16, 1, 1], seed: 1)))
    let w = CompiledTesting.weight(b, [240, 240 / groups, 3, 3], seed: 2)
    b.output(try b.relu(try b.conv2d(y, weight: w, padding: 1, groups: groups)))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winograd: false)
    let conv = try #require(program.schedules.joined().first { $0.kind == (groups > 1 ? .convGrouped : .convDense) })
    #expect((conv.tile?.reason.contains("runs of consecutive pixels") == true) == flat, "\(conv.tile?.reason ?? "")")
    if groups > 1 && size == 14 {
      let input = Tensor.random(shape: [1, 16, size, size], in: -1...1, seed: 5)
      try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(groups) groups, rows")
    }
  }

  /// One random case: 1×1 conv to `cin` channels (+ relu), the grouped conv (+ relu), so the
  /// grouped conv reads a blocked input whose padding lanes come from a kernel. "depthwise": one
  /// input channel per group, with or without a channel multiplier.
  static func network(seed: UInt64) throws -> (Graph, String) {
    var g = RandomKernelSweepTests.Generator(state: seed &* 7919)
    let b = GraphBuilder()
    let groups = [2, 3, 4, 6, 8, 13, 16, 32, 64][g.next(0...8)]
    let widest = max(1, min(64, 160 / groups))
    let inWidth = min([1, 2, 3, 5, 8, 16, 24, 64][g.next(0...7)], widest)
    let outWidth = g.next(0...1) == 0 ? inWidth : g.next(1...widest)
    let (cin, cout) = (groups * inWidth, groups * outWidth)
    let size = g.next(5...13)
    let k = [1, 3][g.next(0...1)]
    let stride = g.next(1...2), dilation = g.next(1...2), pad = g.next(0...2)
    let x = b.input("x", shape: [g.next(1...2), 5, size, size + g.next(0...2)])
    let y = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [cin, 5, 1, 1], seed: seed &+ 1)))
    let w = CompiledTesting.weight(b, [cout, cin / groups, k, k], seed: seed &+ 2)
    let bias = CompiledTesting.weight(b, [cout], seed: seed &+ 3)
    var z = try b.conv2d(y, weight: w, bias: bias, stride: stride, padding: pad, dilation: dilation, groups: groups)
    if g.next(0...1) == 1 { z = try b.relu(z) }
    b.output(z)
    let text =
      "seed \(seed): \(cin)->\(cout) in \(groups) groups\(cin == groups ? " (depthwise)" : ""), "
      + "\(k)x\(k) s\(stride) d\(dilation) p\(pad), \(size)px"
    return (try b.finish(), text)
  }

  @Test(arguments: [UInt64](1...24))
  func compiledMatchesReference(seed: UInt64) throws {
    let (graph, text) = try Self.network(seed: seed)
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: seed &+ 99) }
    for (name, model) in try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: text) {
      // Every grouped conv ran as the blocked kernel, but depthwise ones, with a channel multiplier
      // too (``ChannelMultiplier``: a channel remap, then depthwise).
      let kinds = model.program.schedules.flatMap { $0 }.map(\.kind)
      #expect(kinds.contains(.convGrouped) != text.contains("depthwise"), "\(name), \(text): \(kinds)")
      #expect(!kinds.contains(.loops), "\(name), \(text): \(kinds)")
    }
  }
}
