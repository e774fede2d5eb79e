import GraphFuse

/// InstanceNormalization and GroupNormalization as a layer norm over each group's elements
/// followed by a per-channel scale and shift; the `groupNorm` pass makes that a `group_norm` of a
/// rank-4 input, which runs on the blocked layout.
extension ImportSession {
  /// InstanceNormalization(x, scale, bias) {epsilon}: one group per channel.
  mutating func instanceNorm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard shape(x).count >= 3 else { throw node.error("needs an input of rank 3 or more, got \(shape(x))") }
    return [try groupNorm(node, x: x, groups: shape(x)[1], perGroupAffine: false)]
  }

  /// GroupNormalization(x, scale, bias) {epsilon, num_groups}: scale and bias per group (opset 18)
  /// or per channel (opset 21 on).
  mutating func groupNormalization(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard shape(x).count >= 3 else { throw node.error("needs an input of rank 3 or more, got \(shape(x))") }
    let groups = try node.int("num_groups", default: 0)
    return [try groupNorm(node, x: x, groups: groups, perGroupAffine: node.opset < 21)]
  }

  private mutating func groupNorm(_ node: ONNXNode, x: Binding, groups: Int, perGroupAffine: Bool)
    throws(GraphFuseError) -> Binding
  {
    let xs = shape(x)
    let (n, c) = (xs[0], xs[1])
    guard groups >= 1, c % groups == 0 else { throw node.error("\(c) channels do not split into \(groups) groups") }
    let rows = xs.dropFirst(2).reduce(1, *) * (c / groups)
    let epsilon = Double(try node.float("epsilon", default: 1e-5))
    var affine: [Binding?] = []
    for (i, what) in [(1, "scale"), (2, "bias")] {
      let b = try required(node, i)
      let expected = perGroupAffine ? groups : c
      guard shape(b).reduce(1, *) == expected else {
        throw node.error("\(what) has shape \(shape(b)), expected \(expected) values")
      }
      // A scale of ones and a bias of zeros (PyTorch's export of nn.GroupNorm) change nothing.
      if let constant = b.constant, constant.floats.allSatisfy({ $0 == (i == 1 ? 1 : 0) }) {
        affine.append(nil)
        continue
      }
      var perChannel = try emit(
        "reshape", [b], ["shape": .ints([perGroupAffine ? groups : c, 1])], node: node,
        irName: what)
      if perGroupAffine, groups != c {
        perChannel = try emit(
          "expand", [perChannel], ["shape": .ints([groups, c / groups])], node: node,
          irName: what + "_expand")
      }
      let spatial = [Int](repeating: 1, count: xs.count - 2)
      affine.append(
        try emit(
          "reshape", [perChannel], ["shape": .ints([c] + spatial)], node: node,
          irName: what + "_channels"))
    }
    let ones = Binding.constant(
      ConstantTensor(shape: [rows], floats: [Float](repeating: 1, count: rows)),
      name: node.name + "/ones")
    let grouped = try emit("reshape", [x], ["shape": .ints([n, groups, rows])], node: node, irName: "groups")
    let normalized = try emit(
      "layer_norm", [grouped, ones], ["axis": .int(2), "epsilon": .float(epsilon)], node: node, irName: "normalize")
    // The last node emitted takes the ONNX output's name.
    let last = affine[1] != nil ? 2 : affine[0] != nil ? 1 : 0
    var result = try emit(
      "reshape", [normalized], ["shape": .ints(xs)], node: node, irName: "ungroup", namesOutput: last == 0)
    if let scale = affine[0] {
      result = try emit("mul", [result, scale], node: node, irName: "scale", namesOutput: last == 1)
    }
    if let bias = affine[1] { result = try emit("add", [result, bias], node: node) }
    return result
  }
}
