import GraphFuse

/// Convolution, normalization, activation, arithmetic, pooling, dense and reduction ops.
extension ImportSession {
  static let unaryOps: [String: String] = [
    "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hard_swish",
    "Sqrt": "sqrt", "Exp": "exp", "Log": "log", "Neg": "neg", "Erf": "erf", "Not": "not",
    "IsNaN": "is_nan", "Sin": "sin", "Cos": "cos", "Ceil": "ceil", "Floor": "floor", "Round": "round", "Abs": "abs",
  ]
  static let binaryOps: [String: String] = [
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "max", "Min": "min", "Sum": "add",
    "Equal": "equal", "Less": "less", "LessOrEqual": "less_equal", "Greater": "greater",
    "GreaterOrEqual": "greater_equal", "And": "and", "Or": "or", "Xor": "xor",
  ]

  mutating func unary(_ node: ONNXNode, _ op: String, _ attributes: Attributes = [:]) throws(GraphFuseError)
    -> [Binding?]
  {
    [try emit(op, [try required(node, 0)], attributes, node: node)]
  }

  /// Add/Sub/Mul/Div/Pow with numpy broadcasting; variadic Max/Min/Sum fold left.
  mutating func binary(_ node: ONNXNode, _ op: String) throws(GraphFuseError) -> [Binding?] {
    var operands: [Binding] = []
    for i in node.proto.inputs.indices { if let b = try input(node, i) { operands.append(b) } }
    guard var result = operands.first else { throw node.error("needs at least one input") }
    if operands.count == 1 { return [result] }
    // x^2 and x^3 as products, as PyTorch's pow with a scalar exponent computes them (GPT-2's
    // GELU): exact in the same way and far cheaper than powf per element.
    if op == "pow", operands.count == 2, result.constant == nil, let c = operands[1].constant, c.count == 1,
      [2, 3].contains(c.floatValues[0])
    {
      let square = try emit("mul", [result, result], node: node, irName: c.floatValues[0] == 2 ? nil : "square")
      return [c.floatValues[0] == 2 ? square : try emit("mul", [square, result], node: node)]
    }
    // Opset < 7 `broadcast=1, axis=k`: B lines up with A's axes k…; trailing 1s make it numpy-style.
    if node.opset < 7, operands.count == 2, node.has("axis"), try node.int("broadcast", default: 0) != 0 {
      let a = shape(operands[0]), b = shape(operands[1])
      let rawAxis = try node.int("axis", default: 0)
      let axis = rawAxis < 0 ? rawAxis + a.count : rawAxis
      guard axis >= 0, axis + b.count <= a.count else {
        throw node.error("axis \(rawAxis) does not place \(b) inside \(a)")
      }
      let aligned = b + [Int](repeating: 1, count: a.count - axis - b.count)
      operands[1] = try emit("reshape", [operands[1]], ["shape": .ints(aligned)], node: node, irName: "align")
    }
    for (k, operand) in operands.enumerated().dropFirst() {
      let last = k == operands.count - 1
      // Integer division truncates toward zero (C, ONNX Runtime): the float quotient, truncated.
      if op == "div", dataType(result).isInteger, dataType(operand).isInteger,
        result.constant == nil || operand.constant == nil
      {
        let type = dataType(result)
        let quotient = try emit(op, [result, operand], node: node, irName: "quotient\(k)")
        result = try emit("trunc", [quotient], node: node, irName: last ? nil : "\(op)_\(k)", dataType: type)
        continue
      }
      result = try emit(op, [result, operand], node: node, irName: last ? nil : "\(op)_\(k)")
    }
    return [result]
  }

  /// Clip with min/max as attributes (opset < 11) or optional inputs, folded when constant.
  mutating func clip(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    var attributes = Attributes()
    if node.opset < 11 {
      attributes["min"] = .float(Double(try node.float("min", default: -.infinity)))
      attributes["max"] = .float(Double(try node.float("max", default: .infinity)))
      return [try emit("clip", [x], attributes, node: node)]
    }
    var runtimeBounds: [(String, Binding)] = []
    for (i, key) in [(1, "min"), (2, "max")] {
      guard let b = try input(node, i) else { continue }
      if let c = b.constant {
        guard c.count == 1 else { throw node.error("\(key) must be a scalar, got shape \(c.shape)") }
        attributes[key] = .float(Double(c.floatValues[0]))
      } else {
        runtimeBounds.append((key == "min" ? "max" : "min", b))
      }
    }
    var y = try emit("clip", [x], attributes, node: node, irName: runtimeBounds.isEmpty ? nil : "clip")
    for (k, (op, bound)) in runtimeBounds.enumerated() {
      y = try emit(op, [y, bound], node: node, irName: k == runtimeBounds.count - 1 ? nil : op)
    }
    return [y]
  }

  /// Resolves `auto_pad` and `pads` into explicit `[top, left, bottom, right]` pads.
  func windowPads(_ node: ONNXNode, input: [Int], kernel: [Int], strides: [Int], dilations: [Int])
    throws(GraphFuseError) -> [Int]
  {
    let autoPad = try node.string("auto_pad", default: "NOTSET")
    switch autoPad {
    case "NOTSET", "":
      let pads = try node.ints("pads") ?? [0, 0, 0, 0]
      guard pads.count == 4 else { throw node.error("expects 4 pads for a 2-d window, got \(pads)") }
      return pads
    case "VALID": return [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
      var pads = [0, 0, 0, 0]
      for axis in 0..<2 {
        guard strides[axis] > 0 else { throw node.error("strides must be positive") }
        let out = (input[axis] + strides[axis] - 1) / strides[axis]
        let span = (kernel[axis] - 1) * dilations[axis] + 1
        let total = max(0, (out - 1) * strides[axis] + span - input[axis])
        let small = total / 2
        pads[axis] = autoPad == "SAME_UPPER" ? small : total - small
        pads[axis + 2] = total - pads[axis]
      }
      return pads
    default: throw node.error("auto_pad '\(autoPad)' is not supported")
    }
  }

  private func window(_ node: ONNXNode, x: [Int], kernel: [Int]) throws(GraphFuseError) -> Attributes {
    if x.count == 3 { return try window1d(node, x: x, kernel: kernel) }
    guard x.count == 4 else {
      throw node.error("only 2-d windows (4-d NCHW inputs) are supported, got input shape \(x)")
    }
    let strides = try node.ints("strides") ?? [1, 1]
    let dilations = try node.ints("dilations") ?? [1, 1]
    guard kernel.count == 2, strides.count == 2, dilations.count == 2 else {
      throw node.error(
        "expects 2-d kernel, strides and dilations, got kernel \(kernel), strides \(strides), dilations \(dilations)")
    }
    let pads = try windowPads(node, input: Array(x[2...]), kernel: kernel, strides: strides, dilations: dilations)
    return ["strides": .ints(strides), "pads": .ints(pads), "dilations": .ints(dilations)]
  }

  mutating func conv(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0), w = try required(node, 1)
    let ws = shape(w)
    if ws.count == 5 && shape(x).count == 5 { return [try conv3d(node, x: x, w: w)] }
    let oneD = ws.count == 3 && shape(x).count == 3
    guard ws.count == 4 || oneD else {
      throw node.error("only 1-d, 2-d and some 3-d convolutions are supported, got weight shape \(ws)")
    }
    if let kernel = try node.ints("kernel_shape"), kernel != Array(ws[2...]) {
      throw node.error("kernel_shape \(kernel) does not match the weight shape \(ws)")
    }
    var attributes = try window(node, x: shape(x), kernel: Array(ws[2...]))
    attributes["group"] = .int(try node.int("group", default: 1))
    var inputs =
      oneD ? [try lift1d(x, node: node, irName: "as_2d"), try lift1d(w, node: node, irName: "weight_2d")] : [x, w]
    if let b = try input(node, 2) { inputs.append(b) }
    if oneD { return [try drop1d(try emit("conv2d", inputs, attributes, node: node, irName: "conv2d"), node: node)] }
    return [try emit("conv2d", inputs, attributes, node: node)]
  }

  mutating func convTranspose(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0), w = try required(node, 1)
    let xs = shape(x), ws = shape(w)
    guard xs.count == 4, ws.count == 4 else {
      throw node.error("only 2-d transposed convolution is supported, got input \(xs), weight \(ws)")
    }
    let autoPad = try node.string("auto_pad", default: "NOTSET")
    guard autoPad == "NOTSET" || autoPad == "" || autoPad == "VALID" else {
      throw node.error("auto_pad '\(autoPad)' is not supported for ConvTranspose; export with explicit pads")
    }
    let strides = try node.ints("strides") ?? [1, 1], dilations = try node.ints("dilations") ?? [1, 1]
    let outputPadding = try node.ints("output_padding") ?? [0, 0]
    guard strides.count == 2, dilations.count == 2, outputPadding.count == 2 else {
      throw node.error("expects 2 strides, dilations and output_padding values")
    }
    var pads = autoPad == "VALID" ? [0, 0, 0, 0] : (try node.ints("pads") ?? [0, 0, 0, 0])
    if let outputShape = try node.ints("output_shape") {
      guard outputShape.count >= 2 else {
        throw node.error("output_shape \(outputShape) needs the two spatial extents")
      }
      let target = Array(outputShape.suffix(2))
      for axis in 0..<2 {
        let total =
          strides[axis] * (xs[axis + 2] - 1) + outputPadding[axis] + (ws[axis + 2] - 1) * dilations[axis] + 1
          - target[axis]
        guard total >= 0 else {
          throw node.error("output_shape \(outputShape) is larger than the transposed convolution can produce")
        }
        // ONNX (and onnxruntime) put the larger half at the start unless auto_pad is SAME_UPPER.
        pads[axis] = total - total / 2
        pads[axis + 2] = total / 2
      }
    }
    guard pads.count == 4 else { throw node.error("expects 4 pads, got \(pads)") }
    let attributes: Attributes = [
      "strides": .ints(strides), "pads": .ints(pads), "dilations": .ints(dilations),
      "output_padding": .ints(outputPadding), "group": .int(try node.int("group", default: 1)),
    ]
    var inputs = [x, w]
    if let b = try input(node, 2) { inputs.append(b) }
    return [try emit("conv_transpose2d", inputs, attributes, node: node)]
  }

  mutating func batchNorm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    if node.opset < 9, (try node.int("spatial", default: 1)) == 0 {
      throw node.error("spatial=0 (per-element statistics) is not supported")
    }
    var inputs: [Binding] = []
    for i in 0..<5 { inputs.append(try required(node, i)) }
    let xs = shape(inputs[0])
    guard xs.count >= 2 else { throw node.error("input must have a channel axis, got shape \(xs)") }
    let names = ["scale", "bias", "mean", "var"]
    for i in 1..<5 where shape(inputs[i]) != [xs[1]] {
      let count = shape(inputs[i]).reduce(1, &*)
      throw node.error(
        "parameter '\(names[i - 1])' ('\(node.proto.inputs[i])') has \(count) values (shape \(shape(inputs[i]))), but "
          + "the input has \(xs[1]) channels"
      )
    }
    let extras = node.proto.outputs.dropFirst()
    let extraUsed = extras.prefix(2).contains { !$0.isEmpty && usedNames.contains($0) }
    let training = node.opset >= 14 ? (try node.int("training_mode", default: 0)) != 0 : extras.contains { !$0.isEmpty }
    if extraUsed, !training { throw node.error("running-statistics outputs are only defined in training mode") }
    let attributes: Attributes = [
      "epsilon": .float(Double(try node.float("epsilon", default: 1e-5))),
      "momentum": .float(Double(try node.float("momentum", default: 0.9))),
      "training": .int(training ? 1 : 0), "outputs": .int(extraUsed ? 3 : 1),
    ]
    if !extraUsed { return [try emit("batch_norm", inputs, attributes, node: node)] }
    var ids: [ValueID] = []
    for b in inputs { ids.append(try materialize(b)) }
    let names3 =
      Array(node.proto.outputs.prefix(3)) + [String](repeating: "", count: max(0, 3 - node.proto.outputs.count))
    let outputs = try graph.addNode(
      op: "batch_norm", inputs: ids, attributes: attributes, name: node.name, outputNames: names3)
    return outputs.map { Binding.value($0) }
  }

  mutating func pool(_ node: ONNXNode, max isMax: Bool) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard let kernel = try node.ints("kernel_shape") else { throw node.error("needs kernel_shape") }
    var attributes = try window(node, x: shape(x), kernel: kernel)
    let oneD = shape(x).count == 3
    attributes["kernel_shape"] = .ints(oneD ? [1] + kernel : kernel)
    attributes["ceil_mode"] = .int(try node.int("ceil_mode", default: 0))
    if !isMax { attributes["count_include_pad"] = .int(try node.int("count_include_pad", default: 0)) }
    let op = isMax ? "max_pool2d" : "avg_pool2d"
    if oneD {
      let pooled = try emit(op, [try lift1d(x, node: node, irName: "as_2d")], attributes, node: node, irName: op)
      return [try drop1d(pooled, node: node)]
    }
    return [try emit(op, [x], attributes, node: node)]
  }

  mutating func globalPool(_ node: ONNXNode, max isMax: Bool) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let rank = shape(x).count
    guard rank >= 3 else { throw node.error("expects an input of rank ≥ 3, got \(shape(x))") }
    if isMax {
      return [try emit("reduce_max", [x], ["axes": .ints(Array(2..<rank)), "keepdims": .int(1)], node: node)]
    }
    return [try emit("global_avg_pool", [x], node: node)]
  }

  mutating func gemm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    var inputs = [try required(node, 0), try required(node, 1)]
    if let c = try input(node, 2) { inputs.append(c) }
    let attributes: Attributes = [
      "alpha": .float(Double(try node.float("alpha", default: 1))),
      "beta": .float(Double(try node.float("beta", default: 1))),
      "transA": .int(try node.int("transA", default: 0)), "transB": .int(try node.int("transB", default: 0)),
    ]
    return [try emit("gemm", inputs, attributes, node: node)]
  }

  /// Softmax over one axis (opset ≥ 13) or over the flattened trailing axes (older opsets).
  mutating func softmax(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    let raw = try node.int("axis", default: node.opset >= 13 ? -1 : 1)
    let axis = raw < 0 ? raw + xs.count : raw
    guard axis >= 0, axis < max(xs.count, 1) else { throw node.error("axis \(raw) is out of range for \(xs)") }
    if node.opset >= 13 || axis == xs.count - 1 {
      return [try emit("softmax", [x], ["axis": .int(axis)], node: node)]
    }
    let flat = [xs[..<axis].reduce(1, *), xs[axis...].reduce(1, *)]
    let folded = try emit("reshape", [x], ["shape": .ints(flat)], node: node, irName: "reshape_in")
    let y = try emit("softmax", [folded], ["axis": .int(1)], node: node, irName: "softmax")
    return [try emit("reshape", [y], ["shape": .ints(xs)], node: node)]
  }

  /// ReduceMean / ReduceSum / ReduceMax with axes as an attribute or (newer opsets) an input.
  mutating func reduce(_ node: ONNXNode, _ op: String, axesInputSince: Int) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let axes = node.opset >= axesInputSince ? try intsInput(node, 1, "axes") : try node.ints("axes")
    var attributes: Attributes = ["keepdims": .int(try node.int("keepdims", default: 1))]
    if let axes, !axes.isEmpty {
      attributes["axes"] = .ints(axes)
    } else if (try node.int("noop_with_empty_axes", default: 0)) != 0 {
      return [x]
    }
    return [try emit(op, [x], attributes, node: node)]
  }
}
