/// A register-tiled matrix multiply `out[b] = epilogue(A[b] · B[b])` over plain row-major
/// operands, as a loop nest: each task computes a tile of `rows` output rows × `vectors` vectors
/// of `GF_V` output columns in registers, streaming K once: per k, `vectors` loads of B, `rows`
/// broadcasts of A and `rows × vectors` FMAs. The epilogue (bias, GELU, residual add, scale) is
/// applied to each accumulator before its one store. Tasks: batch × row tiles × column tiles,
/// column tiles innermost so a task's A rows stay in L1 across neighbouring tasks.
///
/// B is either a constant packed at compile time as `[N/(vectors·v)][K][vectors·v]`
/// (``WeightPacking/matmul(_:transposed:alpha:vector:vectors:)``, zero-padded: the last column
/// tile computes padded lanes and stores only the real ones), or an activation read in place
/// (contiguous along N, any batch and row strides: a transposed producer's layout is an index
/// map, not a copy); then the last partial vector of B is a masked load of the real columns.
struct MatmulKernel {
  /// How B is read.
  enum RHS: Equatable {
    /// Packed constant; `bias` adds a padded per-column vector (buffer `bias`) to the accumulators.
    case packed(bias: Bool)
    /// `B[b](p, j) = b[batchOffset(b) + p · rowStride + j]`.
    case plain(batchStrides: [Int], rowStride: Int)
  }

  /// Output batch extents (broadcast batch axes of the operands), outermost first.
  var batch: [Int]
  /// A's element stride per batch axis (0 where A is broadcast).
  var aBatchStrides: [Int]
  var m: Int, k: Int, n: Int
  /// `A(i, p) = a[batchOffset + i · aRowStride + p · aColumnStride]`.
  var aRowStride: Int, aColumnStride: Int
  var rhs: RHS
  var epilogue: Epilogue
  /// The depth of one K block, or nil to stream all of K per tile (``depthBlock(l1Bytes:)``).
  var depthBlock: Int? = nil
  /// With K blocks: `a` is A copied by ``packNest`` into panels `[K block][row tile][k][row]`, so
  /// a tile's broadcasts read one contiguous stream instead of `rows` rows `K` floats apart.
  var packedA = false
  /// With K blocks: the row tiles of a column split into this many tasks (``rowGroups(threads:)``).
  var rowGroups = 1
  /// Rows that are pixels of `[images, pixels, N]` stored channels first (``ChannelsFirstStore``):
  /// each vector, after ``epilogue``, goes through `tail` (operands `t0…`, full tensors in
  /// `NCHW[v]c` blocks) into `out` in the blocked layout `[image][N/v][pixel][v]`. N must be whole
  /// vectors.
  var channelsFirst: (pixels: Int, tail: Epilogue)? = nil
  /// A layer norm applied to A's rows as they are read (``NormalizedInput``): A is the norm's data
  /// (buffer `x`, with `gamma` and `beta`). With ``packedA`` the copy into panels normalizes
  /// (``packNest``); without, each task normalizes its row tile into a per-thread buffer `a` of
  /// ``normalizedRowFloats`` floats and runs every column tile over it (``normalizesRows``).
  var normalization: RowNormalization? = nil

  /// Whether each task normalizes its own row tile (no K blocks, no packed panels) and then runs
  /// every column tile of it: the normalized rows never leave L1.
  var normalizesRows: Bool { normalization != nil && !packedA }

  /// Floats of one thread's normalized row tile.
  var normalizedRowFloats: Int { (tile.rows * k + 15) / 16 * 16 }

  /// The matmul of `m` rows, row-major and contiguous, by one constant weight matrix packed for its
  /// tile (``ConstantRecipe/matmulWeight(_:k:n:transposed:alpha:vector:vectors:)``).
  static func weightMatmul(m: Int, k: Int, n: Int, epilogue: Epilogue) -> MatmulKernel {
    MatmulKernel(
      batch: [], aBatchStrides: [], m: m, k: k, n: n, aRowStride: k, aColumnStride: 1, rhs: .packed(bias: false),
      epilogue: epilogue)
  }

  /// Compensated (Kahan) sums for a matrix-vector product (one row, a classifier): it is bound by
  /// its weight loads, so three more vector operations per FMA cost nothing, and the long dot
  /// products then keep an error near one rounding step (as ``RegisterTile/compensated`` does for
  /// a conv with one output pixel).
  var compensated: Bool { m == 1 && depthBlock == nil }

  /// Accumulator tile: rows × vectors.
  var tile: (rows: Int, vectors: Int) {
    let v = epilogue.vectorWidth
    let columnVectors = max(1, vectorColumns)
    // Each B vector loaded is used by every row of the tile, each A broadcast by every vector: two
    // vectors and as many rows as the registers hold left (12 of 32) load B half as often per FMA
    // as four vectors and six rows, and B is the operand that streams from L2.
    if m == 1 { return (1, RegisterTile.matrixVectorVectors(blocks: columnVectors, vector: v)) }
    let vectors = spansN ? columnVectors : splitsNInTwo ? (columnVectors + 1) / 2 : min(2, columnVectors)
    let rows = min(m, 12, max(1, (registers - vectors - 1) / vectors))
    return (rows, vectors)
  }

  /// Whether the tile spans all of a narrow N (3 to 6 vectors of 16 floats, 3 of 8) with as many
  /// rows as the registers hold left, at least 4 (4 × 6, 6 × 4, 9 × 3): each row of A is then read
  /// once instead of once per 2-vector column tile, and B (K × N, at most 96 columns) stays in L1
  /// or L2 across the rows. M needs 64 rows or more (16 row tiles of 4 to share among the threads).
  /// ConvNeXt-T's and Swin-T's 56² MLP-down (3136×384·384×96) went from 0.90–0.95 to 0.73–0.74 ms,
  /// MaxViT-T's 64-wide one (3136×256·256×64) from 0.49–0.52 to 0.33 (2026-12-04, Intel Xeon, 2
  /// threads, `bench` per group, five alternating runs).
  var spansN: Bool { m >= 64 && vectorColumns >= 3 && (registers - vectorColumns - 1) / vectorColumns >= 4 }

  /// Whether a deep product (K ≥ 256) with N up to twice ``spansN``'s (7 to 12 vectors of 16 floats)
  /// takes two column tiles of half of N each (6 × 4 … 4 × 6): A, streamed in K blocks, is read
  /// twice instead of 4–6 times. ConvNeXt-T's and Swin-T's 28² MLP-down (784×768·768×192) 0.83–0.86
  /// → 0.74–0.77 ms, MaxViT-T's 128-wide one 0.37 → 0.355. Shallow products keep 2-vector tiles:
  /// MaxViT-T's layer-normalized 64 → 192 projection ran 5–11 % slower with two 6-vector tiles.
  var splitsNInTwo: Bool {
    let half = (vectorColumns + 1) / 2
    return m >= 64 && k >= 256 && !spansN && half >= 3 && (registers - half - 1) / half >= 4
  }

  /// Vector registers: 32 with 16-float vectors (AVX-512), else 16.
  private var registers: Int { epilogue.vectorWidth == 16 ? 32 : 16 }

  /// Row tiles over M (the last one partial when the tile's rows do not divide M).
  var rowTiles: Int { (m + tile.rows - 1) / tile.rows }
  /// Column tiles over N (the last one may have fewer vectors, its last vector partial).
  var columnTiles: Int { (vectorColumns + tile.vectors - 1) / tile.vectors }

  /// Why the tile has its size (for the schedule printout).
  var tileReason: String {
    "\(tile.rows * tile.vectors) accumulators + "
      + (compensated ? "\(tile.vectors) compensations within " : "\(tile.vectors) B vectors + 1 broadcast within ")
      + "\(epilogue.vectorWidth == 16 ? 32 : 16) registers"
      + (depthBlock.map {
        "; K in blocks of \($0) so a block of B stays in L1 across row tiles, partial sums in a "
          + "per-thread scratch"
      } ?? "")
      + (spansN ? "; the tile spans all of N, so A is read once" : "")
      + (splitsNInTwo ? "; two column tiles span N, so A is read twice" : "")
      + (packedA ? "; A copied into contiguous row-tile panels first; the next block of B prefetched into L2" : "")
      + (compensated ? "; compensated sums: one row, a matrix-vector product" : "")
      + (normalization == nil
        ? ""
        : packedA
          ? "; each row layer-normalized as it is copied"
          : "; each task layer-normalizes its row tile into a per-thread buffer, then runs every column tile over it")
  }

  /// With K blocks a task is a column of tiles, so N alone sets the task count: a narrow N over many
  /// rows (Swin's 384 → 96 MLP: 3 columns of 262 row tiles) would leave threads idle. The rows then
  /// split into groups, enough for 8 tasks per thread, each of at least 4 row tiles so a block of B
  /// brought into L1 still serves several tiles, and tasks a multiple of the threads.
  func rowGroups(threads: Int) -> Int {
    guard depthBlock != nil else { return 1 }
    let columnTasks = batch.reduce(1, *) * columnTiles
    let wanted = (8 * threads + columnTasks - 1) / columnTasks
    var groups = max(1, min(wanted, rowTiles / 4))
    // Few tasks split evenly only as a multiple of the threads (one column of 23 row tiles: 4
    // groups, not 5, for 2 threads).
    while groups > 1, (columnTasks * groups) % max(1, threads) != 0 { groups -= 1 }
    return groups
  }

  /// Row tiles per task with K blocks.
  private var groupSize: Int { (rowTiles + rowGroups - 1) / rowGroups }

  /// Floats of the per-thread scratch that holds a task's partial sums between K blocks: every row
  /// tile of its group, `[row tile][row][vectors·v]`, contiguous. Kept in the output instead, a
  /// tile's rows lie N floats apart; with N a multiple of 1024 (ViT's 3072) they all fall in one L1
  /// set, and the 24 partial-sum lines evict each other every block (197×768 · 768×3072 at 49–77 %
  /// of the peak with them in the output, 93–96 % at N = 3040; 2026-12-03, AMD EPYC, 2 threads).
  /// Zero without K blocks.
  var partialFloats: Int {
    guard depthBlock != nil else { return 0 }
    return (groupSize * tile.rows * tile.vectors * epilogue.vectorWidth + 15) / 16 * 16
  }

  /// The norm's buffers: its data and its per-feature scale (and bias).
  var normalizationBuffers: [BufferDecl] {
    [buffer("x", 0), buffer("gamma", 0)] + (normalization?.hasBias == true ? [buffer("beta", 0)] : [])
  }

  /// A task's statements that normalize its row tile into its thread's rows of `a`, `[row][k]`.
  private func normalizeRowTile(_ normalization: RowNormalization) -> [Stmt] {
    let mr = tile.rows, v = epilogue.vectorWidth
    var stmts: [Stmt] = []
    for r in 0..<mr {
      let row = Self.v("rt") * mr + .constant(r)
      stmts += normalization.statistics(
        row: row, m: m, k: k, vector: v, mean: "mean\(r)", rstd: "rstd\(r)", variable: "q\(r)")
      let value = normalization.normalized(
        row: row, p: Self.v("w\(r)"), k: k, vector: v, mean: "mean\(r)", rstd: "rstd\(r)")
      let store = Stmt.store("a", Self.v("abase") + .constant(r * k) + Self.v("w\(r)"), value)
      stmts.append(
        .when([.inRange(row, 0, m)], [.loop(variable: "w\(r)", extent: k, kind: .serial, body: [store])]))
    }
    return InnerVectorize.apply(stmts, width: v)
  }

  /// The K block for an L1 data cache of `l1Bytes`: the largest divisor of K (at least 64) whose
  /// `depth × vectors·v` slice of B fills at most half of L1, so every row tile of a column reads
  /// B from L1 instead of streaming it from L2 again. Nil when B's whole panel fits already, when
  /// there is one row tile (nothing to reuse it), or when the columns are not whole vectors (the
  /// partial sums are kept in the output between blocks, read and written a vector at a time).
  func depthBlock(l1Bytes: Int) -> Int? {
    let v = epilogue.vectorWidth
    let panelFloats = tile.vectors * v
    let depth = l1Bytes / 2 / (panelFloats * 4)
    guard depth >= 64, k > depth, m > tile.rows, n % v == 0, n >= panelFloats else { return nil }
    return stride(from: depth, through: 64, by: -1).first { k % $0 == 0 }
  }

  static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Output vectors computed by the vector tiles: every column, the last vector partial when N is
  /// not a multiple of the width (packed B: padded lanes computed, only the real ones stored; plain B:
  /// a masked load of the real columns).
  private var vectorColumns: Int {
    let v = epilogue.vectorWidth
    return (n + v - 1) / v
  }

  /// The loop nest. Buffers: `a`, then `wt` (+ `bias`) for packed B or `b` for plain B, the
  /// epilogue operands `e0…`, with K blocks the per-thread `scratch` of partial sums, `out`.
  var nest: LoopNest {
    let v = epilogue.vectorWidth
    let (mr, nr) = tile
    let vecs = vectorColumns
    let columnTasks = columnTiles
    let batchCount = batch.reduce(1, *)
    let blocks = depthBlock.map { k / $0 }
    // Unblocked, a task is one tile; blocked, a task is one column of tiles: for each K block,
    // every row tile in turn, so the block of B it reads stays in L1.
    let aBase: IndexExpr =
      packedA
      ? ((blocks == nil ? .constant(0) : Self.v("kb")) * rowTiles + Self.v("rt")) * ((depthBlock ?? k) * mr)
      : normalizesRows
        ? IndexExpr.thread * normalizedRowFloats : batchOffset(aBatchStrides) + Self.v("rt") * (mr * aRowStride)
    let tiles: [Stmt] = [
      .let_("abase", aBase),
      .let_("obase", Self.v("bt") * (m * n) + Self.v("rt") * (mr * n)),
    ]
    var body: [Stmt] =
      normalizesRows
      ? [.let_("bt", .constant(0)), .let_("rt", Self.v("task"))] + tiles
      : blocks == nil
        ? [
          .let_("bt", Self.v("task") / (rowTiles * columnTasks)),
          .let_("rt", (Self.v("task") / columnTasks) % rowTiles),
          .let_("ct", Self.v("task") % columnTasks),
        ] + tiles
        : [
          .let_("bt", Self.v("task") / (columnTasks * rowGroups)),
          .let_("rg", (Self.v("task") / columnTasks) % rowGroups), .let_("ct", Self.v("task") % columnTasks),
          .let_("sbase", IndexExpr.thread * partialFloats),
        ]
    if case .plain(let strides, _) = rhs { body.append(.let_("bbase", batchOffset(strides))) }
    var perTile: [Stmt] = []
    // Up to four bodies: whole or last (partial) row tile × whole or last (partial) column tile.
    let tailRows = m - (rowTiles - 1) * mr
    let tailVectors = vecs - (columnTiles - 1) * nr
    // The very last vector stores only the real lanes.
    let lanes = n % v == 0 ? v : n % v
    for (rows, rowCondition) in rowCases(rowTiles, mr, tailRows) {
      var columnCases: [Stmt] = []
      if columnTiles > 0 {
        if tailVectors == nr && lanes == v {
          columnCases.append(
            .when([.inRange(Self.v("ct"), 0, columnTiles)], vectorTile(rows: rows, vectors: nr, lastLanes: v, blocks)))
        } else {
          if columnTiles > 1 {
            columnCases.append(
              .when(
                [.inRange(Self.v("ct"), 0, columnTiles - 1)], vectorTile(rows: rows, vectors: nr, lastLanes: v, blocks))
            )
          }
          let last = vectorTile(rows: rows, vectors: tailVectors, lastLanes: lanes, blocks)
          columnCases.append(.when([.inRange(Self.v("ct"), columnTiles - 1, columnTiles)], last))
        }
      }
      if let rowCondition { perTile.append(.when([rowCondition], columnCases)) } else { perTile += columnCases }
    }
    if let blocks {
      let size = groupSize
      let rowTile: [Stmt] = [.let_("rt", Self.v("rg") * size + Self.v("rr"))]
      let inside =
        size * rowGroups > rowTiles
        ? [Stmt.when([.inRange(Self.v("rt"), 0, rowTiles)], tiles + perTile)] : tiles + perTile
      let rows = Stmt.loop(variable: "rr", extent: size, kind: .serial, body: rowTile + inside)
      body.append(.loop(variable: "kb", extent: blocks, kind: .serial, body: [rows]))
    } else if let normalization, normalizesRows {
      body += normalizeRowTile(normalization)
      body.append(.loop(variable: "ct", extent: columnTasks, kind: .serial, body: perTile))
    } else {
      body += perTile
    }
    var buffers =
      normalizesRows ? normalizationBuffers + [BufferDecl(name: "a", count: 0, isOutput: true)] : [buffer("a", 0)]
    switch rhs {
    case .packed(let bias):
      buffers.append(buffer("wt", 0))
      if bias { buffers.append(buffer("bias", 0)) }
    case .plain: buffers.append(buffer("b", 0))
    }
    buffers += epilogue.operands.indices.map { buffer("e\($0)", 0) }
    if let tail = channelsFirst?.tail { buffers += tail.operands.indices.map { buffer("t\($0)", 0) } }
    if blocks != nil { buffers.append(BufferDecl(name: "scratch", count: 0, isOutput: true)) }
    buffers.append(BufferDecl(name: "out", count: batchCount * m * n, isOutput: true))
    let tasks = normalizesRows ? rowTiles : batchCount * columnTasks * (blocks == nil ? rowTiles : rowGroups)
    return LoopNest(
      name: "matmul", buffers: buffers, body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: body)])
  }

  func buffer(_ name: String, _ count: Int) -> BufferDecl {
    BufferDecl(name: name, count: count, isOutput: false)
  }

  /// The element offset of batch `bt` in an operand with these per-axis strides.
  private func batchOffset(_ strides: [Int]) -> IndexExpr {
    guard !batch.isEmpty else { return .constant(0) }
    let index = GroupLowering.unflatten(Self.v("bt"), batch)
    var e = IndexExpr.constant(0)
    for (i, s) in zip(index, strides) where s != 0 { e = e + i * s }
    return e
  }

  /// Row cases: whole tiles, then the last partial tile (condition nil: every tile is whole).
  private func rowCases(_ rowTiles: Int, _ mr: Int, _ tailRows: Int) -> [(Int, IndexCondition?)] {
    if tailRows == mr { return [(mr, nil)] }
    var cases: [(Int, IndexCondition?)] = []
    if rowTiles > 1 { cases.append((mr, .inRange(Self.v("rt"), 0, rowTiles - 1))) }
    cases.append((tailRows, .inRange(Self.v("rt"), rowTiles - 1, rowTiles)))
    return cases
  }

  /// The B vector `j` of column tile `ct` at depth `p`; of plain B only its first `lanes` columns.
  private func bVector(_ j: Int, p: IndexExpr, lanes: Int) -> ValueExpr {
    let v = epilogue.vectorWidth, nr = tile.vectors
    switch rhs {
    case .packed:
      return .vload("wt", Self.v("ct") * (k * nr * v) + p * (nr * v) + .constant(j * v))
    case .plain(_, let rowStride):
      let at = Self.v("bbase") + p * rowStride + Self.v("ct") * (nr * v) + .constant(j * v)
      return lanes < v ? .vloadPartial("b", at, lanes: lanes) : .vloadUnaligned("b", at)
    }
  }

  /// A `rows × vectors` register tile: the K loop, then the epilogue and store of each vector;
  /// the last vector stores only its first `lastLanes` lanes. With K in `blocks` blocks (loop
  /// variable `kb`), the tile starts from its partial sums in `scratch` (``partialFloats``) after
  /// the first block, and only the last block applies the epilogue and stores to `out`.
  private func vectorTile(rows: Int, vectors: Int, lastLanes lanes: Int, _ blocks: Int?) -> [Stmt] {
    let v = epilogue.vectorWidth, nr = tile.vectors
    func acc(_ r: Int, _ j: Int) -> String { "c\(r)_\(j)" }
    // The partial sums of accumulator (r, j) between K blocks, in the task's scratch.
    func partial(_ r: Int, _ j: Int) -> IndexExpr {
      Self.v("sbase") + Self.v("rr") * (tile.rows * nr * v) + .constant((r * nr + j) * v)
    }
    var stmts: [Stmt] = []
    for r in 0..<rows {
      for j in 0..<vectors {
        var initial = ValueExpr.constant(0)
        if case .packed(true) = rhs { initial = .vload("bias", Self.v("ct") * (nr * v) + .constant(j * v)) }
        if blocks != nil {
          initial = .select([.inRange(Self.v("kb"), 0, 1)], initial, .vload("scratch", partial(r, j)))
        }
        stmts.append(.declareVector(acc(r, j), initial))
        if compensated { stmts.append(.declareVector("k\(r)_\(j)", .splat(.constant(0)))) }
      }
    }
    var step: [Stmt] = (0..<vectors).map { j in
      .declareVector("b\(j)", bVector(j, p: Self.v("p"), lanes: j == vectors - 1 ? lanes : v))
    }
    if let kc = depthBlock { step.insert(.let_("p", Self.v("kb") * kc + Self.v("pp")), at: 0) }
    if packedA { step += prefetchNextBlock() + [prefetchA()] } else { step += prefetchNextRowTile() }
    let depth = Self.v(depthBlock == nil ? "p" : "pp")
    for r in 0..<rows {
      let a =
        packedA
        ? ValueExpr.load("a", Self.v("abase") + depth * tile.rows + .constant(r))
        : ValueExpr.load("a", Self.v("abase") + .constant(r * aRowStride) + Self.v("p") * aColumnStride)
      step.append(.declareVector("a\(r)", .splat(a)))
      for j in 0..<vectors {
        let term = ValueExpr.binary(.mul, .local("a\(r)"), .local("b\(j)"))
        guard compensated else {
          step.append(.accumulate(acc(r, j), .sum, term))
          continue
        }
        // Kahan: the rounding lost so far (k) fed back into the next term.
        let (y, s, k) = ("y\(r)_\(j)", "s\(r)_\(j)", "k\(r)_\(j)")
        step += [
          .declareVector(y, .binary(.sub, term, .local(k))),
          .declareVector(s, .binary(.add, .local(acc(r, j)), .local(y))),
          .assign(k, .binary(.sub, .binary(.sub, .local(s), .local(acc(r, j))), .local(y))),
          .assign(acc(r, j), .local(s)),
        ]
      }
    }
    if let kc = depthBlock, let blocks {
      stmts.append(.loop(variable: "pp", extent: kc, kind: .serial, body: step))
      let partial: [Stmt] = (0..<rows).flatMap { r in
        (0..<vectors).map { j in Stmt.vstore("scratch", partial(r, j), .local(acc(r, j))) }
      }
      stmts.append(.when([.inRange(Self.v("kb"), 0, blocks - 1)], partial))
      stmts.append(.when([.inRange(Self.v("kb"), blocks - 1, blocks)], finish(rows, vectors, lanes)))
      return stmts
    }
    stmts.append(.loop(variable: "p", extent: k, kind: .serial, body: step))
    if compensated {
      for r in 0..<rows {
        for j in 0..<vectors {
          stmts.append(.assign(acc(r, j), .binary(.sub, .local(acc(r, j)), .local("k\(r)_\(j)"))))
        }
      }
    }
    return stmts + finish(rows, vectors, lanes)
  }

  /// With K blocks and packed B: while a row tile streams its block, it hints a share of the
  /// next block of B (the next column's first block after the last) into L2, a line every few k,
  /// so the first row tile of the next block does not wait on L3. The row tiles of a block share
  /// its lines evenly; the index is clamped to the panel.
  private func prefetchNextBlock() -> [Stmt] {
    guard let kc = depthBlock, case .packed = rhs else { return [] }
    let v = epilogue.vectorWidth, nr = tile.vectors, line = ScheduleTarget.cacheLineFloats
    let blockLines = (kc * nr * v + line - 1) / line
    let perTile = (blockLines + groupSize - 1) / groupSize
    let every = max(1, kc / perTile)
    let size = columnTiles * k * nr * v
    let panel: IndexExpr = Self.v("ct") * (k * nr * v)
    let block: IndexExpr = (Self.v("kb") + .constant(1)) * (kc * nr * v)
    let share: IndexExpr = Self.v("rr") * (perTile * line)
    let lineInShare: IndexExpr = (Self.v("pp") / every) * line
    let next = panel + block + share + lineInShare
    let clamped = IndexExpr.select([.inRange(next, 0, size)], next, .constant(0))
    return [
      .when(
        [.divisible(Self.v("pp"), every), .inRange(Self.v("pp"), 0, every * perTile)],
        [.prefetch("wt", clamped, l1: false)])
    ]
  }

  /// With K blocks over a plain A of contiguous rows: while a row tile streams its block, it hints
  /// the next row tile's slice of that block (its `rows` rows × `kc` depths, a line per k-step from
  /// the first) into L2. The tiles of a block run in row order, and that slice was most likely
  /// just written by the kernel before, half of it by the other core: left to the hardware
  /// prefetcher, its twelve row streams each start with a miss to the other core's L2 or to L3.
  /// ConvNeXt-T's 56² MLP-down (3136×384 · 384×96) after its MLP-up took 0.90–0.92 of the time in
  /// a C harness on the Intel Xeon host (`Docs/Scheduling.md`, "The next row tile hinted").
  private func prefetchNextRowTile() -> [Stmt] {
    guard let kc = depthBlock, aColumnStride == 1, !normalizesRows, m > tile.rows else { return [] }
    let line = ScheduleTarget.cacheLineFloats
    let rowLines = (kc + line - 1) / line
    let lines = min(kc, tile.rows * rowLines)
    let row = Self.v("pp") / rowLines, column = (Self.v("pp") % rowLines) * line
    let next =
      Self.v("abase") + .constant(tile.rows * aRowStride) + row * aRowStride + Self.v("kb") * kc + column
    return [
      .when(
        [.inRange(Self.v("pp"), 0, lines), .inRange(Self.v("rt") * tile.rows + .constant(tile.rows) + row, 0, m)],
        [.prefetch("a", next, l1: false)])
    ]
  }

  /// The packed A line `aheadSteps` k-steps ahead into L1. The panels of a K block lie in the order
  /// the tiles read them, so the stream runs on into the next row tile's panel; clamped to the buffer.
  private func prefetchA(aheadSteps: Int = 32) -> Stmt {
    let ahead = Self.v("abase") + (Self.v(depthBlock == nil ? "p" : "pp") + .constant(aheadSteps)) * tile.rows
    return .prefetch("a", .select([.inRange(ahead, 0, packedACount)], ahead, .constant(0)), l1: true)
  }

  /// The epilogue and store of each accumulator vector of a tile.
  private func finish(_ rows: Int, _ vectors: Int, _ lanes: Int) -> [Stmt] {
    let v = epilogue.vectorWidth, nr = tile.vectors
    func acc(_ r: Int, _ j: Int) -> String { "c\(r)_\(j)" }
    var stmts: [Stmt] = []
    for r in 0..<rows {
      for j in 0..<vectors {
        let channel = Self.v("ct") * nr + .constant(j)
        let offset = Self.v("obase") + .constant(r * n) + channel * v
        if j == vectors - 1 && lanes < v {
          let element = epilogue.scalar(
            acc: .lane(acc(r, j), Self.v("l")), offset: offset + Self.v("l"), channel: channel * v + Self.v("l"))
          stmts.append(
            .loop(variable: "l", extent: lanes, kind: .serial, body: [.store("out", offset + Self.v("l"), element)]))
        } else if let (pixels, tail) = channelsFirst {
          let row = Self.v("rt") * tile.rows + .constant(r)
          let blocked = (((row / pixels) * (n / v) + channel) * pixels + row % pixels) * v
          let result = epilogue.vector(acc: .local(acc(r, j)), offset: offset, channelBlock: channel, unaligned: true)
          stmts.append(
            .vstore("out", blocked, tail.vector(acc: result, offset: blocked, channelBlock: channel, prefix: "t")))
        } else {
          let result = epilogue.vector(acc: .local(acc(r, j)), offset: offset, channelBlock: channel, unaligned: true)
          stmts.append(.vstoreUnaligned("out", offset, result))
        }
      }
    }
    return stmts
  }
}
