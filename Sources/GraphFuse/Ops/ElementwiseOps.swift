typealias E = ScalarExpr

/// Unary elementwise ops: each output element depends on the same input element only.
let elementwiseOps: [OpDefinition] = [
  .pointwise("relu", pattern: .elemwise) { _ in E.max(E.x, E.c(0)) },
  .pointwise("leaky_relu", pattern: .elemwise) { a in
    E.max(E.x, E.c(0)) + E.c(a.float("alpha", default: 0.01)) * E.min(E.x, E.c(0))
  },
  .pointwise("clip", pattern: .elemwise) { a in
    E.min(E.max(E.x, E.c(a.float("min", default: -.infinity))), E.c(a.float("max", default: .infinity)))
  },
  .pointwise("sigmoid", pattern: .elemwise) { _ in .unary(.sigmoid, E.x) },
  .pointwise("tanh", pattern: .elemwise) { _ in .unary(.tanh, E.x) },
  .pointwise("exp", pattern: .elemwise) { _ in E.exp(E.x) },
  .pointwise("log", pattern: .elemwise) { _ in .unary(.log, E.x) },
  .pointwise("sqrt", pattern: .elemwise) { _ in .unary(.sqrt, E.x) },
  .pointwise("neg", pattern: .elemwise) { _ in -E.x },
  .pointwise("silu", pattern: .elemwise) { _ in E.x * .unary(.sigmoid, E.x) },
  .pointwise("hard_sigmoid", pattern: .elemwise) { a in
    E.max(E.c(0), E.min(E.c(1), E.c(a.float("alpha", default: 0.2)) * E.x + E.c(a.float("beta", default: 0.5))))
  },
  .pointwise("hard_swish", pattern: .elemwise) { _ in
    E.x * E.max(E.c(0), E.min(E.c(1), E.x / E.c(6) + E.c(0.5)))
  },
  .pointwise("identity", pattern: .elemwise) { _ in E.x },
  .pointwise("cast", pattern: .elemwise) { _ in E.x },
]

/// Binary ops with numpy broadcasting, and the scale-shift that an unfolded batch norm becomes.
let broadcastOps: [OpDefinition] = [
  .pointwise("add", arity: 2...2, pattern: .broadcast) { _ in .operand(0) + .operand(1) },
  .pointwise("sub", arity: 2...2, pattern: .broadcast) { _ in .operand(0) - .operand(1) },
  .pointwise("mul", arity: 2...2, pattern: .broadcast) { _ in .operand(0) * .operand(1) },
  .pointwise("div", arity: 2...2, pattern: .broadcast) { _ in .operand(0) / .operand(1) },
  .pointwise("max", arity: 2...2, pattern: .broadcast) { _ in E.max(.operand(0), .operand(1)) },
  .pointwise("min", arity: 2...2, pattern: .broadcast) { _ in E.min(.operand(0), .operand(1)) },
  .pointwise("pow", arity: 2...2, pattern: .broadcast) { _ in .binary(.pow, .operand(0), .operand(1)) },
  // y = x·scale + shift, with scale and shift shaped to broadcast over the channel axis ([C,1,1]).
  .pointwise("scale_shift", arity: 3...3, pattern: .broadcast) { _ in .operand(0) * .operand(1) + .operand(2) },
]
