/// An index expression proved affine over loop variables of known extents:
/// `Σ coefficient · variable + constant`, each variable ranging over `0 ..< extent`.
///
/// ``init(_:extents:)`` simplifies an ``IndexExpr`` to this form when it can prove, from the
/// variables' ranges alone, that every division and remainder in it is affine (the dividend's
/// non-multiple part stays inside one quotient step), that every table lookup has a constant
/// position and that every select is decided the same way over the whole range. It is the cheap
/// proof behind index-map analyses such as ``ChannelRemap``: the same
/// answer for every point of the iteration space, without visiting the points.
struct AffineIndex: Equatable {
  /// Coefficient of each variable (no zero entries).
  var terms: [String: Int] = [:]
  var constant = 0

  init(terms: [String: Int] = [:], constant: Int = 0) {
    self.terms = terms.filter { $0.value != 0 }
    self.constant = constant
  }

  /// The affine form of `e`, or nil when it is not provably affine over `extents` (a variable
  /// without an extent, a division that can cross quotient steps, a negative dividend, a lookup
  /// at a varying position).
  init?(_ e: IndexExpr, extents: [String: Int]) {
    switch e {
    case .variable(let v):
      guard let extent = extents[v], extent > 0 else { return nil }
      self.init(terms: extent == 1 ? [:] : [v: 1])
    case .constant(let c): self.init(constant: c)
    case .add(let a, let b):
      guard let x = AffineIndex(a, extents: extents), let y = AffineIndex(b, extents: extents) else { return nil }
      self.init(terms: x.terms.merging(y.terms, uniquingKeysWith: +), constant: x.constant + y.constant)
    case .mul(let a, let k):
      guard let x = AffineIndex(a, extents: extents) else { return nil }
      self.init(terms: x.terms.mapValues { $0 * k }, constant: x.constant * k)
    case .div(let a, let k), .mod(let a, let k):
      guard k > 0, let x = AffineIndex(a, extents: extents), let (q, r) = x.divided(by: k, extents: extents)
      else { return nil }
      if case .div = e { self = q } else { self = r }
    case .table(let table, let a):
      guard let x = AffineIndex(a, extents: extents), x.terms.isEmpty, table.indices.contains(x.constant)
      else { return nil }
      self.init(constant: table[x.constant])
    case .select(let conditions, let a, let b):
      var all = true
      for c in conditions {
        guard let holds = AffineIndex.decide(c, extents: extents) else { return nil }
        all = all && holds
      }
      guard let x = AffineIndex(all ? a : b, extents: extents) else { return nil }
      self = x
    case .element, .thread, .checked:
      return nil
    }
  }

  /// The smallest and largest value over the variables' ranges.
  func bounds(_ extents: [String: Int]) -> (min: Int, max: Int) {
    var low = constant, high = constant
    for (v, k) in terms {
      let span = k * ((extents[v] ?? 1) - 1)
      low += Swift.min(0, span)
      high += Swift.max(0, span)
    }
    return (low, high)
  }

  /// Quotient and remainder by `k` as affine forms, when the non-negative dividend provably
  /// never crosses a multiple of `k` other than through its multiple-of-`k` terms.
  private func divided(by k: Int, extents: [String: Int]) -> (AffineIndex, AffineIndex)? {
    guard bounds(extents).min >= 0 else { return nil }
    // Terms whose coefficient is a multiple of k move the quotient only; the rest, with the
    // constant's remainder, must stay within one step [0, k).
    let whole = terms.filter { $0.value % k == 0 }, rest = terms.filter { $0.value % k != 0 }
    let r = ((constant % k) + k) % k
    let remainder = AffineIndex(terms: rest, constant: r)
    let (low, high) = remainder.bounds(extents)
    if low >= 0 && high < k {
      return (AffineIndex(terms: whole.mapValues { $0 / k }, constant: (constant - r) / k), remainder)
    }
    // Otherwise the whole dividend may still lie in one step.
    let (a, b) = bounds(extents)
    guard a / k == b / k else { return nil }
    return (AffineIndex(constant: a / k), AffineIndex(terms: terms, constant: constant - a / k * k))
  }

  /// The condition's value at every point, or nil when it depends on the point.
  static func decide(_ c: IndexCondition, extents: [String: Int]) -> Bool? {
    switch c {
    case .inRange(let e, let lower, let upper):
      guard let x = AffineIndex(e, extents: extents) else { return nil }
      let (low, high) = x.bounds(extents)
      if low >= lower && high < upper { return true }
      if high < lower || low >= upper { return false }
      return nil
    case .divisible(let e, let k):
      guard k > 0, let x = AffineIndex(e, extents: extents), x.terms.isEmpty else { return nil }
      return x.constant % k == 0
    case .less(let a, let b):
      guard let x = AffineIndex(a + b * -1, extents: extents) else { return nil }
      let (low, high) = x.bounds(extents)
      if high < 0 { return true }
      if low >= 0 { return false }
      return nil
    case .unequal(let a, let b):
      guard let x = AffineIndex(a + b * -1, extents: extents) else { return nil }
      let (low, high) = x.bounds(extents)
      if low > 0 || high < 0 { return true }
      if low == 0 && high == 0 { return false }
      return nil
    }
  }
}
