/// The Winograd schedule of a stride-1 3×3 conv over blocked `NCHW[v]c` input
/// (``WinogradTransform``): per task, a chunk of output tiles of one image and a chunk of output
/// channel vector groups.
///
/// 1. The input transform `Bᵀ d B` of every tile of the chunk and every input channel block, into
///    a per-thread scratch `V[ξ][input block][tile][lane]` (α² positions ξ).
/// 2. For each output channel group: α² products `M[ξ] = V[ξ] · U[ξ]`, each a register-tiled
///    matrix product over the input channels exactly like a 1×1 conv's (tiles as pixels, the same
///    ``RegisterTile``), written to a second scratch `M[ξ][vector][tile][lane]`; then the output
///    transform `Aᵀ M A` of each tile, the bias and the epilogue in registers, one store per pixel.
///
/// `U = G g Gᵀ` is packed at compile time as `[ξ][group][input block][lane][nv·v]`. The chunk of
/// tiles is as large as a scratch budget allows, so `U` streams once per chunk; `V` then sits in L2
/// while every output group reads it. Work: α² / (9 m²) of the direct conv's FMAs (F(2×2, 3×3):
/// 4/9) plus transforms of about 2α³ additions per tile and channel, small beside α²·Cout FMAs.
struct WinogradConv {
  /// Input `[n, cin, h, w]`, output `[n, cout, oh, ow]`, padding top and left.
  var n, cin, h, w, cout, oh, ow, pt, pl: Int
  /// Floats per vector.
  var v: Int
  var epilogue: Epilogue
  var transform: WinogradTransform
  /// Threads the tasks are split for.
  var threads: Int

  /// Floats of the input-transform scratch a chunk may use per thread: 512 KiB, half of the
  /// smallest L2 of current server cores, so `V` stays in L2 beside the `U` panel being read.
  static let scratchBudget = 128 * 1024

  var inBlocks: Int { (cin + v - 1) / v }
  var outBlocks: Int { (cout + v - 1) / v }
  /// Channel vectors per register tile, by ``BlockedConv``'s rule.
  var nv: Int { RegisterTile.vectors(blocks: outBlocks, vector: v) }
  var channelGroups: Int { (outBlocks + nv - 1) / nv }
  /// Register-tile width in tiles: the conv's register budget.
  var maxTile: Int { RegisterTile.maxPixels(vectors: nv, vector: v) }
  var alpha: Int { transform.alpha }
  var tilesY: Int { (oh + transform.m - 1) / transform.m }
  var tilesX: Int { (ow + transform.m - 1) / transform.m }
  /// Output tiles per image.
  var tiles: Int { tilesY * tilesX }

  /// Tile chunks per image, tiles per chunk (the last chunk padded with tiles past the map, which
  /// read zeros and store nothing), and output-group chunks: every chunk's `V` within
  /// ``scratchBudget``, and tasks a multiple of the threads while they are few.
  var split: (chunks: Int, chunkTiles: Int, groupChunks: Int) {
    let perTile = alpha * alpha * inBlocks * v
    let largest = max(maxTile, Self.scratchBudget / perTile)
    var chunks = (tiles + largest - 1) / largest
    var groupChunks = TaskSplit.chunks(channelGroups, tiles: n * chunks, threads: threads)
    func tasks() -> Int { n * chunks * groupChunks }
    while threads > 1, tasks() % threads != 0, tasks() < TaskSplit.enoughPerThread * threads, chunks < tiles {
      chunks += 1
      groupChunks = TaskSplit.chunks(channelGroups, tiles: n * chunks, threads: threads)
    }
    return (chunks, (tiles + chunks - 1) / chunks, groupChunks)
  }

  /// Floats of scratch per thread: `V` then `M`, each a whole number of 64-byte lines.
  var scratchFloats: Int {
    let tt = split.chunkTiles
    return (alpha * alpha * inBlocks * tt * v + 15) / 16 * 16 + (alpha * alpha * nv * tt * v + 15) / 16 * 16
  }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Buffers: input, packed `U`, packed bias, epilogue operands, per-thread scratch, output.
  var buffers: [BufferDecl] {
    [
      BufferDecl(name: "in", count: n * inBlocks * v * h * w, isOutput: false),
      BufferDecl(name: "wt", count: 0, isOutput: false),
      BufferDecl(name: "bias", count: outBlocks * v, isOutput: false),
    ] + epilogue.operands.indices.map { BufferDecl(name: "e\($0)", count: 0, isOutput: false) } + [
      BufferDecl(name: "scratch", count: 0, isOutput: true),
      BufferDecl(name: "out", count: n * outBlocks * v * oh * ow, isOutput: true),
    ]
  }

  /// Tasks: images × output-group chunks × tile chunks (tile chunk innermost).
  var nest: LoopNest {
    let v = Self.v
    let (chunks, tt, groupChunks) = split
    let perChunk = channelGroups / groupChunks
    var body: [Stmt] = [
      .let_("c", v("task") % chunks), .let_("gc", (v("task") / chunks) % groupChunks),
      .let_("n", v("task") / (chunks * groupChunks)), .let_("sbase", IndexExpr.thread * scratchFloats),
      .let_("mbase", v("sbase") + .constant((alpha * alpha * inBlocks * tt * self.v + 15) / 16 * 16)),
    ]
    body += inputTransform(chunkTiles: tt)
    var group: [Stmt] = [.let_("og", v("gc") * perChunk + v("jg"))]
    group.append(.loop(variable: "xi", extent: alpha * alpha, kind: .serial, body: products(chunkTiles: tt)))
    group += outputTransform(chunkTiles: tt)
    body.append(.loop(variable: "jg", extent: perChunk, kind: .serial, body: group))
    return LoopNest(
      name: "conv2d", buffers: buffers,
      body: [.loop(variable: "task", extent: n * chunks * groupChunks, kind: .parallel, body: body)])
  }

  /// `Bᵀ d B` of each tile of the chunk and input block, stored as `V[ξ][ib][tile]`.
  private func inputTransform(chunkTiles tt: Int) -> [Stmt] {
    let v = Self.v, a = alpha, lanes = self.v
    var tile: [Stmt] = [
      .let_("p", v("c") * tt + v("t")),
      .let_("iy0", (v("p") / tilesX) * transform.m - pt), .let_("ix0", (v("p") % tilesX) * transform.m - pl),
    ]
    for y in 0..<a {
      for x in 0..<a {
        let iy = v("iy0") + .constant(y), ix = v("ix0") + .constant(x)
        tile.append(
          .pointer(
            "d\(y)_\(x)", base: "plane", (iy * w + ix) * lanes, checked: [.inRange(iy, 0, h), .inRange(ix, 0, w)]))
      }
    }
    tile += WinogradTransform.sandwich(transform.bt, input: { .vload("d\($0)_\($1)", .constant(0)) }, name: "b")
    for i in 0..<a {
      for j in 0..<a {
        let at = v("sbase") + (((.constant(i * a + j) * inBlocks) + v("ib")) * tt + v("t")) * lanes
        tile.append(.vstore("scratch", at, .local("b_\(i)_\(j)")))
      }
    }
    return [
      .loop(
        variable: "ib", extent: inBlocks, kind: .serial,
        body: [
          .pointer("plane", base: "in", (v("n") * inBlocks + v("ib")) * (h * w * lanes), checked: []),
          .loop(variable: "t", extent: tt, kind: .serial, body: tile),
        ])
    ]
  }

  /// `M[ξ] = V[ξ] · U[ξ]` for output group `og` and position `xi`, the chunk's tiles in register
  /// tiles of at most ``maxTile``.
  private func products(chunkTiles tt: Int) -> [Stmt] {
    let v = Self.v, lanes = self.v
    let (count, big, size) = Tiling.evenSplit(tt, maxTile: maxTile)
    func registerTile(_ pixels: Int) -> [Stmt] {
      let tile = RegisterTile(
        pixels: pixels, vectors: nv, vector: lanes, blocks: outBlocks % nv == 0 ? nil : outBlocks)
      var body = tile.zeroAccumulators()
      body.append(
        .loop(
          variable: "ib", extent: inBlocks, kind: .serial,
          body: [
            .pointer(
              "vp", base: "scratch", v("sbase") + ((v("xi") * inBlocks + v("ib")) * tt + v("s0")) * lanes, checked: []),
            .pointer(
              "wp", base: "wt", ((v("xi") * channelGroups + v("og")) * inBlocks + v("ib")) * (lanes * nv * lanes),
              checked: []),
            tile.fma(extent: lanes) { t in .load("vp", v("i") + .constant(t * lanes)) },
          ]))
      for j in 0..<nv {
        for t in 0..<pixels {
          let at = v("mbase") + ((v("xi") * nv + .constant(j)) * tt + v("s0") + .constant(t)) * lanes
          body.append(.vstore("scratch", at, .local("acc\(j)_\(t)")))
        }
      }
      return body
    }
    var body: [Stmt] = [
      .loop(
        variable: "k", extent: big, kind: .serial, body: [.let_("s0", v("k") * size)] + registerTile(size))
    ]
    if big < count {
      body.append(
        .loop(
          variable: "k", extent: count - big, kind: .serial,
          body: [.let_("s0", v("k") * (size - 1) + .constant(big * size))] + registerTile(size - 1)))
    }
    return body
  }

  /// `Aᵀ M A` of each tile of the chunk for output group `og`, plus the bias and the epilogue,
  /// stored where the output pixel lies inside the map.
  private func outputTransform(chunkTiles tt: Int) -> [Stmt] {
    let v = Self.v, a = alpha, m = transform.m, lanes = self.v
    var tile: [Stmt] = [
      .let_("p", v("c") * tt + v("t")),
      .let_("oy0", (v("p") / tilesX) * m), .let_("ox0", (v("p") % tilesX) * m),
    ]
    for j in 0..<nv {
      let cb = v("og") * nv + .constant(j)
      var vector: [Stmt] = [.declareVector("bv\(j)", .vload("bias", cb * lanes))]
      vector += WinogradTransform.sandwich(
        transform.at,
        input: { y, x in
          .vload("scratch", v("mbase") + ((.constant((y * a + x) * nv + j)) * tt + v("t")) * lanes)
        }, name: "y\(j)")
      for r in 0..<m {
        for c in 0..<m {
          let oy = v("oy0") + .constant(r), ox = v("ox0") + .constant(c)
          let offset = ((v("n") * outBlocks + cb) * oh + oy) * (ow * lanes) + ox * lanes
          let result = "r\(j)_\(r)_\(c)"
          var store: [Stmt] = [
            .declareVector(
              result,
              epilogue.vector(
                acc: .binary(.add, .local("y\(j)_\(r)_\(c)"), .local("bv\(j)")), offset: offset, channelBlock: cb))
          ]
          store += BlockedKernels.padLanes(result, channels: cout, vector: lanes, block: cb)
          store.append(.vstore("out", offset, .local(result)))
          vector.append(.when([.inRange(oy, 0, oh), .inRange(ox, 0, ow)], store))
        }
      }
      let overruns = outBlocks % nv != 0 && j >= outBlocks % nv
      tile += overruns ? [.when([.inRange(cb, 0, outBlocks)], vector)] : vector
    }
    return [.loop(variable: "t", extent: tt, kind: .serial, body: tile)]
  }
}
