import Foundation

/// batch_norm semantics (Docs/Passes/BatchNormFolding.md).
///
/// Inputs: `x, scale γ, bias β, mean μ, variance σ²`; attributes `axis` (default 1),
/// `epsilon` (1e-5), `momentum` (0.9), `training` (0 or 1), `outputs` (1, or 3 in training
/// mode for the updated running statistics).
enum BatchNorm {
  static func axis(_ a: Attributes, rank: Int) -> Int {
    let axis = a.int("axis", default: 1)
    return axis < 0 ? axis + rank : axis
  }

  static func isTraining(_ a: Attributes) -> Bool { a.bool("training", default: false) }

  /// `[C]` parameter shapes viewed as `[C, 1, …, 1]` so they broadcast over the channel axis.
  static func operandShapes(_ a: Attributes, _ shapes: [[Int]]) -> [[Int]] {
    let x = shapes[0]
    let axis = axis(a, rank: x.count)
    let trailing = [Int](repeating: 1, count: max(0, x.count - axis - 1))
    return [x] + shapes.dropFirst().map { $0 + trailing }
  }

  /// Inference: `(x − μ) / sqrt(σ² + ε) · γ + β`, operands in order x, γ, β, μ, σ².
  static func inferenceMath(_ a: Attributes) -> ScalarExpr {
    let eps = a.float("epsilon", default: 1e-5)
    return (.operand(0) - .operand(3)) / .unary(.sqrt, .operand(4) + .constant(eps)) * .operand(1) + .operand(2)
  }

  static func inferShapes(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
    let x = q.shape(0)
    let axis = axis(q.attributes, rank: x.count)
    guard x.count >= 2, axis >= 0, axis < x.count else {
      throw q.error("axis \(q.attributes.int("axis", default: 1)) is out of range for input \(x)")
    }
    let names = ["scale", "bias", "mean", "variance"]
    for i in 1..<5 where q.shape(i) != [x[axis]] {
      throw q.error("\(names[i - 1]) has shape \(q.shape(i)) but the input \(x) has \(x[axis]) channels")
    }
    for i in 3..<5 {
      if let v = q.constant(i), let bad = v.data.first(where: { !$0.isFinite || (i == 4 && $0 < 0) }) {
        throw q.error("\(names[i - 1]) holds \(bad); running statistics must be finite and variances non-negative")
      }
    }
    let outputs = q.attributes.int("outputs", default: 1)
    guard outputs == 1 || (outputs == 3 && isTraining(q.attributes)) else {
      throw q.error("only training mode produces running statistics (outputs=\(outputs))")
    }
    return outputs == 1 ? [x] : [x, [x[axis]], [x[axis]]]
  }

  static func reference(_ ctx: KernelContext) throws(GraphFuseError) -> [Tensor] {
    let a = ctx.attributes
    let x = ctx.inputs[0]
    if !isTraining(a) {
      if let bad = ctx.inputs[4].data.first(where: { !$0.isFinite || $0 < 0 }) {
        throw ctx.error("variance holds \(bad); it must be finite and non-negative")
      }
      let shapes = operandShapes(a, ctx.inputs.map(\.shape))
      let inputs = zip(ctx.inputs, shapes).map { $0.reshaped($1) }
      return [Broadcasting.evaluate(inferenceMath(a), inputs, outShape: x.shape)]
    }
    return training(ctx, x: x)
  }

  /// Training: normalize with the batch's own mean and biased variance over every axis but `axis`.
  private static func training(_ ctx: KernelContext, x: Tensor) -> [Tensor] {
    let a = ctx.attributes
    let axis = axis(a, rank: x.rank)
    let channels = x.shape[axis]
    let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
    let perChannel = Double(outer * inner)
    var mean = [Double](repeating: 0, count: channels), variance = mean
    for o in 0..<outer {
      for c in 0..<channels {
        let base = (o * channels + c) * inner
        for i in 0..<inner { mean[c] += Double(x.data[base + i]) }
      }
    }
    for c in 0..<channels { mean[c] /= perChannel }
    for o in 0..<outer {
      for c in 0..<channels {
        let base = (o * channels + c) * inner
        for i in 0..<inner {
          let d = Double(x.data[base + i]) - mean[c]
          variance[c] += d * d
        }
      }
    }
    for c in 0..<channels { variance[c] /= perChannel }
    let eps = a.float("epsilon", default: 1e-5)
    let gamma = ctx.inputs[1].data, beta = ctx.inputs[2].data
    var y = [Float](repeating: 0, count: x.count)
    for o in 0..<outer {
      for c in 0..<channels {
        let s = Double(gamma[c]) / (variance[c] + eps).squareRoot()
        let base = (o * channels + c) * inner
        for i in 0..<inner { y[base + i] = Float((Double(x.data[base + i]) - mean[c]) * s + Double(beta[c])) }
      }
    }
    var results = [Tensor(shape: x.shape, data: y)]
    if a.int("outputs", default: 1) == 3 {
      let m = a.float("momentum", default: 0.9)
      let runMean = (0..<channels).map { Float(Double(ctx.inputs[3].data[$0]) * m + mean[$0] * (1 - m)) }
      let runVar = (0..<channels).map { Float(Double(ctx.inputs[4].data[$0]) * m + variance[$0] * (1 - m)) }
      results += [Tensor(runMean), Tensor(runVar)]
    }
    return results
  }
}

/// batch_norm: broadcast pattern in inference mode, opaque (never fused, never folded) in training mode.
let batchNormOps: [OpDefinition] = [
  OpDefinition(
    name: "batch_norm", arity: 5...5,
    pattern: { BatchNorm.isTraining($0) ? .opaque : .broadcast },
    inferShapes: BatchNorm.inferShapes, reference: BatchNorm.reference,
    scalar: { BatchNorm.inferenceMath($0) }, operandShapes: { BatchNorm.operandShapes($0, $1) })
]
