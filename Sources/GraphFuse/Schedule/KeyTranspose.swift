/// The first step of an attention whose K comes row by row (`[…, n, d]`) with fewer than 8 batch
/// entries per thread (``AttentionKernel/wholeEntries(threads:)``): Kᵀ of every batch entry
/// copied once into an arena buffer, `[entry][p][j]` with rows of ``paddedKeys`` floats, which the
/// attention kernel then reads as its transposed operand (``AttentionKernel/Keys/transposed(rowStride:)``).
/// A task copies one block of `width` keys of one entry: a vector per key for each block of `width`
/// depths, turned over in registers (``RegisterTranspose``), a vector per depth stored; the depths
/// past the last whole block and the keys of a partial last block go one element at a time.
///
/// Done once per entry here, K's copy lets the attention split its work into row tiles, each task a
/// few microseconds, that the thread pool balances; a task that copied K itself had to take a whole
/// entry (a head: 1/6 of a thread's share in ViT-B/16), and one late or slowed thread then held the
/// other up by most of a head.
struct KeyTranspose {
  /// Batch extents of the attention, outermost first.
  var batch: [Int]
  /// Element strides per batch axis of K (0 where it is broadcast), and its offset in its buffer.
  var kBatchStrides: [Int], kOffset = 0
  /// Elements between consecutive keys of K (depth is contiguous).
  var rowStride: Int
  /// Keys and depth.
  var n: Int, d: Int
  /// Floats per vector.
  var width: Int

  /// Floats of a row of Kᵀ: the keys rounded up to whole vectors.
  var paddedKeys: Int { (n + width - 1) / width * width }
  var batchCount: Int { batch.reduce(1, *) }
  /// Floats of Kᵀ per batch entry, and in all.
  var entryFloats: Int { d * paddedKeys }
  var count: Int { batchCount * entryFloats }
  private var keyBlocks: Int { (n + width - 1) / width }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Statements copying keys `key0 ..< key0 + keys` (all `d` depths) of K, key `j` depth `p` at
  /// `source[kbase + j · rowStride + p]`, transposed to `target[tbase + p · paddedKeys + j]`. With
  /// `keys` = `width`, whole blocks of `width` depths load a vector per key and turn over in registers
  /// (``RegisterTranspose``); the depths past the last whole block, and every depth of fewer keys, go
  /// one element at a time. Locals: `j`, `p`, `pb`, `kr…`, `kt…`.
  func copy(keys: Int, from key0: IndexExpr, source: String, kbase: IndexExpr, target: String, tbase: IndexExpr)
    -> [Stmt]
  {
    func elements(_ depths: Range<Int>) -> [Stmt] {
      guard keys > 0, !depths.isEmpty else { return [] }
      let j = key0 + Self.v("j"), p = Self.v("p") + .constant(depths.lowerBound)
      let store = Stmt.store(target, tbase + p * paddedKeys + j, .load(source, kbase + j * rowStride + p))
      let inner = Stmt.loop(variable: "p", extent: depths.count, kind: .serial, body: [store])
      return [.loop(variable: "j", extent: keys, kind: .serial, body: [inner])]
    }
    guard keys == width else { return elements(0..<d) }
    let wholeDepths = d / width * width
    var stmts: [Stmt] = []
    if wholeDepths > 0 {
      let depth0 = Self.v("pb") * width
      var block: [Stmt] = (0..<width).map { r in
        .declareVector("kr\(r)", .vloadUnaligned(source, kbase + (key0 + .constant(r)) * rowStride + depth0))
      }
      let (turn, columns) = RegisterTranspose.statements((0..<width).map { "kr\($0)" }, prefix: "kt")
      block += turn
      for (i, name) in columns.enumerated() {
        block.append(.vstoreUnaligned(target, tbase + (depth0 + .constant(i)) * paddedKeys + key0, .local(name)))
      }
      stmts.append(.loop(variable: "pb", extent: wholeDepths / width, kind: .serial, body: block))
    }
    return stmts + elements(wholeDepths..<d)
  }

  /// The loop nest. Buffers: `k` (read), `out` (Kᵀ).
  var nest: LoopNest {
    var base = IndexExpr.constant(kOffset)
    if !batch.isEmpty {
      for (i, s) in zip(GroupLowering.unflatten(Self.v("bt"), batch), kBatchStrides) where s != 0 {
        base = base + i * s
      }
    }
    let wholeBlocks = n / width
    var task: [Stmt] = [
      .let_("bt", Self.v("task") / keyBlocks), .let_("jb", Self.v("task") % keyBlocks), .let_("kbase", base),
      .let_("tbase", Self.v("bt") * entryFloats),
    ]
    func block(_ keys: Int) -> [Stmt] {
      copy(
        keys: keys, from: Self.v("jb") * width, source: "k", kbase: Self.v("kbase"), target: "out",
        tbase: Self.v("tbase"))
    }
    if wholeBlocks > 0 {
      if wholeBlocks == keyBlocks {
        task += block(width)
      } else {
        task.append(.when([.inRange(Self.v("jb"), 0, wholeBlocks)], block(width)))
      }
    }
    if wholeBlocks < keyBlocks {
      task.append(.when([.inRange(Self.v("jb"), wholeBlocks, keyBlocks)], block(n % width)))
    }
    let buffers = [
      BufferDecl(name: "k", count: 0, isOutput: false), BufferDecl(name: "out", count: count, isOutput: true),
    ]
    return LoopNest(
      name: "transpose_keys", buffers: buffers,
      body: [.loop(variable: "task", extent: batchCount * keyBlocks, kind: .parallel, body: task)])
  }
}
