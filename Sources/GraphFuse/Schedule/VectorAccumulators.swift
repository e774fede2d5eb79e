/// The inner loop of the streaming reductions (``SpatialReduction``, ``ColumnReduction``,
/// ``GroupNormKernel``): four vector accumulators `s0…s3` over `extent` terms, four terms a step and
/// the remainder after the loop, then combined pairwise. Four independent chains hide the add's
/// latency, which one accumulator would make the bound of the loop. Sums of more than ``block``
/// steps add each block's partial sums `t0…t3` into `s0…s3`: the rounding error then grows with
/// `steps / block + block` instead of `steps` (a squeeze-excitation mean over 112² pixels is 3,136
/// additions per accumulator, and MixNet amplifies its gates' rounding a thousandfold).
enum VectorAccumulators {
  /// Steps of four terms per partial sum.
  static let block = 64

  /// Declares `s0…s3` as `start` and accumulates `term(i)` for `i` in `0..<extent` into them.
  static func stream(
    _ extent: Int, variable: String, start: Double, accumulate: Accumulate, term: (IndexExpr) -> ValueExpr
  ) -> [Stmt] {
    var stmts: [Stmt] = (0..<4).map { .declareVector("s\($0)", .constant(start)) }
    let steps = extent / 4
    var done = 0
    if accumulate == .sum, steps > Self.block {
      let outer = "\(variable)b", blocks = steps / Self.block
      let first: IndexExpr = .variable(outer) * Self.block + .variable(variable)
      let partial: [Stmt] =
        (0..<4).map { .declareVector("t\($0)", .constant(0)) }
        + [
          .loop(
            variable: variable, extent: Self.block, kind: .serial,
            body: (0..<4).map { .accumulate("t\($0)", .sum, term(first * 4 + .constant($0))) })
        ] + (0..<4).map { .accumulate("s\($0)", .sum, .local("t\($0)")) }
      stmts.append(.loop(variable: outer, extent: blocks, kind: .serial, body: partial))
      done = blocks * Self.block
    }
    if steps > done {
      let step: IndexExpr = .variable(variable) + .constant(done)
      stmts.append(
        .loop(
          variable: variable, extent: steps - done, kind: .serial,
          body: (0..<4).map { .accumulate("s\($0)", accumulate, term(step * 4 + .constant($0))) }))
    }
    for k in 0..<extent % 4 { stmts.append(.accumulate("s\(k)", accumulate, term(.constant(extent / 4 * 4 + k)))) }
    return stmts
  }

  /// `(s0 ∘ s1) ∘ (s2 ∘ s3)`.
  static func total(_ combine: BinaryFunction) -> ValueExpr {
    .binary(combine, .binary(combine, .local("s0"), .local("s1")), .binary(combine, .local("s2"), .local("s3")))
  }
}
