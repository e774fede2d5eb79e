import GraphFuse

/// A name-to-value binding of the importer: a graph value, or a tensor known at import time.
enum Binding {
  /// A float32 value of the graph being built.
  case value(ValueID)
  /// A constant; `name` is the ONNX tensor name it gets if it becomes a graph constant.
  case constant(ConstantTensor, name: String)

  var constant: ConstantTensor? {
    if case .constant(let c, _) = self { return c }
    return nil
  }
}

/// The state of one import: the ONNX model, the graph being built and the name environment.
struct ImportSession {
  /// The largest runtime tensor accepted, in elements.
  static let maxRuntimeElements = 1 << 31

  let model: ModelProto
  /// The default-domain opset version.
  let opset: Int
  let shapes: [String: [Int]]
  /// Shapes of the graph inputs in order (the files given for them), used for an input with
  /// symbolic dimensions that `shapes` does not name; nil entries give nothing.
  var inputShapeHints: [[Int]?] = []
  /// The batch size every input's axis 0 is set to (its declared extent must be symbolic or 1),
  /// whatever `shapes` or the hints say of that axis; nil keeps the shapes as declared or given.
  var batch: Int?
  var graph = Graph()
  /// ONNX tensor name → binding.
  var env: [String: Binding] = [:]
  /// Constants already added to the graph, by ONNX tensor name.
  var materialized: [String: ValueID] = [:]
  var nodeNames = Set<String>()
  /// Tensor names read by some node or listed as graph outputs.
  var usedNames = Set<String>()
  /// Reads tensors whose data lives in files beside the model; nil when the model has no path.
  let external: ExternalDataResolver?

  init(model: ModelProto, shapes: [String: [Int]], external: ExternalDataResolver? = nil) throws(GraphFuseError) {
    guard model.hasGraph else { throw GraphFuseError("the file holds no ONNX graph (is it an ONNX model?)") }
    guard let opset = model.opsets.last(where: { $0.domain == "" || $0.domain == "ai.onnx" })?.version else {
      throw GraphFuseError("the model imports no opset of the default ONNX domain")
    }
    guard opset >= 1, opset <= 10_000 else { throw GraphFuseError("opset version \(opset) is invalid") }
    self.model = model
    self.opset = opset
    self.shapes = shapes
    self.external = external
  }

  /// Runs the whole import and returns the verified graph.
  mutating func run() throws(GraphFuseError) -> Graph {
    let g = model.graph
    try ONNXValidation.check(model, opset: opset)
    try checkSupported(g.nodes)
    guard !g.hasSparseInitializers else { throw GraphFuseError("sparse initializers are not supported") }
    for proto in g.initializers {
      let tensor: ConstantTensor
      do { tensor = try ConstantTensor(proto, external: external) } catch {
        throw GraphFuseError("initializer '\(proto.name)': \(error.message)")
      }
      env[proto.name] = .constant(tensor, name: proto.name)
    }
    try addInputs(g)
    for node in g.nodes {
      usedNames.formUnion(node.inputs)
    }
    usedNames.formUnion(g.outputs.map(\.name))
    for (index, node) in g.nodes.enumerated() {
      try translate(node, index: index)
    }
    for output in g.outputs {
      guard let binding = env[output.name] else {
        throw GraphFuseError("graph output '\(output.name)' is not produced by any node, initializer or input")
      }
      graph.outputs.append(try materialize(binding))
    }
    guard !graph.outputs.isEmpty else { throw GraphFuseError("the graph has no outputs") }
    try graph.verify()
    return graph
  }

  /// Graph inputs that are not initializers, with static shapes (symbolic dims from `shapes`).
  private mutating func addInputs(_ g: GraphProto) throws(GraphFuseError) {
    let inputNames = g.inputs.map(\.name).filter { env[$0] == nil }
    for name in shapes.keys where !inputNames.contains(name) {
      throw GraphFuseError(
        "a shape is given for '\(name)', which is not a graph input; inputs are: \(inputNames.joined(separator: ", "))")
    }
    for (position, info) in g.inputs.filter({ env[$0.name] == nil }).enumerated() {
      guard !info.isNonTensor, let type = DataType(rawValue: info.elementType) else {
        throw GraphFuseError(
          "graph input '\(info.name)' has element type "
            + "\(info.isNonTensor ? "non-tensor" : ElementType.name(info.elementType)); "
            + "inputs may be float32, int64, int32 or bool"
        )
      }
      let hint = position < inputShapeHints.count ? inputShapeHints[position] : nil
      let shape = try inputShape(info, hint: hint)
      guard ConstantTensor.elementCount(shape, limit: Self.maxRuntimeElements) != nil, shape.allSatisfy({ $0 > 0 })
      else {
        throw GraphFuseError(
          "graph input '\(info.name)' has shape \(shape); extents must be positive and the tensor below 2^31 elements")
      }
      env[info.name] = .value(graph.addInput(name: info.name, shape: shape, dataType: type))
    }
  }

  private func inputShape(_ declared: ValueInfoProto, hint fileShape: [Int]?) throws(GraphFuseError) -> [Int] {
    var info = declared
    var given = shapes[info.name]
    if let batch {
      // Axis 0 is the batch: symbolic or 1 in the file, set to `batch` here.
      if let dims = info.dims {
        guard let first = dims.first else {
          throw GraphFuseError("graph input '\(info.name)' is a scalar; a batch size needs axis 0 to be the batch")
        }
        if case .value(let v) = first, v > 0, v != 1, v != batch {
          throw GraphFuseError(
            "graph input '\(info.name)' has a fixed extent \(v) on axis 0; a batch axis must be symbolic or 1")
        }
        info.dims?[0] = .value(batch)
      }
      given = given.map { [batch] + $0.dropFirst() }
    }
    let fileShape = batch.flatMap { b in fileShape.map { [b] + $0.dropFirst() } } ?? fileShape
    let hint = "pass its shape, e.g. --shape \(info.name)=1x3x224x224"
    let symbolic =
      info.dims?.contains { if case .value(let v) = $0, v > 0 { return false } else { return true } } ?? true
    if let given = given ?? (symbolic ? fileShape : nil) {
      if let dims = info.dims {
        guard dims.count == given.count else {
          throw GraphFuseError(
            "graph input '\(info.name)' has rank \(dims.count), but the given shape \(given) has rank \(given.count)")
        }
        for (k, dim) in dims.enumerated() {
          if case .value(let v) = dim, v > 0, v != given[k] {
            throw GraphFuseError(
              "graph input '\(info.name)' has extent \(v) on axis \(k), but the given shape \(given) says \(given[k])")
          }
        }
      }
      return given
    }
    guard let dims = info.dims else { throw GraphFuseError("graph input '\(info.name)' has no shape; \(hint)") }
    var shape: [Int] = []
    for dim in dims {
      switch dim {
      case .value(let v) where v > 0: shape.append(v)
      case .param(let p): throw GraphFuseError("graph input '\(info.name)' has a symbolic dimension '\(p)'; \(hint)")
      default: throw GraphFuseError("graph input '\(info.name)' has an unknown dimension; \(hint)")
      }
    }
    return shape
  }

  /// Collects every unsupported op type and foreign domain before anything is translated.
  private func checkSupported(_ nodes: [NodeProto]) throws(GraphFuseError) {
    var unsupported: [(type: String, node: String)] = []
    var seen = Set<String>()
    for (index, node) in nodes.enumerated() {
      var key: String
      if node.domain != "" && node.domain != "ai.onnx" {
        key = "\(node.domain)::\(node.opType)"
      } else if !Self.supportedOps.contains(node.opType) {
        key = node.opType
      } else {
        continue
      }
      if key.count > GraphFuseError.maxNameLength { key = String(key.prefix(GraphFuseError.maxNameLength - 1)) + "…" }
      if seen.insert(key).inserted {
        unsupported.append((key, node.name.isEmpty ? "\(node.opType)_\(index)" : node.name))
      }
    }
    guard !unsupported.isEmpty else { return }
    let list = unsupported.map { "\($0.type) (node '\($0.node)')" }.joined(separator: ", ")
    let domainNote =
      unsupported.contains { $0.type.contains("::") } ? " (only the default ONNX domain is imported)" : ""
    throw GraphFuseError(
      "unsupported ONNX op\(unsupported.count == 1 ? "" : "s"): \(list)\(domainNote); Docs/ONNX.md lists the "
        + "supported ops"
    )
  }

  /// A node name not used before: the ONNX name, or `OpType_index`, with a numeric suffix when taken.
  mutating func uniqueName(_ base: String) -> String {
    var name = base
    var k = 1
    while nodeNames.contains(name) {
      name = "\(base)_\(k)"
      k += 1
    }
    nodeNames.insert(name)
    return name
  }

  private mutating func translate(_ proto: NodeProto, index: Int) throws(GraphFuseError) {
    let name = uniqueName(proto.name.isEmpty ? "\(proto.opType)_\(index)" : proto.name)
    let node = ONNXNode(proto: proto, name: name, opset: opset)
    do throws(GraphFuseError) {
      let results = try translateOp(node)
      for (k, output) in proto.outputs.enumerated() where !output.isEmpty {
        guard k < results.count, let binding = results[k] else {
          if usedNames.contains(output) { throw node.error("output \(k) ('\(output)') is not supported") }
          continue
        }
        env[output] = binding
      }
    } catch {
      var e = error
      if e.node == nil || e.node == name {
        e.node = name
        e.op = proto.opType
      }
      throw e
    }
  }

  // MARK: Inputs and emission

  /// The binding of input `i`, or nil when it is absent (beyond the list or an empty name).
  func input(_ node: ONNXNode, _ i: Int) throws(GraphFuseError) -> Binding? {
    guard i < node.proto.inputs.count, !node.proto.inputs[i].isEmpty else { return nil }
    let name = node.proto.inputs[i]
    guard let binding = env[name] else {
      throw node.error(
        "input '\(name)' is not produced by any node, initializer or graph input (missing initializer, or nodes out "
          + "of order)"
      )
    }
    return binding
  }

  /// The binding of input `i`, which must be present.
  func required(_ node: ONNXNode, _ i: Int) throws(GraphFuseError) -> Binding {
    guard let b = try input(node, i) else { throw node.error("needs input \(i)") }
    return b
  }

  /// Input `i` as a constant known at import time, or nil when absent.
  func constantInput(_ node: ONNXNode, _ i: Int, _ what: String) throws(GraphFuseError) -> ConstantTensor? {
    guard let b = try input(node, i) else { return nil }
    guard let c = b.constant else {
      throw node.error("\(what) (input '\(node.proto.inputs[i])') must be a constant known at import time")
    }
    return c
  }

  /// Input `i` as a list of integers bounded like attributes, or nil when absent.
  func intsInput(_ node: ONNXNode, _ i: Int, _ what: String, bounded: Bool = true) throws(GraphFuseError) -> [Int]? {
    guard let c = try constantInput(node, i, what) else { return nil }
    let values = try c.intValues(what)
    if bounded { try node.checkBounded(values, what) }
    return values
  }

  /// The graph value for a binding, adding a constant to the graph the first time one is used.
  mutating func materialize(_ binding: Binding) throws(GraphFuseError) -> ValueID {
    switch binding {
    case .value(let id): return id
    case .constant(let c, let name):
      if let id = materialized[name] { return id }
      // Runtime tensors carry integers in float32 (DataType): exact up to 2^24 in magnitude.
      if c.isInteger, let big = c.ints.first(where: { $0 < -DataType.exactLimit || $0 > DataType.exactLimit }) {
        throw GraphFuseError(
          "integer constant '\(name)' holds \(big), beyond ±2^24, the integers a runtime tensor holds exactly")
      }
      let id = graph.addConstant(c.tensor, name: name)
      graph.values[id].dataType = c.dataType
      if !name.isEmpty { materialized[name] = id }
      return id
    }
  }

  /// The element type of a binding.
  func dataType(_ b: Binding) -> DataType {
    switch b {
    case .value(let id): return graph.dataType(of: id)
    case .constant(let c, _): return c.dataType
    }
  }

  /// The element type of IR `op`'s result over operands of `types`: comparisons and logic give
  /// bool, `where` its first branch's type, everything else its first operand's.
  static func resultType(_ op: String, _ types: [DataType]) -> DataType {
    switch op {
    case "equal", "less", "less_equal", "greater", "greater_equal", "and", "or", "xor", "not", "is_nan", "is_inf",
      "cast_to_bool":
      return .bool
    case "where": return types.count > 1 ? types[1] : .float32
    default: return types.first ?? .float32
    }
  }

  /// The static shape of a binding.
  func shape(_ b: Binding) -> [Int] {
    switch b {
    case .value(let id): return graph.shape(of: id)
    case .constant(let c, _): return c.shape
    }
  }

  /// Appends IR `op` over `inputs`, or evaluates it now when every input is a constant.
  ///
  /// The IR node is named after the ONNX node, or `NODE/irName` for the extra nodes of a
  /// node that becomes several; its value is named after ONNX output `output` (always when
  /// `namesOutput`, else only without `irName`).
  mutating func emit(
    _ op: String, _ inputs: [Binding], _ attributes: Attributes = [:], node: ONNXNode, output: Int = 0,
    irName: String? = nil,
    namesOutput: Bool = false, dataType: DataType? = nil
  ) throws(GraphFuseError) -> Binding {
    let outputName = output < node.proto.outputs.count ? node.proto.outputs[output] : ""
    let valueName = namesOutput ? outputName : irName.map { "\(node.name)/\($0)" } ?? outputName
    let definition = try OpRegistry.definition(of: op, node: node.name)
    guard definition.arity.contains(inputs.count) else {
      throw node.error("\(op) takes \(definition.arity) inputs, got \(inputs.count)")
    }
    let constants = inputs.compactMap(\.constant)
    if constants.count == inputs.count {
      return .constant(try ConstantFolder.evaluate(op, constants, attributes, node: node), name: valueName)
    }
    var ids: [ValueID] = []
    for b in inputs { ids.append(try materialize(b)) }
    let nodeName = irName.map { uniqueName("\(node.name)/\($0)") } ?? node.name
    let outputs = try graph.addNode(
      op: op, inputs: ids, attributes: attributes, name: nodeName, outputNames: [valueName])
    for id in outputs where ConstantTensor.elementCount(graph.shape(of: id), limit: Self.maxRuntimeElements) == nil {
      throw node.error("the output shape \(graph.shape(of: id)) holds more than 2^31 elements")
    }
    let type = dataType ?? Self.resultType(op, inputs.map(self.dataType))
    for id in outputs { graph.values[id].dataType = type }
    return .value(outputs[0])
  }
}
