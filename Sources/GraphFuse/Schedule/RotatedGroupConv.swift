/// A grouped convolution whose groups are narrower than a vector: `g` input and `g` output channels
/// per group, `g` dividing the vector width `v` (RegNet's and NF-RegNet's groups of 8, ResNeXt's of 4
/// and 8). An output block's lanes then hold `v/g` whole groups, and every input channel they read
/// lies in the input block of the same index. The block-diagonal kernel (``GroupedConvBlocks``)
/// broadcasts each of the block's `v` input channels to all lanes, so `v/g − 1` of every `v/g` FMAs
/// multiply a zero weight. Here the input vector is rotated instead, within each group's segment of
/// `g` lanes: rotation `s` puts, in lane `l`, input channel `seg(l) + (l mod g + s) mod g` of the
/// pixel, and the packed weight `W_s` holds, in lane `l`, the weight of that input channel for output
/// channel `l`. Then `Σ_s W_s ⊙ rot_s(x)` is the group's whole sum, `g` FMAs per pixel and tap, none
/// wasted.
///
/// A task is one output row of one channel block. Its row splits into tiles of `T` pixels; per
/// kernel row and rotation a tile loads the `span` input pixels its taps read, rotates each once
/// (one permute), and every kernel column reuses them: `T · kw` FMAs per `span` permutes, `T` + `span`
/// + 1 registers. Permutes and FMAs share a port on AVX-512 cores, so a 3×3 stride-1 conv issues
/// about 0.4 permutes per FMA, a stride-2 one 0.7.
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

  /// The registers the tile may hold: accumulators, rotated inputs and the weight vector, under the
  /// 32 (16) of the vector register file with a margin for the compiler's own.
  var registers: Int { v == 16 ? 30 : 14 }

  /// Input pixels a tile of `pixels` output pixels reads along its row.
  func span(_ pixels: Int) -> Int { (pixels - 1) * sw + (kw - 1) * dw + 1 }

  /// The widest tile whose accumulators, rotated inputs and weight fit ``registers``.
  var maxTile: Int {
    var t = 1
    while t + 1 + span(t + 1) + 1 <= registers { t += 1 }
    return t
  }

  var blocks: Int { (c + v - 1) / v }
  var tasks: Int { n * blocks * oh }

  /// Lane `l` of rotation `s`: input channel `seg(l) + (l mod g + s) mod g` of the block.
  func rotation(_ s: Int) -> [Int] { (0..<v).map { l in l / g * g + (l % g + s) % g } }

  static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Buffers: input (blocked), packed weights `[blocks][KH][KW][g][v]`, bias, epilogue operands, output.
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
      let first = ox * sw - pl, last = first + span(width) - 1
      tiles.append((ox, width, first < 0 || last >= w))
      ox += width
    }
    return tiles
  }

  /// Tasks: images × channel blocks × output rows, each row's tiles as loops over runs of equal
  /// tiles.
  var nest: LoopNest {
    let v = Self.v
    var body: [Stmt] = [
      .let_("oy", v("task") % oh), .let_("og", (v("task") / oh) % blocks), .let_("n", v("task") / (oh * blocks)),
    ]
    for run in Tiling.runs(rowSchedule) {
      body.append(
        .loop(
          variable: "k", extent: run.count, kind: .serial,
          body: [.let_("ox", v("k") * run.width + .constant(run.start))] + tile(run.width, checked: run.checked)))
    }
    return LoopNest(
      name: "conv2d", buffers: buffers, body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: body)])
  }

  /// One tile of `pixels` output pixels from column `ox` of row `oy`.
  private func tile(_ pixels: Int, checked: Bool) -> [Stmt] {
    let v = Self.v
    let registerTile = RegisterTile(pixels: pixels, vectors: 1, vector: self.v)
    // The input pixels the taps read: pixel t at kernel column kx reads `t·sw + kx·dw`.
    let read = Set((0..<pixels).flatMap { t in (0..<kw).map { t * sw + $0 * dw } }).sorted()
    var row: [Stmt] = [
      .pointer("rowp", base: "in", ((v("n") * blocks + v("og")) * h + v("iy")) * (w * self.v), checked: [])
    ]
    for j in read {
      let ix = v("ox") * sw + .constant(j - pl)
      row.append(.pointer("px\(j)", base: "rowp", ix * self.v, checked: checked ? [.inRange(ix, 0, w)] : []))
    }
    for s in 0..<g {
      for j in read {
        let x = ValueExpr.vload("px\(j)", .constant(0))
        row.append(.declareVector("r\(s)_\(j)", s == 0 ? x : .shuffle(x, x, rotation(s))))
      }
      for kx in 0..<kw {
        let weight = (((v("og") * kh + v("ky")) * kw + .constant(kx)) * g + .constant(s)) * self.v
        row.append(.declareVector("w\(s)_\(kx)", .vload("wt", weight)))
        for t in 0..<pixels {
          let term = ValueExpr.binary(.mul, .local("w\(s)_\(kx)"), .local("r\(s)_\(t * sw + kx * dw)"))
          row.append(.accumulate("acc0_\(t)", .sum, term))
        }
      }
    }
    let rows = Stmt.loop(
      variable: "ky", extent: kh, kind: .serial,
      body: [.let_("iy", v("oy") * sh - pt + v("ky") * dh), .when([.inRange(v("iy"), 0, h)], row)])
    let stores = registerTile.stores(epilogue, channels: c, target: "out") { cb, t in
      ((v("n") * self.blocks + cb) * self.oh + v("oy")) * (self.ow * self.v) + (v("ox") + .constant(t)) * self.v
    }
    return registerTile.accumulators(bias: "bias") + [rows] + stores
  }
}
