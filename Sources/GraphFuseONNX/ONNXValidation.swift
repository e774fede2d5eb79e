import GraphFuse

/// Structural checks of an ONNX model before import, as ONNX Runtime makes them: a model it would
/// refuse is refused here too, with the node named, instead of being imported with a guess.
///
/// - an opset of the default domain newer than ``newestOpset``;
/// - graph inputs listed twice, initializers listed twice, an initializer that shadows a graph
///   input of another shape;
/// - a tensor written by two nodes, or by a node and an input or initializer;
/// - a node without outputs;
/// - an attribute a known op does not have (``attributes``; ops missing from the table skip this check).
enum ONNXValidation {
  /// The newest default-domain opset the importer knows.
  static let newestOpset = 24

  /// Every attribute name of each ONNX op type, over all opsets (`consumed_inputs` of opsets < 6
  /// included). An op type missing here is not checked for unknown attributes; add a line when
  /// the importer learns an op.
  static let attributes: [String: Set<String>] = [
    "Relu": ["consumed_inputs"], "Sigmoid": ["consumed_inputs"], "Tanh": ["consumed_inputs"], "HardSwish": [],
    "Sqrt": ["consumed_inputs"], "Exp": ["consumed_inputs"], "Log": ["consumed_inputs"], "Neg": ["consumed_inputs"],
    "Add": ["broadcast", "axis", "consumed_inputs"], "Sub": ["broadcast", "axis", "consumed_inputs"],
    "Mul": ["broadcast", "axis", "consumed_inputs"], "Div": ["broadcast", "axis", "consumed_inputs"],
    "Pow": ["broadcast", "axis"], "Max": ["consumed_inputs"], "Min": ["consumed_inputs"], "Sum": ["consumed_inputs"],
    "Conv": ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
    "ConvTranspose": [
      "auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides",
    ],
    "BatchNormalization": ["epsilon", "momentum", "spatial", "is_test", "consumed_inputs", "training_mode"],
    "LeakyRelu": ["alpha", "consumed_inputs"], "HardSigmoid": ["alpha", "beta", "consumed_inputs"],
    "Clip": ["min", "max", "consumed_inputs"],
    "MaxPool": ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
    "AveragePool": ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"],
    "GlobalAveragePool": [], "GlobalMaxPool": [], "Flatten": ["axis"],
    "Gemm": ["alpha", "beta", "transA", "transB", "broadcast"], "MatMul": [], "Concat": ["axis"],
    "Reshape": ["shape", "allowzero", "consumed_inputs"], "Transpose": ["perm"], "Identity": [],
    "Dropout": ["ratio", "is_test", "seed", "consumed_inputs"],
    "Constant": [
      "value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
      "value_strings",
    ],
    "ConstantOfShape": ["value"], "Shape": ["start", "end"], "Size": [], "Gather": ["axis"],
    "Unsqueeze": ["axes"], "Squeeze": ["axes"], "Slice": ["starts", "ends", "axes"],
    "ReduceMean": ["axes", "keepdims", "noop_with_empty_axes"],
    "ReduceSum": ["axes", "keepdims", "noop_with_empty_axes"],
    "ReduceMax": ["axes", "keepdims", "noop_with_empty_axes"], "Cast": ["to", "saturate", "round_mode"],
    "CastLike": ["saturate", "round_mode"],
    "Softmax": ["axis"], "Pad": ["mode", "pads", "value", "paddings"], "Split": ["axis", "split", "num_outputs"],
    "Erf": [], "Not": [], "Equal": ["broadcast", "axis"], "Less": ["broadcast", "axis"],
    "Greater": ["broadcast", "axis"], "LessOrEqual": [], "GreaterOrEqual": [], "And": ["broadcast", "axis"],
    "Or": ["broadcast", "axis"], "Xor": ["broadcast", "axis"], "IsNaN": [],
    "IsInf": ["detect_positive", "detect_negative"],
    "Trilu": ["upper"], "CumSum": ["exclusive", "reverse"], "Tile": [], "GatherElements": ["axis"],
    "InstanceNormalization": ["epsilon"], "GroupNormalization": ["epsilon", "num_groups", "stash_type"],
    "Sin": [], "Cos": [], "Ceil": ["consumed_inputs"], "Floor": ["consumed_inputs"], "Round": [],
    "Abs": ["consumed_inputs"], "Where": [], "Expand": [], "Range": [],
    "Gelu": ["approximate"],
    "LayerNormalization": ["axis", "epsilon", "stash_type"], "Mod": ["fmod"], "Einsum": ["equation"],
    "ScatterND": ["reduction"], "GatherND": ["batch_dims"],
    "ReduceL2": ["axes", "keepdims", "noop_with_empty_axes"],
    "ReduceSumSquare": ["axes", "keepdims", "noop_with_empty_axes"],
    "PRelu": [], "Elu": ["alpha"], "Selu": ["alpha", "gamma"], "Celu": ["alpha"], "ThresholdedRelu": ["alpha"],
    "Softplus": [], "Softsign": [], "Mish": [], "Reciprocal": [], "Sign": [], "Mean": [],
    "ReduceMin": ["axes", "keepdims", "noop_with_empty_axes"],
    "ReduceL1": ["axes", "keepdims", "noop_with_empty_axes"],
    "ReduceLogSumExp": ["axes", "keepdims", "noop_with_empty_axes"], "LogSoftmax": ["axis"],
    "DepthToSpace": ["blocksize", "mode"], "ArgMax": ["axis", "keepdims", "select_last_index"],
    "ArgMin": ["axis", "keepdims", "select_last_index"],
    "GRU": [
      "activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout",
      "linear_before_reset",
    ],
    "LSTM": [
      "activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "input_forget",
      "layout",
    ], "SpaceToDepth": ["blocksize"],
    "Resize": [
      "mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
      "extrapolation_value",
      "antialias", "axes", "keep_aspect_ratio_policy",
    ],
  ]

  /// Throws the first problem found, naming the node (the importer's name: the ONNX name, or `OpType_index`).
  static func check(_ model: ModelProto, opset: Int) throws(GraphFuseError) {
    let g = model.graph
    guard opset <= newestOpset else {
      let graph = g.name.isEmpty ? "" : " (graph '\(g.name)')"
      throw GraphFuseError(
        "the model\(graph) imports opset \(opset) of the default ONNX domain; the newest this importer knows is "
          + "\(newestOpset)"
      )
    }
    var inputs = Set<String>()
    for input in g.inputs where !inputs.insert(input.name).inserted {
      throw GraphFuseError("graph input '\(input.name)' is listed twice")
    }
    let declared = Dictionary(g.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var initializers = Set<String>()
    for t in g.initializers {
      guard initializers.insert(t.name).inserted else {
        throw GraphFuseError("initializer '\(t.name)' is listed twice")
      }
      guard let input = declared[t.name], let dims = input.dims else { continue }
      let known: [Int] = dims.compactMap { if case .value(let v) = $0 { return v } else { return nil } }
      if known.count == dims.count, known != t.dims {
        throw GraphFuseError(
          "initializer '\(t.name)' has shape \(t.dims) but shadows graph input '\(t.name)' of shape \(known)")
      }
    }
    var writer: [String: String] = [:]
    for (index, node) in g.nodes.enumerated() {
      let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
      func refuse(_ message: String) -> GraphFuseError { GraphFuseError(message, node: name, op: node.opType) }
      guard node.outputs.contains(where: { !$0.isEmpty }) else { throw refuse("the node has no outputs") }
      for output in node.outputs where !output.isEmpty {
        if let other = writer[output] { throw refuse("output '\(output)' is also written by node '\(other)'") }
        if inputs.contains(output) { throw refuse("output '\(output)' is also a graph input") }
        if initializers.contains(output) { throw refuse("output '\(output)' is also an initializer") }
        writer[output] = name
      }
      let isDefaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
      if isDefaultDomain, let allowed = attributes[node.opType] {
        var seen = Set<String>()
        for a in node.attributes {
          guard allowed.contains(a.name) else {
            let list = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
            throw refuse("unknown attribute '\(a.name)' (\(node.opType) has: \(list))")
          }
          guard seen.insert(a.name).inserted else { throw refuse("attribute '\(a.name)' is given twice") }
        }
      }
    }
  }
}
