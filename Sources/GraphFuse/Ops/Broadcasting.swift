/// Numpy broadcasting of shapes and the reference evaluation of elementwise math.
enum Broadcasting {
  /// The broadcast result of two shapes, or nil when they are incompatible.
  static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
    }
    return result
  }

  /// The broadcast shape of every input of a query, or an error naming the shapes.
  static func inferShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
    var result = q.shape(0)
    for i in 1..<q.inputs.count {
      guard let s = shape(result, q.shape(i)) else {
        throw q.error("cannot broadcast shapes \(result) and \(q.shape(i))")
      }
      result = s
    }
    return [result]
  }

  /// For an input of `shape` broadcast to `outShape`, the element strides to use (0 on broadcast axes).
  static func strides(of shape: [Int], broadcastTo outShape: [Int]) -> [Int] {
    let own = Tensor.strides(of: shape)
    let offset = outShape.count - shape.count
    return (0..<outShape.count).map { i in
      i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
    }
  }

  /// Evaluates `expr` at every element of the broadcast output, in Double.
  static func evaluate(_ expr: ScalarExpr, _ inputs: [Tensor], outShape: [Int]) -> Tensor {
    let count = outShape.reduce(1, *)
    let strides = inputs.map { Broadcasting.strides(of: $0.shape, broadcastTo: outShape) }
    var out = [Float](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: outShape.count)
    var operands = [Double](repeating: 0, count: inputs.count)
    for flat in 0..<count {
      for k in 0..<inputs.count {
        var offset = 0
        for axis in 0..<index.count { offset += index[axis] * strides[k][axis] }
        operands[k] = Double(inputs[k].data[offset])
      }
      out[flat] = Float(expr.evaluate(operands))
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
}

extension OpDefinition {
  /// An op defined by per-element math over broadcast operands.
  static func pointwise(
    _ name: String, arity: ClosedRange<Int> = 1...1, pattern: OpPattern,
    _ math: @escaping @Sendable (Attributes) -> ScalarExpr
  ) -> OpDefinition {
    OpDefinition(
      name: name, arity: arity, pattern: { _ in pattern },
      inferShapes: { q throws(GraphFuseError) in try Broadcasting.inferShape(q) },
      reference: { ctx in
        var shape = ctx.inputs[0].shape
        for t in ctx.inputs.dropFirst() { shape = Broadcasting.shape(shape, t.shape) ?? shape }
        return [Broadcasting.evaluate(math(ctx.attributes), ctx.inputs, outShape: shape)]
      },
      scalar: math)
  }
}
