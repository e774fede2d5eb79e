import GraphFuse

/// ONNX activations, reductions and layout ops that are short compositions of IR ops, so both
/// backends run them with no kernel of their own and fusion puts them in their neighbours' groups
/// (as ONNX Runtime's function bodies and TVM's Relay legalizations expand them). Each piece is
/// exact where the ONNX definition is (a `max(x, 0)` or `min(x, 0)` split of PRelu and Elu adds a
/// zero) and numerically stable where the direct formula is not (Softplus never overflows).
extension ImportSession {
  /// The ONNX ops this file translates.
  static let composedOps: Set<String> = [
    "PRelu", "Elu", "Selu", "Celu", "ThresholdedRelu", "Softplus", "Softsign", "Mish", "Reciprocal", "Sign", "Mean",
    "ReduceMin", "ReduceL1", "ReduceLogSumExp", "LogSoftmax", "DepthToSpace", "SpaceToDepth", "ArgMax", "ArgMin",
  ]

  /// Translates one of ``composedOps``.
  mutating func composed(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    switch node.opType {
    case "PRelu": return [try prelu(node)]
    case "Elu", "Selu", "Celu": return [try exponentialLinear(node)]
    case "ThresholdedRelu":
      let x = try required(node, 0)
      let alpha = scalar(try node.float("alpha", default: 1))
      let above = try emit("greater", [x, alpha], node: node, irName: "above")
      return [try emit("where", [above, x, scalar(0)], node: node)]
    case "Softplus": return [try softplus(try required(node, 0), node: node, named: true)]
    case "Softsign":
      let x = try required(node, 0)
      let magnitude = try emit("abs", [x], node: node, irName: "abs")
      let denominator = try emit("add", [magnitude, scalar(1)], node: node, irName: "denominator")
      return [try emit("div", [x, denominator], node: node)]
    case "Mish":
      let x = try required(node, 0)
      let s = try softplus(x, node: node, named: false)
      let t = try emit("tanh", [s], node: node, irName: "tanh")
      return [try emit("mul", [x, t], node: node)]
    case "Reciprocal": return [try emit("div", [scalar(1), try required(node, 0)], node: node)]
    case "Sign":
      let x = try required(node, 0)
      let positive = try emit("greater", [x, scalar(0)], node: node, irName: "positive")
      let negative = try emit("less", [x, scalar(0)], node: node, irName: "negative")
      let up = try emit("where", [positive, scalar(1), scalar(0)], node: node, irName: "up")
      return [try emit("where", [negative, scalar(-1), up], node: node)]
    case "Mean":
      var operands: [Binding] = []
      for i in node.proto.inputs.indices { if let b = try input(node, i) { operands.append(b) } }
      guard var sum = operands.first else { throw node.error("needs at least one input") }
      for (k, operand) in operands.enumerated().dropFirst() {
        sum = try emit("add", [sum, operand], node: node, irName: "sum\(k)")
      }
      return [try emit("div", [sum, scalar(Float(operands.count))], node: node)]
    case "ReduceMin", "ReduceL1", "ReduceLogSumExp": return [try composedReduction(node)]
    case "LogSoftmax": return [try logSoftmax(node)]
    case "ArgMax", "ArgMin": return [try argExtreme(node)]
    default: return [try depthSpace(node)]
    }
  }

  /// A rank-0 float constant.
  func scalar(_ v: Float) -> Binding { .constant(ConstantTensor(shape: [], floats: [v]), name: "") }

  /// `max(x, 0) + slope · min(x, 0)`, the slope broadcast numpy-style (opset ≥ 7) or, in older
  /// opsets, per channel when it has one value per channel.
  mutating func prelu(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    var slope = try required(node, 1)
    let xs = shape(x), ss = shape(slope)
    // A [C] slope on [N, C, …] (opset < 7 "unidirectional" per-channel form, still exported) lines
    // up with the channel axis.
    if ss.count == 1, xs.count >= 3, ss[0] == xs[1], ss[0] != xs[xs.count - 1] || node.opset < 7 {
      slope = try emit(
        "reshape", [slope], ["shape": .ints([ss[0]] + [Int](repeating: 1, count: xs.count - 2))], node: node,
        irName: "per_channel")
    }
    let positive = try emit("max", [x, scalar(0)], node: node, irName: "positive")
    let negative = try emit("min", [x, scalar(0)], node: node, irName: "negative")
    let scaled = try emit("mul", [slope, negative], node: node, irName: "scaled")
    return try emit("add", [positive, scaled], node: node)
  }

  /// Elu `max(x, 0) + α(e^min(x, 0) − 1)`, Selu `γ` times that, Celu
  /// `max(x, 0) + α(e^(min(x, 0)/α) − 1)`.
  mutating func exponentialLinear(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    let op = node.opType
    let alpha = try node.float("alpha", default: op == "Selu" ? 1.67326319217681884765625 : 1)
    let gamma = try node.float("gamma", default: 1.05070102214813232421875)
    let positive = try emit("max", [x, scalar(0)], node: node, irName: "positive")
    var negative = try emit("min", [x, scalar(0)], node: node, irName: "negative")
    if op == "Celu" {
      guard alpha != 0 else { throw node.error("alpha must not be 0") }
      negative = try emit("div", [negative, scalar(alpha)], node: node, irName: "over_alpha")
    }
    let e = try emit("exp", [negative], node: node, irName: "exp")
    let em1 = try emit("sub", [e, scalar(1)], node: node, irName: "expm1")
    let tail = try emit("mul", [em1, scalar(alpha)], node: node, irName: "alpha")
    guard op == "Selu" else { return try emit("add", [positive, tail], node: node) }
    let sum = try emit("add", [positive, tail], node: node, irName: "sum")
    return try emit("mul", [sum, scalar(gamma)], node: node)
  }

  /// `max(x, 0) + log(1 + e^−|x|)`: ln(1 + eˣ) without overflow for large x.
  mutating func softplus(_ x: Binding, node: ONNXNode, named: Bool) throws(GraphFuseError) -> Binding {
    let positive = try emit("max", [x, scalar(0)], node: node, irName: "softplus_positive")
    let magnitude = try emit("abs", [x], node: node, irName: "softplus_abs")
    let negated = try emit("neg", [magnitude], node: node, irName: "softplus_neg")
    let e = try emit("exp", [negated], node: node, irName: "softplus_exp")
    let onePlus = try emit("add", [e, scalar(1)], node: node, irName: "softplus_one_plus")
    let log = try emit("log", [onePlus], node: node, irName: "softplus_log")
    return try emit("add", [positive, log], node: node, irName: named ? nil : "softplus")
  }

  /// ReduceMin `−max(−x)`, ReduceL1 `Σ|x|`, ReduceLogSumExp `m + log Σ e^(x − m)` with `m` the
  /// (kept-dims) max, axes as an attribute (opset < 18) or an input.
  mutating func composedReduction(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    let axes = node.opset >= 18 ? try intsInput(node, 1, "axes") : try node.ints("axes")
    let keep = try node.int("keepdims", default: 1)
    var attributes: Attributes = ["keepdims": .int(keep)]
    if let axes, !axes.isEmpty {
      attributes["axes"] = .ints(axes)
    } else if (try node.int("noop_with_empty_axes", default: 0)) != 0 {
      throw node.error("noop_with_empty_axes = 1 with no axes is not supported")
    }
    switch node.opType {
    case "ReduceMin":
      let negated = try emit("neg", [x], node: node, irName: "neg")
      let most = try emit("reduce_max", [negated], attributes, node: node, irName: "max")
      return try emit("neg", [most], node: node)
    case "ReduceL1":
      let magnitude = try emit("abs", [x], node: node, irName: "abs")
      return try emit("reduce_sum", [magnitude], attributes, node: node)
    default:
      var kept = attributes
      kept["keepdims"] = .int(1)
      let m = try emit("reduce_max", [x], kept, node: node, irName: "max")
      let shifted = try emit("sub", [x, m], node: node, irName: "shifted")
      let e = try emit("exp", [shifted], node: node, irName: "exp")
      let sum = try emit("reduce_sum", [e], attributes, node: node, irName: "sum")
      let log = try emit("log", [sum], node: node, irName: "log")
      let most = keep != 0 ? m : try emit("reduce_max", [x], attributes, node: node, irName: "max_dropped")
      return try emit("add", [log, most], node: node)
    }
  }

  /// `x − m − log Σ e^(x − m)` along `axis` (opset < 13: the axes from `axis` on, flattened), `m`
  /// the max: exact for probabilities far below the smallest float, where log(softmax) is −inf.
  mutating func logSoftmax(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    let xs = shape(x)
    let raw = try node.int("axis", default: node.opset >= 13 ? -1 : 1)
    let axis = raw < 0 ? raw + xs.count : raw
    guard axis >= 0, axis < max(xs.count, 1) else { throw node.error("axis \(raw) is out of range for \(xs)") }
    let axes = node.opset >= 13 ? [axis] : Array(axis..<xs.count)
    let attributes: Attributes = ["axes": .ints(axes), "keepdims": .int(1)]
    let m = try emit("reduce_max", [x], attributes, node: node, irName: "max")
    let shifted = try emit("sub", [x, m], node: node, irName: "shifted")
    let e = try emit("exp", [shifted], node: node, irName: "exp")
    let sum = try emit("reduce_sum", [e], attributes, node: node, irName: "sum")
    let log = try emit("log", [sum], node: node, irName: "log")
    return try emit("sub", [shifted, log], node: node)
  }

  /// DepthToSpace (DCR or CRD order) and SpaceToDepth as reshape → transpose → reshape.
  mutating func depthSpace(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    let xs = shape(x)
    let b = try node.int("blocksize", default: 0)
    guard xs.count == 4, b >= 1 else { throw node.error("needs a 4-d input and a positive blocksize, got \(xs), \(b)") }
    let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
    let split: [Int], perm: [Int], result: [Int]
    if node.opType == "DepthToSpace" {
      guard c % (b * b) == 0 else { throw node.error("channels \(c) are not a multiple of blocksize² \(b * b)") }
      let crd = try node.string("mode", default: "DCR") == "CRD"
      split = crd ? [n, c / (b * b), b, b, h, w] : [n, b, b, c / (b * b), h, w]
      perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]
      result = [n, c / (b * b), h * b, w * b]
    } else {
      guard h % b == 0, w % b == 0 else { throw node.error("extents \(h)×\(w) are not multiples of blocksize \(b)") }
      split = [n, c, h / b, b, w / b, b]
      perm = [0, 3, 5, 1, 2, 4]
      result = [n, c * b * b, h / b, w / b]
    }
    let blocks = try emit("reshape", [x], ["shape": .ints(split)], node: node, irName: "blocks")
    let moved = try emit("transpose", [blocks], ["perm": .ints(perm)], node: node, irName: "moved")
    return try emit("reshape", [moved], ["shape": .ints(result)], node: node)
  }

  /// ArgMax / ArgMin {axis, keepdims, select_last_index} as int64 indices: the (kept-dims) extreme
  /// `m` along the axis, then the smallest (or, with `select_last_index`, largest) index `i` with
  /// `x = m`: `reduce_max` of `where(x = m, ±i, −n)` over the axis, negated for the smallest.
  /// Ties resolve as ONNX says; a NaN along the axis gives index 0 (ONNX Runtime: the NaN's).
  mutating func argExtreme(_ node: ONNXNode) throws(GraphFuseError) -> Binding {
    let x = try required(node, 0)
    let xs = shape(x)
    let raw = try node.int("axis", default: 0)
    let axis = raw < 0 ? raw + xs.count : raw
    guard axis >= 0, axis < xs.count else { throw node.error("axis \(raw) is out of range for \(xs)") }
    let keep = try node.int("keepdims", default: 1), last = try node.int("select_last_index", default: 0) != 0
    let n = xs[axis]
    var source = x
    if node.opType == "ArgMin" { source = try emit("neg", [x], node: node, irName: "neg") }
    let kept: Attributes = ["axes": .ints([axis]), "keepdims": .int(1)]
    let m = try emit("reduce_max", [source], kept, node: node, irName: "extreme")
    let hit = try emit("equal", [source, m], node: node, irName: "hit")
    // Index i along the axis (as -i for the first one, so that a max picks the smallest), −n elsewhere.
    var along = [Int](repeating: 1, count: xs.count)
    along[axis] = n
    let indices = Binding.constant(
      ConstantTensor(shape: along, floats: (0..<n).map { Float(last ? $0 : -$0) }), name: "")
    let candidate = try emit("where", [hit, indices, scalar(Float(-n))], node: node, irName: "candidate")
    let best = try emit(
      "reduce_max", [candidate], ["axes": .ints([axis]), "keepdims": .int(keep)], node: node, irName: "best")
    // ±i mod n is i; a NaN along the axis matches nothing, and −n mod n is index 0.
    let signed = last ? best : try emit("neg", [best], node: node, irName: "index")
    return try emit("mod", [signed, scalar(Float(n))], node: node, dataType: .int64)
  }
}
