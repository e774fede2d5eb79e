import GraphFuse

/// The table from ONNX op types to their translations.
extension ImportSession {
  /// Every ONNX op type (default domain) the importer translates.
  static let supportedOps: Set<String> = Set(unaryOps.keys).union(binaryOps.keys).union(composedOps).union([
    "Conv", "ConvTranspose", "BatchNormalization", "LeakyRelu", "HardSigmoid", "Clip",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Gemm", "MatMul",
    "Concat", "Reshape", "Transpose", "Identity", "Dropout", "Constant", "ConstantOfShape", "Shape", "Size",
    "Gather", "Unsqueeze", "Squeeze", "Slice", "ReduceMean", "ReduceSum", "ReduceMax", "Cast", "CastLike", "Softmax",
    "Pad",
    "Split",
    "LayerNormalization", "Gelu", "Mod", "Where", "Expand", "Einsum", "Range", "ScatterND", "Resize",
    "GatherND", "ReduceL2", "ReduceSumSquare", "IsInf", "Trilu", "CumSum", "Tile", "GatherElements",
    "InstanceNormalization", "GroupNormalization", "LSTM", "GRU",
  ])

  /// Translates one node; the result holds a binding per ONNX output (nil where unsupported).
  mutating func translateOp(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    if let op = Self.unaryOps[node.opType] { return try unary(node, op) }
    if let op = Self.binaryOps[node.opType] { return try binary(node, op) }
    if Self.composedOps.contains(node.opType) { return try composed(node) }
    switch node.opType {
    case "Conv": return try conv(node)
    case "LSTM": return try lstm(node)
    case "GRU": return try gru(node)
    case "ConvTranspose": return try convTranspose(node)
    case "BatchNormalization": return try batchNorm(node)
    case "LeakyRelu":
      return try unary(node, "leaky_relu", ["alpha": .float(Double(try node.float("alpha", default: 0.01)))])
    case "HardSigmoid":
      return try unary(
        node, "hard_sigmoid",
        [
          "alpha": .float(Double(try node.float("alpha", default: 0.2))),
          "beta": .float(Double(try node.float("beta", default: 0.5))),
        ])
    case "Clip": return try clip(node)
    case "MaxPool": return try pool(node, max: true)
    case "AveragePool": return try pool(node, max: false)
    case "GlobalAveragePool": return try globalPool(node, max: false)
    case "GlobalMaxPool": return try globalPool(node, max: true)
    case "Flatten": return try flatten(node)
    case "Gemm": return try gemm(node)
    case "MatMul": return [try emit("matmul", [try required(node, 0), try required(node, 1)], node: node)]
    case "Concat": return try concat(node)
    case "Reshape": return try reshape(node)
    case "Transpose": return try transpose(node)
    case "Identity", "Dropout": return [try required(node, 0)]
    case "Constant": return try constant(node)
    case "ConstantOfShape": return try constantOfShape(node)
    case "Shape": return try shapeOf(node, size: false)
    case "Size": return try shapeOf(node, size: true)
    case "Gather": return try gather(node)
    case "Unsqueeze": return try squeeze(node, unsqueeze: true)
    case "Squeeze": return try squeeze(node, unsqueeze: false)
    case "Slice": return try slice(node)
    case "ReduceMean": return try reduce(node, "reduce_mean", axesInputSince: 18)
    case "ReduceMax": return try reduce(node, "reduce_max", axesInputSince: 18)
    case "ReduceSum": return try reduce(node, "reduce_sum", axesInputSince: 13)
    case "Cast": return try cast(node)
    case "CastLike": return try castLike(node)
    case "Softmax": return try softmax(node)
    case "Pad": return try pad(node)
    case "Split": return try split(node)
    case "LayerNormalization": return try layerNorm(node)
    case "Gelu": return try gelu(node)
    case "Mod": return try mod(node)
    case "Where": return try whereOp(node)
    case "Expand": return try expand(node)
    case "Einsum": return try einsum(node)
    case "Range": return try range(node)
    case "ScatterND": return try scatterND(node)
    case "Resize": return try resize(node)
    case "GatherND": return try gatherND(node)
    case "ReduceL2": return try reduceSquares(node, root: true)
    case "ReduceSumSquare": return try reduceSquares(node, root: false)
    case "Trilu": return try trilu(node)
    case "CumSum": return try cumSum(node)
    case "Tile": return try tile(node)
    case "GatherElements": return try gatherElements(node)
    case "InstanceNormalization": return try instanceNorm(node)
    case "GroupNormalization": return try groupNormalization(node)
    case "IsInf":
      let attributes: Attributes = [
        "detect_positive": .int(try node.int("detect_positive", default: 1)),
        "detect_negative": .int(try node.int("detect_negative", default: 1)),
      ]
      return try unary(node, "is_inf", attributes)
    default: throw node.error("is not supported")
    }
  }
}
