import GraphFuse

/// ReduceSumSquare and ReduceL2 as `mul` (the square), `reduce_sum` and, for L2, `sqrt`.
extension ImportSession {
  /// `x·x → reduce_sum [→ sqrt]` with the axes as an attribute (opset < 18) or an input; the
  /// helper nodes are `NODE/square` and (L2) `NODE/sum`. Empty axes reduce every axis;
  /// `noop_with_empty_axes = 1` with empty axes is refused (ONNX and ONNX Runtime disagree on
  /// whether the square is still applied).
  mutating func reduceSquares(_ node: ONNXNode, root: Bool) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let axes = node.opset >= 18 ? try intsInput(node, 1, "axes") : try node.ints("axes")
    var attributes: Attributes = ["keepdims": .int(try node.int("keepdims", default: 1))]
    if let axes, !axes.isEmpty {
      attributes["axes"] = .ints(axes)
    } else if (try node.int("noop_with_empty_axes", default: 0)) != 0 {
      throw node.error("noop_with_empty_axes = 1 with no axes is not supported")
    }
    let square = try emit("mul", [x, x], node: node, irName: "square")
    guard root else { return [try emit("reduce_sum", [square], attributes, node: node)] }
    let sum = try emit("reduce_sum", [square], attributes, node: node, irName: "sum")
    return [try emit("sqrt", [sum], node: node)]
  }
}
