import GraphFuse

/// 1-d Conv, MaxPool and AveragePool as their 2-d forms over a height-1 image: `[N, C, L]`
/// becomes `[N, C, 1, L]` (weights `[O, C/g, K]` become `[O, C/g, 1, K]`, folded at import),
/// the window gets stride, dilation and padding 1, 1 and 0 on the new axis, and the result is
/// reshaped back to `[N, C', L']`. Both backends then run the 2-d kernels.
extension ImportSession {
  /// Window attributes of a 1-d op, in the 2-d form.
  func window1d(_ node: ONNXNode, x: [Int], kernel: [Int]) throws(GraphFuseError) -> Attributes {
    let strides = try node.ints("strides") ?? [1]
    let dilations = try node.ints("dilations") ?? [1]
    guard kernel.count == 1, strides.count == 1, dilations.count == 1 else {
      throw node.error(
        "expects 1-d kernel, strides and dilations, got kernel \(kernel), strides \(strides), dilations \(dilations)")
    }
    let autoPad = try node.string("auto_pad", default: "NOTSET")
    let pads: [Int]
    if autoPad == "NOTSET" || autoPad.isEmpty {
      let given = try node.ints("pads") ?? [0, 0]
      guard given.count == 2 else { throw node.error("expects 2 pads for a 1-d window, got \(given)") }
      pads = [0, given[0], 0, given[1]]
    } else {
      pads = try windowPads(
        node, input: [1, x[2]], kernel: [1, kernel[0]], strides: [1, strides[0]], dilations: [1, dilations[0]])
    }
    return ["strides": .ints([1, strides[0]]), "pads": .ints(pads), "dilations": .ints([1, dilations[0]])]
  }

  /// `[A, B, L]` → `[A, B, 1, L]`.
  mutating func lift1d(_ b: Binding, node: ONNXNode, irName: String) throws(GraphFuseError) -> Binding {
    let s = shape(b)
    guard s.count == 3 else { throw node.error("expects a 3-d operand for a 1-d window, got \(s)") }
    return try emit("reshape", [b], ["shape": .ints([s[0], s[1], 1, s[2]])], node: node, irName: irName)
  }

  /// `[A, B, 1, L]` → `[A, B, L]`, named after the ONNX output.
  mutating func drop1d(_ b: Binding, node: ONNXNode) throws(GraphFuseError) -> Binding {
    let s = shape(b)
    return try emit(
      "reshape", [b], ["shape": .ints([s[0], s[1], s[3]])], node: node, irName: "as_1d", namesOutput: true)
  }
}
