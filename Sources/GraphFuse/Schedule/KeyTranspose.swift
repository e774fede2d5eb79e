/// The first step of an attention whose K comes row by row (`[…, n, d]`): Kᵀ of every batch entry
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

  /// The loop nest. Buffers: `k` (read), `out` (Kᵀ).
  var nest: LoopNest {
    var base = IndexExpr.constant(kOffset)
    if !batch.isEmpty {
      for (i, s) in zip(GroupLowering.unflatten(Self.v("bt"), batch), kBatchStrides) where s != 0 {
        base = base + i * s
      }
    }
    let wholeBlocks = n / width, wholeDepths = d / width * width
    var task: [Stmt] = [
      .let_("bt", Self.v("task") / keyBlocks), .let_("jb", Self.v("task") % keyBlocks), .let_("kbase", base),
      .let_("tbase", Self.v("bt") * entryFloats),
    ]
    let key0 = Self.v("jb") * width
    /// Keys `key0 + j` for j below `keys`, depths from `depths`: one element at a time.
    func elements(keys: Int, depths: Range<Int>) -> [Stmt] {
      guard keys > 0, !depths.isEmpty else { return [] }
      let j = key0 + Self.v("j"), p = Self.v("p") + .constant(depths.lowerBound)
      let store = Stmt.store(
        "out", Self.v("tbase") + p * paddedKeys + j, .load("k", Self.v("kbase") + j * rowStride + p))
      let inner = Stmt.loop(variable: "p", extent: depths.count, kind: .serial, body: [store])
      return [.loop(variable: "j", extent: keys, kind: .serial, body: [inner])]
    }
    if wholeBlocks > 0 {
      var whole: [Stmt] = []
      if wholeDepths > 0 {
        let depth0 = Self.v("pb") * width
        var block: [Stmt] = (0..<width).map { r in
          .declareVector("kr\(r)", .vloadUnaligned("k", Self.v("kbase") + (key0 + .constant(r)) * rowStride + depth0))
        }
        let (turn, columns) = RegisterTranspose.statements((0..<width).map { "kr\($0)" }, prefix: "kt")
        block += turn
        for (i, name) in columns.enumerated() {
          block.append(
            .vstoreUnaligned("out", Self.v("tbase") + (depth0 + .constant(i)) * paddedKeys + key0, .local(name)))
        }
        whole.append(.loop(variable: "pb", extent: wholeDepths / width, kind: .serial, body: block))
      }
      whole += elements(keys: width, depths: wholeDepths..<d)
      if wholeBlocks == keyBlocks {
        task += whole
      } else {
        task.append(.when([.inRange(Self.v("jb"), 0, wholeBlocks)], whole))
      }
    }
    if wholeBlocks < keyBlocks {
      task.append(.when([.inRange(Self.v("jb"), wholeBlocks, keyBlocks)], elements(keys: n % width, depths: 0..<d)))
    }
    let buffers = [
      BufferDecl(name: "k", count: 0, isOutput: false), BufferDecl(name: "out", count: count, isOutput: true),
    ]
    return LoopNest(
      name: "transpose_keys", buffers: buffers,
      body: [.loop(variable: "task", extent: batchCount * keyBlocks, kind: .parallel, body: task)])
  }
}
