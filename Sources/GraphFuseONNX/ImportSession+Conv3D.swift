import GraphFuse

/// A 3-d convolution whose kernel spans one spatial axis with extent 1 (stride 1, no padding), as
/// timm's lambda layers use (`Conv3d` with an `r × r × 1` kernel): that axis holds independent 2-d
/// convolutions, so it moves into the batch (a transpose and a reshape), one `conv2d` runs them
/// all, and the result moves back. The folds are injective and fuse with their neighbours; 3-d
/// convolutions that mix all three axes are refused with the kernel, strides and pads they have.
extension ImportSession {
  /// `conv` of a 5-d input `x` (`[N, C, D₀, D₁, D₂]`) by a 5-d weight `w` as a `conv2d` over the
  /// two axes the kernel spans.
  mutating func conv3d(_ node: ONNXNode, x: Binding, w: Binding) throws(GraphFuseError) -> Binding {
    let xs = shape(x), ws = shape(w)
    let kernel = Array(ws[2...])
    if let given = try node.ints("kernel_shape"), given != kernel {
      throw node.error("kernel_shape \(given) does not match the weight shape \(ws)")
    }
    let strides = try node.ints("strides") ?? [1, 1, 1], dilations = try node.ints("dilations") ?? [1, 1, 1]
    let autoPad = try node.string("auto_pad", default: "NOTSET")
    let pads: [Int]
    switch autoPad {
    case "NOTSET", "": pads = try node.ints("pads") ?? [Int](repeating: 0, count: 6)
    case "VALID": pads = [Int](repeating: 0, count: 6)
    default: throw node.error("auto_pad '\(autoPad)' is not supported for a 3-d convolution; export with explicit pads")
    }
    guard strides.count == 3, dilations.count == 3, pads.count == 6 else {
      throw node.error("expects 3 strides, 3 dilations and 6 pads, got \(strides), \(dilations), \(pads)")
    }
    guard
      let axis = (0..<3).first(where: { kernel[$0] == 1 && strides[$0] == 1 && pads[$0] == 0 && pads[$0 + 3] == 0 })
    else {
      throw node.error(
        "a 3-d convolution needs a kernel extent of 1 (stride 1, no padding) along one spatial axis, got kernel "
          + "\(kernel), strides \(strides), pads \(pads)")
    }
    let kept = (0..<3).filter { $0 != axis }
    let (n, depth) = (xs[0], xs[2 + axis])
    let moved = try emit(
      "transpose", [x], ["perm": .ints([0, 2 + axis, 1, 2 + kept[0], 2 + kept[1]])], node: node, irName: "fold_axis")
    let folded = try emit(
      "reshape", [moved], ["shape": .ints([n * depth, xs[1], xs[2 + kept[0]], xs[2 + kept[1]]])], node: node,
      irName: "as_2d")
    let weight = try emit(
      "reshape", [w], ["shape": .ints([ws[0], ws[1], kernel[kept[0]], kernel[kept[1]]])], node: node,
      irName: "weight_2d")
    var inputs = [folded, weight]
    if let b = try input(node, 2) { inputs.append(b) }
    let attributes: Attributes = [
      "strides": .ints(kept.map { strides[$0] }), "dilations": .ints(kept.map { dilations[$0] }),
      "pads": .ints(kept.map { pads[$0] } + kept.map { pads[$0 + 3] }),
      "group": .int(try node.int("group", default: 1)),
    ]
    let conv = try emit("conv2d", inputs, attributes, node: node, irName: "conv2d")
    let cs = shape(conv)
    let unfolded = try emit(
      "reshape", [conv], ["shape": .ints([n, depth, cs[1], cs[2], cs[3]])], node: node, irName: "unfold_axis")
    // Output axis 2 + s is the folded axis (1 of `unfolded`) or a convolved one (3 or 4).
    let perm = [0, 2] + (0..<3).map { $0 == axis ? 1 : 3 + kept.firstIndex(of: $0)! }
    return try emit("transpose", [unfolded], ["perm": .ints(perm)], node: node)
  }
}
