/// The renderer: emits a ``LoopNest`` as one C function
/// `void name(float *const *bufs, long task_begin, long task_end)` whose outermost parallel loop
/// runs only the task range `[begin, end)`. Scalar and vector math both come from ``COps``.
enum CEmitter {
  /// The C function for a loop nest; buffers are `bufs[0…]` in declaration order.
  static func function(_ nest: LoopNest, symbol: String) -> String {
    var lines: [String] = []
    var tables: [[Int]] = []
    collectTables(nest.body, &tables)
    // Functions of one model share a C file, and may share a table: each is defined once.
    for t in tables {
      let id = ExprText.tableID(t)
      lines.append("#ifndef GF_TAB_\(id)")
      lines.append("#define GF_TAB_\(id)")
      lines.append("static const long tab\(id)[\(t.count)] = {\(t.map(String.init).joined(separator: ","))};")
      lines.append("#endif")
    }
    lines.append("void \(symbol)(float *const *bufs, long task_begin, long task_end) {")
    for (i, b) in nest.buffers.enumerated() {
      lines.append("  \(b.isOutput ? "float" : "const float") *restrict \(b.name) = bufs[\(i)];")
    }
    let vectors = nest.vectorLocals
    func value(_ e: ValueExpr) -> String { ExprText.value(e, vectors: vectors) }
    func vector(_ e: ValueExpr) -> String { ExprText.operand(e, true, vectors) }
    var parallelDone = false
    func emit(_ stmts: [Stmt], _ depth: Int) {
      let pad = String(repeating: "  ", count: depth)
      for s in stmts {
        switch s {
        case .loop(let v, let extent, let kind, let body):
          if kind == .parallel && !parallelDone {
            parallelDone = true
            lines.append("\(pad)for (long \(v) = task_begin; \(v) < task_end; \(v)++) {")
          } else {
            if kind == .vectorized { lines.append("\(pad)#pragma clang loop vectorize(enable)") }
            if kind == .unrolled { lines.append("\(pad)#pragma unroll") }
            lines.append("\(pad)for (long \(v) = 0; \(v) < \(extent); \(v)++) {")
          }
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .declare(let n, let e): lines.append("\(pad)float \(n) = \(value(e));")
        case .declareWide(let n, let e): lines.append("\(pad)double \(n) = \(value(e));")
        case .declareVector(let n, let e): lines.append("\(pad)gf_vf \(n) = \(vector(e));")
        case .accumulate(let n, .sum, let e):
          lines.append("\(pad)\(n) += \(vectors.contains(n) ? vector(e) : value(e));")
        case .accumulate(let n, .max, let e):
          let isVector = vectors.contains(n)
          lines.append("\(pad)\(n) = \(COps.accumulateMax(n, isVector ? vector(e) : value(e), vector: isVector));")
        case .accumulate(let n, .maxSkippingNaN, let e):
          let isVector = vectors.contains(n)
          let x = isVector ? vector(e) : value(e)
          lines.append("\(pad)\(n) = \(COps.accumulateMaxSkippingNaN(n, x, vector: isVector));")
        case .assign(let n, let e): lines.append("\(pad)\(n) = \(vectors.contains(n) ? vector(e) : value(e));")
        case .store(let b, let i, let e): lines.append("\(pad)\(b)[\(ExprText.index(i))] = \(value(e));")
        case .vstore(let b, let i, let e): lines.append("\(pad)gf_store(\(b) + \(ExprText.index(i)), \(vector(e)));")
        case .vstoreUnaligned(let b, let i, let e):
          lines.append("\(pad)gf_storeu(\(b) + \(ExprText.index(i)), \(vector(e)));")
        case .setLane(let n, let i, let e): lines.append("\(pad)\(n)[\(ExprText.index(i))] = \(value(e));")
        case .copy(let t, let ti, let src, let si, let count):
          lines.append("\(pad)memcpy(\(t) + \(ExprText.index(ti)), \(src) + \(ExprText.index(si)), \(count * 4));")
        case .when(let cs, let body):
          // No conditions: a plain block, which scopes its locals.
          lines.append(cs.isEmpty ? "\(pad){" : "\(pad)if (\(ExprText.conditions(cs))) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .let_(let n, let e): lines.append("\(pad)long \(n) = \(ExprText.index(e));")
        case .pointer(let n, let base, let i, let checked):
          let target = "\(base) + \(ExprText.index(i))"
          lines.append(
            "\(pad)const float *\(n) = "
              + (checked.isEmpty ? "\(target);" : "\(ExprText.conditions(checked)) ? \(target) : gf_zeros;"))
        case .declareIndexArray(let n, let count): lines.append("\(pad)long \(n)[\(count)];")
        case .setIndex(let n, let i, let e): lines.append("\(pad)\(n)[\(ExprText.index(i))] = \(ExprText.index(e));")
        case .prefetch(let b, let i, let l1):
          lines.append("\(pad)gf_prefetch_\(l1 ? "l1" : "l2")(\(b) + \(ExprText.index(i)));")
        }
      }
    }
    if nest.taskCount == 1 && !containsParallel(nest.body) {
      lines.append("  if (task_begin > 0) return;")
    }
    emit(nest.body, 1)
    lines.append("}")
    return lines.joined(separator: "\n")
  }

  private static func containsParallel(_ stmts: [Stmt]) -> Bool {
    stmts.contains { s in
      switch s {
      case .loop(_, _, .parallel, _): return true
      case .loop(_, _, _, let b), .when(_, let b): return containsParallel(b)
      default: return false
      }
    }
  }

  private static func collectTables(_ stmts: [Stmt], _ out: inout [[Int]]) {
    func index(_ e: IndexExpr) {
      switch e {
      case .table(let t, let a):
        if !out.contains(t) { out.append(t) }
        index(a)
      case .add(let a, let b):
        index(a)
        index(b)
      case .mul(let a, _), .div(let a, _), .mod(let a, _), .element(_, let a): index(a)
      case .checked(let v, _, _): value(v)
      case .select(let cs, let a, let b):
        cs.forEach(cond)
        index(a)
        index(b)
      default: break
      }
    }
    func cond(_ c: IndexCondition) {
      switch c {
      case .inRange(let e, _, _), .divisible(let e, _): index(e)
      case .less(let a, let b), .unequal(let a, let b):
        index(a)
        index(b)
      }
    }
    func value(_ e: ValueExpr) {
      switch e {
      case .load(_, let i), .vload(_, let i), .vloadUnaligned(_, let i), .vloadPartial(_, let i, _), .lane(_, let i):
        index(i)
      case .unary(_, let a), .splat(let a): value(a)
      case .binary(_, let a, let b), .shuffle(let a, let b, _):
        value(a)
        value(b)
      case .select(let cs, let a, let b):
        cs.forEach(cond)
        value(a)
        value(b)
      case .local, .constant: break
      }
    }
    for s in stmts {
      switch s {
      case .loop(_, _, _, let b): collectTables(b, &out)
      case .declare(_, let e), .declareWide(_, let e), .accumulate(_, _, let e), .assign(_, let e),
        .declareVector(_, let e):
        value(e)
      case .store(_, let i, let e), .vstore(_, let i, let e), .vstoreUnaligned(_, let i, let e),
        .setLane(_, let i, let e):
        index(i)
        value(e)
      case .copy(_, let ti, _, let si, _):
        index(ti)
        index(si)
      case .when(let cs, let b):
        cs.forEach(cond)
        collectTables(b, &out)
      case .let_(_, let e): index(e)
      case .pointer(_, _, let i, let cs):
        index(i)
        cs.forEach(cond)
      case .setIndex(_, let i, let e):
        index(i)
        index(e)
      case .prefetch(_, let i, _): index(i)
      case .declareIndexArray: break
      }
    }
  }
}
