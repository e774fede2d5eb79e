import GraphFuse

/// The ops of transformer and modern-convnet exports: LayerNormalization, Gelu, Einsum,
/// comparisons and selects, Expand, Mod, and the import-time-only Range and ScatterND.
extension ImportSession {
  mutating func layerNorm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let rank = shape(x).count
    let rawAxis = try node.int("axis", default: -1)
    let axis = rawAxis < 0 ? rawAxis + rank : rawAxis
    guard axis >= 0, axis < rank else { throw node.error("axis \(rawAxis) is out of range for \(shape(x))") }
    var inputs = [x, try required(node, 1)]
    if let bias = try input(node, 2) { inputs.append(bias) }
    let attributes: Attributes = [
      "axis": .int(axis), "epsilon": .float(Double(try node.float("epsilon", default: 1e-5))),
    ]
    return [try emit("layer_norm", inputs, attributes, node: node)]
  }

  mutating func gelu(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let approximate = try node.string("approximate", default: "none")
    guard approximate == "none" || approximate == "tanh" else {
      throw node.error("approximate '\(approximate)' is not one of none, tanh")
    }
    return [try emit("gelu", [try required(node, 0)], ["approximate": .int(approximate == "tanh" ? 1 : 0)], node: node)]
  }

  mutating func mod(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let fmod = try node.int("fmod", default: 0)
    let a = try required(node, 0), b = try required(node, 1)
    // ONNX requires fmod=1 for floating-point inputs; integers carried in float32 take either.
    if fmod == 0, !dataType(a).isInteger || !dataType(b).isInteger {
      throw node.error("fmod=0 on floating-point tensors is not defined by ONNX; use fmod=1")
    }
    return [try emit("mod", [a, b], ["fmod": .int(fmod)], node: node)]
  }

  mutating func whereOp(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    [try emit("where", [try required(node, 0), try required(node, 1), try required(node, 2)], node: node)]
  }

  /// Expand: numpy broadcasting of the input and the shape input (either may have 1s).
  mutating func expand(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard let target = try intsInput(node, 1, "shape") else { throw node.error("needs a shape input") }
    let xs = shape(x)
    let rank = max(xs.count, target.count)
    let a = [Int](repeating: 1, count: rank - xs.count) + xs
    let b = [Int](repeating: 1, count: rank - target.count) + target
    var out: [Int] = []
    for (p, q) in zip(a, b) {
      guard p == q || p == 1 || q == 1, q >= 0 else { throw node.error("cannot expand \(xs) to \(target)") }
      out.append(p == 1 ? q : p)
    }
    guard ConstantTensor.elementCount(out, limit: Self.maxRuntimeElements) != nil else {
      throw node.error("expanding to \(out) is too large")
    }
    if out == xs { return [x] }
    return [try emit("expand", [x], ["shape": .ints(out)], node: node)]
  }

  mutating func einsum(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let equation: EinsumEquation
    do throws(GraphFuseError) { equation = try EinsumEquation(try node.string("equation", default: "")) } catch {
      throw node.error(error.message)
    }
    var inputs: [Binding] = []
    for i in node.proto.inputs.indices { inputs.append(try required(node, i)) }
    return [try emit("einsum", inputs, ["equation": .string(equation.text)], node: node)]
  }

  /// Range: start, limit and delta must be constants; the result is a constant.
  mutating func range(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    var values: [ConstantTensor] = []
    for (i, what) in ["start", "limit", "delta"].enumerated() {
      guard let c = try constantInput(node, i, what), c.count == 1 else {
        throw node.error("\(what) must be a scalar constant")
      }
      values.append(c)
    }
    let name = node.proto.outputs.first ?? node.name
    if values.allSatisfy(\.isInteger) {
      let (start, limit, delta) = (values[0].ints[0], values[1].ints[0], values[2].ints[0])
      guard delta != 0 else { throw node.error("delta is 0") }
      let span = Double(limit) - Double(start)
      let count = max(Int((span / Double(delta)).rounded(.up)), 0)
      guard count <= ConstantTensor.maxFoldedGrowth else { throw node.error("the range holds \(count) elements") }
      return [
        .constant(
          ConstantTensor(shape: [count], ints: (0..<count).map { start + $0 * delta }, type: values[0].type), name: name
        )
      ]
    }
    let (start, limit, delta) = (
      Double(values[0].floatValues[0]), Double(values[1].floatValues[0]), Double(values[2].floatValues[0])
    )
    guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else {
      throw node.error("start, limit and delta must be finite, delta ≠ 0")
    }
    let steps = ((limit - start) / delta).rounded(.up)
    guard steps <= Double(ConstantTensor.maxFoldedGrowth) else { throw node.error("the range holds \(steps) elements") }
    let count = max(Int(steps), 0)
    return [
      .constant(
        ConstantTensor(shape: [count], floats: (0..<count).map { Float(start + Double($0) * delta) }), name: name)
    ]
  }

  /// ScatterND (reduction none): data, indices and updates must be constants.
  mutating func scatterND(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let reduction = try node.string("reduction", default: "none")
    guard reduction == "none" else { throw node.error("reduction '\(reduction)' is not supported") }
    guard var data = try constantInput(node, 0, "data"), let indices = try constantInput(node, 1, "indices"),
      let updates = try constantInput(node, 2, "updates")
    else { throw node.error("needs data, indices and updates") }
    guard let k = indices.shape.last, k <= data.shape.count, indices.isInteger else {
      throw node.error("indices of shape \(indices.shape) do not index data of shape \(data.shape)")
    }
    let slice = Array(data.shape[k...])
    let sliceCount = slice.reduce(1, *)
    let expected = Array(indices.shape.dropLast()) + slice
    guard updates.shape == expected else {
      throw node.error("updates have shape \(updates.shape), expected \(expected)")
    }
    let strides = Tensor.strides(of: data.shape)
    let rows = indices.count / max(k, 1)
    let updateValues =
      data.isInteger ? try updates.intValues("updates").map(Double.init) : updates.floatValues.map(Double.init)
    for r in 0..<(k == 0 ? 1 : rows) {
      var base = 0
      for a in 0..<k {
        var i = indices.ints[r * k + a]
        if i < 0 { i += data.shape[a] }
        guard i >= 0, i < data.shape[a] else {
          throw node.error("index \(indices.ints[r * k + a]) is out of range on axis \(a)")
        }
        base += i * strides[a]
      }
      for e in 0..<sliceCount {
        let v = updateValues[r * sliceCount + e]
        if data.isInteger { data.ints[base + e] = Int(v) } else { data.floats[base + e] = Float(v) }
      }
    }
    return [.constant(data, name: node.proto.outputs.first ?? node.name)]
  }
}
