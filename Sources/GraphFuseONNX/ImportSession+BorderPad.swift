import GraphFuse

/// Pad's border modes as the injective ops they amount to, so every backend runs them with no op of
/// their own: per padded axis, negative pads first crop (a slice), then the border parts (slices
/// of the input, reversed for reflect, broadcast for edge) are concatenated around it. One fused
/// group reads them as index remaps, as ONNX Runtime's and PyTorch's reflection kernels compute
/// the mirrored index per element.
extension ImportSession {
  /// `x` padded by `pads` (ONNX order: the starts of every axis, then the ends) in `mode`:
  /// `reflect` mirrors without repeating the edge (`[a b c]` padded by 2 at the start gives
  /// `[c b a b c]`), `edge` repeats the edge element, `wrap` continues from the other end.
  mutating func borderPad(_ x: Binding, pads: [Int], mode: String, node: ONNXNode) throws(GraphFuseError) -> Binding {
    let rank = shape(x).count
    let axes = (0..<rank).filter { pads[$0] != 0 || pads[$0 + rank] != 0 }
    var y = x
    for axis in axes {
      var (before, after) = (pads[axis], pads[axis + rank])
      let last = axis == axes.last
      func slice(_ v: Binding, _ start: Int, _ end: Int, step: Int = 1, _ tag: String) throws(GraphFuseError)
        -> Binding
      {
        try emit(
          "slice", [v],
          ["starts": .ints([start]), "ends": .ints([end]), "axes": .ints([axis]), "steps": .ints([step])],
          node: node, irName: "\(tag)\(axis)")
      }
      if before < 0 || after < 0 {
        let n = shape(y)[axis], start = max(0, -before), end = n - max(0, -after)
        guard end > start else { throw node.error("pads \(before), \(after) crop all of axis \(axis) (extent \(n))") }
        y = try slice(y, start, end, "crop")
        (before, after) = (max(0, before), max(0, after))
        if before == 0 && after == 0 {
          if last { y = try emit("identity", [y], node: node) }
          continue
        }
      }
      let n = shape(y)[axis]
      var parts: [Binding] = []
      switch mode {
      case "reflect":
        guard before < n, after < n else {
          throw node.error("reflect pads \(before), \(after) on axis \(axis) must be under its extent \(n)")
        }
        if before > 0 { parts.append(try slice(y, before, 0, step: -1, "reflect_start")) }
        parts.append(y)
        // The end mirror runs from n - 2 down to n - 1 - after; an end of -1 would mean the last element.
        if after > 0 {
          parts.append(try slice(y, n - 2, n - 2 - after >= 0 ? n - 2 - after : -(n + 1), step: -1, "reflect_end"))
        }
      case "edge":
        guard n > 0 else { throw node.error("edge pads an empty axis \(axis)") }
        func edge(_ index: Int, _ count: Int, _ tag: String) throws(GraphFuseError) -> Binding {
          var target = shape(y)
          target[axis] = count
          let element = try slice(y, index, index + 1, tag)
          return try emit("expand", [element], ["shape": .ints(target)], node: node, irName: "\(tag)_repeat\(axis)")
        }
        if before > 0 { parts.append(try edge(0, before, "edge_start")) }
        parts.append(y)
        if after > 0 { parts.append(try edge(n - 1, after, "edge_end")) }
      default:  // wrap
        guard before <= n, after <= n else {
          throw node.error("wrap pads \(before), \(after) on axis \(axis) must be at most its extent \(n)")
        }
        if before > 0 { parts.append(try slice(y, n - before, n, "wrap_start")) }
        parts.append(y)
        if after > 0 { parts.append(try slice(y, 0, after, "wrap_end")) }
      }
      y = try emit("concat", parts, ["axis": .int(axis)], node: node, irName: last ? nil : "pad\(axis)")
    }
    return y
  }
}
