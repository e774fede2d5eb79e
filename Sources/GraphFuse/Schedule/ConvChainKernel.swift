/// The schedule of a ``ConvChain`` (`[1×1 →] depthwise → 1×1`, each with its epilogue) as one
/// loop nest over bands of output rows. Per output row, the expanded input rows the depthwise
/// window needs are computed into a per-thread ring of `kh` rows (each row once per band), the
/// depthwise row goes to a per-thread row buffer, and the 1×1 projection reads that buffer and
/// stores the only tensor the chain writes. Neither the expanded tensor nor the depthwise output
/// is ever written to memory: they live in L1/L2.
///
/// Tasks are `n × bands`; a band restarts the ring, so the `kh − sh` halo rows at its top are the
/// only recomputed work. The register tiles are the blocked conv's (``BlockedConv``): `nv` channel
/// vectors × up to 12–14 pixels unrolled into vector locals, FMA with broadcast inputs, the
/// epilogue in registers before one store; rows split into loops over runs of equal tiles.
struct ConvChainKernel {
  var v: Int
  /// Chain input `[n, cin, h, w]` (blocked), output `[n, cout, oh, ow]`.
  var n, cin, h, w, cout, oh, ow: Int
  /// Channels between the stages (the expansion's output, or `cin` without one).
  var mid: Int
  var hasExpand: Bool
  /// The depthwise window: kernel, strides and top/left pads (dilation 1).
  var kh, kw, sh, sw, pt, pl: Int
  /// Epilogues of the expansion (if any), the depthwise conv and the projection.
  var expandEpilogue: Epilogue?
  var depthwiseEpilogue: Epilogue
  var projectEpilogue: Epilogue
  /// Row bands per image.
  var bands: Int

  var inBlocks: Int { (cin + v - 1) / v }
  var midBlocks: Int { (mid + v - 1) / v }
  var outBlocks: Int { (cout + v - 1) / v }
  /// Channel vectors per register tile of the expansion and of the projection (an odd block count
  /// of 5 or more takes two, the last tile's second vector never stored: ``RegisterTile/blocks``).
  var expandVectors: Int { RegisterTile.vectors(blocks: midBlocks, vector: v) }
  var projectVectors: Int { RegisterTile.vectors(blocks: outBlocks, vector: v) }
  var tasks: Int { n * bands }

  /// Floats of the ring of expanded rows and of the depthwise row buffer, per thread.
  var ringFloats: Int { hasExpand ? kh * midBlocks * w * v : 0 }
  var scratchFloats: Int { (ringFloats + midBlocks * ow * v + 15) / 16 * 16 }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// One tile loop per run of equal tiles of a row of `width` pixels (tiles of at most `maxTile`);
  /// `checked(ox, T)` says whether a tile touches a padded border.
  private func row(
    _ width: Int, maxTile: Int, checked: (Int, Int) -> Bool = { _, _ in false }, tile: (Int, Bool) -> [Stmt]
  ) -> [Stmt] {
    let (count, big, size) = Tiling.evenSplit(width, maxTile: maxTile)
    var tiles: [(ox: Int, width: Int, checked: Bool)] = []
    var ox = 0
    for k in 0..<count {
      let t = k < big ? size : size - 1
      tiles.append((ox, t, checked(ox, t)))
      ox += t
    }
    return Tiling.rowLoops(tiles, tile: tile)
  }

  /// A 1×1 conv tile: `pixels` × `nv` vectors of accumulators over `blocks` input channel blocks
  /// read from `source` at `sourceBase + ib*sourceStride + ox*v`, stored to `target` at
  /// `targetOffset(cb, t)` after the epilogue (operands `prefix0…`).
  private func pointwiseTile(
    _ pixels: Int, weights: String, bias: String, blocks: Int, nv: Int, epilogue: Epilogue, prefix: String,
    source: String, sourceBase: IndexExpr, sourceStride: Int, target: String, channels: Int,
    targetOffset: (IndexExpr, Int) -> IndexExpr
  ) -> [Stmt] {
    let v = Self.v
    let outputBlocks = (channels + self.v - 1) / self.v
    let tile = RegisterTile(
      pixels: pixels, vectors: nv, vector: self.v, blocks: outputBlocks % nv == 0 ? nil : outputBlocks)
    var body = tile.accumulators(bias: bias)
    body.append(
      .loop(
        variable: "ib", extent: blocks, kind: .serial,
        body: [
          .pointer("px", base: source, sourceBase + v("ib") * sourceStride + v("ox") * self.v, checked: []),
          .pointer("wp", base: weights, (v("og") * blocks + v("ib")) * (self.v * nv * self.v), checked: []),
          tile.fma(extent: self.v) { t in .load("px", v("i") + .constant(t * self.v)) },
        ]))
    return body
      + tile.stores(epilogue, prefix: prefix, channels: channels, target: target, offset: targetOffset)
  }

  /// The depthwise tile: `pixels` accumulators of channel block `cb` for output row `oy` from
  /// column `ox`, read from the ring (or the chain input), written to the row buffer.
  private func depthwiseTile(_ pixels: Int, checked: Bool) -> [Stmt] {
    let v = Self.v
    var body: [Stmt] = (0..<pixels).map { t in .declareVector("acc0_\(t)", .vload("bias2", v("cb") * self.v)) }
    let rowBase: (String, IndexExpr) =
      hasExpand
      ? ("scratch", v("sbase") + (v("iy") % kh) * (midBlocks * w * self.v) + v("cb") * (w * self.v))
      : ("in", v("n") * (inBlocks * h * w * self.v) + v("iy") * (w * self.v) + v("cb") * (h * w * self.v))
    var column: [Stmt] = [.declareVector("w0", .vload("wt2", ((v("cb") * kh + v("ky")) * kw + v("kx")) * self.v))]
    for t in 0..<pixels {
      let ix = (v("ox") + .constant(t)) * sw - pl + v("kx")
      column.append(.pointer("px\(t)", base: "rp", ix * self.v, checked: checked ? [.inRange(ix, 0, w)] : []))
      column.append(.accumulate("acc0_\(t)", .sum, .binary(.mul, .vload("px\(t)", .constant(0)), .local("w0"))))
    }
    body.append(
      .loop(
        variable: "ky", extent: kh, kind: .serial,
        body: [
          .let_("iy", v("oy") * sh - pt + v("ky")),
          .when(
            [.inRange(v("iy"), 0, h)],
            [
              .pointer("rp", base: rowBase.0, rowBase.1, checked: []),
              .loop(variable: "kx", extent: kw, kind: .serial, body: column),
            ]),
        ]))
    for t in 0..<pixels {
      let r = "r0_\(t)"
      let at = v("sbase") + .constant(ringFloats) + (v("cb") * ow + v("ox") + .constant(t)) * self.v
      body.append(
        .declareVector(
          r,
          depthwiseEpilogue.vector(
            acc: .local("acc0_\(t)"), offset: .constant(0), channelBlock: v("cb"), prefix: "b")))
      body += BlockedKernels.padLanes(r, channels: mid, vector: self.v, block: v("cb"))
      body.append(.vstore("scratch", at, .local(r)))
    }
    return body
  }

  /// The chain's loop nest. Buffers: input, [expansion weights `wt1`, bias `bias1`, operands
  /// `a…`], depthwise `wt2`, `bias2`, `b…`, projection `wt3`, `bias3`, `c…`, the per-thread
  /// scratch, the output.
  var nest: LoopNest {
    let v = Self.v
    let x0 = min(ow, (pl + sw - 1) / sw)
    let last = w - 1 + pl - (kw - 1)
    let x1 = last < 0 ? x0 : max(x0, min(ow, last / sw + 1))
    var rowBody: [Stmt] = []
    if let e = expandEpilogue {
      // Rows enter the ring in increasing order: a row is new when it is past the last one held.
      let expandRow = row(w, maxTile: expandVectors == 2 ? 12 : 14) { t, _ in
        pointwiseTile(
          t, weights: "wt1", bias: "bias1", blocks: inBlocks, nv: expandVectors, epilogue: e, prefix: "a",
          source: "in", sourceBase: v("n") * (inBlocks * h * w * self.v) + v("iy") * (w * self.v),
          sourceStride: h * w * self.v, target: "scratch", channels: mid
        ) { cb, t in
          v("sbase") + (v("iy") % kh) * (midBlocks * w * self.v) + (cb * w + v("ox") + .constant(t)) * self.v
        }
      }
      let groups = (midBlocks + expandVectors - 1) / expandVectors
      let expand = Stmt.loop(variable: "og", extent: groups, kind: .serial, body: expandRow)
      rowBody.append(
        .loop(
          variable: "ky", extent: kh, kind: .serial,
          body: [
            .let_("iy", v("oy") * sh - pt + v("ky")),
            .when(
              [.inRange(v("iy"), 0, h), .less(.element("held", .constant(0)), v("iy"))],
              [expand, .setIndex("held", .constant(0), v("iy"))]),
          ]))
    }
    rowBody.append(
      .loop(
        variable: "cb", extent: midBlocks, kind: .serial,
        body: row(ow, maxTile: 14, checked: { ox, t in ox < x0 || ox + t > x1 }, tile: depthwiseTile)))
    let projectRow = row(ow, maxTile: projectVectors == 2 ? 12 : 14) { t, _ in
      pointwiseTile(
        t, weights: "wt3", bias: "bias3", blocks: midBlocks, nv: projectVectors, epilogue: projectEpilogue,
        prefix: "c", source: "scratch", sourceBase: v("sbase") + .constant(ringFloats), sourceStride: ow * self.v,
        target: "out", channels: cout
      ) { cb, t in
        ((v("n") * outBlocks + cb) * oh + v("oy")) * (ow * self.v) + (v("ox") + .constant(t)) * self.v
      }
    }
    let groups = (outBlocks + projectVectors - 1) / projectVectors
    rowBody.append(.loop(variable: "og", extent: groups, kind: .serial, body: projectRow))
    let bandRows = (oh + bands - 1) / bands
    var task: [Stmt] = [
      .let_("band", v("task") % bands), .let_("n", v("task") / bands),
      .let_("y0", v("band") * oh / bands), .let_("y1", (v("band") + .constant(1)) * oh / bands),
      .let_("sbase", IndexExpr.thread * scratchFloats),
    ]
    if hasExpand { task += [.declareIndexArray("held", 1), .setIndex("held", .constant(0), .constant(-1))] }
    task.append(
      .loop(
        variable: "r", extent: bandRows, kind: .serial,
        body: [.let_("oy", v("y0") + v("r")), .when([.less(v("oy"), v("y1"))], rowBody)]))
    return LoopNest(
      name: "conv_chain", buffers: buffers,
      body: [.loop(variable: "task", extent: n * bands, kind: .parallel, body: task)])
  }

  private var buffers: [BufferDecl] {
    func buffer(_ name: String, output: Bool = false) -> BufferDecl {
      BufferDecl(name: name, count: 0, isOutput: output)
    }
    func operands(_ e: Epilogue, _ prefix: String) -> [BufferDecl] {
      e.operands.indices.map { buffer("\(prefix)\($0)") }
    }
    var result = [buffer("in")]
    if let e = expandEpilogue { result += [buffer("wt1"), buffer("bias1")] + operands(e, "a") }
    result += [buffer("wt2"), buffer("bias2")] + operands(depthwiseEpilogue, "b")
    result += [buffer("wt3"), buffer("bias3")] + operands(projectEpilogue, "c")
    return result + [buffer("scratch", output: true), buffer("out", output: true)]
  }
}
