import Foundation

/// Elementwise ops of transformer exports: erf, gelu, comparisons and selects over float 0/1
/// masks (the IR is float32: a bool is 0 or 1), and Python-style modulo.
let transformerElementwiseOps: [OpDefinition] = [
  .pointwise("erf", pattern: .elemwise) { _ in .unary(.erf, E.x) },
  // gelu {approximate=0}: x·Φ(x) with the exact erf; {approximate=1}: the tanh approximation.
  .pointwise("gelu", pattern: .elemwise) { a in
    if a.int("approximate", default: 0) == 1 {
      let inner = E.c((2 / Double.pi).squareRoot()) * (E.x + E.c(0.044715) * E.x * E.x * E.x)
      return E.c(0.5) * E.x * (E.c(1) + .unary(.tanh, inner))
    }
    return .unary(.gelu, E.x)
  },
  .pointwise("not", pattern: .elemwise) { _ in .binary(.eq, E.x, E.c(0)) },
  .pointwise("equal", arity: 2...2, pattern: .broadcast) { _ in .binary(.eq, .operand(0), .operand(1)) },
  // where(c, x, y): x where c ≠ 0, else y; each branch is selected, never multiplied by 0.
  .pointwise("where", arity: 3...3, pattern: .broadcast) { _ in
    .binary(.keep, .operand(0), .operand(1)) + .binary(.keep, .binary(.eq, .operand(0), E.c(0)), .operand(2))
  },
  // mod {fmod=0}: the sign of the divisor (a − b·⌊a/b⌋); {fmod=1}: C fmod (a − b·trunc(a/b)).
  .pointwise("mod", arity: 2...2, pattern: .broadcast) { a in
    let q = ScalarExpr.operand(0) / .operand(1)
    return .operand(0) - .operand(1) * .unary(a.int("fmod", default: 0) == 1 ? .trunc : .floor, q)
  },
]

/// expand {shape}: numpy broadcasting of the input to `shape` (the already broadcast result shape).
let expandOp = OpDefinition(
  name: "expand", arity: 1...1, pattern: { _ in .injective },
  inferShapes: { q throws(GraphFuseError) in
    let target = q.attributes.ints("shape", default: [])
    guard Broadcasting.shape(q.shape(0), target) == target else {
      throw q.error("cannot expand \(q.shape(0)) to \(target)")
    }
    return [target]
  },
  reference: { ctx in
    [Broadcasting.evaluate(.operand(0), ctx.inputs, outShape: ctx.attributes.ints("shape", default: []))]
  })

/// layer_norm {axis, epsilon}: each row over axes `axis…` normalized to zero mean and unit
/// (biased) variance, then scaled and shifted by `scale` and the optional `bias`, which
/// broadcast to the normalized shape.
enum LayerNorm {
  static func axis(_ a: Attributes, rank: Int) -> Int? { Injective.axis(a.int("axis", default: -1), rank: rank) }

  static let definition = OpDefinition(
    name: "layer_norm", arity: 2...3, pattern: { _ in .outEWiseFusable },
    inferShapes: { q throws(GraphFuseError) in
      let x = q.shape(0)
      guard let axis = axis(q.attributes, rank: x.count) else {
        throw q.error("axis \(q.attributes.int("axis", default: -1)) is out of range for \(x)")
      }
      let normalized = Array(x[axis...])
      for k in 1..<q.inputs.count where Broadcasting.shape(normalized, q.shape(k)) != normalized {
        throw q.error("\(k == 1 ? "scale" : "bias") of shape \(q.shape(k)) does not broadcast to \(normalized)")
      }
      return [x]
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let axis = axis(ctx.attributes, rank: x.rank)!
      let normalized = Array(x.shape[axis...])
      let d = normalized.reduce(1, *), rows = x.count / max(d, 1)
      let scale = Broadcasting.evaluate(.operand(0), [ctx.inputs[1]], outShape: normalized).data
      let bias =
        ctx.inputs.count > 2 ? Broadcasting.evaluate(.operand(0), [ctx.inputs[2]], outShape: normalized).data : nil
      let epsilon = ctx.attributes.float("epsilon", default: 1e-5)
      var out = x.data
      for r in 0..<rows {
        let base = r * d
        var mean = 0.0
        for k in 0..<d { mean += Double(x.data[base + k]) }
        mean /= Double(d)
        var variance = 0.0
        for k in 0..<d {
          let c = Double(x.data[base + k]) - mean
          variance += c * c
        }
        let rstd = 1 / (variance / Double(d) + epsilon).squareRoot()
        for k in 0..<d {
          let y = (Double(x.data[base + k]) - mean) * rstd * Double(scale[k]) + Double(bias?[k] ?? 0)
          out[base + k] = Float(y)
        }
      }
      return [Tensor(shape: x.shape, data: out)]
    }
  ).withFlops { i, _, _ in 8 * i[0].reduce(1, *) }
}
