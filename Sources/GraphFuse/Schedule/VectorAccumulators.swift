/// The inner loop of the streaming reductions (``SpatialReduction``, ``ColumnReduction``,
/// ``GroupNormKernel``): four vector accumulators `s0…s3` over `extent` terms, four terms a step and
/// the remainder after the loop, then combined pairwise. Four independent chains hide the add's
/// latency, which one accumulator would make the bound of the loop.
enum VectorAccumulators {
  /// Declares `s0…s3` as `start` and accumulates `term(i)` for `i` in `0..<extent` into them.
  static func stream(
    _ extent: Int, variable: String, start: Double, accumulate: Accumulate, term: (IndexExpr) -> ValueExpr
  ) -> [Stmt] {
    var stmts: [Stmt] = (0..<4).map { .declareVector("s\($0)", .constant(start)) }
    stmts.append(
      .loop(
        variable: variable, extent: extent / 4, kind: .serial,
        body: (0..<4).map { .accumulate("s\($0)", accumulate, term(.variable(variable) * 4 + .constant($0))) }))
    for k in 0..<extent % 4 { stmts.append(.accumulate("s\(k)", accumulate, term(.constant(extent / 4 * 4 + k)))) }
    return stmts
  }

  /// `(s0 ∘ s1) ∘ (s2 ∘ s3)`.
  static func total(_ combine: BinaryFunction) -> ValueExpr {
    .binary(combine, .binary(combine, .local("s0"), .local("s1")), .binary(combine, .local("s2"), .local("s3")))
  }
}
