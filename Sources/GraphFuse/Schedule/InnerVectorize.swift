/// Vectorizes the innermost loops of a generic loop nest explicitly: a loop whose body is only
/// scalar locals, reductions into locals declared outside it and stores, and whose loads and
/// stores are contiguous in the loop variable (or do not depend on it), becomes a loop over
/// `GF_V`-lane vectors (unaligned loads and stores, the math from ``COps``' vector forms, e.g.
/// `gf_vexp`), a shuffle tree combining the lanes of each reduction (``LaneTree``), and a scalar
/// loop over the remainder.
///
/// This is what makes a softmax or a layer norm over the last axis a vectorized row kernel:
/// its max / sum / mean / variance passes and its output pass are exactly such loops, with the
/// group's elementwise neighbours inlined into them. A select whose conditions split no vector
/// (``laneUniform(_:_:_:ranges:)``: bounds at whole vectors) stays one branch per vector. Loops that do
/// not qualify (strided or gathered accesses, conditions that differ between the lanes of a vector,
/// nested statements) stay as they are; a loop around loops may instead run its iterations as
/// lanes (``vectorizeAcross(_:_:_:_:_:)``: a softmax along an axis that is not the last).
enum InnerVectorize {
  /// `stmts` with every qualifying innermost loop vectorized at `width` lanes.
  static func apply(_ stmts: [Stmt], width: Int) -> [Stmt] {
    var counter = 0
    return rewrite(stmts, width: width, counter: &counter, ranges: [:])
  }

  /// `ranges`: the index variables in scope (enclosing loops, index locals) and their ranges
  /// (``LaneBounds``), which prove some divisions and conditions the same across a vector's lanes.
  private static func rewrite(_ stmts: [Stmt], width: Int, counter: inout Int, ranges: LaneBounds.Ranges) -> [Stmt] {
    var out: [Stmt] = []
    var ranges = ranges
    for s in stmts {
      switch s {
      case .loop(let v, let extent, let kind, let body):
        var inner = ranges
        inner[v] = 0...max(0, extent - 1)
        if kind != .parallel, extent >= width,
          let vectorized = vectorize(v, extent, body, width, &counter, ranges: inner)
        {
          out += vectorized
        } else if kind != .parallel, extent > 1, let across = vectorizeAcross(v, extent, body, width, &counter) {
          out += across
        } else {
          out.append(
            .loop(
              variable: v, extent: extent, kind: kind,
              body: rewrite(body, width: width, counter: &counter, ranges: inner)))
        }
      case .when(let cs, let body):
        out.append(.when(cs, rewrite(body, width: width, counter: &counter, ranges: ranges)))
      case .let_(let name, let e):
        ranges[name] = LaneBounds.interval(e, ranges)
        out.append(s)
      default: out.append(s)
      }
    }
    return out
  }

  /// The coefficient of `v` in `e` when `e` is affine in it (`nil`: `v` appears under a division,
  /// modulo or table, so consecutive iterations are not consecutive elements).
  static func coefficient(of v: String, in e: IndexExpr) -> Int? {
    switch e {
    case .variable(let name): return name == v ? 1 : 0
    case .constant, .thread: return 0
    case .add(let a, let b):
      guard let x = coefficient(of: v, in: a), let y = coefficient(of: v, in: b) else { return nil }
      return x + y
    case .mul(let a, let k): return coefficient(of: v, in: a).map { $0 * k }
    case .div(let a, _), .mod(let a, _), .table(_, let a), .element(_, let a):
      return coefficient(of: v, in: a) == 0 ? 0 : nil
    case .select(let cs, let a, let b):
      let constant = cs.allSatisfy { !mentions(v, $0) } && coefficient(of: v, in: a) == 0
      return constant && coefficient(of: v, in: b) == 0 ? 0 : nil
    case .checked(let value, _, _): return mentions(v, value) ? nil : 0
    }
  }

  /// Buffers that an innermost loop (one with no loop inside) loads with a stride of more than one
  /// element per iteration of its variable, a blocked `NCHW[v]c` index read along the pixels among
  /// them (``laneCoefficient(of:in:width:)`` other than 0 or 1).
  static func stridedLoads(_ stmts: [Stmt], width: Int) -> Set<String> {
    var found: Set<String> = []
    func hasLoop(_ body: [Stmt]) -> Bool {
      body.contains {
        switch $0 {
        case .loop: return true
        case .when(_, let inner): return hasLoop(inner)
        default: return false
        }
      }
    }
    func loads(_ e: ValueExpr, _ v: String) {
      switch e {
      case .load(let b, let i):
        if let c = laneCoefficient(of: v, in: i, width: width), c != 0, c != 1 { found.insert(b) }
      case .unary(_, let a), .splat(let a): loads(a, v)
      case .binary(_, let a, let b), .select(_, let a, let b), .shuffle(let a, let b, _):
        loads(a, v)
        loads(b, v)
      case .local, .constant, .vload, .vloadUnaligned, .vloadPartial, .lane: break
      }
    }
    func visit(_ body: [Stmt], _ v: String?) {
      for s in body {
        switch s {
        case .loop(let name, _, _, let inner): visit(inner, hasLoop(inner) ? nil : name)
        case .when(_, let inner): visit(inner, v)
        case .declare(_, let e), .declareWide(_, let e), .accumulate(_, _, let e), .assign(_, let e),
          .store(_, _, let e):
          if let v { loads(e, v) }
        default: break
        }
      }
    }
    visit(stmts, nil)
    return found
  }

  /// Whether a value expression's loads depend on `v`.
  private static func mentions(_ v: String, _ e: ValueExpr) -> Bool {
    switch e {
    case .load(_, let i), .vload(_, let i), .vloadUnaligned(_, let i), .vloadPartial(_, let i, _), .lane(_, let i):
      return coefficient(of: v, in: i) != 0
    case .local, .constant: return false
    case .unary(_, let a), .splat(let a): return mentions(v, a)
    case .binary(_, let a, let b), .shuffle(let a, let b, _): return mentions(v, a) || mentions(v, b)
    case .select(let cs, let a, let b): return cs.contains { mentions(v, $0) } || mentions(v, a) || mentions(v, b)
    }
  }

  /// How `e` moves from lane to lane of a vector iteration whose `v` starts at a multiple of
  /// `width`: like ``coefficient(of:in:)``, and a division or modulo by a multiple of `width` of
  /// `v + rest` (rest a multiple of `width`) stays in one block: the quotient is the same in every
  /// lane, the remainder moves with `v` (a blocked `NCHW[v]c` index read along C).
  /// With `ranges` (every variable of `e`, `v` included), a division is also followed through
  /// ``LaneBounds/roundedDivision(_:by:_:)``: exact quotient and remainder as sums of `e`'s atoms.
  static func laneCoefficient(
    of v: String, in e: IndexExpr, width: Int, ranges: LaneBounds.Ranges = [:]
  ) -> Int? {
    switch e {
    case .variable, .constant: return coefficient(of: v, in: e)
    case .add(let a, let b):
      guard let x = laneCoefficient(of: v, in: a, width: width, ranges: ranges),
        let y = laneCoefficient(of: v, in: b, width: width, ranges: ranges)
      else { return nil }
      return x + y
    case .mul(let a, let k): return laneCoefficient(of: v, in: a, width: width, ranges: ranges).map { $0 * k }
    case .div(let a, let k), .mod(let a, let k):
      if let c = coefficient(of: v, in: a) {
        if c == 0 { return 0 }
        if c == 1, k % width == 0, aligned(a, v, width) {
          if case .div = e { return 0 }
          return 1
        }
      }
      guard !ranges.isEmpty, let d = LaneBounds.roundedDivision(a, by: k, ranges) else { return nil }
      if case .div = e { return laneCoefficient(of: v, in: d.quotient, width: width, ranges: ranges) }
      return laneCoefficient(of: v, in: d.remainder, width: width, ranges: ranges)
    default: return coefficient(of: v, in: e) == 0 ? 0 : nil
    }
  }

  /// True when `e` is a multiple of `width` whenever `v` is.
  private static func aligned(_ e: IndexExpr, _ v: String, _ width: Int) -> Bool {
    switch e {
    case .variable(let name): return name == v
    case .constant(let c): return c % width == 0
    case .add(let a, let b): return aligned(a, v, width) && aligned(b, v, width)
    case .mul(let a, let k): return k % width == 0 || aligned(a, v, width)
    default: return false
    }
  }

  /// Whether condition `c` is decided the same way in every lane of a vector iteration (whose `v`
  /// starts at a multiple of `width`): it does not depend on `v`, or it bounds `e = aligned + v`
  /// between multiples of `width`, so the `width` consecutive values of `e` in one iteration never
  /// straddle a bound. A concat or slice along the blocked channel axis at whole vectors is such a
  /// select (DPN's dual-path `slice … add concat`); it stays one branch per vector.
  ///
  /// With `ranges`, also a condition on values the same in every lane (``laneCoefficient(of:in:width:ranges:)``
  /// 0), and a range test that the values' whole range passes or fails (``LaneBounds/interval(_:_:)``).
  static func laneUniform(_ c: IndexCondition, _ v: String, _ width: Int, ranges: LaneBounds.Ranges = [:]) -> Bool {
    guard mentions(v, c) else { return true }
    if case .inRange(let e, let low, let high) = c, coefficient(of: v, in: e) == 1, aligned(e, v, width),
      low % width == 0, high % width == 0
    {
      return true
    }
    guard !ranges.isEmpty else { return false }
    func constant(_ e: IndexExpr) -> Bool { laneCoefficient(of: v, in: e, width: width, ranges: ranges) == 0 }
    switch c {
    case .inRange(let e, let low, let high):
      if constant(e) { return true }
      guard let r = LaneBounds.interval(e, ranges) else { return false }
      return (r.lowerBound >= low && r.upperBound < high) || r.upperBound < low || r.lowerBound >= high
    case .divisible(let e, _): return constant(e)
    case .less(let a, let b), .unequal(let a, let b): return constant(a) && constant(b)
    }
  }

  private static func mentions(_ v: String, _ c: IndexCondition) -> Bool {
    switch c {
    case .inRange(let e, _, _), .divisible(let e, _): return coefficient(of: v, in: e) != 0
    case .less(let a, let b), .unequal(let a, let b):
      return coefficient(of: v, in: a) != 0 || coefficient(of: v, in: b) != 0
    }
  }

  /// The vector form of a scalar expression in loop variable `v` (locals renamed by `names`).
  private static func vector(
    _ e: ValueExpr, _ v: String, _ names: [String: String], _ width: Int, _ ranges: LaneBounds.Ranges
  ) -> ValueExpr? {
    switch e {
    case .load(let b, let i):
      guard let c = laneCoefficient(of: v, in: i, width: width, ranges: ranges) else { return nil }
      if c == 0 { return .splat(e) }
      return c == 1 ? .vloadUnaligned(b, i) : nil
    case .local(let n): return names[n].map { .local($0) } ?? .splat(e)
    case .constant: return .splat(e)
    case .unary(let f, let a): return vector(a, v, names, width, ranges).map { .unary(f, $0) }
    case .binary(let f, let a, let b):
      guard let x = vector(a, v, names, width, ranges), let y = vector(b, v, names, width, ranges) else { return nil }
      return .binary(f, x, y)
    case .select(let cs, let a, let b):
      guard cs.allSatisfy({ laneUniform($0, v, width, ranges: ranges) }), let x = vector(a, v, names, width, ranges),
        let y = vector(b, v, names, width, ranges)
      else { return nil }
      return .select(cs, x, y)
    case .vload, .vloadUnaligned, .vloadPartial, .splat, .lane, .shuffle: return nil
    }
  }

  private static func vectorize(
    _ v: String, _ extent: Int, _ body: [Stmt], _ width: Int, _ counter: inout Int, ranges: LaneBounds.Ranges
  ) -> [Stmt]? {
    counter += 1
    let suffix = "_v\(counter)"
    var names: [String: String] = [:]  // scalar locals declared in the body → vector locals
    var reductions: [(name: String, op: Accumulate, vector: String)] = []
    var vectorBody: [Stmt] = []
    for s in body {
      switch s {
      case .declare(let n, let e):
        guard let x = vector(e, v, names, width, ranges) else { return nil }
        names[n] = n + suffix
        vectorBody.append(.declareVector(n + suffix, x))
      case .accumulate(let n, let op, let e):
        guard names[n] == nil, let x = vector(e, v, names, width, ranges) else { return nil }
        if let known = reductions.first(where: { $0.name == n }) {
          guard known.op == op else { return nil }
        } else {
          reductions.append((n, op, n + suffix))
        }
        vectorBody.append(.accumulate(n + suffix, op, x))
      case .store(let b, let i, let e):
        guard laneCoefficient(of: v, in: i, width: width, ranges: ranges) == 1,
          let x = vector(e, v, names, width, ranges)
        else { return nil }
        vectorBody.append(.vstoreUnaligned(b, i, x))
      default:
        return nil
      }
    }
    // A reduction's running value must not be read inside the loop (lanes hold partial results).
    let reduced = Set(reductions.map(\.name))
    guard !body.contains(where: { reads($0, reduced) }) else { return nil }
    let q = v + "q"
    var out: [Stmt] = reductions.map { r in
      .declareVector(r.vector, .splat(.constant(r.op == .sum ? 0 : -Double.infinity)))
    }
    out.append(
      .loop(variable: q, extent: extent / width, kind: .serial, body: [.let_(v, .variable(q) * width)] + vectorBody))
    // Each reduction's lanes combined by a shuffle tree (``LaneTree``), then into its running value.
    for r in reductions {
      out += LaneTree.reduce(r.vector, r.op, width: width)
      out.append(.accumulate(r.name, r.op, .lane(r.vector, .constant(0))))
    }
    if extent % width != 0 {
      out.append(
        .loop(
          variable: q, extent: extent % width, kind: .serial,
          body: [.let_(v, .variable(q) + .constant(extent / width * width))] + body))
    }
    return out
  }

  /// Outer-loop vectorization: a loop whose body holds loops of its own (a softmax along an axis
  /// that is not the last: `[…, n, inner]` with `inner` contiguous) runs `width` iterations at
  /// once, one per lane. Every scalar local declared in the body becomes a vector, the inner loops
  /// stay serial loops over vector statements, loads contiguous in `v` become vector loads and
  /// loads that do not depend on it splats; a last block of fewer than `width` iterations loads
  /// only its lanes and stores them one by one. Nil (nothing changes) when an index moves with `v`
  /// other than one element per iteration, a condition or index local depends on `v`, or a
  /// statement accumulates into or assigns a local declared outside the loop (that would be a
  /// reduction across lanes). Each lane does what its iteration did, in the same order.
  private static func vectorizeAcross(_ v: String, _ extent: Int, _ body: [Stmt], _ width: Int, _ counter: inout Int)
    -> [Stmt]?
  {
    func hasLoop(_ stmts: [Stmt]) -> Bool {
      stmts.contains {
        if case .loop = $0 { return true } else if case .when(_, let b) = $0 { return hasLoop(b) } else { return false }
      }
    }
    guard hasLoop(body) else { return nil }
    counter += 1
    let suffix = "_w\(counter)", lane = v + "l"
    func convert(_ stmts: [Stmt], _ names: inout [String: String], lanes: Int?) -> [Stmt]? {
      func vec(_ e: ValueExpr) -> ValueExpr? {
        guard let x = vector(e, v, names, width, [:]) else { return nil }
        return lanes.map { partial(x, lanes: $0) } ?? x
      }
      var out: [Stmt] = []
      for s in stmts {
        switch s {
        case .declare(let n, let e):
          guard let x = vec(e) else { return nil }
          names[n] = n + suffix
          out.append(.declareVector(n + suffix, x))
        case .assign(let n, let e):
          guard let target = names[n], let x = vec(e) else { return nil }
          out.append(.assign(target, x))
        case .accumulate(let n, let op, let e):
          guard let target = names[n], let x = vec(e) else { return nil }
          out.append(.accumulate(target, op, x))
        case .store(let b, let i, let e):
          guard laneCoefficient(of: v, in: i, width: width) == 1, let x = vec(e) else { return nil }
          if let lanes {
            let value = "st\(out.count)" + suffix
            out.append(.declareVector(value, x))
            out.append(
              .loop(
                variable: lane, extent: lanes, kind: .serial,
                body: [.store(b, i + .variable(lane), .lane(value, .variable(lane)))]))
          } else {
            out.append(.vstoreUnaligned(b, i, x))
          }
        case .loop(let u, let n, let kind, let inner):
          guard kind != .parallel, u != v, let converted = convert(inner, &names, lanes: lanes) else { return nil }
          out.append(.loop(variable: u, extent: n, kind: .serial, body: converted))
        case .let_(_, let e):
          guard coefficient(of: v, in: e) == 0 else { return nil }
          out.append(s)
        case .when(let cs, let inner):
          guard !cs.contains(where: { mentions(v, $0) }), let converted = convert(inner, &names, lanes: lanes) else {
            return nil
          }
          out.append(.when(cs, converted))
        default:
          return nil
        }
      }
      return out
    }
    var out: [Stmt] = []
    var names: [String: String] = [:]
    if extent >= width {
      guard let block = convert(body, &names, lanes: nil) else { return nil }
      let q = v + "q"
      out.append(
        .loop(variable: q, extent: extent / width, kind: .serial, body: [.let_(v, .variable(q) * width)] + block))
    }
    if extent % width != 0 {
      names = [:]
      guard let block = convert(body, &names, lanes: extent % width) else { return nil }
      out.append(.when([], [.let_(v, .constant(extent / width * width))] + block))
    }
    return out
  }

  /// `e` with its vector loads reading only the first `lanes` floats (the other lanes zero).
  private static func partial(_ e: ValueExpr, lanes: Int) -> ValueExpr {
    switch e {
    case .vloadUnaligned(let b, let i), .vload(let b, let i): return .vloadPartial(b, i, lanes: lanes)
    case .unary(let f, let a): return .unary(f, partial(a, lanes: lanes))
    case .binary(let f, let a, let b): return .binary(f, partial(a, lanes: lanes), partial(b, lanes: lanes))
    case .select(let cs, let a, let b): return .select(cs, partial(a, lanes: lanes), partial(b, lanes: lanes))
    case .splat, .load, .local, .constant, .vloadPartial, .lane, .shuffle: return e
    }
  }

  /// True when a statement's value reads one of `locals`.
  private static func reads(_ s: Stmt, _ locals: Set<String>) -> Bool {
    func uses(_ e: ValueExpr) -> Bool {
      switch e {
      case .local(let n): return locals.contains(n)
      case .unary(_, let a), .splat(let a): return uses(a)
      case .binary(_, let a, let b), .select(_, let a, let b), .shuffle(let a, let b, _): return uses(a) || uses(b)
      case .load, .constant, .vload, .vloadUnaligned, .vloadPartial, .lane: return false
      }
    }
    switch s {
    case .declare(_, let e), .declareWide(_, let e), .accumulate(_, _, let e), .store(_, _, let e): return uses(e)
    default: return false
    }
  }
}
