/// Ops whose output elements are a remapping of input elements.
enum Injective {
  /// Ops that only change a shape: a row-major tensor keeps its floats in the same order.
  static let reshapes: Set<String> = ["reshape", "flatten", "squeeze", "unsqueeze"]

  /// Normalizes a possibly negative axis for a rank, or nil when out of range.
  static func axis(_ axis: Int, rank: Int) -> Int? {
    let a = axis < 0 ? axis + rank : axis
    return a >= 0 && a < rank ? a : nil
  }

  /// Resolves ONNX reshape targets: 0 copies the input extent, one -1 is inferred.
  static func reshapeTarget(_ target: [Int], input: [Int]) -> [Int]? {
    var shape = target.enumerated().map { i, d in d == 0 && i < input.count ? input[i] : d }
    let known = shape.filter { $0 != -1 }.reduce(1, *)
    let total = input.reduce(1, *)
    switch shape.filter({ $0 == -1 }).count {
    case 0: return known == total && shape.allSatisfy({ $0 >= 0 }) ? shape : nil
    case 1:
      guard known > 0, total % known == 0, shape.allSatisfy({ $0 >= -1 }) else { return nil }
      shape[shape.firstIndex(of: -1)!] = total / known
      return shape
    default: return nil
    }
  }

  /// Gathers `out[i] = x[source(i)]` over every output multi-index.
  static func gather(_ x: Tensor, outShape: [Int], _ source: ([Int]) -> Int?, fill: Float = 0) -> Tensor {
    let count = outShape.reduce(1, *)
    var out = [Float](repeating: fill, count: count)
    var index = [Int](repeating: 0, count: outShape.count)
    for flat in 0..<count {
      if let s = source(index) { out[flat] = x.data[s] }
      var axis = index.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < outShape[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    return Tensor(shape: outShape, data: out)
  }

  static func offset(_ index: [Int], _ strides: [Int]) -> Int {
    zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Resolved slice parameters for one axis: start, step and count, ONNX clamping rules.
  static func sliceRange(start: Int, end: Int, step: Int, extent: Int) -> (start: Int, step: Int, count: Int) {
    var s = start < 0 ? start + extent : start
    var e = end < 0 ? end + extent : end
    if step > 0 {
      s = min(max(s, 0), extent)
      e = min(max(e, 0), extent)
      return (s, step, max(0, (e - s + step - 1) / step))
    }
    s = min(max(s, -1), extent - 1)
    e = min(max(e, -1), extent - 1)
    return (s, step, max(0, (s - e + (-step) - 1) / (-step)))
  }

  static func sliceRanges(_ a: Attributes, shape: [Int]) -> [(start: Int, step: Int, count: Int)]? {
    let starts = a.ints("starts", default: []), ends = a.ints("ends", default: [])
    let axes = a.ints("axes", default: Array(0..<starts.count))
    let steps = a.ints("steps", default: [Int](repeating: 1, count: starts.count))
    guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count, !steps.contains(0) else {
      return nil
    }
    var ranges = shape.map { (start: 0, step: 1, count: $0) }
    for (k, rawAxis) in axes.enumerated() {
      guard let axis = axis(rawAxis, rank: shape.count) else { return nil }
      ranges[axis] = sliceRange(start: starts[k], end: ends[k], step: steps[k], extent: shape[axis])
    }
    return ranges
  }

  static func squeezeAxes(_ a: Attributes, shape: [Int]) -> [Int]? {
    guard let raw = a.values["axes"] else { return shape.indices.filter { shape[$0] == 1 } }
    _ = raw
    let axes = a.ints("axes", default: []).map { axis($0, rank: shape.count) }
    guard axes.allSatisfy({ $0 != nil }) else { return nil }
    return axes.map { $0! }
  }
}

private func shapeFn(_ body: @escaping @Sendable (ShapeQuery) throws(GraphFuseError) -> [Int])
  -> @Sendable (ShapeQuery) throws(GraphFuseError) -> [[Int]]
{
  { q throws(GraphFuseError) in [try body(q)] }
}

let injectiveOps: [OpDefinition] = [
  OpDefinition(
    name: "reshape", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      guard let s = Injective.reshapeTarget(q.attributes.ints("shape", default: []), input: q.shape(0)) else {
        throw q.error("cannot reshape \(q.shape(0)) to \(q.attributes.ints("shape", default: []))")
      }
      return s
    },
    reference: { ctx in
      [
        ctx.inputs[0].reshaped(
          Injective.reshapeTarget(ctx.attributes.ints("shape", default: []), input: ctx.inputs[0].shape)!)
      ]
    }),
  OpDefinition(
    name: "flatten", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let x = q.shape(0)
      let axis = q.attributes.int("axis", default: 1)
      let a = axis < 0 ? axis + x.count : axis
      guard a >= 0, a <= x.count else { throw q.error("axis \(axis) is out of range for \(x)") }
      return [x[..<a].reduce(1, *), x[a...].reduce(1, *)]
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let axis = ctx.attributes.int("axis", default: 1)
      let a = axis < 0 ? axis + x.rank : axis
      return [x.reshaped([x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)])]
    }),
  OpDefinition(
    name: "squeeze", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let x = q.shape(0)
      guard let axes = Injective.squeezeAxes(q.attributes, shape: x), axes.allSatisfy({ x[$0] == 1 }) else {
        throw q.error("cannot squeeze axes \(q.attributes.ints("axes", default: [])) of \(x)")
      }
      return x.indices.filter { !axes.contains($0) }.map { x[$0] }
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let axes = Injective.squeezeAxes(ctx.attributes, shape: x.shape)!
      return [x.reshaped(x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] })]
    }),
  OpDefinition(
    name: "unsqueeze", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let x = q.shape(0)
      let rank = x.count + q.attributes.ints("axes", default: []).count
      let axes = q.attributes.ints("axes", default: []).map { Injective.axis($0, rank: rank) }
      guard !axes.isEmpty, axes.allSatisfy({ $0 != nil }), Set(axes).count == axes.count else {
        throw q.error("bad unsqueeze axes \(q.attributes.ints("axes", default: [])) for \(x)")
      }
      var out: [Int] = []
      var it = x.makeIterator()
      for i in 0..<rank { out.append(axes.contains(i) ? 1 : it.next()!) }
      return out
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let rank = x.rank + ctx.attributes.ints("axes", default: []).count
      let axes = ctx.attributes.ints("axes", default: []).map { Injective.axis($0, rank: rank)! }
      var out: [Int] = []
      var it = x.shape.makeIterator()
      for i in 0..<rank { out.append(axes.contains(i) ? 1 : it.next()!) }
      return [x.reshaped(out)]
    }),
  OpDefinition(
    name: "transpose", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let x = q.shape(0)
      let perm = q.attributes.ints("perm", default: Array((0..<x.count).reversed()))
      guard perm.sorted() == Array(0..<x.count) else {
        throw q.error("perm \(perm) is not a permutation of \(x.count) axes")
      }
      return perm.map { x[$0] }
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let perm = ctx.attributes.ints("perm", default: Array((0..<x.rank).reversed()))
      let strides = x.strides
      return [
        Injective.gather(x, outShape: perm.map { x.shape[$0] }) { idx in
          var off = 0
          for (k, p) in perm.enumerated() { off += idx[k] * strides[p] }
          return off
        }
      ]
    }),
  OpDefinition(
    name: "concat", arity: 1...Int.max, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let first = q.shape(0)
      guard let axis = Injective.axis(q.attributes.int("axis", default: 1), rank: first.count) else {
        throw q.error("axis \(q.attributes.int("axis", default: 1)) is out of range for \(first)")
      }
      var out = first
      for s in q.shapes.dropFirst() {
        guard s.count == first.count, s.indices.allSatisfy({ $0 == axis || s[$0] == first[$0] }) else {
          throw q.error("cannot concatenate \(first) and \(s) along axis \(axis)")
        }
        out[axis] += s[axis]
      }
      return out
    },
    reference: { ctx in
      let first = ctx.inputs[0]
      let axis = Injective.axis(ctx.attributes.int("axis", default: 1), rank: first.rank)!
      let outer = first.shape[..<axis].reduce(1, *)
      var out: [Float] = []
      var outShape = first.shape
      outShape[axis] = ctx.inputs.reduce(0) { $0 + $1.shape[axis] }
      for o in 0..<outer {
        for t in ctx.inputs {
          let chunk = t.shape[axis...].reduce(1, *)
          out += t.data[(o * chunk)..<((o + 1) * chunk)]
        }
      }
      return [Tensor(shape: outShape, data: out)]
    }),
  OpDefinition(
    name: "slice", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      guard let ranges = Injective.sliceRanges(q.attributes, shape: q.shape(0)) else {
        throw q.error("bad slice starts/ends/axes/steps for \(q.shape(0))")
      }
      return ranges.map(\.count)
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let ranges = Injective.sliceRanges(ctx.attributes, shape: x.shape)!
      let strides = x.strides
      return [
        Injective.gather(x, outShape: ranges.map(\.count)) { idx in
          var off = 0
          for k in idx.indices { off += (ranges[k].start + idx[k] * ranges[k].step) * strides[k] }
          return off
        }
      ]
    }),
  OpDefinition(
    name: "pad", arity: 1...1, pattern: { _ in .injective },
    inferShapes: shapeFn { q throws(GraphFuseError) in
      let x = q.shape(0)
      let pads = q.attributes.ints("pads", default: [])
      guard pads.count == 2 * x.count else { throw q.error("needs \(2 * x.count) pads for \(x), got \(pads.count)") }
      let out = x.indices.map { x[$0] + pads[$0] + pads[$0 + x.count] }
      guard out.allSatisfy({ $0 >= 0 }) else { throw q.error("pads \(pads) remove more than \(x)") }
      return out
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let pads = ctx.attributes.ints("pads", default: [])
      let value = Float(ctx.attributes.float("value", default: 0))
      let outShape = x.shape.indices.map { x.shape[$0] + pads[$0] + pads[$0 + x.rank] }
      let strides = x.strides
      return [
        Injective.gather(
          x, outShape: outShape,
          { idx in
            var off = 0
            for k in idx.indices {
              let i = idx[k] - pads[k]
              if i < 0 || i >= x.shape[k] { return nil }
              off += i * strides[k]
            }
            return off
          }, fill: value)
      ]
    }),
]
