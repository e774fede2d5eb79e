/// The 1×1 conv with an input prologue (DenseNet's batch norm → relu before each bottleneck and
/// transition conv): the elementwise function `f` the conv's input went through is applied as the
/// input tile is loaded, so `f(x)` is never written to memory.
///
/// A task is one tile of consecutive output pixels (as in the flat-pixel conv) and a chunk of the
/// output channel vector groups. It first runs `f` over the tile's input pixels, every input
/// channel block, into a per-thread scratch (`[block][pixel][lane]`, zero in the padding lanes),
/// then for each channel group of its chunk runs the register tile over the scratch. `f` is thus
/// applied once per input element and tile chunk, not once per output channel group; its cost is
/// one vector FMA and max per 16 input elements against `2 · nv` FMAs of the conv per element.
extension BlockedConv {
  /// Floats of scratch per thread: every input block of the largest tile.
  var prologueScratchFloats: Int { (inBlocks * flatTiles.size * v + 15) / 16 * 16 }

  /// Tasks: batch × channel-group chunks × pixel tiles (pixel tile innermost).
  var prologueNest: LoopNest {
    let v = Self.v
    let (count, big, size) = flatTiles
    var body: [Stmt] = [
      .let_("k", v("task") % count), .let_("chunk", (v("task") / count) % prologueChunks),
      .let_("n", v("task") / (count * prologueChunks)), .let_("sbase", IndexExpr.thread * prologueScratchFloats),
    ]
    body.append(.when([.inRange(v("k"), 0, big)], [.let_("p0", v("k") * size)] + prologueTile(size)))
    if big < count {
      body.append(
        .when(
          [.inRange(v("k"), big, count)],
          [.let_("p0", v("k") * (size - 1) + .constant(big))] + prologueTile(size - 1)))
    }
    return LoopNest(
      name: "conv2d", buffers: buffers,
      body: [.loop(variable: "task", extent: n * prologueChunks * count, kind: .parallel, body: body)])
  }

  private func prologueTile(_ pixels: Int) -> [Stmt] {
    guard let prologue else { return [] }
    let v = Self.v
    let plane = h * w * self.v, lanes = self.v
    // The input pixel of each output pixel of the tile (1×1, no padding: always inside).
    var body: [Stmt] = (0..<pixels).map { t in
      let p = v("p0") + .constant(t)
      return .let_("src\(t)", ((p / ow) * (sh * w) + (p % ow) * sw) * lanes)
    }
    var transform: [Stmt] = [
      .pointer("plane", base: "in", (v("n") * inBlocks + v("ib")) * plane, checked: [])
    ]
    for t in 0..<pixels {
      let x = prologue.prologue(input: .vload("plane", v("src\(t)")), channelBlock: v("ib"), prefix: "pro")
      transform.append(.declareVector("x\(t)", x))
      transform += BlockedKernels.padLanes("x\(t)", channels: cin, vector: lanes, block: v("ib"))
      let at = v("sbase") + v("ib") * (pixels * lanes) + .constant(t * lanes)
      transform.append(.vstore("scratch", at, .local("x\(t)")))
    }
    body.append(.loop(variable: "ib", extent: inBlocks, kind: .serial, body: transform))
    let perChunk = channelGroups / prologueChunks
    var group: [Stmt] = [.let_("og", v("chunk") * perChunk + v("j"))] + accumulators(pixels)
    group.append(
      .loop(
        variable: "ib", extent: inBlocks, kind: .serial,
        body: [
          .pointer("sp", base: "scratch", v("sbase") + v("ib") * (pixels * lanes), checked: []),
          .pointer("wp", base: "wt", (og * inBlocks + v("ib")) * (lanes * nv * lanes), checked: []),
          broadcastFMA(pixels, extent: lanes) { t in .load("sp", v("i") + .constant(t * lanes)) },
        ]))
    group += stores(pixels) { cb, t in
      ((v("n") * self.outBlocks + cb) * (self.oh * self.ow) + v("p0") + .constant(t)) * lanes
    }
    body.append(.loop(variable: "j", extent: perChunk, kind: .serial, body: group))
    return body
  }
}
