/// How a grouped convolution runs as the dense blocked conv kernel: each register tile of `vectors`
/// output channel vectors reads only the input channel blocks that hold its groups' input channels,
/// a run of `count` blocks starting at `start[og]` (a table, one entry per output vector group);
/// inside that run its packed weights are block-diagonal (zero where an input channel is not in
/// the output lane's group). See "Grouped convolution" in Docs/Scheduling.md.
struct GroupedConvBlocks: Sendable, Equatable {
  /// Channel vectors per register tile (1 or 2).
  var vectors: Int
  /// The first input channel block each output vector group reads.
  var start: [Int]
  /// Input channel blocks each output vector group reads (the widest span over the groups).
  var count: Int
  /// FMAs issued per useful multiply-add: `count · v / (input channels per group)`.
  var waste: Double

  /// Above this waste the blocked kernel is refused and the generic loops run the conv: the
  /// generic loops reach about 3 % of the FMA peak on grouped convs, the dense blocked kernel
  /// 40–60 %, so the blocked kernel stays ahead up to a waste of roughly 16.
  static let maxWaste = 16.0

  /// The schedule for `groups` groups over `cin` → `cout` channels in vectors of `v`, or nil when
  /// the channels do not split into groups, or the waste would exceed ``maxWaste``.
  /// Two vectors per tile only when the output blocks pair up and pairing reads no more input
  /// blocks than one vector does (wide, aligned groups); otherwise one.
  init?(cin: Int, cout: Int, groups: Int, vector v: Int) {
    guard groups > 1, cin % groups == 0, cout % groups == 0 else { return nil }
    let outBlocks = (cout + v - 1) / v
    let one = Self.spans(cin: cin, cout: cout, groups: groups, vector: v, vectors: 1)
    var choice = (vectors: 1, spans: one)
    if v == 16, outBlocks % 2 == 0 {
      let two = Self.spans(cin: cin, cout: cout, groups: groups, vector: v, vectors: 2)
      if Self.width(two) <= Self.width(one) { choice = (2, two) }
    }
    let inBlocks = (cin + v - 1) / v
    let count = Self.width(choice.spans)
    vectors = choice.vectors
    self.count = count
    start = choice.spans.map { min($0.first, inBlocks - count) }
    waste = Double(count * v) / Double(cin / groups)
    guard waste <= Self.maxWaste else { return nil }
  }

  /// For each tile of `vectors` output vectors: the first and last input block its groups read.
  static func spans(cin: Int, cout: Int, groups: Int, vector v: Int, vectors: Int) -> [(first: Int, last: Int)] {
    let (inPerGroup, outPerGroup) = (cin / groups, cout / groups)
    let tiles = ((cout + v - 1) / v + vectors - 1) / vectors
    return (0..<tiles).map { og in
      let firstGroup = og * vectors * v / outPerGroup
      let lastGroup = min(cout - 1, (og + 1) * vectors * v - 1) / outPerGroup
      return (firstGroup * inPerGroup / v, ((lastGroup + 1) * inPerGroup - 1) / v)
    }
  }

  private static func width(_ spans: [(first: Int, last: Int)]) -> Int {
    spans.map { $0.last - $0.first + 1 }.max() ?? 1
  }

  /// The tile's reason string for the schedule.
  func reason(cin: Int, cout: Int, groups: Int) -> String {
    let waste = (self.waste * 100).rounded() / 100
    return "\(groups) groups of \(cin / groups) -> \(cout / groups) channels: each tile reads \(count) input "
      + "block\(count == 1 ? "" : "s") from a table, block-diagonal weights, \(waste)x FMAs per useful one"
  }
}
