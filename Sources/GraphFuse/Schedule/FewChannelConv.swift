/// A conv with few output channels (a depth or mask head, an image-to-image network's RGB output)
/// with the output pixels in the vector lanes instead of its channels. The blocked kernel puts the
/// output channels in the lanes, so a conv with one output channel keeps 1 lane of 16 busy: GLPN's
/// 32 → 1 depth head over 64² ran at 5 % of the FMA peak. Here a task takes one output row's run of
/// `v` consecutive pixels and, per output channel, keeps one accumulator per pixel whose lanes are the
/// input channels of a block: each step multiplies the pixel's input vector (`NCHW[v]c`, one load) by
/// the weight vector of that block and kernel position (the weight in the same blocked layout,
/// `[O][Cin/v][KH][KW][v]`) and adds. At the end a tree of shuffles sums each accumulator's lanes
/// into lane `t` of one vector (``reduceAcrossLanes(_:prefix:)``), the bias and the epilogue apply to
/// that vector of pixels, and one store writes it to the plain output (`NCHW`), where the run's pixels
/// of a channel lie side by side, when every reader takes it plain (a head's output goes on to a
/// reshape, a softmax over the pixels or the network's output); else each pixel's value goes to its
/// lane of a blocked output, whose other lanes are cleared first. Per run and output channel:
/// `v · blocks · KH · KW` FMAs, about `3 v` shuffles and adds, one store (`v` into blocked layout).
struct FewChannelConv {
  var n: Int, cin: Int, h: Int, w: Int, cout: Int, oh: Int, ow: Int
  var kh: Int, kw: Int, sh: Int, sw: Int, pt: Int, pl: Int, dh: Int, dw: Int
  /// Floats per vector; output pixels per run.
  var v: Int
  var epilogue: Epilogue
  /// The output in plain layout (every reader takes it plain: a reshape, a softmax over the pixels,
  /// the network's output); else blocked, each pixel's channels in its lanes and the rest zero.
  var plainOutput = true

  /// Whether a conv with `cout` output channels (groups 1), output rows of `ow` pixels and this
  /// epilogue runs here: at most a quarter of a vector of channels (the blocked kernel's lanes are
  /// then three quarters idle), a power-of-two vector (the shuffle tree halves it), an epilogue whose
  /// operands are per channel or scalars (a full-tensor operand would be read lane by lane across the
  /// blocked layout), and rows long enough that their pixels fill at least twice the share of the
  /// lanes the channels would (a row of 7, a 7×7 map, takes up to 3 channels; a row of one, none).
  static func applies(cout: Int, ow: Int, vector v: Int, epilogue: Epilogue) -> Bool {
    guard cout >= 1, cout * 4 <= v, v > 1, v & (v - 1) == 0 else { return false }
    let runs = (ow + v - 1) / v
    guard ow >= 2 * cout * runs else { return false }
    return epilogue.operands.allSatisfy {
      switch $0 {
      case .channel, .channelTensor, .scalar: return true
      default: return false
      }
    }
  }

  static func v(_ name: String) -> IndexExpr { .variable(name) }
  /// Input channel blocks.
  var blocks: Int { (cin + v - 1) / v }
  /// Runs of `v` output pixels per row, the last one partial when `ow` is not a multiple.
  var runs: Int { (ow + v - 1) / v }
  var tasks: Int { n * oh * runs }

  /// The runs whose every pixel and kernel column reads inside the row (no column checks):
  /// `first ..< end`, empty when padding or a partial run reaches every one.
  var interior: Range<Int> {
    let first = (pl + v * sw - 1) / (v * sw)
    let reach = w - 1 + pl - (kw - 1) * dw - (v - 1) * sw
    let last = min(reach < 0 ? -1 : reach / (v * sw), ow / v - 1)
    return first <= last ? first..<(last + 1) : 0..<0
  }

  /// The nest: a task per image, output row and run of pixels. Buffers: `in` (blocked), `wt`
  /// (blocked weight), `bias` (per channel, padded), the epilogue's `e…`, `out` (plain).
  var nest: LoopNest {
    let task = Self.v("task")
    var body: [Stmt] = [
      .let_("b", task / (oh * runs)), .let_("oy", task / runs % oh), .let_("run", task % runs),
      .let_("x0", Self.v("run") * v),
    ]
    if !plainOutput {
      // The blocked output's padding lanes are zero: each pixel's vector is cleared first.
      let pixel = (Self.v("b") * oh + Self.v("oy")) * ow + Self.v("x0") + Self.v("t")
      let clear = Stmt.vstore("out", pixel * v, .splat(.constant(0)))
      body.append(
        .loop(
          variable: "t", extent: v, kind: .serial,
          body: [.when([.inRange(Self.v("x0") + Self.v("t"), 0, ow)], [clear])]))
    }
    let inner = interior
    var cases: [([IndexCondition], Bool)] = []
    if !inner.isEmpty { cases.append(([.inRange(Self.v("run"), inner.lowerBound, inner.upperBound)], false)) }
    if inner.lowerBound > 0 { cases.append(([.inRange(Self.v("run"), 0, inner.lowerBound)], true)) }
    if inner.upperBound < runs { cases.append(([.inRange(Self.v("run"), inner.upperBound, runs)], true)) }
    if inner.isEmpty { cases = [([], true)] }
    for (conditions, checked) in cases {
      let channels = (0..<cout).flatMap { channel(co: $0, checked: checked) }
      body += conditions.isEmpty ? channels : [.when(conditions, channels)]
    }
    let buffers =
      [BufferDecl(name: "in", count: n * blocks * v * h * w, isOutput: false)]
      + [BufferDecl(name: "wt", count: 0, isOutput: false), BufferDecl(name: "bias", count: 0, isOutput: false)]
      + epilogue.operands.indices.map { BufferDecl(name: "e\($0)", count: 0, isOutput: false) }
      + [BufferDecl(name: "out", count: n * (plainOutput ? cout : v) * oh * ow, isOutput: true)]
    return LoopNest(
      name: "conv2d_few_channels", buffers: buffers,
      body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: body)])
  }

  /// Output channel `co` of the task's run: the accumulators, the lane sums, the epilogue, the stores.
  /// `checked`: pixels past the row's end and kernel columns outside the input read zero.
  private func channel(co: Int, checked: Bool) -> [Stmt] {
    func acc(_ t: Int) -> String { "acc\(co)_\(t)" }
    var stmts: [Stmt] = (0..<v).map { .declareVector(acc($0), .splat(.constant(0))) }
    let iy = Self.v("oy") * sh + Self.v("ky") * dh - pt
    let row = (Self.v("b") * blocks + Self.v("cb")) * h + iy
    var step: [Stmt] = [
      .declareVector(
        "w\(co)", .vload("wt", (((Self.v("cb") + .constant(co * blocks)) * kh + Self.v("ky")) * kw + Self.v("kx")) * v))
    ]
    for t in 0..<v {
      let ix = (Self.v("x0") + .constant(t)) * sw + Self.v("kx") * dw - pl
      var input = ValueExpr.vload("in", (row * w + ix) * v)
      if checked {
        var inside: [IndexCondition] = [.inRange(ix, 0, w)]
        inside.append(.inRange(Self.v("x0") + .constant(t), 0, ow))
        input = .select(inside, input, .splat(.constant(0)))
      }
      step.append(.accumulate(acc(t), .sum, .binary(.mul, input, .local("w\(co)"))))
    }
    let columns = Stmt.loop(variable: "kx", extent: kw, kind: .serial, body: step)
    let rows = Stmt.loop(
      variable: "ky", extent: kh, kind: .serial, body: [.when([.inRange(iy, 0, h)], [columns])])
    stmts.append(.loop(variable: "cb", extent: blocks, kind: .serial, body: [rows]))
    let (reduce, sums) = Self.reduceAcrossLanes((0..<v).map(acc), prefix: "s\(co)_")
    stmts += reduce
    let biased = ValueExpr.binary(.add, .local(sums), .splat(.load("bias", .constant(co))))
    stmts.append(.declareVector("r\(co)", pixelLanes(acc: biased, channel: co)))
    guard plainOutput else {
      // Each pixel's value into its lane of the blocked output.
      let pixel = (Self.v("b") * oh + Self.v("oy")) * ow + Self.v("x0") + Self.v("t")
      let store = Stmt.store("out", pixel * v + .constant(co), .lane("r\(co)", Self.v("t")))
      stmts.append(
        .loop(
          variable: "t", extent: v, kind: .serial,
          body: [.when([.inRange(Self.v("x0") + Self.v("t"), 0, ow)], [store])]))
      return stmts
    }
    // The run's pixels of this channel lie side by side in the plain output: one store, lane by
    // lane for a run past the row's end.
    let row0 = ((Self.v("b") * cout + .constant(co)) * oh + Self.v("oy")) * ow + Self.v("x0")
    let last = Self.v("x0") + .constant(v - 1)
    stmts.append(.when([.inRange(last, 0, ow)], [.vstoreUnaligned("out", row0, .local("r\(co)"))]))
    let lane = Stmt.when(
      [.inRange(Self.v("x0") + Self.v("t"), 0, ow)], [.store("out", row0 + Self.v("t"), .lane("r\(co)", Self.v("t")))])
    stmts.append(.when([.inRange(last, ow, ow + v)], [.loop(variable: "t", extent: v, kind: .serial, body: [lane])]))
    return stmts
  }

  /// The epilogue over a vector of pixels of one channel: per-channel operands read at `channel` and
  /// broadcast, scalars broadcast (``applies(cout:ow:vector:epilogue:)`` admits no other operand).
  private func pixelLanes(acc: ValueExpr, channel: Int) -> ValueExpr {
    epilogue.substitute(acc: acc) { k in
      switch epilogue.operands[k] {
      case .scalar: return .splat(.load("e\(k)", .constant(0)))
      default: return .splat(.load("e\(k)", .constant(channel)))
      }
    }
  }

  /// Sums each of `vectors` (a power of two of them, as many as lanes) across its lanes into lane
  /// `t` of one vector: at each level a pair of vectors whose lanes hold groups of partial sums gives
  /// one vector whose groups are half as wide, by two shuffles (each group's first and second halves)
  /// and an add; log₂ v levels, v − 1 pairs. Returns the statements and the result's name.
  static func reduceAcrossLanes(_ vectors: [String], prefix: String) -> ([Stmt], String) {
    let lanes = vectors.count
    var level = vectors, width = lanes, stmts: [Stmt] = [], depth = 0
    while level.count > 1 {
      let half = width / 2
      var first: [Int] = [], second: [Int] = []
      for source in [0, lanes] {
        for group in stride(from: 0, to: lanes, by: width) {
          first += (0..<half).map { source + group + $0 }
          second += (0..<half).map { source + group + half + $0 }
        }
      }
      var next: [String] = []
      for pair in stride(from: 0, to: level.count, by: 2) {
        let name = "\(prefix)\(depth)_\(pair / 2)"
        let (a, b) = (ValueExpr.local(level[pair]), ValueExpr.local(level[pair + 1]))
        stmts.append(.declareVector(name, .binary(.add, .shuffle(a, b, first), .shuffle(a, b, second))))
        next.append(name)
      }
      level = next
      width = half
      depth += 1
    }
    return (stmts, level[0])
  }
}
