/// Attention as one loop nest: `out[b] = tailₒ(softmax(tailₛ(Q[b]·Kᵀ[b]))·V[b])`, the softmax's own
/// tail applied to the probabilities. A task takes a tile of `rows` query rows and, in a per-thread
/// scratch row block (after K copied transposed into it, when K comes row by row and the thread does
/// not hold that batch entry's copy yet):
/// 1. computes the tile's scores against every key in a register tile of `rows` × 2 vectors of
///    keys, the scores' epilogue (scale, mask, relative bias) applied in registers before the store;
/// 2. turns each row into probabilities: max, exp and sum over whole vectors (the lanes past the
///    last key hold -inf), each reduced across lanes by a shuffle tree, then × 1/sum and the tail;
///    with no tail the 1/sum waits for step 3 (``defersNormalization``);
/// 3. multiplies the probabilities by V in register tiles of `rows` × 2 vectors of V's columns,
///    (× the row's 1/sum when deferred) the output epilogue applied before the one store.
///
/// The score matrix is never written out: a tile's block of scores (`rows` × keys floats, a few
/// kilobytes) stays in L1 between the three steps, where the unfused groups write it and read it
/// back twice. The softmax is exact over the whole row while a tile's scores fit half of L1 (fewer
/// rows per tile past it, ``rows``); past two blocks of such keys, with no tail after the softmax,
/// the steps run per block of keys with an online softmax (``keyBlock``, FlashAttention's).
struct AttentionKernel {
  /// How K is read.
  enum Keys: Equatable {
    /// Kᵀ is the operand (`[…, d, n]`): key `j`, depth `p` at `k[kbase + p · rowStride + j]`.
    case transposed(rowStride: Int)
    /// K row by row (`[…, n, d]`, an einsum `…id,…jd->…ij`): key `j`, depth `p` at
    /// `k[kbase + j · rowStride + p]`. A thread copies it transposed into its scratch at its first
    /// task of each batch entry (``heldKeys(rowStride:)``) and reads the copy in its later ones.
    case rows(rowStride: Int)

    /// True when K comes row by row and is copied transposed first.
    var byRows: Bool {
      if case .rows = self { return true }
      return false
    }
  }

  /// Batch extents of the scores and the output, outermost first.
  var batch: [Int]
  /// Element strides per batch axis of Q, K and V (0 where the operand is broadcast).
  var qBatchStrides: [Int], kBatchStrides: [Int], vBatchStrides: [Int]
  /// Query rows, depth of the scores product, keys, and columns of V.
  var m: Int, d: Int, n: Int, dv: Int
  /// `Q(i, p) = q[qbase + i · qRowStride + p · qColumnStride]`.
  var qRowStride: Int, qColumnStride: Int
  var keys: Keys
  /// `V(j, c) = v[vbase + j · vRowStride + c]`.
  var vRowStride: Int
  /// Elements before each operand's first (a view of a larger tensor, ``OperandView``), added to
  /// `qbase`, `kbase` and `vbase`.
  var qOffset = 0, kOffset = 0, vOffset = 0
  /// The scores' tail (operands `s0…`), the softmax's tail (`p0…`), the output's tail (`e0…`).
  var scores: Epilogue, probabilities: Epilogue, output: Epilogue
  var width: Int { output.vectorWidth }
  private var registers: Int { width == 16 ? 32 : 16 }

  /// Bytes of the L1 data cache of one core (the host's, ``ScheduleTarget/l1DataBytes``).
  var l1DataBytes = 32 * 1024

  /// Query rows per tile: at most 12 (12 × 2 accumulators, 2 key vectors and a broadcast fill
  /// 27 of 32 registers; 6 with 16 registers), fewer when the tile's score rows would take more
  /// than half of L1 (the other half streams K and V through), but at least 8; balanced so the last
  /// tile is not a sliver. 512 keys in 8-row tiles ran 1.03–1.21× faster than in 12 on 2 threads
  /// (the same on one); 4-row tiles of 1024 keys ran at 49–52 % of peak against 68–74 % in 12.
  var rows: Int {
    let fit = keyBlock != nil ? maxRows : max(8, l1DataBytes / 2 / 4 / max(1, paddedKeys))
    let most = min(fit, maxRows)
    let tiles = (m + most - 1) / most
    return (m + tiles - 1) / tiles
  }
  var rowTiles: Int { (m + rows - 1) / rows }
  /// The most query rows a register tile holds.
  private var maxRows: Int { min(12, max(1, (registers - 3) / 2)) }
  /// Keys per block of an online softmax (``AttentionKernel+KeyBlocks.swift``): a whole number of
  /// 2-vector column tiles whose score rows for a full row tile fill half of L1 (320 keys with
  /// 32 KiB). Nil when a tail follows the softmax (it needs the final probabilities) or when the
  /// keys make two blocks at most: up to there fewer rows per tile (``rows``) did as well or better
  /// (384 keys as two blocks: 63–73 % of the one-thread peak, in one 76–78 %). 1024 keys, 32 KiB
  /// L1 (2026-12-04): 54–64 % of the 2-thread peak in 12-row tiles, 66–77 % in blocks.
  var keyBlock: Int? {
    guard defersNormalization else { return nil }
    let pair = 2 * width
    let block = max(pair, l1DataBytes / 2 / 4 / maxRows / pair * pair)
    return paddedKeys > 2 * block ? block : nil
  }
  /// Floats of a score row in scratch: a key block, or every key rounded up to whole vectors.
  var scoreRow: Int { keyBlock ?? paddedKeys }
  /// Floats of an output row in the key blocks' accumulator scratch: `dv` rounded up to vectors.
  var outputRow: Int { (dv + width - 1) / width * width }
  /// The keys rounded up to whole vectors: the floats of a row of K transposed, and of a score row
  /// without key blocks.
  var paddedKeys: Int { (n + width - 1) / width * width }
  /// Scratch floats per thread: the row tile's scores, K transposed when it comes row by row, the
  /// rows' 1/sum when the normalization is deferred, and with key blocks each row's running max,
  /// sum, rescale factor and output accumulators; a whole number of cache lines, so every
  /// thread's score rows start on a line as the first thread's do (ViT-B/16's 15,820 floats put the
  /// second thread's vectors across two lines each: its attention ran 3 % slower).
  var scratchFloats: Int {
    let blocks = keyBlock != nil ? 3 * rows + rows * outputRow : 0
    return (inverseOffset + (defersNormalization ? rows : 0) + blocks + 15) / 16 * 16
  }
  /// Where K transposed starts in a thread's scratch, when it comes row by row: after the scores.
  var keysOffset: Int { rows * scoreRow }
  /// Where a thread's 1/sum of each row starts in its scratch.
  var inverseOffset: Int {
    if case .rows = keys { return keysOffset + d * paddedKeys }
    return keysOffset
  }
  /// With no tail after the softmax, a row's 1/sum multiplies its `dv` outputs in step 3 instead
  /// of its `n` probabilities in step 2 (a pass over the scores less; FlashAttention does the same).
  var defersNormalization: Bool { probabilities.isIdentity }
  var batchCount: Int { batch.reduce(1, *) }
  var tasks: Int { batchCount * rowTiles }

  static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// The element offset of batch entry `entry` (`bt`, the task's) in an operand with these per-axis strides.
  private func batchOffset(_ strides: [Int], entry: IndexExpr = v("bt")) -> IndexExpr {
    guard !batch.isEmpty else { return .constant(0) }
    var e = IndexExpr.constant(0)
    for (i, s) in zip(GroupLowering.unflatten(entry, batch), strides) where s != 0 { e = e + i * s }
    return e
  }

  /// The loop nest. Buffers: `q`, `k`, `v`, the operands `s…`, `p…`, `e…`, `scratch`, `out`.
  func nest(threads: Int) -> LoopNest {
    var task: [Stmt] = [
      .let_("bt", Self.v("task") / rowTiles),
      .let_("sbase", IndexExpr.thread * scratchFloats),
      .let_("qbase", batchOffset(qBatchStrides) + .constant(qOffset)),
      .let_("kbase", batchOffset(kBatchStrides) + .constant(kOffset)),
      .let_("vbase", batchOffset(vBatchStrides) + .constant(vOffset)),
    ]
    if case .rows(let stride) = keys { task += heldKeys(rowStride: stride) }
    var tile: [Stmt] = []
    let tailRows = m - (rowTiles - 1) * rows
    for (count, condition) in rowCases(tailRows) {
      let steps =
        keyBlock != nil
        ? keyBlockSteps(count) : scoreTiles(count) + softmaxRows(count) + outputTiles(count)
      let body = [Stmt.let_("row0", Self.v("rt") * rows)] + steps
      if let condition { tile.append(.when([condition], body)) } else { tile += body }
    }
    task.append(.let_("rt", Self.v("task") % rowTiles))
    task += tile
    func buffer(_ name: String) -> BufferDecl { BufferDecl(name: name, count: 0, isOutput: false) }
    var buffers = ["q", "k", "v"].map(buffer)
    buffers += scores.operands.indices.map { buffer("s\($0)") }
    buffers += probabilities.operands.indices.map { buffer("p\($0)") }
    buffers += output.operands.indices.map { buffer("e\($0)") }
    buffers.append(BufferDecl(name: "scratch", count: scratchFloats * max(1, threads), isOutput: true))
    buffers.append(BufferDecl(name: "out", count: batchCount * m * dv, isOutput: true))
    return LoopNest(
      name: "attention", buffers: buffers,
      body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: task)])
  }

  /// K of the task's batch entry copied transposed into the thread's scratch after the score rows,
  /// a key per lane: `[p][j]`, rows of `paddedKeys` floats, a block of `width` keys at a time
  /// (``KeyTranspose/copy``), unless the thread already holds it: `gf_thread_holds[0]` names the
  /// entry it copied last in this run of the pool (`gf_parallel` resets it to -1 for every thread
  /// that joins a run). The pool deals the tasks in contiguous shares, so a thread copies each entry
  /// of its share once, and an entry it takes over from another thread once more.
  private func heldKeys(rowStride stride: Int) -> [Stmt] {
    let target: IndexExpr = Self.v("sbase") + .constant(keysOffset)
    let keys = KeyTranspose(rowStride: stride, n: n, d: d, width: width)
    func copy(_ count: Int, _ key0: IndexExpr) -> [Stmt] {
      keys.copy(keys: count, from: key0, source: "k", kbase: Self.v("kbase"), target: "scratch", tbase: target)
    }
    var stmts: [Stmt] = []
    if n >= width {
      stmts.append(.loop(variable: "jb", extent: n / width, kind: .serial, body: copy(width, Self.v("jb") * width)))
    }
    if n % width > 0 { stmts += copy(n % width, .constant(n / width * width)) }
    let held = IndexExpr.element(Self.threadHolds, .constant(0))
    return [.when([.unequal(held, Self.v("bt"))], stmts + [.setIndex(Self.threadHolds, .constant(0), Self.v("bt"))])]
  }

  /// The C runtime's per-thread record of the batch entry whose data the thread's scratch holds.
  static let threadHolds = "gf_thread_holds"

  /// Whole row tiles, then the last partial one (condition nil: every tile is whole).
  private func rowCases(_ tailRows: Int) -> [(Int, IndexCondition?)] {
    if tailRows == rows { return [(rows, nil)] }
    var cases: [(Int, IndexCondition?)] = []
    if rowTiles > 1 { cases.append((rows, .inRange(Self.v("rt"), 0, rowTiles - 1))) }
    cases.append((tailRows, .inRange(Self.v("rt"), rowTiles - 1, rowTiles)))
    return cases
  }

  /// A product `count` rows × `columns` over `depth`, in tiles of 2 vectors of columns: the loop
  /// over column tiles `ct`, the last tile with fewer vectors or a partial last vector. `aValue(r, p)`
  /// is row r's A element at depth p, `bVector(vector, p, lanes)` B's vector; `finish(acc, r,
  /// vector, lanes)` the statements that store accumulator `acc` (lanes < width: a partial vector);
  /// `initial(r, vector)` the accumulators' first value (0 when nil); `hints(nr, tiles)` statements
  /// added to every k-step (prefetches, in terms of `ct` and `p`).
  func product(
    _ count: Int, columns: Int, depth: Int, acc prefix: String, aValue: (Int, IndexExpr) -> ValueExpr,
    bVector: (IndexExpr, IndexExpr, Int) -> ValueExpr, initial: ((Int, IndexExpr) -> ValueExpr)? = nil,
    hints: ((Int, Int) -> [Stmt])? = nil, finish: (String, Int, IndexExpr, Int) -> [Stmt]
  ) -> Stmt {
    let vectors = (columns + width - 1) / width
    let nr = min(2, vectors)
    let tiles = (vectors + nr - 1) / nr
    let tailVectors = vectors - (tiles - 1) * nr
    let lanes = columns % width == 0 ? width : columns % width
    func tileBody(_ nv: Int, lastLanes: Int) -> [Stmt] {
      func acc(_ r: Int, _ j: Int) -> String { "\(prefix)\(r)_\(j)" }
      func column(_ j: Int) -> IndexExpr { Self.v("ct") * nr + .constant(j) }
      var body: [Stmt] = (0..<count).flatMap { r in
        (0..<nv).map { j in Stmt.declareVector(acc(r, j), initial?(r, column(j)) ?? .constant(0)) }
      }
      var step: [Stmt] = (0..<nv).map { j in
        .declareVector("b\(j)", bVector(column(j), Self.v("p"), j == nv - 1 ? lastLanes : width))
      }
      step += hints?(nr, tiles) ?? []
      for r in 0..<count {
        step.append(.declareVector("a\(r)", .splat(aValue(r, Self.v("p")))))
        for j in 0..<nv { step.append(.accumulate(acc(r, j), .sum, .binary(.mul, .local("a\(r)"), .local("b\(j)")))) }
      }
      body.append(.loop(variable: "p", extent: depth, kind: .serial, body: step))
      for r in 0..<count {
        for j in 0..<nv { body += finish(acc(r, j), r, column(j), j == nv - 1 ? lastLanes : width) }
      }
      return body
    }
    var cases: [Stmt] = []
    if tailVectors == nr && lanes == width {
      cases = tileBody(nr, lastLanes: width)
    } else {
      if tiles > 1 { cases.append(.when([.inRange(Self.v("ct"), 0, tiles - 1)], tileBody(nr, lastLanes: width))) }
      cases.append(.when([.inRange(Self.v("ct"), tiles - 1, tiles)], tileBody(tailVectors, lastLanes: lanes)))
    }
    return .loop(variable: "ct", extent: tiles, kind: .serial, body: cases)
  }

  /// A vector load of `count` floats from `buffer[at…]` (all `width` when count is `width`).
  private func load(_ buffer: String, _ at: IndexExpr, lanes: Int) -> ValueExpr {
    lanes < width ? .vloadPartial(buffer, at, lanes: lanes) : .vloadUnaligned(buffer, at)
  }

  /// The offset of row `r` of the tile, column `column` in the score tensor.
  func scoreOffset(_ r: IndexExpr, _ column: IndexExpr) -> IndexExpr {
    Self.v("bt") * (m * n) + (Self.v("row0") + r) * n + column
  }

  /// Step 1: the tile's scores, their epilogue applied, into the scratch rows: of every key, or of
  /// the `keys` keys from vector `firstVector` on (a key block).
  func scoreTiles(_ count: Int, firstVector: IndexExpr = .constant(0), keys blockKeys: Int? = nil) -> [Stmt] {
    let keyBase: IndexExpr = Self.v("sbase") + .constant(keysOffset) + firstVector * width
    let key0 = firstVector * width
    let step = product(
      count, columns: blockKeys ?? n, depth: d, acc: "c",
      aValue: { r, p in
        .load("q", Self.v("qbase") + (Self.v("row0") + .constant(r)) * qRowStride + p * qColumnStride)
      },
      bVector: { vector, p, lanes in
        switch keys {
        case .transposed(let stride):
          return load("k", Self.v("kbase") + key0 + p * stride + vector * width, lanes: lanes)
        case .rows: return load("scratch", keyBase + p * paddedKeys + vector * width, lanes: lanes)
        }
      },
      hints: { nr, tiles in
        nextKeyHints(key0: key0, nr: nr, tiles: tiles) + valueHints(key0: key0, keys: blockKeys ?? n, steps: tiles * d)
      },
      finish: { acc, r, vector, lanes in
        let target = Self.v("sbase") + .constant(r * scoreRow) + vector * width
        let offset = scoreOffset(.constant(r), key0 + vector * width)
        if lanes < width {
          let element = scores.scalar(
            acc: .lane(acc, Self.v("l")), offset: offset + Self.v("l"), channel: key0 + vector * width + Self.v("l"),
            prefix: "s")
          // The lanes past the last key hold -inf: the softmax then runs on whole vectors, where
          // they add nothing to the max and exp(-inf - max) = 0 to the sum.
          let padding = Stmt.store("scratch", target + .constant(lanes) + Self.v("l"), .constant(-.infinity))
          return [
            .loop(
              variable: "l", extent: lanes, kind: .serial, body: [.store("scratch", target + Self.v("l"), element)]),
            .loop(variable: "l", extent: width - lanes, kind: .serial, body: [padding]),
          ]
        }
        let value = scores.vector(
          acc: .local(acc), offset: offset, channelBlock: firstVector + vector, prefix: "s", unaligned: true)
        return [.vstoreUnaligned("scratch", target, value)]
      })
    return [step]
  }

  /// While the scores' column tile `ct` runs, its k-step `p` hints the lines of Kᵀ row `p` that the
  /// next column tile reads into L1 (Kᵀ read in place; a copy in the scratch is in L1 already).
  private func nextKeyHints(key0: IndexExpr, nr: Int, tiles: Int) -> [Stmt] {
    guard case .transposed(let stride) = keys, tiles > 1 else { return [] }
    let next = Self.v("kbase") + key0 + Self.v("p") * stride + (Self.v("ct") + .constant(1)) * (nr * width)
    return [
      .when(
        [.inRange(Self.v("ct"), 0, tiles - 1)],
        (0..<nr).map { j in .prefetch("k", next + .constant(j * width), l1: true) })
    ]
  }

  /// While the scores run (`steps` k-steps over their column tiles), hints the rows of V that the
  /// product with V reads next (keys `key0` on, `keys` of them) into L2, up to two lines a step.
  /// V's rows lie `vRowStride` apart, each in a page of its own when that is 4 KiB or more, where
  /// the hardware prefetcher, which stays inside a page, does not follow them; and the kernel
  /// before (the QKV projection) just wrote them, half on the other core. ViT-B/16's attention
  /// after its QKV projection ran 0.89 of the time with these and the Kᵀ hints, in a C harness
  /// (`Docs/Scheduling.md`, "Hints for K and V").
  private func valueHints(key0: IndexExpr, keys: Int, steps: Int) -> [Stmt] {
    let line = ScheduleTarget.cacheLineFloats
    let rowLines = (dv + line - 1) / line
    let lines = keys * rowLines
    let perStep = min(2, (lines + steps - 1) / steps)
    guard perStep > 0 else { return [] }
    return (0..<perStep).map { i in
      let index = (Self.v("ct") * d + Self.v("p")) * perStep + .constant(i)
      let at = Self.v("vbase") + (key0 + index / rowLines) * vRowStride + (index % rowLines) * line
      return .when([.inRange(index, 0, lines)], [.prefetch("v", at, l1: false)])
    }
  }

  /// True when an operand's rows lie 2 KiB or more apart (a view of a QKV projection: 9 KiB in
  /// ViT-B/16), where the hardware's stride prefetcher, which stays inside a 4 KiB page, does not
  /// follow them. Rows closer than that are left to it: MaxViT-T, whose first stages' K rows lie 768
  /// and 1,536 bytes apart, ran its attention 1.02–1.03× slower with the next entry's K hinted in
  /// every stage (``nextEntryKeyHints(tiles:)``).
  static func outrunsPrefetcher(rowStride: Int) -> Bool { rowStride * 4 >= 2048 }

  /// Keys ahead that the product with V hints its rows into L1 (``valueAheadHints``).
  static let valueLookahead = 8

  /// While the product with V runs down the keys, its step `p` hints the lines of V's row
  /// `p + valueLookahead` that the column tile `ct` reads into L1. Only when V's rows lie 2 KiB or
  /// more apart (a view of a QKV projection: 9 KiB in ViT-B/16): below that the hardware's stride
  /// prefetcher follows the rows itself; past it each step's loads waited on L2, and the rows,
  /// all the same few cache sets apart, do not stay in L1 from one row tile to the next.
  private func valueAheadHints(key0: IndexExpr, keys: Int, nr: Int) -> [Stmt] {
    guard Self.outrunsPrefetcher(rowStride: vRowStride), keys > Self.valueLookahead else { return [] }
    let ahead = Self.v("p") + .constant(Self.valueLookahead)
    let at = Self.v("vbase") + (key0 + ahead) * vRowStride + Self.v("ct") * (nr * width)
    let lines = (nr * width + ScheduleTarget.cacheLineFloats - 1) / ScheduleTarget.cacheLineFloats
    return [
      .when(
        [.inRange(ahead, 0, keys)],
        (0..<lines).map { .prefetch("v", at + .constant($0 * ScheduleTarget.cacheLineFloats), l1: true) })
    ]
  }

  /// While the product with V runs its first column tile, its step `p` hints a line of the next row
  /// tile's Q rows into L2 (the next task's, or the next batch entry's first, clamped to the last
  /// row): Q's rows of a tile lie `qRowStride` apart, in pages of their own in a view of a QKV
  /// projection, where the hardware prefetcher does not follow them, and the projection just wrote
  /// them, half on the other core. In a C harness of ViT-B/16's attention whose QKV was written before
  /// each run (2 threads, 2026-12-05) it ran in 0.94–1.01 of the time without them, median 0.97 over
  /// 10 alternating pairs.
  private func nextQueryHints(depth: Int) -> [Stmt] {
    let line = ScheduleTarget.cacheLineFloats
    guard qColumnStride == 1, rowTiles * batchCount > 1 else { return [] }
    let rowLines = (d + line - 1) / line, lines = rows * rowLines
    let p = Self.v("p"), next = Self.v("bt") * rowTiles + Self.v("rt") + .constant(1)
    let base = batchOffset(qBatchStrides, entry: next / rowTiles) + .constant(qOffset)
    let row = (next % rowTiles) * rows + p / rowLines
    let clamped = IndexExpr.select([.inRange(row, 0, m)], row, .constant(m - 1))
    let at = base + clamped * qRowStride + (p % rowLines) * line
    let conditions: [IndexCondition] = [
      .inRange(Self.v("ct"), 0, 1), .inRange(p, 0, min(lines, depth)), .inRange(next, 0, rowTiles * batchCount),
    ]
    return [.when(conditions, [.prefetch("q", at, l1: false)])]
  }

  /// With K row by row, while the product with V runs its last column tile, its steps hint the
  /// next batch entry's rows of K into L2, a share of them in each row tile: the thread copies that
  /// entry's K transposed at its next task (``heldKeys(rowStride:)``), and the projection before
  /// just wrote K, half on the other core, a row per page in a view of a QKV projection, where the
  /// hardware prefetcher does not follow. The copy then read K from L3: in a C harness of
  /// ViT-B/16's attention after its QKV projection (2 threads, 2026-12-06) the kernel ran in
  /// 0.957–0.974 of the time with these hints (medians of 300 alternating pairs, three processes);
  /// hinting the next entry's V as well did less (0.983–0.995).
  private func nextEntryKeyHints(tiles: Int) -> [Stmt] {
    guard case .rows(let stride) = keys, Self.outrunsPrefetcher(rowStride: stride), batchCount > 1 else { return [] }
    let line = ScheduleTarget.cacheLineFloats
    let rowLines = (d + line - 1) / line, lines = n * rowLines
    let share = (lines + rowTiles - 1) / rowTiles, perStep = (share + n - 1) / n
    let next = Self.v("bt") + .constant(1), p = Self.v("p")
    let base = batchOffset(kBatchStrides, entry: next) + .constant(kOffset)
    return (0..<perStep).map { i in
      let step = p * perStep + .constant(i), index = Self.v("rt") * share + step
      let at = base + (index / rowLines) * stride + (index % rowLines) * line
      let conditions: [IndexCondition] = [
        .inRange(Self.v("ct"), tiles - 1, tiles), .inRange(step, 0, share), .inRange(index, 0, lines),
        .inRange(next, 0, batchCount),
      ]
      return .when(conditions, [.prefetch("k", at, l1: false)])
    }
  }

  /// Step 3: the probabilities times V, the output epilogue applied, into `out`. With a key block
  /// (its first key, its keys, its accumulators' first value), over the block's keys only.
  func outputTiles(
    _ count: Int, key0: IndexExpr = .constant(0), keys: Int? = nil, initial: ((Int, IndexExpr) -> ValueExpr)? = nil,
    finish blockFinish: ((String, Int, IndexExpr) -> [Stmt])? = nil
  ) -> [Stmt] {
    [
      product(
        count, columns: dv, depth: keys ?? n, acc: "o",
        aValue: { r, p in .load("scratch", Self.v("sbase") + .constant(r * scoreRow) + p) },
        bVector: { vector, p, lanes in
          load("v", Self.v("vbase") + (key0 + p) * vRowStride + vector * width, lanes: lanes)
        },
        initial: initial,
        hints: { nr, tiles in
          valueAheadHints(key0: key0, keys: keys ?? n, nr: nr)
            + (keys == nil ? nextQueryHints(depth: n) + nextEntryKeyHints(tiles: tiles) : [])
        },
        finish: { acc, r, vector, lanes in
          if let blockFinish { return blockFinish(acc, r, vector) }
          let offset = Self.v("bt") * (m * dv) + (Self.v("row0") + .constant(r)) * dv + vector * width
          let inverse = ValueExpr.load("scratch", Self.v("sbase") + .constant(inverseOffset + r))
          if lanes < width {
            let sum = ValueExpr.lane(acc, Self.v("l"))
            let element = output.scalar(
              acc: defersNormalization ? .binary(.mul, sum, inverse) : sum, offset: offset + Self.v("l"),
              channel: vector * width + Self.v("l"))
            return [
              .loop(variable: "l", extent: lanes, kind: .serial, body: [.store("out", offset + Self.v("l"), element)])
            ]
          }
          let sum = defersNormalization ? ValueExpr.binary(.mul, .local(acc), .splat(inverse)) : .local(acc)
          let value = output.vector(acc: sum, offset: offset, channelBlock: vector, unaligned: true)
          return [.vstoreUnaligned("out", offset, value)]
        })
    ]
  }
}
