import Foundation

/// reduce_sum / reduce_mean / reduce_max over `axes` (all when absent) with `keepdims`, and softmax.
enum Reduction {
  static func axes(_ a: Attributes, rank: Int) -> [Int]? {
    let raw = a.ints("axes", default: Array(0..<rank))
    let axes = raw.map { Injective.axis($0, rank: rank) }
    return axes.allSatisfy({ $0 != nil }) ? axes.map { $0! } : nil
  }

  static func outShape(_ shape: [Int], axes: [Int], keepDims: Bool) -> [Int] {
    keepDims
      ? shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
      : shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
  }

  static func definition(
    _ name: String, initial: Double, combine: @escaping @Sendable (Double, Double) -> Double, mean: Bool
  ) -> OpDefinition {
    OpDefinition(
      name: name, arity: 1...1, pattern: { _ in .commReduce },
      inferShapes: { q throws(GraphFuseError) in
        guard let axes = axes(q.attributes, rank: q.shape(0).count) else {
          throw q.error("axes \(q.attributes.ints("axes", default: [])) are out of range for \(q.shape(0))")
        }
        return [outShape(q.shape(0), axes: axes, keepDims: q.attributes.bool("keepdims", default: true))]
      },
      reference: { ctx in
        let x = ctx.inputs[0]
        let axes = axes(ctx.attributes, rank: x.rank)!
        let keptShape = outShape(x.shape, axes: axes, keepDims: true)
        let keptStrides = Broadcasting.strides(of: keptShape, broadcastTo: x.shape)
        var acc = [Double](repeating: initial, count: keptShape.reduce(1, *))
        var index = [Int](repeating: 0, count: x.rank)
        for flat in 0..<x.count {
          let target = Injective.offset(index, keptStrides)
          acc[target] = combine(acc[target], Double(x.data[flat]))
          var axis = index.count - 1
          while axis >= 0 {
            index[axis] += 1
            if index[axis] < x.shape[axis] { break }
            index[axis] = 0
            axis -= 1
          }
        }
        let n = Double(x.count / max(acc.count, 1))
        let data = acc.map { Float(mean ? $0 / n : $0) }
        return [
          Tensor(
            shape: outShape(x.shape, axes: axes, keepDims: ctx.attributes.bool("keepdims", default: true)), data: data)
        ]
      })
  }

  static let softmax = OpDefinition(
    name: "softmax", arity: 1...1, pattern: { _ in .outEWiseFusable },
    inferShapes: { q throws(GraphFuseError) in
      guard Injective.axis(q.attributes.int("axis", default: -1), rank: q.shape(0).count) != nil else {
        throw q.error("axis \(q.attributes.int("axis", default: -1)) is out of range for \(q.shape(0))")
      }
      return [q.shape(0)]
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let axis = Injective.axis(ctx.attributes.int("axis", default: -1), rank: x.rank)!
      let extent = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
      let outer = x.count / max(extent * inner, 1)
      var out = x.data
      for o in 0..<outer {
        for i in 0..<inner {
          let base = o * extent * inner + i
          var m = -Double.infinity
          for k in 0..<extent { m = nanMax(m, Double(x.data[base + k * inner])) }
          var sum = 0.0
          for k in 0..<extent { sum += exp(Double(x.data[base + k * inner]) - m) }
          for k in 0..<extent { out[base + k * inner] = Float(exp(Double(x.data[base + k * inner]) - m) / sum) }
        }
      }
      return [Tensor(shape: x.shape, data: out)]
    })
}

let reductionOps: [OpDefinition] = [
  Reduction.definition("reduce_sum", initial: 0, combine: +, mean: false),
  Reduction.definition("reduce_mean", initial: 0, combine: +, mean: true),
  Reduction.definition("reduce_max", initial: -.infinity, combine: { nanMax($0, $1) }, mean: false),
  Reduction.softmax,
]

/// cumsum {axis, exclusive, reverse}: running sums along `axis` (`exclusive` leaves the element
/// itself out, `reverse` sums from the end). Compiled as a masked reduction per output element:
/// O(n²) along the axis, meant for the short axes of position ids and masks.
enum CumSum {
  static let definition = OpDefinition(
    name: "cumsum", arity: 1...1, pattern: { _ in .opaque },
    inferShapes: { q throws(GraphFuseError) in
      guard Injective.axis(q.attributes.int("axis", default: 0), rank: q.shape(0).count) != nil else {
        throw q.error("axis \(q.attributes.int("axis", default: 0)) is out of range for \(q.shape(0))")
      }
      return [q.shape(0)]
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let axis = Injective.axis(ctx.attributes.int("axis", default: 0), rank: x.rank)!
      let exclusive = ctx.attributes.int("exclusive", default: 0) != 0
      let reverse = ctx.attributes.int("reverse", default: 0) != 0
      let n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *), outer = x.count / max(n * inner, 1)
      var out = x.data
      for o in 0..<outer {
        for i in 0..<inner {
          var sum = 0.0
          for step in 0..<n {
            let k = reverse ? n - 1 - step : step
            let at = (o * n + k) * inner + i
            if exclusive {
              out[at] = Float(sum)
              sum += Double(x.data[at])
            } else {
              sum += Double(x.data[at])
              out[at] = Float(sum)
            }
          }
        }
      }
      return [Tensor(shape: x.shape, data: out)]
    })
}
