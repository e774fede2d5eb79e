/// Emits a ``LoopNest`` as one C function `void name(float *const *bufs, long begin, long end)`:
/// the outermost parallel loop runs only the task range `[begin, end)`.
enum CEmitter {
  /// The C function for a loop nest; buffers are `bufs[0…]` in declaration order.
  static func function(_ nest: LoopNest, symbol: String) -> String {
    var lines: [String] = []
    var tables: [[Int]] = []
    collectTables(nest.body, &tables)
    for t in tables {
      lines.append("static const long tab\(ExprText.tableID(t))[\(t.count)] = {\(t.map(String.init).joined(separator: ","))};")
    }
    lines.append("void \(symbol)(float *const *bufs, long task_begin, long task_end) {")
    for (i, b) in nest.buffers.enumerated() {
      lines.append("  \(b.isOutput ? "float" : "const float") *restrict \(b.name) = bufs[\(i)];")
    }
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
        case .declare(let n, let e): lines.append("\(pad)float \(n) = \(ExprText.value(e));")
        case .accumulate(let n, .sum, let e): lines.append("\(pad)\(n) += \(ExprText.value(e));")
        case .accumulate(let n, .max, let e): lines.append("\(pad)\(n) = gf_max(\(n), \(ExprText.value(e)));")
        case .assign(let n, let e): lines.append("\(pad)\(n) = \(ExprText.value(e));")
        case .store(let b, let i, let e): lines.append("\(pad)\(b)[\(ExprText.index(i))] = \(ExprText.value(e));")
        case .when(let cs, let body):
          lines.append("\(pad)if (\(ExprText.conditions(cs))) {")
          emit(body, depth + 1)
          lines.append("\(pad)}")
        case .let_(let n, let e): lines.append("\(pad)long \(n) = \(ExprText.index(e));")
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
      case .add(let a, let b): index(a); index(b)
      case .mul(let a, _), .div(let a, _), .mod(let a, _): index(a)
      default: break
      }
    }
    func cond(_ c: IndexCondition) {
      switch c {
      case .inRange(let e, _, _), .divisible(let e, _): index(e)
      }
    }
    func value(_ e: ValueExpr) {
      switch e {
      case .load(_, let i): index(i)
      case .unary(_, let a): value(a)
      case .binary(_, let a, let b): value(a); value(b)
      case .select(let cs, let a, let b): cs.forEach(cond); value(a); value(b)
      default: break
      }
    }
    for s in stmts {
      switch s {
      case .loop(_, _, _, let b): collectTables(b, &out)
      case .declare(_, let e), .accumulate(_, _, let e), .assign(_, let e): value(e)
      case .store(_, let i, let e): index(i); value(e)
      case .when(let cs, let b): cs.forEach(cond); collectTables(b, &out)
      case .let_(_, let e): index(e)
      }
    }
  }
}
