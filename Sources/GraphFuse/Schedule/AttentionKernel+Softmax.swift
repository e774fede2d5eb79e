/// Step 2 of ``AttentionKernel``: each score row of a tile into probabilities, in place.
extension AttentionKernel {
  /// Rows whose softmax statements run interleaved: a row's max and sum are chains of dependent
  /// operations (13 maxes, a tree of 4 shuffles, the same for the sum, then a division for ViT-B/16's
  /// 197 keys) that rows side by side overlap. In a C harness of ViT-B/16's attention (2 threads,
  /// 2026-12-05) 6 rows ran the kernel in 0.96 of the time of 4, and 12 no faster than 4: their
  /// exponentials' temporaries no longer fit the 32 registers.
  static let interleavedRows = 6

  /// The softmax's rows as interleaved groups: whole groups of ``interleavedRows`` in a loop over
  /// `rg`, then the rows left over as one more group, side by side too.
  func interleavedSoftmax(_ count: Int, phases: (IndexExpr, String) -> [[Stmt]]) -> [Stmt] {
    let group = min(Self.interleavedRows, count), groups = count / group
    let rows = (0..<group).map { phases(Self.v("rg") * group + .constant($0), "\($0)") }
    var stmts: [Stmt] = [.loop(variable: "rg", extent: groups, kind: .serial, body: Self.interleave(rows))]
    let left = (groups * group..<count).map { phases(.constant($0), "\($0)") }
    if !left.isEmpty { stmts += Self.interleave(left) }
    return stmts
  }

  /// Each score row into probabilities in place, a whole vector at a time (the lanes past the last
  /// key are -inf): max, exp and sum, each row's max and sum reduced across lanes by a tree of
  /// shuffles, then × 1/sum and the tail. A tail that reads tensors applies to the real lanes of a
  /// partial last vector one by one, so nothing past the score tensor's row is read. Rows go
  /// ``interleavedRows`` at a time (``interleavedSoftmax(_:phases:)``).
  func softmaxRows(_ count: Int) -> [Stmt] {
    interleavedSoftmax(count) { softmaxPhases(row: $0, suffix: $1) }
  }

  /// The rows' phases side by side: the loops of one phase merged into one loop over the same
  /// variable, straight statements one row after the other.
  static func interleave(_ rows: [[[Stmt]]]) -> [Stmt] {
    guard let first = rows.first else { return [] }
    return first.indices.flatMap { k -> [Stmt] in
      var bodies: [Stmt] = []
      for phases in rows {
        guard phases[k].count == 1, case .loop(_, _, _, let body) = phases[k][0] else {
          return rows.flatMap { $0[k] }
        }
        bodies += body
      }
      guard case .loop(let variable, let extent, let kind, _) = first[k][0] else { return [] }
      return [.loop(variable: variable, extent: extent, kind: kind, body: bodies)]
    }
  }

  /// `name` ⊕= its lanes rotated by h, for h = width/2 … 1: lane 0 then holds the whole reduction.
  func laneTree(_ name: String, _ op: Accumulate) -> [Stmt] { LaneTree.reduce(name, op, width: width) }

  /// The loop folding a score row's `vectors` vectors (from `rowBase`) into the vector max `mx`,
  /// skipping NaN: a NaN score still makes its exponential, the sum and so the whole row NaN.
  func rowMaxLoop(_ mx: String, rowBase: IndexExpr, vectors: Int) -> [Stmt] {
    guard vectors > 0 else { return [] }
    let at = rowBase + Self.v("kv") * width
    return [
      .loop(
        variable: "kv", extent: vectors, kind: .serial,
        body: [.accumulate(mx, .maxSkippingNaN, .vloadUnaligned("scratch", at))])
    ]
  }

  /// The loop turning a score row's `vectors` vectors into `e^(s − rowmax)` in place (vector local
  /// `rowmax`), summed into the vector `sm`; `ex` names each exponential.
  func exponentialLoop(_ ex: String, sum sm: String, minus rowmax: String, rowBase: IndexExpr, vectors: Int) -> [Stmt] {
    guard vectors > 0 else { return [] }
    let at = rowBase + Self.v("kv") * width
    return [
      .loop(
        variable: "kv", extent: vectors, kind: .serial,
        body: [
          .declareVector(ex, .binary(.expDifference, .vloadUnaligned("scratch", at), .local(rowmax))),
          .vstoreUnaligned("scratch", at, .local(ex)), .accumulate(sm, .sum, .local(ex)),
        ])
    ]
  }

  /// One row's softmax as phases, each either straight statements or a single loop, with its locals
  /// named with `suffix` so rows can be interleaved.
  func softmaxPhases(row: IndexExpr, suffix s: String) -> [[Stmt]] {
    let vectors = paddedKeys / width, tail = n % width
    let rowBase: IndexExpr = Self.v("sbase") + row * scoreRow
    func at(_ q: IndexExpr) -> IndexExpr { rowBase + q * width }
    let q = Self.v("kv")
    func loop(_ variable: String, _ extent: Int, _ body: [Stmt]) -> [Stmt] {
      extent == 0 ? [] : [.loop(variable: variable, extent: extent, kind: .serial, body: body)]
    }
    let mx = "mx\(s)", rowmax = "rowmax\(s)", sm = "sm\(s)", ex = "ex\(s)", inverse = "inverse\(s)"
    var phases: [[Stmt]] = [[.declareVector(mx, .splat(.constant(-.infinity)))]]
    phases.append(rowMaxLoop(mx, rowBase: rowBase, vectors: vectors))
    phases.append(
      laneTree(mx, .maxSkippingNaN) + [
        .declareVector(rowmax, .splat(.lane(mx, .constant(0)))), .declareVector(sm, .splat(.constant(0))),
      ])
    phases.append(exponentialLoop(ex, sum: sm, minus: rowmax, rowBase: rowBase, vectors: vectors))
    if defersNormalization {
      let value = ValueExpr.binary(.div, .constant(1), .lane(sm, .constant(0)))
      phases.append(laneTree(sm, .sum) + [.store("scratch", Self.v("sbase") + .constant(inverseOffset) + row, value)])
      return phases
    }
    phases.append(
      laneTree(sm, .sum) + [.declareVector(inverse, .splat(.binary(.div, .constant(1), .lane(sm, .constant(0)))))])
    let scaled = ValueExpr.binary(.mul, .vloadUnaligned("scratch", at(q)), .local(inverse))
    func normalized(_ extent: Int) -> [Stmt] {
      loop(
        "kv", extent,
        [
          .vstoreUnaligned(
            "scratch", at(q),
            probabilities.vector(
              acc: scaled, offset: scoreOffset(row, q * width), channelBlock: q, prefix: "p", unaligned: true))
        ])
    }
    if tail == 0 || !probabilities.readsTensors {
      phases.append(normalized(vectors))
      return phases
    }
    phases.append(normalized(vectors - 1))
    let column = IndexExpr.constant((vectors - 1) * width) + Self.v("t")
    let element = rowBase + column
    phases.append(
      loop(
        "t", tail,
        [
          .store(
            "scratch", element,
            probabilities.scalar(
              acc: .binary(.mul, .load("scratch", element), .lane(inverse, .constant(0))),
              offset: scoreOffset(row, column), channel: column, prefix: "p"))
        ]))
    return phases
  }
}
