/// How a grouped convolution runs as the dense blocked conv kernel: each register tile of `vectors`
/// output channel vectors reads only the input channel blocks that hold its groups' input channels,
/// `counts[og]` blocks starting at `start[og]` (tables, one entry per output vector group); its
/// packed weights take `count` blocks (the most any tile reads), block-diagonal inside (zero where
/// an input channel is not in the output lane's group). See "Grouped convolution" in
/// Docs/Scheduling.md.
struct GroupedConvBlocks: Sendable, Equatable {
  /// Channel vectors per register tile (1 or 2).
  var vectors: Int
  /// The first input channel block each output vector group reads.
  var start: [Int]
  /// Input channel blocks each output vector group reads: its groups' span.
  var counts: [Int]
  /// The most blocks a group reads: the packed weights' blocks per tile.
  var count: Int
  /// FMAs issued per useful multiply-add, over all tiles: the input channels the tiles step over
  /// (``halfCodes`` skipping unused halves) per input channel of a group.
  var waste: Double
  /// Which halves of block `ib` of tile `og` hold input channels of the tile's groups, at
  /// `og · count + ib`: 3 both, 1 the first, 2 the second, 0 neither; nil when every counted block
  /// is used whole. Widths off the vector (24 in 16 lanes) leave a tile's outer blocks half used, and
  /// the kernel steps over the used half only instead of multiplying the other's zero weights.
  var halfCodes: [Int]? = nil

  /// Whether the tiles read different numbers of blocks, so the kernel's loop over `count` blocks
  /// skips those past a tile's own (group width 24 in 16 lanes: 2, 3 and 2 blocks, 7 where 9 ran).
  var countsDiffer: Bool { counts.contains { $0 != count } }

  /// Above this waste the blocked kernel is refused and the generic loops run the conv: the
  /// generic loops reach about 3 % of the FMA peak on grouped convs, the dense blocked kernel
  /// 40–60 %, so the blocked kernel stays ahead up to a waste of roughly 16.
  static let maxWaste = 16.0

  /// The schedule for `groups` groups over `cin` → `cout` channels in vectors of `v`, or nil when
  /// the channels do not split into groups, or the waste would exceed ``maxWaste``.
  /// Two vectors per tile only when the output blocks pair up and pairing issues no more FMAs than
  /// one vector per tile does (wide, aligned groups); otherwise one.
  init?(cin: Int, cout: Int, groups: Int, vector v: Int) {
    guard groups > 1, cin % groups == 0, cout % groups == 0 else { return nil }
    let outBlocks = (cout + v - 1) / v
    let one = Self.spans(cin: cin, cout: cout, groups: groups, vector: v, vectors: 1)
    var choice = (vectors: 1, spans: one)
    if v == 16, outBlocks % 2 == 0 {
      let two = Self.spans(cin: cin, cout: cout, groups: groups, vector: v, vectors: 2)
      if 2 * Self.blocks(two) <= Self.blocks(one) { choice = (2, two) }
    }
    vectors = choice.vectors
    start = choice.spans.map(\.first)
    counts = choice.spans.map { $0.last - $0.first + 1 }
    count = counts.max() ?? 1
    waste = Double(counts.reduce(0, +) * v) / Double(counts.count * (cin / groups))
    guard waste <= Self.maxWaste else { return nil }
    if v % 2 == 0 {
      let codes = Self.halfCodes(
        cin: cin, cout: cout, groups: groups, vector: v, vectors: vectors, start: start, count: count)
      // Halves stepped over: a code's bits, over the blocks each tile counts.
      let stepped = counts.indices.reduce(0) { sum, og in
        sum + (0..<counts[og]).reduce(0) { $0 + (codes[og * count + $1] & 1) + (codes[og * count + $1] >> 1) }
      }
      if stepped < 2 * counts.reduce(0, +) {
        halfCodes = codes
        waste = Double(stepped * v / 2) / Double(counts.count * (cin / groups))
      }
    }
  }

  /// The input channels the groups of tile `og` of `vectors` output vectors read.
  static func inputChannels(og: Int, cin: Int, cout: Int, groups: Int, vector v: Int, vectors: Int) -> Range<Int> {
    let (inPerGroup, outPerGroup) = (cin / groups, cout / groups)
    let firstGroup = og * vectors * v / outPerGroup
    let lastGroup = min(cout - 1, (og + 1) * vectors * v - 1) / outPerGroup
    return (firstGroup * inPerGroup)..<((lastGroup + 1) * inPerGroup)
  }

  /// ``halfCodes`` for tiles reading `count` blocks from `start[og]`: bit `h` set when an input
  /// channel of the tile's groups lies in half `h` of the block.
  static func halfCodes(
    cin: Int, cout: Int, groups: Int, vector v: Int, vectors: Int, start: [Int], count: Int
  ) -> [Int] {
    var codes = [Int](repeating: 0, count: start.count * count)
    for og in start.indices {
      for channel in inputChannels(og: og, cin: cin, cout: cout, groups: groups, vector: v, vectors: vectors) {
        let ib = channel / v - start[og]
        guard ib >= 0 && ib < count else { continue }
        codes[og * count + ib] |= 1 << ((channel % v) / (v / 2))
      }
    }
    return codes
  }

  /// For each tile of `vectors` output vectors: the first and last input block its groups read.
  static func spans(cin: Int, cout: Int, groups: Int, vector v: Int, vectors: Int) -> [(first: Int, last: Int)] {
    let tiles = ((cout + v - 1) / v + vectors - 1) / vectors
    return (0..<tiles).map { og in
      let channels = inputChannels(og: og, cin: cin, cout: cout, groups: groups, vector: v, vectors: vectors)
      return (channels.lowerBound / v, (channels.upperBound - 1) / v)
    }
  }

  /// The blocks all tiles read together.
  private static func blocks(_ spans: [(first: Int, last: Int)]) -> Int {
    spans.reduce(0) { $0 + $1.last - $1.first + 1 }
  }

  /// The tile's reason string for the schedule.
  func reason(cin: Int, cout: Int, groups: Int) -> String {
    let waste = (self.waste * 100).rounded() / 100
    let blocks =
      countsDiffer ? "\(counts.min() ?? count)-\(count) input blocks" : "\(count) input block\(count == 1 ? "" : "s")"
    return "\(groups) groups of \(cin / groups) -> \(cout / groups) channels: each tile reads \(blocks) "
      + "from a table, block-diagonal weights, \(waste)x FMAs per useful one"
  }
}
