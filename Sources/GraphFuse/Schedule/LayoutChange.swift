/// A layout change between plain `[n, c, hw]` and blocked `[n, c/v, hw, v]` (padded channels zero).
/// Tasks: images × channel blocks × chunks of at most ``BlockedKernels/layoutChunk`` pixels, so a
/// map of one channel block (HGNetV2's stem: 16 channels at 112×112) still splits over the
/// threads. A chunk goes `v` pixels at a time: `v` vector loads (a channel's `v` pixels each, or a
/// pixel's `v` channels), turned over in registers (``RegisterTranspose``), `v` vector stores; the
/// pixels past the last whole tile of the map, and every pixel of a block with fewer than `v`
/// channels, go one element at a time. The one-task-per-block copy before ran a lane at a time,
/// each store `v` floats from the last: HGNetV2-B0's stem concat took 0.44 ms of its 4.0 (`bench`).
struct LayoutChange {
  var n: Int, c: Int, hw: Int, vector: Int
  /// Plain to blocked, or blocked to plain.
  var toBlocked: Bool

  var blocks: Int { (c + vector - 1) / vector }
  /// Whole tiles of `vector` pixels, and the pixels past them.
  var tiles: Int { hw / vector }
  var tailPixels: Int { hw % vector }
  /// Chunks per channel block, and whole tiles per chunk (the last chunk may have fewer).
  var chunks: Int { max(1, min(tiles, (hw + BlockedKernels.layoutChunk - 1) / BlockedKernels.layoutChunk)) }
  var tilesPerChunk: Int { (tiles + chunks - 1) / chunks }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// The plain offset of channel `channel` (of block `blk`), pixel `p`.
  private func plain(_ channel: IndexExpr, _ p: IndexExpr) -> IndexExpr {
    (Self.v("b") * c + Self.v("blk") * vector + channel) * hw + p
  }
  /// The blocked offset of lane `lane`, pixel `p`.
  private func blockedAt(_ lane: IndexExpr, _ p: IndexExpr) -> IndexExpr {
    (Self.v("b") * blocks + Self.v("blk")) * (hw * vector) + p * vector + lane
  }

  /// One element per lane of pixels `p` in `pixels` (a loop over `pp` from `first`): padded lanes
  /// zero when blocking, skipped when unblocking.
  private func elements(first: IndexExpr, pixels: Int) -> Stmt {
    let p = first + Self.v("pp"), ch = Self.v("blk") * vector + Self.v("l")
    let inside: [IndexCondition] = [.inRange(ch, 0, c)]
    let body: Stmt =
      toBlocked
      ? .store("out", blockedAt(Self.v("l"), p), .select(inside, .load("in", plain(Self.v("l"), p)), .constant(0)))
      : .when(inside, [.store("out", plain(Self.v("l"), p), .load("in", blockedAt(Self.v("l"), p)))])
    let lanes = Stmt.loop(variable: "l", extent: vector, kind: .serial, body: [body])
    return .loop(variable: "pp", extent: pixels, kind: .serial, body: [lanes])
  }

  /// A whole tile of `vector` pixels from pixel `p0`, turned over in registers.
  private func tile(_ p0: IndexExpr) -> [Stmt] {
    var stmts: [Stmt] = (0..<vector).map { i in
      let at = toBlocked ? plain(.constant(i), p0) : blockedAt(.constant(0), p0 + .constant(i))
      return .declareVector("r\(i)", .vloadUnaligned("in", at))
    }
    let (turn, names) = RegisterTranspose.statements((0..<vector).map { "r\($0)" }, prefix: "t")
    stmts += turn
    for (i, name) in names.enumerated() {
      let at = toBlocked ? blockedAt(.constant(0), p0 + .constant(i)) : plain(.constant(i), p0)
      stmts.append(.vstoreUnaligned("out", at, .local(name)))
    }
    return stmts
  }

  var nest: LoopNest {
    let tileIndex = Self.v("k") * tilesPerChunk + Self.v("t")
    // Whole blocks of channels go by tiles; a partial last block (fewer than `vector` channels)
    // element by element over its chunk.
    var byTiles: [Stmt] = [
      .loop(
        variable: "t", extent: tilesPerChunk, kind: .serial,
        body: [.when([.inRange(tileIndex, 0, tiles)], tile(tileIndex * vector))])
    ]
    let partial = [
      Stmt.loop(
        variable: "t", extent: tilesPerChunk, kind: .serial,
        body: [.when([.inRange(tileIndex, 0, tiles)], [elements(first: tileIndex * vector, pixels: vector)])])
    ]
    if tiles == 0 {
      byTiles = []
    } else if c % vector != 0 {
      byTiles = [.when([.inRange(Self.v("blk"), 0, blocks - 1)], byTiles)]
      byTiles.append(.when([.inRange(Self.v("blk"), blocks - 1, blocks)], partial))
    }
    var body: [Stmt] = [
      .let_("b", Self.v("task") / (blocks * chunks)), .let_("blk", Self.v("task") / chunks % blocks),
      .let_("k", Self.v("task") % chunks),
    ]
    body += byTiles
    if tailPixels > 0 {
      body.append(
        .when(
          [.inRange(Self.v("k"), chunks - 1, chunks)], [elements(first: .constant(tiles * vector), pixels: tailPixels)])
      )
    }
    let plainCount = n * c * hw, blockedCount = n * blocks * vector * hw
    return LoopNest(
      name: toBlocked ? "to_blocked" : "to_plain",
      buffers: [
        BlockedKernels.buffer("in", toBlocked ? plainCount : blockedCount),
        BlockedKernels.buffer("out", toBlocked ? blockedCount : plainCount, output: true),
      ],
      body: [.loop(variable: "task", extent: n * blocks * chunks, kind: .parallel, body: body)])
  }
}
