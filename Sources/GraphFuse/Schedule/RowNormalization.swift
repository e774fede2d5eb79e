/// A layer norm applied to a matmul's rows as the kernel reads them (``NormalizedInput``): where the
/// rows come from (buffer `x`), the norm's ε, and whether it adds a bias. The statements compute a
/// row's mean and 1/σ exactly as the norm's own kernel does (mean, then the mean squared deviation,
/// each a vectorized pass over the row), and the normalized element `(x − mean) · rstd · γ + β`
/// (buffers `gamma`, `beta`: per-feature constants padded to whole vectors).
struct RowNormalization: Equatable {
  /// How the rows of A lie in `x`.
  enum Source: Equatable {
    /// Row-major `[M, K]`.
    case rows
    /// A conv's result in `NCHW[v]c` blocks (``NormalizedInput``'s channels-last view): row `i` is
    /// pixel `i % pixels` of image `i / pixels`, its K features the channels.
    case channelBlocks(pixels: Int)
  }

  var source: Source
  var epsilon: Double
  var hasBias: Bool

  /// The offset in `x` of A(`row`, `p`) for rows of `k` features and `v`-float vectors.
  func offset(row: IndexExpr, p: IndexExpr, k: Int, vector v: Int) -> IndexExpr {
    switch source {
    case .rows: return row * k + p
    case .channelBlocks(let pixels):
      let blocks = (k + v - 1) / v
      return (((row / pixels) * blocks + p / v) * pixels + row % pixels) * v + p % v
    }
  }

  /// Declares `mean` and `rstd` and, when `row` is below `m`, computes them over the row's `k`
  /// features (loop variable `variable`). Vectorized later by ``InnerVectorize``.
  func statistics(row: IndexExpr, m: Int, k: Int, vector v: Int, mean: String, rstd: String, variable: String)
    -> [Stmt]
  {
    let x = ValueExpr.load("x", offset(row: row, p: .variable(variable), k: k, vector: v))
    let pass = { (body: Stmt) in Stmt.loop(variable: variable, extent: k, kind: .serial, body: [body]) }
    let stats = Self.statements(mean: mean, rstd: rstd, count: k, epsilon: epsilon, x: (x, x), passes: (pass, pass))
    // The declarations stay outside the row check, the computation inside it.
    return stats.declarations + [.when([.inRange(row, 0, m)], stats.compute)]
  }

  /// A layer norm's row statistics as every kernel computes them (the generic lowering's norm rows
  /// too): `mean` over `count` elements, then `rstd` = 1/√(mean squared deviation + ε). `passes`
  /// wrap a statement in the first and second loop over the row, where `x` reads the element.
  static func statements(
    mean: String, rstd: String, count: Int, epsilon: Double, x: (ValueExpr, ValueExpr),
    passes: ((Stmt) -> Stmt, (Stmt) -> Stmt)
  ) -> (declarations: [Stmt], compute: [Stmt]) {
    let d = Double(count)
    let centered = ValueExpr.binary(.sub, x.1, .local(mean))
    let compute: [Stmt] = [
      passes.0(.accumulate(mean, .sum, x.0)),
      .assign(mean, .binary(.div, .local(mean), .constant(d))),
      passes.1(.accumulate(rstd, .sum, .binary(.mul, centered, centered))),
      .assign(
        rstd,
        .binary(
          .div, .constant(1),
          .unary(.sqrt, .binary(.add, .binary(.div, .local(rstd), .constant(d)), .constant(epsilon))))),
    ]
    return ([.declare(mean, .constant(0)), .declare(rstd, .constant(0))], compute)
  }

  /// A(`row`, `p…p + v − 1`) normalized, a vector: the `v` depths from `p` on must lie contiguous
  /// in `x` (any `p` for `.rows`; a multiple of `v` for `.channelBlocks`).
  func normalizedVector(row: IndexExpr, p: IndexExpr, k: Int, vector v: Int, mean: String, rstd: String)
    -> ValueExpr
  {
    let x = ValueExpr.vloadUnaligned("x", offset(row: row, p: p, k: k, vector: v))
    let centered = ValueExpr.binary(.sub, x, .splat(.local(mean)))
    let scaled = ValueExpr.binary(
      .mul, .binary(.mul, centered, .splat(.local(rstd))), .vloadUnaligned("gamma", p))
    return hasBias ? .binary(.add, scaled, .vloadUnaligned("beta", p)) : scaled
  }

  /// A(`row`, `p`) normalized with the row's `mean` and `rstd` locals.
  func normalized(row: IndexExpr, p: IndexExpr, k: Int, vector v: Int, mean: String, rstd: String) -> ValueExpr {
    let x = ValueExpr.load("x", offset(row: row, p: p, k: k, vector: v))
    let scaled = ValueExpr.binary(
      .mul, .binary(.mul, .binary(.sub, x, .local(mean)), .local(rstd)), .load("gamma", p))
    return hasBias ? .binary(.add, scaled, .load("beta", p)) : scaled
  }
}
