/// Text of index and value expressions, shared by the loop printer and the C emitter.
enum ExprText {
  static func index(_ e: IndexExpr) -> String {
    switch e {
    case .variable(let v): return v
    case .constant(let c): return String(c)
    case .add(let a, .constant(let c)) where c < 0: return "\(index(a)) - \(-c)"
    case .add(let a, let b): return "\(index(a)) + \(index(b))"
    case .mul(let a, let k): return "\(atom(a))*\(k)"
    case .div(let a, let k): return "\(atom(a))/\(k)"
    case .mod(let a, let k): return "\(atom(a))%\(k)"
    case .table(let t, let a): return "tab\(tableID(t))[\(index(a))]"
    }
  }

  private static func atom(_ e: IndexExpr) -> String {
    if case .add = e { return "(\(index(e)))" }
    return index(e)
  }

  /// A stable short name for a constant table: its FNV hash.
  static func tableID(_ t: [Int]) -> String {
    var h = FNV1a()
    for v in t { h.add(String(v) + ",") }
    return String(h.value % 1_000_000_007)
  }

  /// In C, a range test is one unsigned compare; printed, it reads `lo <= e < hi`.
  static func condition(_ c: IndexCondition, forC: Bool = true) -> String {
    switch (c, forC) {
    case (.inRange(let e, let lo, let hi), true):
      return "(unsigned long)(\(lo == 0 ? index(e) : index(e + .constant(-lo)))) < \(hi - lo)ul"
    case (.inRange(let e, let lo, let hi), false): return "\(lo) <= \(index(e)) < \(hi)"
    case (.divisible(let e, let k), _): return "(\(index(e)))%\(k) == 0"
    }
  }

  static func conditions(_ cs: [IndexCondition], forC: Bool = true) -> String {
    cs.map { condition($0, forC: forC) }.joined(separator: " && ")
  }

  /// A float literal that C parses exactly as a float.
  static func literal(_ d: Double) -> String {
    let f = Float(d)
    if f.isNaN { return "NAN" }
    if f.isInfinite { return f > 0 ? "INFINITY" : "-INFINITY" }
    if f == f.rounded(), abs(f) < 1e7 { return "\(Int(f)).0f" }
    return "\(f)f"
  }

  static func value(_ e: ValueExpr) -> String {
    switch e {
    case .load(let b, let i): return "\(b)[\(index(i))]"
    case .local(let n): return n
    case .constant(let c): return literal(c)
    case .unary(let f, let a):
      switch f {
      case .neg: return "(-\(value(a)))"
      case .abs: return "fabsf(\(value(a)))"
      default: return "\(f.rawValue)f(\(value(a)))"
      }
    case .binary(let f, let a, let b):
      switch f {
      case .add: return "(\(value(a)) + \(value(b)))"
      case .sub: return "(\(value(a)) - \(value(b)))"
      case .mul: return "(\(value(a)) * \(value(b)))"
      case .div: return "(\(value(a)) / \(value(b)))"
      case .max: return "gf_max(\(value(a)), \(value(b)))"
      case .min: return "gf_min(\(value(a)), \(value(b)))"
      case .pow: return "powf(\(value(a)), \(value(b)))"
      }
    case .select(let cs, let a, let b): return "(\(conditions(cs)) ? \(value(a)) : \(value(b)))"
    }
  }
}

/// A tiny FNV-1a hash for cache keys and table names.
struct FNV1a {
  var value: UInt64 = 0xcbf2_9ce4_8422_2325
  mutating func add(_ s: String) {
    for byte in s.utf8 {
      value ^= UInt64(byte)
      value = value &* 0x100_0000_01b3
    }
  }
  var hex: String {
    let s = String(value, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}

extension LoopNest {
  /// The nest as text in the spirit of `tvm.lower`: one line per loop, load and store.
  public var description: String {
    var lines = ["// \(name)"]
    if let schedule { lines.append("// compiled as: \(schedule); this is the reference loop nest") }
    for b in buffers { lines.append("// \(b.isOutput ? "out" : "in ") \(b.name): float[\(b.count)]") }
    func emit(_ stmts: [Stmt], _ depth: Int) {
      let pad = String(repeating: "  ", count: depth)
      for s in stmts {
        switch s {
        case .loop(let v, let extent, let kind, let body):
          lines.append("\(pad)\(kind == .serial ? "for" : kind.rawValue) (\(v), 0, \(extent)) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .declare(let n, let e): lines.append("\(pad)\(n) = \(ExprText.value(e))")
        case .accumulate(let n, let op, let e): lines.append("\(pad)\(n) \(op.rawValue) \(ExprText.value(e))")
        case .assign(let n, let e): lines.append("\(pad)\(n) = \(ExprText.value(e))")
        case .store(let b, let i, let e): lines.append("\(pad)\(b)[\(ExprText.index(i))] = \(ExprText.value(e))")
        case .when(let cs, let body):
          lines.append("\(pad)if (\(ExprText.conditions(cs, forC: false))) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .let_(let n, let e): lines.append("\(pad)\(n) = \(ExprText.index(e))")
        }
      }
    }
    emit(body, 0)
    return lines.joined(separator: "\n")
  }
}
