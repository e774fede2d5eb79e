/// Long rows in key blocks, with an online softmax (FlashAttention's): a row tile's scores for a
/// block of ``AttentionKernel/keyBlock`` keys stay in L1, and each row keeps its running max `m`,
/// sum `l` and output accumulators `O` in scratch. For each block: its scores; per row the block's
/// max, `m' = max(m, block max)`, `α = e^(m − m')`, the block's exponentials `e^(s − m')`,
/// `l = l·α + their sum`; then `O = O·α + P·V` over the block's keys. After the last block the
/// output is `O / l` and its epilogue. The scores' exponentials take `max(m', −FLT_MAX)`, so a block
/// whose keys are all masked so far adds nothing instead of NaN; a row masked over every key still
/// ends NaN, as in PyTorch (`1/l + (m − m)`, NaN when `m` is −inf).
extension AttentionKernel {
  /// Where a thread's running max, sum and rescale factor of each row start in its scratch, then
  /// its output accumulators (`rows` × ``outputRow``).
  var maxOffset: Int { inverseOffset + rows }
  var sumOffset: Int { inverseOffset + 2 * rows }
  var scaleOffset: Int { inverseOffset + 3 * rows }
  var accumulatorOffset: Int { inverseOffset + 4 * rows }

  /// The tile's steps over its key blocks: the running values set, every block but the last in a
  /// loop over `kb`, then the last (possibly partial) one, which stores the output.
  func keyBlockSteps(_ count: Int) -> [Stmt] {
    guard let block = keyBlock else { return [] }
    let blocks = (n + block - 1) / block, lastKeys = n - (blocks - 1) * block
    let sbase = Self.v("sbase")
    var steps: [Stmt] = []
    for r in 0..<count {
      steps.append(.store("scratch", sbase + .constant(maxOffset + r), .constant(-.infinity)))
      steps.append(.store("scratch", sbase + .constant(sumOffset + r), .constant(0)))
      for q in 0..<outputRow / width {
        steps.append(
          .vstoreUnaligned("scratch", sbase + .constant(accumulatorOffset + r * outputRow + q * width), .constant(0)))
      }
    }
    let body = blockSteps(count, first: Self.v("kb") * block, keys: block, last: false)
    steps.append(.loop(variable: "kb", extent: blocks - 1, kind: .serial, body: body))
    steps += blockSteps(count, first: .constant((blocks - 1) * block), keys: lastKeys, last: true)
    return steps
  }

  /// One key block from key `first` (a multiple of the vector width): scores, softmax, product.
  private func blockSteps(_ count: Int, first: IndexExpr, keys: Int, last: Bool) -> [Stmt] {
    let sbase = Self.v("sbase")
    let softmax = interleavedSoftmax(count) { blockSoftmaxPhases(row: $0, suffix: $1, keys: keys, last: last) }
    func accumulator(_ r: Int, _ vector: IndexExpr) -> IndexExpr {
      sbase + .constant(accumulatorOffset + r * outputRow) + vector * width
    }
    let product = outputTiles(
      count, key0: first, keys: keys,
      initial: { r, vector in
        .binary(
          .mul, .vloadUnaligned("scratch", accumulator(r, vector)),
          .splat(.load("scratch", sbase + .constant(scaleOffset + r))))
      },
      finish: last ? nil : { acc, r, vector in [.vstoreUnaligned("scratch", accumulator(r, vector), .local(acc))] })
    return scoreTiles(count, firstVector: first / width, keys: keys) + softmax + product
  }

  /// One row's softmax over a key block as phases (``AttentionKernel/interleave(_:)``): the block's
  /// max, the new running max and rescale factor, the exponentials and the running sum; after the
  /// last block the row's 1/sum (NaN when every key was masked).
  private func blockSoftmaxPhases(row: IndexExpr, suffix s: String, keys: Int, last: Bool) -> [[Stmt]] {
    let vectors = (keys + width - 1) / width
    let rowBase: IndexExpr = Self.v("sbase") + row * scoreRow
    let sbase = Self.v("sbase")
    func slot(_ offset: Int) -> IndexExpr { sbase + .constant(offset) + row }
    let mx = "mx\(s)", old = "mold\(s)", new = "mnew\(s)", shift = "shift\(s)", alpha = "alpha\(s)"
    let rowmax = "rowmax\(s)", sm = "sm\(s)", ex = "ex\(s)", total = "total\(s)"
    var phases: [[Stmt]] = [[.declareVector(mx, .splat(.constant(-.infinity)))]]
    phases.append(rowMaxLoop(mx, rowBase: rowBase, vectors: vectors))
    phases.append(
      laneTree(mx, .maxSkippingNaN) + [
        .declare(old, .load("scratch", slot(maxOffset))),
        .declare(new, .binary(.max, .local(old), .lane(mx, .constant(0)))),
        .declare(shift, .binary(.max, .local(new), .constant(-Double(Float.greatestFiniteMagnitude)))),
        .declare(alpha, .unary(.expNonPositive, .binary(.sub, .local(old), .local(shift)))),
        .store("scratch", slot(maxOffset), .local(new)),
        .store("scratch", slot(scaleOffset), .local(alpha)),
        .declareVector(rowmax, .splat(.local(shift))), .declareVector(sm, .splat(.constant(0))),
      ])
    phases.append(exponentialLoop(ex, sum: sm, minus: rowmax, rowBase: rowBase, vectors: vectors))
    var end = laneTree(sm, .sum)
    let sum = ValueExpr.binary(
      .add, .binary(.mul, .load("scratch", slot(sumOffset)), .local(alpha)), .lane(sm, .constant(0)))
    end.append(.declare(total, sum))
    end.append(.store("scratch", slot(sumOffset), .local(total)))
    if last {
      let masked = ValueExpr.binary(.sub, .local(new), .local(new))
      let inverse = ValueExpr.binary(.add, .binary(.div, .constant(1), .local(total)), masked)
      end.append(.store("scratch", slot(inverseOffset), inverse))
    }
    phases.append(end)
    return phases
  }
}
