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
    case .element(let n, let a): return "\(n)[\(index(a))]"
    case .select(let cs, let a, let b): return "(\(conditions(cs)) ? \(index(a)) : \(index(b)))"
    case .thread: return "(long)gf_thread_index"
    case .checked(let v, let extent, let site):
      return "gf_index(\(value(v, vectors: [])), \(extent), \(site), \(IndexExpr.statusBuffer))"
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
    case (.less(let a, let b), _): return "\(index(a)) < \(index(b))"
    case (.unequal(let a, let b), _): return "\(index(a)) != \(index(b))"
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

  /// True when `e` is a vector: it loads or splats a vector, or reads a vector local.
  static func isVector(_ e: ValueExpr, _ vectors: Set<String>) -> Bool {
    switch e {
    case .vload, .vloadUnaligned, .vloadPartial, .splat, .shuffle: return true
    case .local(let n): return vectors.contains(n)
    case .unary(_, let a): return isVector(a, vectors)
    case .binary(_, let a, let b), .select(_, let a, let b): return isVector(a, vectors) || isVector(b, vectors)
    case .load, .constant, .lane: return false
    }
  }

  /// The C text of `e`; `vectors` names the vector locals. Scalars that meet vectors are splat.
  static func value(_ e: ValueExpr, vectors: Set<String> = []) -> String {
    switch e {
    case .load(let b, let i): return "\(b)[\(index(i))]"
    case .local(let n): return n
    case .constant(let c): return literal(c)
    case .unary(let f, let a): return COps.unary(f, value(a, vectors: vectors), vector: isVector(a, vectors))
    case .binary(let f, let a, let b):
      let vector = isVector(e, vectors)
      // C widens a scalar operand of `+ - * /` to a vector itself, as one broadcast; `gf_splat`
      // (`{0…} + x`, which must keep -0.0) would add a vector add to every FMA of a register tile.
      if vector, [.add, .sub, .mul, .div].contains(f) {
        func bare(_ x: ValueExpr) -> String {
          if case .constant = x { return operand(x, true, vectors) }
          return value(x, vectors: vectors)
        }
        return COps.binary(f, bare(a), bare(b), vector: true)
      }
      return COps.binary(f, operand(a, vector, vectors), operand(b, vector, vectors), vector: vector)
    case .select(let cs, let a, let b):
      let vector = isVector(e, vectors)
      return "(\(conditions(cs)) ? \(operand(a, vector, vectors)) : \(operand(b, vector, vectors)))"
    case .vload(let b, let i): return "gf_load(\(b) + \(index(i)))"
    case .vloadUnaligned(let b, let i): return "gf_loadu(\(b) + \(index(i)))"
    case .vloadPartial(let b, let i, let lanes): return "gf_loadu_first(\(b) + \(index(i)), \(lanes))"
    case .splat(let a): return COps.splat(value(a, vectors: vectors))
    case .lane(let n, let i): return "\(n)[\(index(i))]"
    case .shuffle(let a, let b, let mask):
      let lanes = mask.map(String.init).joined(separator: ", ")
      return "__builtin_shufflevector(\(value(a, vectors: vectors)), \(value(b, vectors: vectors)), \(lanes))"
    }
  }

  /// `e` as a vector when `vector` (splat if it is a scalar), else as it is.
  static func operand(_ e: ValueExpr, _ vector: Bool, _ vectors: Set<String>) -> String {
    vector && !isVector(e, vectors) ? COps.splat(value(e, vectors: vectors)) : value(e, vectors: vectors)
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
    let vectors = vectorLocals
    func emit(_ stmts: [Stmt], _ depth: Int) {
      let pad = String(repeating: "  ", count: depth)
      for s in stmts {
        switch s {
        case .loop(let v, let extent, let kind, let body):
          lines.append("\(pad)\(kind == .serial ? "for" : kind.rawValue) (\(v), 0, \(extent)) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .declare(let n, let e): lines.append("\(pad)\(n) = \(ExprText.value(e, vectors: vectors))")
        case .declareWide(let n, let e): lines.append("\(pad)double \(n) = \(ExprText.value(e, vectors: vectors))")
        case .accumulate(let n, let op, let e):
          lines.append("\(pad)\(n) \(op.rawValue) \(ExprText.value(e, vectors: vectors))")
        case .assign(let n, let e): lines.append("\(pad)\(n) = \(ExprText.value(e, vectors: vectors))")
        case .store(let b, let i, let e):
          lines.append("\(pad)\(b)[\(ExprText.index(i))] = \(ExprText.value(e, vectors: vectors))")
        case .when(let cs, let body):
          lines.append(cs.isEmpty ? "\(pad){" : "\(pad)if (\(ExprText.conditions(cs, forC: false))) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .let_(let n, let e): lines.append("\(pad)\(n) = \(ExprText.index(e))")
        case .declareVector(let n, let e): lines.append("\(pad)vector \(n) = \(ExprText.value(e, vectors: vectors))")
        case .vstore(let b, let i, let e), .vstoreUnaligned(let b, let i, let e):
          lines.append("\(pad)\(b)[\(ExprText.index(i)) +: V] = \(ExprText.value(e, vectors: vectors))")
        case .setLane(let n, let i, let e):
          lines.append("\(pad)\(n)[\(ExprText.index(i))] = \(ExprText.value(e, vectors: vectors))")
        case .copy(let t, let ti, let src, let si, let count):
          lines.append("\(pad)\(t)[\(ExprText.index(ti)) +: \(count)] = \(src)[\(ExprText.index(si)) +: \(count)]")
        case .pointer(let n, let base, let i, let checked):
          let target = "&\(base)[\(ExprText.index(i))]"
          lines.append(
            "\(pad)pointer \(n) = "
              + (checked.isEmpty ? target : "\(ExprText.conditions(checked, forC: false)) ? \(target) : zeros"))
        case .declareIndexArray(let n, let count): lines.append("\(pad)int \(n)[\(count)]")
        case .setIndex(let n, let i, let e): lines.append("\(pad)\(n)[\(ExprText.index(i))] = \(ExprText.index(e))")
        case .prefetch(let b, let i, let l1):
          lines.append("\(pad)prefetch to \(l1 ? "L1" : "L2") \(b)[\(ExprText.index(i))]")
        }
      }
    }
    emit(body, 0)
    return lines.joined(separator: "\n")
  }
}
