import GraphFuse

/// Ops of text and image exports that index by position: Trilu, CumSum, Tile and GatherElements,
/// each as IR ops that exist already where it can be (a constant mask, expand and reshape, a gather).
extension ImportSession {
  /// Trilu(x, k) {upper}: the upper (or lower) triangle of the last two axes from diagonal `k`,
  /// zero elsewhere: `where(mask, x, 0)` with a constant mask, so infinities off the triangle
  /// do not leak into it.
  mutating func trilu(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    guard xs.count >= 2 else { throw node.error("needs a tensor of rank 2 or more, got \(xs)") }
    let k =
      try intsInput(node, 1, "k").map { values throws(GraphFuseError) -> Int in
        guard values.count == 1 else { throw node.error("k must hold one value") }
        return values[0]
      } ?? 0
    let upper = try node.int("upper", default: 1) != 0
    let (rows, columns) = (xs[xs.count - 2], xs[xs.count - 1])
    var mask: [Int] = []
    mask.reserveCapacity(rows * columns)
    for i in 0..<rows {
      for j in 0..<columns { mask.append((upper ? j - i >= k : j - i <= k) ? 1 : 0) }
    }
    let maskTensor = Binding.constant(
      ConstantTensor(shape: [rows, columns], ints: mask, type: .bool), name: node.name + "/mask")
    let zero = Binding.constant(ConstantTensor(shape: [], floats: [0]), name: node.name + "/zero")
    return [try emit("where", [maskTensor, x, zero], node: node, dataType: dataType(x))]
  }

  /// CumSum(x, axis) {exclusive, reverse}: running sums along one axis.
  mutating func cumSum(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard let axisValues = try intsInput(node, 1, "axis"), axisValues.count == 1 else {
      throw node.error("axis must be one constant value")
    }
    let rank = shape(x).count
    guard axisValues[0] >= -rank, axisValues[0] < max(rank, 1) else {
      throw node.error("axis \(axisValues[0]) is out of range for rank \(rank)")
    }
    let attributes: Attributes = [
      "axis": .int(axisValues[0] < 0 ? axisValues[0] + rank : axisValues[0]),
      "exclusive": .int(try node.int("exclusive", default: 0)), "reverse": .int(try node.int("reverse", default: 0)),
    ]
    return [try emit("cumsum", [x], attributes, node: node)]
  }

  /// Tile(x, repeats): each axis repeated; as `reshape → expand → reshape` (axis `a` of extent
  /// `n` becomes `[r, n]`, broadcast from `[1, n]`, then merged to `r·n`).
  mutating func tile(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    guard let repeats = try intsInput(node, 1, "repeats"), repeats.count == xs.count, repeats.allSatisfy({ $0 >= 1 })
    else {
      throw node.error("repeats must be \(xs.count) positive constants, one per axis of \(xs)")
    }
    if repeats.allSatisfy({ $0 == 1 }) { return [x] }
    let split = xs.flatMap { [1, $0] }
    let expanded = zip(repeats, xs).flatMap { [$0, $1] }
    let result = zip(repeats, xs).map { $0 * $1 }
    guard ConstantTensor.elementCount(result, limit: Self.maxRuntimeElements) != nil else {
      throw node.error("tiling \(xs) by \(repeats) is too large")
    }
    let a = try emit("reshape", [x], ["shape": .ints(split)], node: node, irName: "split")
    let b = try emit("expand", [a], ["shape": .ints(expanded)], node: node, irName: "repeat")
    return [try emit("reshape", [b], ["shape": .ints(result)], node: node)]
  }

  /// GatherElements(data, indices) {axis} with constant indices: element `i` of the output is
  /// `data` at `i` with axis `axis` replaced by `indices[i]`; a gather of the flattened data.
  mutating func gatherElements(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let data = try required(node, 0)
    let ds = shape(data)
    guard let indices = try constantInput(node, 1, "indices") else { throw node.error("needs indices") }
    let values = try indices.intValues("indices")
    let rawAxis = try node.int("axis", default: 0)
    let axis = rawAxis < 0 ? rawAxis + ds.count : rawAxis
    guard axis >= 0, axis < ds.count, indices.shape.count == ds.count else {
      throw node.error("indices \(indices.shape) with axis \(rawAxis) do not index data \(ds)")
    }
    let strides = Tensor.strides(of: ds), outStrides = Tensor.strides(of: indices.shape)
    var flat: [Int] = []
    flat.reserveCapacity(values.count)
    for (position, v) in values.enumerated() {
      guard v >= -ds[axis], v < ds[axis] else {
        throw node.error("index \(v) is out of range for extent \(ds[axis]) (axis \(axis) of \(ds))")
      }
      var offset = 0
      for a in ds.indices {
        let coordinate = position / outStrides[a] % indices.shape[a]
        guard a == axis || coordinate < ds[a] else { throw node.error("indices \(indices.shape) exceed data \(ds)") }
        offset += (a == axis ? (v < 0 ? v + ds[a] : v) : coordinate) * strides[a]
      }
      flat.append(offset)
    }
    let line = try emit("reshape", [data], ["shape": .ints([ds.reduce(1, *)])], node: node, irName: "flat")
    let attributes: Attributes = ["axis": .int(0), "indices": .ints(flat), "indices_shape": .ints(indices.shape)]
    return [try emit("gather", [line], attributes, node: node)]
  }
}
