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

  /// ScatterND (reduction none), indices constant. With constant data and updates it folds; with
  /// data computed at run time (PyTorch's slice assignment `x[…, a:b, c:d] = y`, as MViTv2's
  /// attention adds its relative positions) the indices must cover a box in row-major order: see
  /// ``scatterBox(_:data:indices:updates:)``.
  mutating func scatterND(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let reduction = try node.string("reduction", default: "none")
    guard reduction == "none" else { throw node.error("reduction '\(reduction)' is not supported") }
    guard let indices = try constantInput(node, 1, "indices") else { throw node.error("needs indices") }
    let dataBinding = try required(node, 0), updatesBinding = try required(node, 2)
    guard var data = dataBinding.constant, let updates = updatesBinding.constant else {
      return [try scatterBox(node, data: dataBinding, indices: indices, updates: updatesBinding)]
    }
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

  /// ScatterND of data computed at run time whose constant indices write a box (a range on each
  /// indexed axis, whole slices past them) in row-major order, each element once: the updates,
  /// reshaped to the box and padded with zeros to the data's shape, selected inside the box by one
  /// `where` per axis the box does not span (a mask `[1, …, extent, …, 1]`), the data outside.
  mutating func scatterBox(_ node: ONNXNode, data: Binding, indices: ConstantTensor, updates: Binding)
    throws(GraphFuseError) -> Binding
  {
    let ds = shape(data)
    guard let k = indices.shape.last, k >= 1, k <= ds.count, indices.isInteger else {
      throw node.error("indices of shape \(indices.shape) do not index data of shape \(ds)")
    }
    guard dataType(data) == .float32, dataType(updates) == .float32 else {
      throw node.error("data computed at run time must be float32 to scatter into")
    }
    let rows = indices.count / k
    let slice = Array(ds[k...])
    guard shape(updates) == Array(indices.shape.dropLast()) + slice else {
      throw node.error("updates have shape \(shape(updates)), expected \(Array(indices.shape.dropLast()) + slice)")
    }
    let refused = "indices that do not cover one box in row-major order need constant data"
    var coordinates = [[Int]](repeating: [], count: rows)
    for r in 0..<rows {
      for a in 0..<k {
        var i = indices.ints[r * k + a]
        if i < 0 { i += ds[a] }
        guard i >= 0, i < ds[a] else {
          throw node.error("index \(indices.ints[r * k + a]) is out of range on axis \(a)")
        }
        coordinates[r].append(i)
      }
    }
    guard let first = coordinates.first, let last = coordinates.last else { return data }
    let extents = (0..<k).map { last[$0] - first[$0] + 1 }
    guard extents.allSatisfy({ $0 >= 1 }), extents.reduce(1, *) == rows else { throw node.error(refused) }
    let strides = Tensor.strides(of: extents)
    for (r, c) in coordinates.enumerated() {
      for a in 0..<k where c[a] != first[a] + (r / strides[a]) % extents[a] { throw node.error(refused) }
    }
    let box = extents + slice
    var value = updates
    if shape(updates) != box { value = try emit("reshape", [value], ["shape": .ints(box)], node: node, irName: "box") }
    let ends = (0..<ds.count).map { $0 < k ? ds[$0] - first[$0] - extents[$0] : 0 }
    let begins = (0..<ds.count).map { $0 < k ? first[$0] : 0 }
    if box != ds {
      value = try emit("pad", [value], ["pads": .ints(begins + ends)], node: node, irName: "padded")
    }
    for a in (0..<k).reversed() where extents[a] < ds[a] {
      var along = [Int](repeating: 1, count: ds.count)
      along[a] = ds[a]
      let mask = (0..<ds[a]).map { Float($0 >= first[a] && $0 < first[a] + extents[a] ? 1 : 0) }
      let inside = Binding.constant(ConstantTensor(shape: along, floats: mask), name: "")
      value = try emit("where", [inside, value, data], node: node, irName: "axis\(a)")
    }
    return try emit("identity", [value], node: node)
  }
}
