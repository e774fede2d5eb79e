/// Comparisons, boolean logic, predicates and casts over float-carried values (``DataType``):
/// a bool is 1 or 0, and each op's result is exactly what ONNX defines for its types.
///
/// `ne(x)` below is `x != 0` as 0/1, written with `eq` twice so NaN counts as true (C's `!= 0`).
private func ne(_ x: ScalarExpr) -> ScalarExpr { .binary(.eq, .binary(.eq, x, E.c(0)), E.c(0)) }

let comparisonOps: [OpDefinition] = [
  .pointwise("less", arity: 2...2, pattern: .broadcast) { _ in .binary(.lt, .operand(0), .operand(1)) },
  .pointwise("less_equal", arity: 2...2, pattern: .broadcast) { _ in .binary(.le, .operand(0), .operand(1)) },
  .pointwise("greater", arity: 2...2, pattern: .broadcast) { _ in .binary(.lt, .operand(1), .operand(0)) },
  .pointwise("greater_equal", arity: 2...2, pattern: .broadcast) { _ in .binary(.le, .operand(1), .operand(0)) },
  .pointwise("and", arity: 2...2, pattern: .broadcast) { _ in .binary(.keep, .operand(0), ne(.operand(1))) },
  .pointwise("or", arity: 2...2, pattern: .broadcast) { _ in ne(ne(.operand(0)) + ne(.operand(1))) },
  .pointwise("xor", arity: 2...2, pattern: .broadcast) { _ in
    .binary(.eq, .binary(.eq, ne(.operand(0)), ne(.operand(1))), E.c(0))
  },
  // x ≠ x only for NaN; |x| = ∞ only for ±∞ (the attributes pick a sign, as ONNX IsInf does).
  .pointwise("is_nan", pattern: .elemwise) { _ in .binary(.eq, .binary(.eq, E.x, E.x), E.c(0)) },
  .pointwise("is_inf", pattern: .elemwise) { a in
    let positive = a.int("detect_positive", default: 1) != 0, negative = a.int("detect_negative", default: 1) != 0
    switch (positive, negative) {
    case (true, true): return .binary(.eq, .unary(.abs, E.x), E.c(.infinity))
    case (true, false): return .binary(.eq, E.x, E.c(.infinity))
    case (false, true): return .binary(.eq, E.x, E.c(-.infinity))
    case (false, false): return E.c(0)
    }
  },
  // Casts to an integer type truncate toward zero; to bool, anything non-zero (NaN too) is 1.
  .pointwise("cast_to_bool", pattern: .elemwise) { _ in ne(E.x) },
  .pointwise("trunc", pattern: .elemwise) { _ in .unary(.trunc, E.x) },
  .pointwise("floor", pattern: .elemwise) { _ in .unary(.floor, E.x) },
  .pointwise("ceil", pattern: .elemwise) { _ in .unary(.ceil, E.x) },
  .pointwise("round", pattern: .elemwise) { _ in .unary(.round, E.x) },
  .pointwise("sin", pattern: .elemwise) { _ in .unary(.sin, E.x) },
  .pointwise("cos", pattern: .elemwise) { _ in .unary(.cos, E.x) },
  .pointwise("abs", pattern: .elemwise) { _ in .unary(.abs, E.x) },
]
