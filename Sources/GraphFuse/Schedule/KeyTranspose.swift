/// K given row by row (`[…, n, d]`) copied transposed, `[p][j]` with rows of ``paddedKeys``
/// floats: the attention kernel (``AttentionKernel/Keys/rows(rowStride:)``) copies a batch entry's
/// Kᵀ into the thread's scratch at the thread's first task of that entry, and reads it there as its
/// transposed operand. A block of `width` keys turns over in registers (``RegisterTranspose``): a
/// vector per key for each block of `width` depths, a vector per depth stored; the depths past the
/// last whole block and the keys of a partial last block go one element at a time.
struct KeyTranspose {
  /// Elements between consecutive keys of K (depth is contiguous).
  var rowStride: Int
  /// Keys and depth.
  var n: Int, d: Int
  /// Floats per vector.
  var width: Int

  /// Floats of a row of Kᵀ: the keys rounded up to whole vectors.
  var paddedKeys: Int { (n + width - 1) / width * width }
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
}
