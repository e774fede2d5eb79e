/// The blocked direct-convolution schedule (in the spirit of TVM's `conv2d_NCHWc` and MLAS):
/// output in `NCHW[v]c`, a register tile of `T` output pixels × `nv` channel vectors, FMA over
/// input channels and the kernel window, the epilogue applied to the registers before one store.
///
/// Tile sizes come from the register file: with 32 vector registers (AVX-512), `nv = 2` channel
/// vectors × 12 pixels keeps 24 accumulators + 2 weight vectors + 1 broadcast in registers and
/// issues 2 + 12 loads per 24 FMAs (below the 2 loads/cycle limit); with `nv = 1` up to 14 pixels.
/// A row is split evenly so every tile is `size` or `size − 1` wide; tiles touching a border are
/// "checked": their pixels outside the input point at the zero row. (Plain-layout input, used by
/// first layers with fewer channels than a vector, takes single checked pixels at the borders.)
/// Measured here: 2 × 12 ≈ 3 × 8 ≈ 4 × 6 within noise, 1 × 24 slower — the tile is not the limit.
///
/// The schedule is lowered to a ``LoopNest`` (``nest``): the register tile is unrolled into
/// vector locals `acc<j>_<t>`, the row is split into runs of equal tiles at the padded borders,
/// and pointers to input rows, pixels and weights are hoisted out of the reduction loops.
struct BlockedConv {
  /// Input `[n, cin, h, w]`, output `[n, cout, oh, ow]`, kernel `[kh, kw]`.
  var n, cin, h, w, cout, oh, ow, kh, kw: Int
  var sh, sw, pt, pl, dh, dw: Int
  /// Input layout: blocked `NCHW[v]c` or plain NCHW (first layers with few channels).
  var inputBlocked: Bool
  /// Depthwise (groups == cin == cout): vectorize over channels, no input-channel reduction.
  var depthwise: Bool
  var v: Int
  var epilogue: Epilogue
  /// A grouped conv: the run of input blocks each tile reads (block-diagonal weights).
  var grouped: GroupedConvBlocks? = nil
  /// The largest flat pixel tile the schedule allows (``TaskSplit``; nil: the register budget).
  var flatTileLimit: Int? = nil
  /// An elementwise function applied to the input as it is loaded (1×1 without padding only):
  /// ``prologueNest``. Its one full-tensor operand is the input; the others are per channel.
  var prologue: Epilogue? = nil
  /// With a prologue: the output channel vector groups are split into this many task chunks.
  var prologueChunks = 1
  /// Row tasks with the output channel group innermost (``prefersGroupsInnermost(l2Bytes:)``).
  var groupsInnermost = false
  /// Flat tiles: the channel group this many groups on has its weights hinted into L2 while this
  /// one runs (0: none).
  var nextWeightsGroups = 0

  var outBlocks: Int { (cout + v - 1) / v }
  var inBlocks: Int { (cin + v - 1) / v }
  /// Channel vectors per register tile: two with 32 registers, also for an odd block count of at
  /// least 5 (the last tile's second vector runs on zero weights and is not stored: at most a sixth
  /// more FMAs, against nearly twice the loads per FMA of one-vector tiles; SqueezeNet's 1000-class
  /// 1×1 conv, 63 blocks, ran at 54 % of the peak with one).
  /// One output pixel with 16-float vectors: as many as a matrix-vector product's compensated sums
  /// want (``RegisterTile/matrixVectorVectors(blocks:vector:)``).
  var nv: Int {
    if let grouped { return grouped.vectors }
    if depthwise { return 1 }
    if compensatedSum && v == 16 { return RegisterTile.matrixVectorVectors(blocks: outBlocks, vector: v) }
    return RegisterTile.vectors(blocks: outBlocks, vector: v)
  }
  /// Input channel blocks a tile reduces over: all of them, one for plain input, or for a
  /// grouped conv the run of ``GroupedConvBlocks/count`` blocks its groups read.
  var blockCount: Int { grouped?.count ?? (inputBlocked ? inBlocks : 1) }
  /// The reduction step `ib`'s statements, skipped past the tile's own blocks when a grouped conv's
  /// tiles read different numbers (``GroupedConvBlocks/counts``, a table by channel vector group).
  private func ownBlocks(_ body: [Stmt]) -> [Stmt] {
    guard let grouped, grouped.countsDiffer else { return body }
    return [.when([.less(Self.v("ib"), .table(grouped.counts, og))], body)]
  }
  /// The input block of reduction step `ib`: `ib`, or for a grouped conv `ib` past the first
  /// block of the tile's run (a constant table indexed by the channel vector group).
  private var inputBlock: IndexExpr {
    guard let grouped else { return Self.v("ib") }
    return .table(grouped.start, og) + Self.v("ib")
  }
  /// Input channels per packed weight block.
  var icBlock: Int { inputBlocked ? v : cin }
  /// Output columns whose whole window is inside the input: `[begin, end)`.
  var interior: (begin: Int, end: Int) {
    let begin = min(ow, (pl + sw - 1) / sw)
    let last = w - 1 + pl - (kw - 1) * dw
    let end = last < 0 ? begin : max(begin, min(ow, last / sw + 1))
    return (begin, end)
  }
  /// Pixels per register tile of plain-input rows: the largest register budget, split evenly
  /// over the interior.
  var tile: Int {
    let width = interior.end - interior.begin
    return width > 0 ? Tiling.evenSplit(width, maxTile: maxTile).size : 1
  }
  /// For blocked input, the whole row split evenly: (tiles, tiles of the larger size, larger size).
  var rowTiles: (count: Int, big: Int, size: Int) { Tiling.evenSplit(ow, maxTile: maxTile) }
  /// Blocked input, a full conv (not depthwise), and rows too narrow for two whole tiles; but a
  /// grouped conv whose tiles reduce over at most ``rowTileBlocks`` input blocks keeps row tiles
  /// once a row holds one: a flat tile computes its window offsets (`KH·KW·T` of them, each a
  /// division and a modulo) for the blocks it reduces over, and so few blocks do not pay for them.
  /// Over 14² maps: RegNetY-800MF's fourteen grouped convs (groups of 16, one block) 1.53 → 1.23 ms,
  /// RegNetY-1.6GF's twenty-seven (groups of 24, 2–3 blocks) 6.45 → 5.58 ms; 7² maps (a tile of 7
  /// against flat tiles of 12–13) came out mixed, so they stay flat (`Docs/Scheduling.md`, "Row
  /// tiles on 14×14 maps").
  var usesFlatPixels: Bool {
    guard inputBlocked, !depthwise else { return false }
    if prologue != nil { return true }
    if let grouped, grouped.count <= Self.rowTileBlocks, ow >= maxTile { return false }
    return ow < 2 * maxTile
  }
  /// The most input blocks a grouped conv's tile may reduce over and keep row tiles on small maps
  /// (``usesFlatPixels``).
  static let rowTileBlocks = 3
  /// Register budget (see the type's documentation): 2 vectors × 12 pixels, or 1 × 14.
  var maxTile: Int { RegisterTile.maxPixels(vectors: nv, vector: v) }
  /// The output pixels split evenly: (tiles, tiles of the larger size, larger size).
  var flatTiles: (count: Int, big: Int, size: Int) {
    Tiling.evenSplit(oh * ow, maxTile: min(maxTile, flatTileLimit ?? maxTile))
  }
  /// The pixels of the register tile the schedule uses.
  var tilePixels: Int { usesFlatPixels ? flatTiles.size : inputBlocked || depthwise ? rowTiles.size : tile }

  /// The loop nest of the schedule this conv uses.
  var nest: LoopNest { prologue != nil ? prologueNest : usesFlatPixels ? flatNest : rowNest }

  static func v(_ name: String) -> IndexExpr { .variable(name) }
  var channelGroups: Int { (outBlocks + nv - 1) / nv }

  /// Buffers: input, packed weights, packed bias, prologue operands other than the input
  /// (`pro<k>`), epilogue operands, the per-thread prologue scratch, output.
  var buffers: [BufferDecl] {
    let inCount = inputBlocked || depthwise ? n * inBlocks * v * h * w : n * cin * h * w
    func buffer(_ name: String, _ count: Int, output: Bool = false) -> BufferDecl {
      BufferDecl(name: name, count: count, isOutput: output)
    }
    let prologueOperands = prologue.map { p in
      p.operands.indices.filter { p.operands[$0].isPerChannelOrScalar }.map { buffer("pro\($0)", 0) }
    }
    return [buffer("in", inCount), buffer("wt", 0), buffer("bias", outBlocks * v)] + (prologueOperands ?? [])
      + epilogue.operands.indices.map { buffer("e\($0)", 0) }
      + (prologue != nil ? [buffer("scratch", 0, output: true)] : [])
      + [buffer("out", n * outBlocks * v * oh * ow, output: true)]
  }

  /// Whether the tile sums with compensation (``RegisterTile/compensated``): a conv with one output
  /// pixel per image (a squeeze-excitation conv on a pooled vector, a classifier as a 1×1 conv) is a
  /// matrix-vector product bound by its weight loads, so the extra vector operations cost nothing,
  /// and its long dot products feed the gates where deep networks amplify error most.
  var compensatedSum: Bool { !depthwise && oh * ow == 1 && prologue == nil }

  /// The register tile of `pixels` output pixels × `nv` channel vectors (``RegisterTile``).
  func registerTile(_ pixels: Int) -> RegisterTile {
    RegisterTile(
      pixels: pixels, vectors: nv, vector: v, compensated: compensatedSum,
      blocks: outBlocks % nv == 0 ? nil : outBlocks)
  }

  /// Accumulators `acc<j>_<t>` initialized to the bias of their channel vector.
  func accumulators(_ pixels: Int) -> [Stmt] { registerTile(pixels).accumulators(bias: "bias") }

  /// The FMAs of input channel `i` of a weight block at `wp`: `nv` weight vectors, one broadcast
  /// input per pixel (`x<t>`, loaded from `pixel(t)`), `nv × T` accumulators.
  func broadcastFMA(_ pixels: Int, extent: Int, pixel: (Int) -> ValueExpr) -> Stmt {
    registerTile(pixels).fma(extent: extent, pixel: pixel)
  }

  /// The FMAs of one input block of a blocked tile whose pixels are at pointers `px<t>`: all `v`
  /// channels, or for a grouped conv with ``GroupedConvBlocks/halfCodes`` the whole block where both
  /// halves hold channels of the tile's groups and only the half that does where one does (the other
  /// half's weights are zero).
  func blockFMA(_ pixels: Int, hints: [Stmt] = []) -> [Stmt] {
    let v = Self.v
    let whole = registerTile(pixels).fma(extent: self.v, hints: hints) { t in .load("px\(t)", v("i")) }
    guard let codes = grouped?.halfCodes, let count = grouped?.count else { return [whole] }
    let half = self.v / 2
    // 3: both halves, 1: the first, 2: the second (``GroupedConvBlocks/halfCodes``).
    let entry = IndexExpr.table(codes, og * count + v("ib"))
    let offset = (entry - 1) * half
    let pointers: [Stmt] =
      [.pointer("wph", base: "wp", offset * (nv * self.v), checked: [])]
      + (0..<pixels).map { t in .pointer("pxh\(t)", base: "px\(t)", offset, checked: []) }
    let part = registerTile(pixels).fma(extent: half, hints: hints, weights: "wph") { t in .load("pxh\(t)", v("i")) }
    return [.when([.inRange(entry, 3, 4)], [whole]), .when([.inRange(entry, 1, 3)], pointers + [part])]
  }

  /// The end of a register tile: the epilogue applied in registers, padding lanes zeroed, one
  /// store per accumulator vector at `offset(cb, t)`.
  func stores(_ pixels: Int, offset: (IndexExpr, Int) -> IndexExpr) -> [Stmt] {
    registerTile(pixels).stores(epilogue, channels: cout, target: "out", offset: offset)
  }

  /// One register tile of `pixels` output pixels of row `oy` from column `ox`; `checked` tiles
  /// touch a border and test their input pixels.
  private func rowTile(_ pixels: Int, checked: Bool) -> [Stmt] {
    let v = Self.v
    let blocked = inputBlocked || depthwise
    let pix = blocked ? self.v : 1
    let ics = blocked ? 1 : h * w
    let batchStride = (blocked ? inBlocks * self.v : cin) * h * w
    let ib: IndexExpr = depthwise ? v("og") : inputBlock
    var window: [Stmt] = [.let_("ix", v("ox") * sw - pl + v("kx") * dw)]
    var inner: [Stmt] = []
    if blocked {
      for t in 0..<pixels {
        let ixt = v("ix") + .constant(t * sw)
        window.append(.pointer("px\(t)", base: "rowp", ixt * pix, checked: checked ? [.inRange(ixt, 0, w)] : []))
      }
    } else {
      inner.append(.pointer("px", base: "rowp", v("ix") * pix, checked: []))
    }
    if depthwise {
      inner.append(.pointer("wp", base: "wt", ((og * kh + v("ky")) * kw + v("kx")) * self.v, checked: []))
      inner.append(.declareVector("w0", .vload("wp", .constant(0))))
      for t in 0..<pixels {
        inner.append(.accumulate("acc0_\(t)", .sum, .binary(.mul, .vload("px\(t)", .constant(0)), .local("w0"))))
      }
    } else {
      let wp = (((og * blockCount + v("ib")) * kh + v("ky")) * kw + v("kx")) * (icBlock * nv * self.v)
      inner.append(.pointer("wp", base: "wt", wp, checked: []))
      if blocked {
        inner += blockFMA(pixels)
      } else {
        inner.append(broadcastFMA(pixels, extent: icBlock) { t in .load("px", v("i") * ics + .constant(t * sw * pix)) })
      }
    }
    window += !blocked && checked ? [.when([.inRange(v("ix"), 0, w)], inner)] : inner
    let rows = Stmt.loop(
      variable: "ky", extent: kh, kind: .serial,
      body: [
        .let_("iy", v("oy") * sh - pt + v("ky") * dh),
        .when(
          [.inRange(v("iy"), 0, h)],
          [
            .pointer(
              "rowp", base: "in", v("n") * batchStride + ib * (icBlock * h * w) + v("iy") * (w * pix), checked: []),
            .loop(variable: "kx", extent: kw, kind: .serial, body: window),
          ]),
      ])
    let reduction = depthwise ? rows : .loop(variable: "ib", extent: blockCount, kind: .serial, body: ownBlocks([rows]))
    let offset = { (cb: IndexExpr, t: Int) in
      ((v("n") * self.outBlocks + cb) * self.oh + v("oy")) * (self.ow * self.v) + (v("ox") + .constant(t)) * self.v
    }
    return accumulators(pixels) + [reduction] + stores(pixels, offset: offset)
  }

  var og: IndexExpr { Self.v("og") }

  /// The tiles of one output row, in order: start column, width, and whether it is checked.
  var rowSchedule: [(ox: Int, width: Int, checked: Bool)] {
    let (x0, x1) = interior
    var tiles: [(ox: Int, width: Int, checked: Bool)] = []
    if inputBlocked || depthwise {
      // The whole row in tiles of `size` or `size − 1` pixels; tiles touching a border are checked.
      let (count, big, size) = rowTiles
      var ox = 0
      for k in 0..<count {
        let width = k < big ? size : size - 1
        tiles.append((ox, width, ox < x0 || ox + width > x1))
        ox += width
      }
    } else {
      // Single checked pixels at the borders; the interior in tiles of `tile` or `tile − 1`.
      let t = tile, small = max(t - 1, 1)
      for ox in 0..<x0 { tiles.append((ox, 1, true)) }
      var ox = x0, rest = x1 - x0
      while rest > 0 && rest % t != 0 {
        tiles.append((ox, small, false))
        rest -= small
        ox += small
      }
      while ox < x1 {
        tiles.append((ox, t, false))
        ox += t
      }
      for ox in x1..<max(x1, ow) { tiles.append((ox, 1, true)) }
    }
    return tiles
  }

  /// The indices of task `task`: `inner` (an output row or pixel tile, `count` of them) innermost,
  /// then the image, then the output channel group. With one image the group comes before the
  /// image (the order every batch-1 kernel has always had); with several the group is outermost,
  /// so a thread's consecutive tasks read one group's weights for every image while they sit in
  /// L2 (ResNet-18's 7×7 convs at batch 8: 150–162 → 190–211 GFLOP/s). With ``groupsInnermost``
  /// the group is innermost, then `inner`, then the image.
  func taskIndices(_ inner: String, count: Int) -> [Stmt] {
    let task = Self.v("task")
    if groupsInnermost {
      return [
        .let_("og", task % channelGroups), .let_(inner, (task / channelGroups) % count),
        .let_("n", task / (channelGroups * count)),
      ]
    }
    guard n > 1 else {
      return [
        .let_(inner, task % count), .let_("og", (task / count) % channelGroups),
        .let_("n", task / (count * channelGroups)),
      ]
    }
    return [.let_(inner, task % count), .let_("n", (task / count) % n), .let_("og", task / (count * n))]
  }

  /// Tasks: images × output channel vector groups × output rows (``taskIndices(_:count:)``); each
  /// row runs its tiles as loops over runs of equal
  /// tiles, split where the border checks start and stop.
  var rowNest: LoopNest {
    let runs = Tiling.rowLoops(rowSchedule) { width, checked in rowTile(width, checked: checked) }
    let task = taskIndices("oy", count: oh)
    return LoopNest(
      name: "conv2d", buffers: buffers,
      body: [.loop(variable: "task", extent: n * channelGroups * oh, kind: .parallel, body: task + runs)])
  }

  /// The flat-pixel variant for small feature maps (rows narrower than two register tiles, e.g.
  /// 14×14 and 7×7): a tile is any run of consecutive output pixels, even across rows, so every
  /// tile is full width and each weight vector loaded serves `size` pixels. Window offsets are
  /// computed once per tile and kernel position (`offs<t>`, −1 outside the input); pixels
  /// outside the input read the zero row. Tasks: images × channel vector groups × pixel tiles
  /// (``taskIndices(_:count:)``).
  var flatNest: LoopNest {
    let v = Self.v
    let (count, big, size) = flatTiles
    var body = taskIndices("k", count: count)
    body.append(.when([.inRange(v("k"), 0, big)], [.let_("p0", v("k") * size)] + flatTile(size)))
    if big < count {
      body.append(
        .when([.inRange(v("k"), big, count)], [.let_("p0", v("k") * (size - 1) + .constant(big))] + flatTile(size - 1)))
    }
    return LoopNest(
      name: "conv2d", buffers: buffers,
      body: [.loop(variable: "task", extent: n * channelGroups * count, kind: .parallel, body: body)])
  }

  private func flatTile(_ pixels: Int) -> [Stmt] {
    let v = Self.v
    let window = kh * kw, plane = h * w * self.v
    var body: [Stmt] = accumulators(pixels)
    var offsets: [Stmt] = [.let_("ky", v("q") / kw), .let_("kx", v("q") % kw)]
    for t in 0..<pixels {
      body.append(.declareIndexArray("offs\(t)", window))
      let p = v("p0") + .constant(t)
      offsets.append(.let_("iy\(t)", (p / ow) * sh - pt + v("ky") * dh))
      offsets.append(.let_("ix\(t)", (p % ow) * sw - pl + v("kx") * dw))
      let inside: [IndexCondition] = [.inRange(v("iy\(t)"), 0, h), .inRange(v("ix\(t)"), 0, w)]
      offsets.append(
        .setIndex("offs\(t)", v("q"), .select(inside, (v("iy\(t)") * w + v("ix\(t)")) * self.v, .constant(-1))))
    }
    body.append(.loop(variable: "q", extent: window, kind: .serial, body: offsets))
    var position: [Stmt] = (0..<pixels).map { t in
      let offset = IndexExpr.element("offs\(t)", v("q"))
      return .pointer("px\(t)", base: "plane", offset, checked: [.inRange(offset, 0, plane)])
    }
    position.append(
      .pointer("wp", base: "wt", ((og * blockCount + v("ib")) * window + v("q")) * (self.v * nv * self.v), checked: []))
    position += inputPrefetches(pixels, plane: plane)
    position += blockFMA(pixels, hints: nextWeightHints(window: window))
    body.append(
      .loop(
        variable: "ib", extent: blockCount, kind: .serial,
        body: ownBlocks([
          .pointer("plane", base: "in", (v("n") * inBlocks + inputBlock) * plane, checked: []),
          .loop(variable: "q", extent: window, kind: .serial, body: position),
        ])))
    return body
      + stores(pixels) { cb, t in
        ((v("n") * self.outBlocks + cb) * (self.oh * self.ow) + v("p0") + .constant(t)) * self.v
      }
  }
}

extension BlockedConv {
  /// Whether the row tasks should run the output channel groups innermost (each input row read
  /// once, every group's weights over it) instead of the rows (each group's weights read once, the
  /// input swept once per group): when the input is larger than a core's L2, so each sweep comes from
  /// L3, it would be swept often enough (``sweepsForGroupsInnermost``), and the weights take at most a quarter of L2,
  /// so they stay there across the rows. ResNet-50's stride-2 1×1 projection 256 → 512 from 56×56
  /// (3.2 MB in, 16 groups, 512 KiB of weights): 0.86 → 0.66–0.69 ms; with a 1.6 MB input, which L2
  /// holds, the same order ran 8–19 % slower (2026-12-04, Intel Xeon, L2 2 MiB, 2 threads).
  func prefersGroupsInnermost(l2Bytes: Int) -> Bool {
    guard !usesFlatPixels, inputBlocked, !depthwise, prologue == nil else { return false }
    let inputBytes = inBlocks * v * h * w * 4
    let weightBytes = channelGroups * nv * v * blockCount * icBlock * kh * kw * 4
    return inputBytes > l2Bytes && inputSweeps >= sweepsForGroupsInnermost && weightBytes <= l2Bytes / 4
  }

  /// How many times the rows-innermost order reads the whole input: once per channel group, or for
  /// a grouped conv the blocks every group reads over the input's blocks (RegNetX-1.6GF's groups of
  /// 24 over 72 channels: 5 vector groups reading 2, 3, 2, 3, 2 of 5 blocks, 2.4 sweeps).
  var inputSweeps: Double {
    guard let grouped else { return Double(channelGroups) }
    return Double(grouped.counts.reduce(0, +)) / Double(max(1, inBlocks))
  }

  /// The fewest sweeps of an input larger than L2 that make the groups-innermost order pay: 8 for
  /// a dense conv (ResNet-50's 1×1 convs of 2–4 groups over its 3.2 MB stage-1 maps ran
  /// 0.98–1.04× in it), 2 for a grouped one, whose groups each read a few of the input's blocks
  /// (RegNetX-1.6GF's 3×3 stride-2 convs, 2.4 sweeps: 0.93–0.95× and 0.97–0.98×; 2026-12-06, 2 threads).
  var sweepsForGroupsInnermost: Double { grouped == nil ? 8 : 2 }

  /// The most pixel tiles a channel group's weights may serve for ``nextWeightsGroups`` to hint the
  /// next group's: with a few tiles (a 7×7 map: 5 of 10 px) the first tile's pass, which brings the
  /// weights from L3, is a large share of the group; with many (14×14: 17) it is not, and the hints
  /// only add traffic (ResNet-50's 14×14 Winograd convs after hinted 1×1 convs ran 8–17 % slower).
  static let hintedTiles = 8

  /// Whether the conv hints the weights of the channel group a thread takes next into L2: flat
  /// pixel tiles over one image, a full conv (not depthwise or grouped, no prologue) whose groups
  /// each serve at most ``hintedTiles`` tiles, and more than one group.
  var hintsNextWeights: Bool {
    usesFlatPixels && n == 1 && prologue == nil && !depthwise && grouped == nil && flatTiles.count <= Self.hintedTiles
      && channelGroups > 1
  }

  /// The pace of ``nextWeightHints(window:)``: FMA steps per pixel tile, weight lines per channel
  /// group, and the steps between two hints, so the lines spread over the group's tiles (at most
  /// ``hintedTiles``).
  var nextWeightsPace: (steps: Int, lines: Int, spread: Int) {
    let steps = blockCount * kh * kw * icBlock
    let lines = steps * nv * v / ScheduleTarget.cacheLineFloats
    return (steps, lines, max(1, min(flatTiles.count, Self.hintedTiles) * steps / lines))
  }

  /// L2 hints for the weights of channel group `og + nextWeightsGroups`, spread evenly over this
  /// group's pixel tiles (at most ``hintedTiles``): one line every `spread` FMA steps, so the next
  /// group streams in at the pace the current one computes. One line per step (a 64-byte line
  /// every 20 FMAs, ~19 GB/s a core) asked for more than a core's share of DRAM while the current
  /// group's own first tile still read its weights; spread over the 5 tiles of a 7×7 map, ResNet-50's
  /// layer-4 convs ran 6–9 % faster (2026-12-05, Intel Xeon, 2 threads; `Docs/Scheduling.md`).
  func nextWeightHints(window: Int) -> [Stmt] {
    guard nextWeightsGroups > 0 else { return [] }
    let v = Self.v
    let (steps, lines, spread) = nextWeightsPace
    let slice = lines * ScheduleTarget.cacheLineFloats
    let position = v("k") * steps + (v("ib") * window + v("q")) * self.v + v("i")
    let line = spread > 1 ? position / spread : position
    let next = og + .constant(nextWeightsGroups)
    return [
      .when(
        (spread > 1 ? [.divisible(position, spread)] : []) + [
          .inRange(line, 0, lines), .inRange(next, 0, channelGroups),
        ],
        [.prefetch("wt", next * slice + line * ScheduleTarget.cacheLineFloats, l1: false)])
    ]
  }
}

extension BlockedConv {
  /// Input channel blocks ahead of the one being reduced whose tile pixels are prefetched into L1.
  /// ResNet-50's 1×1 2048 → 512 conv on a 7×7 map right after a group that wrote its input (half
  /// of it in the other core's cache), 2 threads: 0.367 → 0.33 ms with 2 blocks ahead, 0.33 with 4
  /// or 8; read warm, 0.32 → 0.31 (2026-12-05, Intel Xeon, L2 2 MiB).
  static let inputLookahead = 2

  /// Whether a flat tile prefetches its input pixels `inputLookahead` blocks ahead: a full conv
  /// over blocked input with more blocks than that. Flat tiles read each block's pixels as short
  /// runs a plane apart, which the hardware prefetchers follow late, and the input usually comes
  /// from the group just before, written by both threads.
  var prefetchesInput: Bool {
    usesFlatPixels && prologue == nil && grouped == nil && !depthwise && blockCount > Self.inputLookahead
  }

  /// One L1 prefetch per tile pixel of the window position `q` in the input block
  /// `inputLookahead` on, while blocks that far on remain (a pixel outside the input hints the
  /// line before the plane, which is harmless).
  func inputPrefetches(_ pixels: Int, plane: Int) -> [Stmt] {
    guard prefetchesInput else { return [] }
    let v = Self.v
    let ahead = (v("n") * inBlocks + v("ib") + .constant(Self.inputLookahead)) * plane
    let lines: [Stmt] = (0..<pixels).map { t in .prefetch("in", ahead + .element("offs\(t)", v("q")), l1: true) }
    return [.when([.inRange(v("ib"), 0, blockCount - Self.inputLookahead)], lines)]
  }
}

/// Tiling arithmetic shared by the register-tiled schedules.
enum Tiling {
  /// `width` items split evenly into tiles of at most `maxTile`: the tile count, how many tiles
  /// take the larger size, and the larger size (the others are one smaller).
  static func evenSplit(_ width: Int, maxTile: Int) -> (count: Int, big: Int, size: Int) {
    let count = (width + maxTile - 1) / maxTile
    let size = (width + count - 1) / count
    return (count, width - count * (size - 1), size)
  }

  /// A run of adjacent tiles of one width and one border check: `count` tiles from `start`.
  struct Run: Equatable {
    var start: Int
    var count: Int
    var width: Int
    var checked: Bool
  }

  /// One serial loop over `k` per run of equal tiles (``runs(_:)``), `ox` its tile's first column,
  /// `tile(width, checked)` the tile's statements.
  static func rowLoops(_ tiles: [(ox: Int, width: Int, checked: Bool)], tile: (Int, Bool) -> [Stmt]) -> [Stmt] {
    runs(tiles).map { run in
      .loop(
        variable: "k", extent: run.count, kind: .serial,
        body: [.let_("ox", .variable("k") * run.width + .constant(run.start))] + tile(run.width, run.checked))
    }
  }

  /// Consecutive tiles grouped into runs of equal width and check (each run becomes one loop).
  static func runs(_ tiles: [(ox: Int, width: Int, checked: Bool)]) -> [Run] {
    var runs: [Run] = []
    for tile in tiles {
      if let last = runs.last, last.width == tile.width, last.checked == tile.checked,
        last.start + last.count * last.width == tile.ox
      {
        runs[runs.count - 1].count += 1
      } else {
        runs.append(Run(start: tile.ox, count: 1, width: tile.width, checked: tile.checked))
      }
    }
    return runs
  }
}
