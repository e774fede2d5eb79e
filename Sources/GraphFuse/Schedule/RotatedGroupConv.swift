/// A grouped convolution whose groups are narrower than a vector: `g` input and `g` output channels
/// per group, `g` dividing the vector width `v` (RegNet's and NF-RegNet's groups of 8, ResNeXt's of 4
/// and 8). An output block's lanes then hold `v/g` whole groups, and every input channel they read
/// lies in the input block of the same index. The block-diagonal kernel (``GroupedConvBlocks``)
/// broadcasts each of the block's `v` input channels to all lanes, so `v/g − 1` of every `v/g` FMAs
/// multiply a zero weight.
///
/// Here the input vector is used as it is and the partial sums are rotated instead, within each
/// group's segment of `g` lanes. Rotation `s` of a vector puts, in lane `l`, its lane
/// `seg(l) + (l mod g + s) mod g` (``rotation(_:)``). For each `s` an accumulator sums
/// `W′_s ⊙ x` over the taps, where `W′_s` holds, in input lane `m`, that input's weight for the
/// output channel whose lane rotation `s` brings lane `m` to; at the end
/// `out = bias + Σ_s rot_s(acc_s)`. Every lane of every FMA is useful: `g` FMAs per pixel and tap,
/// and `g − 1` permutes per pixel for the whole reduction (a 3×3 kernel: 7 per 72 FMAs for
/// `g` = 8, whatever the stride).
///
/// A task is one output row of one channel block, its row split into tiles of `T` pixels, `T` as
/// wide as `g · T` accumulators, `T` inputs and a weight leave in the register file (3 for
/// `g` = 8, 5 for 4, 9 for 2 with 32 registers).
struct RotatedGroupConv {
  /// Images, channels (in and out), input and output maps, kernel.
  var n, c, h, w, oh, ow, kh, kw: Int
  var sh, sw, pt, pl, dh, dw: Int
  /// Channels per group.
  var g: Int
  /// Floats per vector.
  var v: Int
  var epilogue: Epilogue

  /// Whether a conv of `groups` groups over `cin` → `cout` channels runs here: as many inputs as
  /// outputs per group, more than one (one is depthwise), fewer than a vector and dividing it.
  static func applies(cin: Int, cout: Int, groups: Int, vector v: Int) -> Bool {
    guard groups > 1, cin == cout, cin % groups == 0 else { return false }
    let g = cin / groups
    return g > 1 && g < v && v % g == 0
  }

  /// The vector registers a tile may hold (of 32, or 16 below AVX-512), a margin left to the compiler.
  var registers: Int { v == 16 ? 30 : 14 }

  /// The widest tile whose `g · T` accumulators, `T` inputs and one weight fit ``registers``.
  var maxTile: Int { max(1, (registers - 1) / (g + 1)) }

  var blocks: Int { (c + v - 1) / v }
  var tasks: Int { n * blocks * oh }

  /// Lane `l` of rotation `s`: lane `seg(l) + (l mod g + s) mod g`, inside the group's segment.
  func rotation(_ s: Int) -> [Int] { (0..<v).map { l in l / g * g + (l % g + s) % g } }

  static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Buffers: input (blocked), packed weights `[blocks][KH][KW][g][v]`
  /// (``ConstantRecipe/rotatedGroupWeight(_:vector:groupWidth:)``), bias, epilogue operands, output.
  var buffers: [BufferDecl] {
    [
      BufferDecl(name: "in", count: n * blocks * v * h * w, isOutput: false),
      BufferDecl(name: "wt", count: 0, isOutput: false),
      BufferDecl(name: "bias", count: blocks * v, isOutput: false),
    ] + epilogue.operands.indices.map { BufferDecl(name: "e\($0)", count: 0, isOutput: false) }
      + [BufferDecl(name: "out", count: n * blocks * v * oh * ow, isOutput: true)]
  }

  /// The tiles of a row: start column, width, and whether an input column they read lies outside.
  var rowSchedule: [(ox: Int, width: Int, checked: Bool)] {
    let (count, big, size) = Tiling.evenSplit(ow, maxTile: maxTile)
    var tiles: [(ox: Int, width: Int, checked: Bool)] = []
    var ox = 0
    for k in 0..<count {
      let width = k < big ? size : size - 1
      let first = ox * sw - pl, last = (ox + width - 1) * sw - pl + (kw - 1) * dw
      tiles.append((ox, width, first < 0 || last >= w))
      ox += width
    }
    return tiles
  }

  /// Tasks: images × channel blocks × output rows, each row's tiles as loops over runs of equal
  /// tiles.
  var nest: LoopNest {
    let v = Self.v
    let body: [Stmt] =
      [.let_("oy", v("task") % oh), .let_("og", (v("task") / oh) % blocks), .let_("n", v("task") / (oh * blocks))]
      + Tiling.rowLoops(rowSchedule) { width, checked in tile(width, checked: checked) }
    return LoopNest(
      name: "conv2d", buffers: buffers, body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: body)])
  }

  /// One tile of `pixels` output pixels from column `ox` of row `oy`: `a<s>_<t> += W′[og, ky, kx, s]
  /// · x_t` over the taps, then `acc0_<t> = bias + Σ_s rot_s(a<s>_<t>)`, the epilogue, one store.
  private func tile(_ pixels: Int, checked: Bool) -> [Stmt] {
    let v = Self.v
    var body: [Stmt] = (0..<g).flatMap { s in
      (0..<pixels).map { t in Stmt.declareVector("a\(s)_\(t)", .splat(.constant(0))) }
    }
    var window: [Stmt] = []
    for t in 0..<pixels {
      let ix = v("ox") * sw + v("kx") * dw + .constant(t * sw - pl)
      window.append(.pointer("px\(t)", base: "rowp", ix * self.v, checked: checked ? [.inRange(ix, 0, w)] : []))
      window.append(.declareVector("x\(t)", .vload("px\(t)", .constant(0))))
    }
    for s in 0..<g {
      let weight = (((v("og") * kh + v("ky")) * kw + v("kx")) * g + .constant(s)) * self.v
      window.append(.declareVector("w\(s)", .vload("wt", weight)))
      for t in 0..<pixels {
        window.append(.accumulate("a\(s)_\(t)", .sum, .binary(.mul, .local("w\(s)"), .local("x\(t)"))))
      }
    }
    let row: [Stmt] = [
      .pointer("rowp", base: "in", ((v("n") * blocks + v("og")) * h + v("iy")) * (w * self.v), checked: []),
      .loop(variable: "kx", extent: kw, kind: .serial, body: window),
    ]
    body.append(
      .loop(
        variable: "ky", extent: kh, kind: .serial,
        body: [.let_("iy", v("oy") * sh - pt + v("ky") * dh), .when([.inRange(v("iy"), 0, h)], row)]))
    for t in 0..<pixels {
      var sum = ValueExpr.binary(.add, .vload("bias", v("og") * self.v), .local("a0_\(t)"))
      for s in 1..<g { sum = .binary(.add, sum, .shuffle(.local("a\(s)_\(t)"), .local("a\(s)_\(t)"), rotation(s))) }
      body.append(.declareVector("acc0_\(t)", sum))
    }
    let registerTile = RegisterTile(pixels: pixels, vectors: 1, vector: self.v)
    return body
      + registerTile.stores(epilogue, channels: c, target: "out") { cb, t in
        ((v("n") * self.blocks + cb) * self.oh + v("oy")) * (self.ow * self.v) + (v("ox") + .constant(t)) * self.v
      }
  }
}
