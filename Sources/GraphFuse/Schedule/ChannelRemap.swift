/// An injective group output whose every element `(n, c, h, w)` is element `(n, f(c), h, w)` of
/// one of the group's rank-4 inputs: a channel shuffle, slice, split, concat along channels, or
/// any composition of them (reshape → transpose → reshape included).
///
/// Found from the group's composed index map, never from op names: the output's value is built
/// with symbolic `n`, `h`, `w` and, channel by channel, a constant `c`; ``AffineIndex`` then proves
/// that every select in it is decided by `c` alone and that the load it reaches is at flat offset
/// `n·C·H·W + f·H·W + h·W + w` of an input of shape `[N, C, H, W]` — for all `n`, `h`, `w` at once.
struct ChannelRemap: Equatable {
  /// The output value and its shape `[N, C, H, W]`.
  var output: ValueID
  var shape: [Int]
  /// The inputs read, in first-use order (each of shape `[N, C_k, H, W]`).
  var sources: [ValueID]
  /// For each output channel: the index into ``sources`` and the channel of that source.
  var channels: [(source: Int, channel: Int)]

  static func == (a: ChannelRemap, b: ChannelRemap) -> Bool {
    a.output == b.output && a.shape == b.shape && a.sources == b.sources
      && a.channels.elementsEqual(b.channels) { $0.source == $1.source && $0.channel == $1.channel }
  }

  /// The remap computing `output` of `group`, or nil when the output is not a channel remap of
  /// the group's inputs (or not rank 4).
  static func match(_ graph: Graph, group: FusedGroup, output: ValueID) -> ChannelRemap? {
    let shape = graph.shape(of: output)
    guard group.pattern <= .injective, shape.count == 4, shape.allSatisfy({ $0 > 0 }) else { return nil }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    var lowering = GroupLowering(graph: graph, group: group)
    // Extent-1 axes are constants, as in the generic lowering's loops.
    func axis(_ name: String, _ extent: Int) -> IndexExpr { extent == 1 ? .constant(0) : .variable(name) }
    let extents = ["n": n, "h": h, "w": w]
    guard let expression = try? lowering.value(output, at: [axis("n", n), axis("c", c), axis("h", h), axis("w", w)]),
      lowering.prelude.isEmpty
    else { return nil }
    let valueOf = Dictionary(lowering.names.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
    var sources: [ValueID] = [], channels: [(source: Int, channel: Int)] = []
    for channel in 0..<c {
      guard let (name, offset) = load(expression, channel: channel, extents: extents), let x = valueOf[name]
      else { return nil }
      let s = graph.shape(of: x)
      guard s.count == 4, s[0] == n, s[2] == h, s[3] == w else { return nil }
      // The flat offset of (n, f, h, w) in s, extent-1 axes contributing nothing.
      var expected: [String: Int] = [:]
      if n > 1 { expected["n"] = s[1] * h * w }
      if h > 1 { expected["h"] = w }
      if w > 1 { expected["w"] = 1 }
      let plane = h * w
      guard offset.terms == expected, offset.constant % plane == 0, (0..<s[1]).contains(offset.constant / plane)
      else { return nil }
      if !sources.contains(x) { sources.append(x) }
      channels.append((sources.firstIndex(of: x) ?? 0, offset.constant / plane))
    }
    return ChannelRemap(output: output, shape: shape, sources: sources, channels: channels)
  }

  /// The buffer and affine offset that `e` loads at every point when the channel variable `c`
  /// is `channel`, following selects whose conditions are decided over the whole range; nil for
  /// anything else (math, constants, conditions that depend on the point).
  private static func load(_ e: ValueExpr, channel: Int, extents: [String: Int]) -> (String, AffineIndex)? {
    switch e {
    case .load(let name, let index):
      guard let offset = AffineIndex(substitute(index, channel), extents: extents) else { return nil }
      return (name, offset)
    case .select(let conditions, let a, let b):
      var all = true
      for condition in conditions {
        guard let holds = AffineIndex.decide(substitute(condition, channel), extents: extents) else { return nil }
        all = all && holds
      }
      return load(all ? a : b, channel: channel, extents: extents)
    default:
      return nil
    }
  }

  /// `i` with the channel variable `c` replaced by the constant `channel`.
  private static func substitute(_ i: IndexExpr, _ channel: Int) -> IndexExpr {
    switch i {
    case .variable(let v): return v == "c" ? .constant(channel) : i
    case .constant: return i
    case .add(let a, let b): return .add(substitute(a, channel), substitute(b, channel))
    case .mul(let a, let k): return .mul(substitute(a, channel), k)
    case .div(let a, let k): return .div(substitute(a, channel), k)
    case .mod(let a, let k): return .mod(substitute(a, channel), k)
    case .table(let t, let a): return .table(t, substitute(a, channel))
    case .element(let name, let a): return .element(name, substitute(a, channel))
    case .select(let cs, let a, let b):
      return .select(cs.map { substitute($0, channel) }, substitute(a, channel), substitute(b, channel))
    case .thread, .checked: return i
    }
  }

  /// `c` with the channel variable `c` replaced by the constant `channel`.
  private static func substitute(_ c: IndexCondition, _ channel: Int) -> IndexCondition {
    switch c {
    case .inRange(let i, let lower, let upper): return .inRange(substitute(i, channel), lower, upper)
    case .divisible(let i, let k): return .divisible(substitute(i, channel), k)
    case .less(let a, let b): return .less(substitute(a, channel), substitute(b, channel))
    case .unequal(let a, let b): return .unequal(substitute(a, channel), substitute(b, channel))
    }
  }
}
