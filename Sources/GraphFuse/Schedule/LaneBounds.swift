/// Value ranges of index expressions from the ranges of the variables in them, and divisions whose
/// quotient they prove affine: what lets ``InnerVectorize`` read a gather written as pads,
/// flattens and slices (a relative-position `rel → abs` skew, BoTNet's) as contiguous vectors.
///
/// A division `a / k` is affine over a region when `a`, written `Σ cⱼ·atomⱼ + c₀`, keeps its
/// remainder in one step once each coefficient is rounded to the nearest multiple of `k`:
/// `(63·q + 31 + b) / 64` with `q, b ∈ [0, 31]` is `q + (31 + b − q) / 64`, and `31 + b − q` lies in
/// `[0, 62]`, so the quotient is `q` and the remainder `31 + b − q` at every point.
enum LaneBounds {
  /// Inclusive ranges of index variables (loop variables, index locals).
  typealias Ranges = [String: ClosedRange<Int>]

  /// The range of `e` over `ranges`, or nil when some part is unknown (a variable without a range,
  /// a division or remainder of a possibly negative value, an array element, the thread index).
  static func interval(_ e: IndexExpr, _ ranges: Ranges) -> ClosedRange<Int>? {
    switch e {
    case .variable(let name): return ranges[name]
    case .constant(let c): return c...c
    case .add(let a, let b):
      guard let x = interval(a, ranges), let y = interval(b, ranges) else { return nil }
      return (x.lowerBound + y.lowerBound)...(x.upperBound + y.upperBound)
    case .mul(let a, let k):
      guard let x = interval(a, ranges) else { return nil }
      return k >= 0 ? (x.lowerBound * k)...(x.upperBound * k) : (x.upperBound * k)...(x.lowerBound * k)
    case .div(let a, let k):
      guard k > 0, let x = interval(a, ranges), x.lowerBound >= 0 else { return nil }
      if let d = roundedDivision(a, by: k, ranges) {
        return interval(d.quotient, ranges) ?? (x.lowerBound / k)...(x.upperBound / k)
      }
      return (x.lowerBound / k)...(x.upperBound / k)
    case .mod(let a, let k):
      guard k > 0, let x = interval(a, ranges), x.lowerBound >= 0 else { return nil }
      if x.upperBound < k { return x }
      if let d = roundedDivision(a, by: k, ranges), let r = interval(d.remainder, ranges) { return r }
      return 0...(k - 1)
    case .table(let table, let a):
      guard let low = table.min(), let high = table.max(), interval(a, ranges) != nil else { return nil }
      return low...high
    case .select(_, let a, let b):
      guard let x = interval(a, ranges), let y = interval(b, ranges) else { return nil }
      return min(x.lowerBound, y.lowerBound)...max(x.upperBound, y.upperBound)
    case .element, .thread, .checked: return nil
    }
  }

  /// `e` as `Σ coefficient · atom + constant`, an atom being any part that is not a sum, a product
  /// by a constant or a constant.
  static func linear(_ e: IndexExpr) -> (terms: [IndexExpr: Int], constant: Int) {
    switch e {
    case .constant(let c): return ([:], c)
    case .add(let a, let b):
      let (x, c) = linear(a), (y, d) = linear(b)
      return (x.merging(y, uniquingKeysWith: +), c + d)
    case .mul(let a, let k):
      let (x, c) = linear(a)
      return (x.mapValues { $0 * k }, c * k)
    default: return ([e: 1], 0)
    }
  }

  /// `a / k` and `a % k` as sums over `a`'s atoms, exact at every point of `ranges`: each atom's
  /// coefficient rounded to the nearest multiple of `k` goes to the quotient, the rest stays in
  /// the remainder, whose range must fall inside one step `[n·k, (n + 1)·k)`. Nil when it does not,
  /// when `a` may be negative, or when an atom's range is unknown.
  static func roundedDivision(_ a: IndexExpr, by k: Int, _ ranges: Ranges) -> (
    quotient: IndexExpr, remainder: IndexExpr
  )? {
    guard k > 1 else { return nil }
    let (terms, constant) = linear(a)
    var low = constant, high = constant, lowest = constant
    var quotient = IndexExpr.constant(0), remainder = IndexExpr.constant(constant)
    // Atoms in a fixed order, so the expressions are the same from run to run.
    for (atom, c) in terms.sorted(by: { "\($0.key)" < "\($1.key)" }) where c != 0 {
      guard let r = interval(atom, ranges) else { return nil }
      let whole = Int((Double(c) / Double(k)).rounded()), rest = c - whole * k
      low += min(rest * r.lowerBound, rest * r.upperBound)
      high += max(rest * r.lowerBound, rest * r.upperBound)
      lowest += min(c * r.lowerBound, c * r.upperBound)
      quotient = quotient + atom * whole
      remainder = remainder + atom * rest
    }
    guard lowest >= 0 else { return nil }
    let step = low >= 0 ? low / k : -((-low + k - 1) / k)
    guard high < (step + 1) * k else { return nil }
    return (quotient + .constant(step), remainder + .constant(-step * k))
  }
}
