/// Copying a matmul's A into row-tile panels (``MatmulKernel/packNest``), layer-normalizing it on
/// the way when the kernel has a ``MatmulKernel/normalization``: when it pays, and the copy's nest.
extension MatmulKernel {
  /// Whether a normalized A is copied into panels first (``packNest`` normalizing): with K blocks,
  /// where a task is a column of tiles and would normalize its rows once per column, and when the
  /// row tiles are too few (under 8 per thread) to split the work evenly as tasks of whole rows.
  func normalizesInPanels(threads: Int) -> Bool {
    depthBlock != nil || rowTiles < 8 * max(1, threads)
  }

  /// Whether A should be packed: K runs in blocks over a packed B and one flat M, and N is wide
  /// enough (at least 24 vectors) that the copy, about 1.5 cycles per element of A, stays near a
  /// tenth of the FMA cycles each element feeds (N / 2v per thread: 12 at N = 384). ConvNeXt-T's
  /// 196×1536·1536×384 MLP-down ran at 75 % of the peak reading A in place, 83–84 % from panels
  /// (2026-12-04, Intel Xeon, 2 threads). Narrower (Swin's 96-wide projections) the copy cost about a
  /// quarter of the kernel, more than the contiguous stream saves.
  var packsA: Bool {
    guard case .packed = rhs else { return false }
    return depthBlock != nil && batch.isEmpty && n >= Self.packedAVectors * epilogue.vectorWidth
  }

  /// The fewest output vectors (N / v) for which ``packsA`` copies A into panels.
  static let packedAVectors = 24

  /// Floats of the packed A buffer.
  var packedACount: Int { rowTiles * tile.rows * k }

  /// The copy of A into panels `[K block][row tile][k][row]` (buffers `x`: A, `out`: the panels),
  /// one task per row tile; rows past M in the last tile are not written (never read either).
  var packNest: LoopNest {
    if let normalization { return normalizingPackNest(normalization) }
    let mr = tile.rows
    let row0 = Self.v("rt") * mr
    let copy = panelCopy(
      vectorDepths: aColumnStride == 1,
      rowVector: { r, p in .vloadUnaligned("x", (row0 + .constant(r)) * aRowStride + p) },
      element: { r, p in .load("x", (row0 + .constant(r)) * aRowStride + p * aColumnStride) })
    return LoopNest(
      name: "matmul_pack_a",
      buffers: [buffer("x", 0), BufferDecl(name: "out", count: packedACount, isOutput: true)],
      body: [.loop(variable: "task", extent: rowTiles, kind: .parallel, body: [.let_("rt", Self.v("task"))] + copy)])
  }

  /// A task's row tile `rt` of A into the panels `[K block][row tile][k][row]` of `out`, written in
  /// order: `element(r, p)` is A(tile row r, depth p), `rowVector(r, p)` its `v` depths from p on.
  /// When `vectorDepths` (A's depths lie contiguous), whole row tiles copy blocks of `v` depths
  /// turned over in registers (``RegisterTranspose``; the rows past the tile padded with its first
  /// row); the depths past the last whole block and the partial last row tile go one float at a time.
  private func panelCopy(
    vectorDepths: Bool, rowVector: (Int, IndexExpr) -> ValueExpr, element: (Int, IndexExpr) -> ValueExpr
  ) -> [Stmt] {
    let mr = tile.rows, kc = depthBlock ?? k, v = epilogue.vectorWidth
    func target(_ pp: IndexExpr) -> IndexExpr { ((Self.v("kb") * rowTiles + Self.v("rt")) * kc + pp) * mr }
    func scalarCopy(depths: Range<Int>) -> [Stmt] {
      guard !depths.isEmpty else { return [] }
      let pp = Self.v("pp") + .constant(depths.lowerBound)
      let p = Self.v("kb") * kc + pp
      // The panel is written in order, a tile's rows innermost (the last tile's missing rows
      // skipped): measured 1.5 cycles per float against 2-3 with the rows outermost.
      let rows: [Stmt] = (0..<mr).map { r in
        .when(
          [.inRange(Self.v("rt") * mr + .constant(r), 0, m)], [.store("out", target(pp) + .constant(r), element(r, p))])
      }
      return [.loop(variable: "pp", extent: depths.count, kind: .serial, body: rows)]
    }
    let wholeTiles = m / mr, wholeDepths = vectorDepths && mr <= v ? kc / v * v : 0
    guard wholeTiles > 0 && wholeDepths > 0 else {
      return [.loop(variable: "kb", extent: k / kc, kind: .serial, body: scalarCopy(depths: 0..<kc))]
    }
    let p0 = Self.v("pg") * v
    var block: [Stmt] = (0..<mr).map { r in .declareVector("pr\(r)", rowVector(r, Self.v("kb") * kc + p0)) }
    let (turn, columns) = RegisterTranspose.statements((0..<v).map { "pr\($0 < mr ? $0 : 0)" }, prefix: "pt")
    block += turn
    // Depth i's rows are the first mr lanes of column i: a vector store runs into the next depths'
    // slots, which the later stores overwrite; the stores that would run past the block store
    // their rows alone, so nothing outside it is written.
    for (i, name) in columns.enumerated() {
      let at = target(p0 + .constant(i))
      if i * mr + v <= v * mr {
        block.append(.vstoreUnaligned("out", at, .local(name)))
      } else {
        block.append(
          .loop(
            variable: "l", extent: mr, kind: .unrolled,
            body: [.store("out", at + Self.v("l"), .lane(name, Self.v("l")))]
          ))
      }
    }
    let tile =
      [Stmt.loop(variable: "pg", extent: wholeDepths / v, kind: .serial, body: block)]
      + scalarCopy(depths: wholeDepths..<kc)
    var stmts: [Stmt] = [
      .when([.inRange(Self.v("rt"), 0, wholeTiles)], [.loop(variable: "kb", extent: k / kc, kind: .serial, body: tile)])
    ]
    if wholeTiles < rowTiles {
      stmts.append(
        .when(
          [.inRange(Self.v("rt"), wholeTiles, rowTiles)],
          [.loop(variable: "kb", extent: k / kc, kind: .serial, body: scalarCopy(depths: 0..<kc))]))
    }
    return stmts
  }

  /// ``packNest`` for a normalized A: per row tile, each row's mean and 1/σ, then the panels written
  /// in order with every element normalized (buffers `x`, `gamma`, `beta`, `out`), whole vectors of
  /// depths at a time where they lie contiguous in `x` (``RowNormalization/normalizedVector``).
  private func normalizingPackNest(_ normalization: RowNormalization) -> LoopNest {
    let mr = tile.rows, kc = depthBlock ?? k, v = epilogue.vectorWidth
    var statistics: [Stmt] = [.let_("rt", Self.v("task"))]
    for r in 0..<mr {
      statistics += normalization.statistics(
        row: Self.v("rt") * mr + .constant(r), m: m, k: k, vector: v, mean: "mean\(r)", rstd: "rstd\(r)",
        variable: "q\(r)")
    }
    func row(_ r: Int) -> IndexExpr { Self.v("rt") * mr + .constant(r) }
    let contiguous: Bool
    switch normalization.source {
    case .rows: contiguous = true
    case .channelBlocks: contiguous = kc % v == 0
    }
    let copy = panelCopy(
      vectorDepths: contiguous,
      rowVector: { r, p in
        normalization.normalizedVector(row: row(r), p: p, k: k, vector: v, mean: "mean\(r)", rstd: "rstd\(r)")
      },
      element: { r, p in
        normalization.normalized(row: row(r), p: p, k: k, vector: v, mean: "mean\(r)", rstd: "rstd\(r)")
      })
    return LoopNest(
      name: "matmul_normalize_a",
      buffers: normalizationBuffers + [BufferDecl(name: "out", count: packedACount, isOutput: true)],
      body: [
        .loop(
          variable: "task", extent: rowTiles, kind: .parallel, body: InnerVectorize.apply(statistics, width: v) + copy)
      ])
  }
}
