/// Writes a network in a few lines: each method appends one node and returns its output.
///
/// ```swift
/// let b = GraphBuilder()
/// let x = b.input("x", shape: [1, 3, 224, 224])
/// let c = try b.conv2d(x, weight: w, stride: 2, padding: 3)
/// let y = try b.relu(b.batchNorm(c, scale: g, bias: be, mean: m, variance: v))
/// b.output(y)
/// let graph = try b.finish()
/// ```
public final class GraphBuilder {
  /// The graph built so far.
  public private(set) var graph = Graph()
  private var counters: [String: Int] = [:]

  /// Creates an empty builder.
  public init() {}

  /// Adds a graph input.
  public func input(_ name: String, shape: [Int]) -> ValueID {
    graph.addInput(name: name, shape: shape)
  }

  /// Adds a constant (weight).
  public func constant(_ tensor: Tensor, name: String? = nil) -> ValueID {
    graph.addConstant(tensor, name: name ?? "const_\(graph.constants.count)")
  }

  /// Marks a value as a graph output.
  public func output(_ value: ValueID) { graph.outputs.append(value) }

  /// The finished graph, verified.
  public func finish() throws(GraphFuseError) -> Graph {
    try graph.verify()
    return graph
  }

  /// The shape of a value built so far.
  public func shape(of value: ValueID) -> [Int] { graph.shape(of: value) }

  /// Appends any registered op; the general form every helper below uses.
  @discardableResult
  public func apply(_ op: String, _ inputs: [ValueID], _ attributes: Attributes = [:], name: String? = nil)
    throws(GraphFuseError) -> [ValueID]
  {
    let k = counters[op, default: 0]
    counters[op] = k + 1
    return try graph.addNode(op: op, inputs: inputs, attributes: attributes, name: name ?? "\(op)_\(k)")
  }

  private func one(_ op: String, _ inputs: [ValueID], _ attributes: Attributes = [:], name: String? = nil)
    throws(GraphFuseError) -> ValueID
  {
    try apply(op, inputs, attributes, name: name)[0]
  }

  // MARK: Convolution and dense

  /// 2-d convolution; `weight` is `[O, C/groups, kh, kw]`. `padding` pads all four sides alike.
  public func conv2d(
    _ x: ValueID, weight: ValueID, bias: ValueID? = nil, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1, name: String? = nil
  ) throws(GraphFuseError) -> ValueID {
    try conv2d(
      x, weight: weight, bias: bias, strides: [stride, stride], pads: [padding, padding, padding, padding],
      dilations: [dilation, dilation], groups: groups, name: name)
  }

  /// 2-d convolution with per-axis strides and dilations and ONNX-order pads `[top, left, bottom, right]`.
  public func conv2d(
    _ x: ValueID, weight: ValueID, bias: ValueID? = nil, strides: [Int], pads: [Int], dilations: [Int] = [1, 1],
    groups: Int = 1, name: String? = nil
  ) throws(GraphFuseError) -> ValueID {
    try one(
      "conv2d", [x, weight] + (bias.map { [$0] } ?? []),
      ["strides": .ints(strides), "pads": .ints(pads), "dilations": .ints(dilations), "group": .int(groups)], name: name
    )
  }

  /// 2-d transposed convolution; `weight` is `[C, O/groups, kh, kw]`.
  public func convTranspose2d(
    _ x: ValueID, weight: ValueID, bias: ValueID? = nil, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
    dilation: Int = 1, groups: Int = 1, name: String? = nil
  ) throws(GraphFuseError) -> ValueID {
    try one(
      "conv_transpose2d", [x, weight] + (bias.map { [$0] } ?? []),
      [
        "strides": .ints([stride, stride]), "pads": .ints([padding, padding, padding, padding]),
        "output_padding": .ints([outputPadding, outputPadding]), "dilations": .ints([dilation, dilation]),
        "group": .int(groups),
      ], name: name)
  }

  /// batch_norm over `axis` with running statistics (inference) or batch statistics (`training`).
  public func batchNorm(
    _ x: ValueID, scale: ValueID, bias: ValueID, mean: ValueID, variance: ValueID, epsilon: Double = 1e-5,
    momentum: Double = 0.9, training: Bool = false, axis: Int = 1, name: String? = nil
  ) throws(GraphFuseError) -> ValueID {
    try one(
      "batch_norm", [x, scale, bias, mean, variance],
      [
        "epsilon": .float(epsilon), "momentum": .float(momentum), "training": .int(training ? 1 : 0),
        "axis": .int(axis),
      ], name: name)
  }

  /// A fully connected layer: `x · weightᵀ + bias` with `weight` `[out, in]` (gemm with transB).
  public func dense(_ x: ValueID, weight: ValueID, bias: ValueID? = nil, name: String? = nil) throws(GraphFuseError)
    -> ValueID
  {
    try one("gemm", [x, weight] + (bias.map { [$0] } ?? []), ["transB": .int(1)], name: name)
  }

  /// General matrix multiply, `alpha · A' · B' + beta · C`.
  public func gemm(
    _ a: ValueID, _ b: ValueID, _ c: ValueID? = nil, alpha: Double = 1, beta: Double = 1,
    transA: Bool = false, transB: Bool = false, name: String? = nil
  ) throws(GraphFuseError) -> ValueID {
    try one(
      "gemm", [a, b] + (c.map { [$0] } ?? []),
      ["alpha": .float(alpha), "beta": .float(beta), "transA": .int(transA ? 1 : 0), "transB": .int(transB ? 1 : 0)],
      name: name)
  }

  /// numpy matmul.
  public func matmul(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("matmul", [a, b]) }

  // MARK: Elementwise and broadcast

  public func add(_ a: ValueID, _ b: ValueID, name: String? = nil) throws(GraphFuseError) -> ValueID {
    try one("add", [a, b], name: name)
  }
  public func sub(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("sub", [a, b]) }
  public func mul(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("mul", [a, b]) }
  public func div(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("div", [a, b]) }
  public func maximum(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("max", [a, b]) }
  public func minimum(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("min", [a, b]) }
  public func pow(_ a: ValueID, _ b: ValueID) throws(GraphFuseError) -> ValueID { try one("pow", [a, b]) }
  public func relu(_ x: ValueID, name: String? = nil) throws(GraphFuseError) -> ValueID {
    try one("relu", [x], name: name)
  }
  public func leakyRelu(_ x: ValueID, alpha: Double = 0.01) throws(GraphFuseError) -> ValueID {
    try one("leaky_relu", [x], ["alpha": .float(alpha)])
  }
  public func clip(_ x: ValueID, min: Double, max: Double) throws(GraphFuseError) -> ValueID {
    try one("clip", [x], ["min": .float(min), "max": .float(max)])
  }
  /// relu6, as MobileNetV2 uses: `clip(x, 0, 6)`.
  public func relu6(_ x: ValueID) throws(GraphFuseError) -> ValueID { try clip(x, min: 0, max: 6) }
  public func sigmoid(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("sigmoid", [x]) }
  public func tanh(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("tanh", [x]) }
  public func exp(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("exp", [x]) }
  public func log(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("log", [x]) }
  public func sqrt(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("sqrt", [x]) }
  public func neg(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("neg", [x]) }
  public func hardSigmoid(_ x: ValueID, alpha: Double = 0.2, beta: Double = 0.5) throws(GraphFuseError) -> ValueID {
    try one("hard_sigmoid", [x], ["alpha": .float(alpha), "beta": .float(beta)])
  }
  public func hardSwish(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("hard_swish", [x]) }
  public func identity(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("identity", [x]) }

  // MARK: Pooling

  public func maxPool2d(
    _ x: ValueID, kernel: Int, stride: Int, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false
  ) throws(GraphFuseError) -> ValueID {
    try one("max_pool2d", [x], poolAttributes(kernel, stride, padding, dilation, ceilMode))
  }
  public func avgPool2d(
    _ x: ValueID, kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false, countIncludePad: Bool = false
  ) throws(GraphFuseError)
    -> ValueID
  {
    var a = poolAttributes(kernel, stride, padding, 1, ceilMode)
    a["count_include_pad"] = .int(countIncludePad ? 1 : 0)
    return try one("avg_pool2d", [x], a)
  }
  public func globalAvgPool(_ x: ValueID) throws(GraphFuseError) -> ValueID { try one("global_avg_pool", [x]) }

  private func poolAttributes(_ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int, _ ceilMode: Bool)
    -> Attributes
  {
    [
      "kernel_shape": .ints([kernel, kernel]), "strides": .ints([stride, stride]),
      "pads": .ints([padding, padding, padding, padding]),
      "dilations": .ints([dilation, dilation]), "ceil_mode": .int(ceilMode ? 1 : 0),
    ]
  }

  // MARK: Shape and layout

  public func flatten(_ x: ValueID, axis: Int = 1) throws(GraphFuseError) -> ValueID {
    try one("flatten", [x], ["axis": .int(axis)])
  }
  public func reshape(_ x: ValueID, to shape: [Int]) throws(GraphFuseError) -> ValueID {
    try one("reshape", [x], ["shape": .ints(shape)])
  }
  public func transpose(_ x: ValueID, perm: [Int]) throws(GraphFuseError) -> ValueID {
    try one("transpose", [x], ["perm": .ints(perm)])
  }
  public func concat(_ xs: [ValueID], axis: Int = 1) throws(GraphFuseError) -> ValueID {
    try one("concat", xs, ["axis": .int(axis)])
  }
  public func slice(_ x: ValueID, starts: [Int], ends: [Int], axes: [Int], steps: [Int]? = nil) throws(GraphFuseError)
    -> ValueID
  {
    try one(
      "slice", [x],
      [
        "starts": .ints(starts), "ends": .ints(ends), "axes": .ints(axes),
        "steps": .ints(steps ?? starts.map { _ in 1 }),
      ])
  }
  public func pad(_ x: ValueID, pads: [Int], value: Double = 0) throws(GraphFuseError) -> ValueID {
    try one("pad", [x], ["pads": .ints(pads), "value": .float(value)])
  }
  public func squeeze(_ x: ValueID, axes: [Int]) throws(GraphFuseError) -> ValueID {
    try one("squeeze", [x], ["axes": .ints(axes)])
  }
  public func unsqueeze(_ x: ValueID, axes: [Int]) throws(GraphFuseError) -> ValueID {
    try one("unsqueeze", [x], ["axes": .ints(axes)])
  }

  // MARK: Reductions

  public func reduceMean(_ x: ValueID, axes: [Int], keepDims: Bool = true) throws(GraphFuseError) -> ValueID {
    try one("reduce_mean", [x], ["axes": .ints(axes), "keepdims": .int(keepDims ? 1 : 0)])
  }
  public func reduceSum(_ x: ValueID, axes: [Int], keepDims: Bool = true) throws(GraphFuseError) -> ValueID {
    try one("reduce_sum", [x], ["axes": .ints(axes), "keepdims": .int(keepDims ? 1 : 0)])
  }
  public func reduceMax(_ x: ValueID, axes: [Int], keepDims: Bool = true) throws(GraphFuseError) -> ValueID {
    try one("reduce_max", [x], ["axes": .ints(axes), "keepdims": .int(keepDims ? 1 : 0)])
  }
  public func softmax(_ x: ValueID, axis: Int = -1) throws(GraphFuseError) -> ValueID {
    try one("softmax", [x], ["axis": .int(axis)])
  }
}
