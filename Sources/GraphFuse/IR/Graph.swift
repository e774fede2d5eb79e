/// Where a value comes from.
public enum ValueSource: Sendable, Equatable {
  /// A graph input, fed at run time.
  case input
  /// A constant (weight) owned by the graph.
  case constant
  /// Output `index` of node `node` (an index into `Graph.nodes`).
  case node(NodeID, output: Int)
}

/// One tensor-valued SSA value: its name, shape and where it comes from.
public struct Value: Sendable, Equatable {
  /// A human-readable name (the ONNX tensor name, or one the builder made up).
  public var name: String
  /// The static shape.
  public var shape: [Int]
  /// Input, constant or node output.
  public var source: ValueSource
  /// What the elements mean; every value is stored as float32 (``DataType``).
  public var dataType: DataType

  /// Creates a value.
  public init(name: String, shape: [Int], source: ValueSource, dataType: DataType = .float32) {
    self.name = name
    self.shape = shape
    self.source = source
    self.dataType = dataType
  }
}

/// One operation of a graph: an op name, attributes, input values and output values.
public struct Node: Sendable, Equatable {
  /// A unique name, used in reports and errors.
  public var name: String
  /// The op, a key of `OpRegistry`.
  public var op: String
  /// The op's attributes.
  public var attributes: Attributes
  /// Input value ids, in the op's operand order.
  public var inputs: [ValueID]
  /// Output value ids.
  public var outputs: [ValueID]

  /// Creates a node.
  public init(name: String, op: String, attributes: Attributes = [:], inputs: [ValueID], outputs: [ValueID]) {
    self.name = name
    self.op = op
    self.attributes = attributes
    self.inputs = inputs
    self.outputs = outputs
  }
}

/// A dataflow graph: an arena of values, nodes in topological order, constants, inputs and outputs.
public struct Graph: Sendable {
  /// Every value, indexed by `ValueID`.
  public var values: [Value] = []
  /// Nodes in topological order.
  public var nodes: [Node] = []
  /// Constant tensors (weights), keyed by value id.
  public var constants: [ValueID: Tensor] = [:]
  /// Graph inputs in order.
  public var inputs: [ValueID] = []
  /// Graph outputs in order.
  public var outputs: [ValueID] = []

  /// Creates an empty graph.
  public init() {}

  /// Adds a value and returns its id.
  @discardableResult
  public mutating func addValue(name: String, shape: [Int], source: ValueSource) -> ValueID {
    values.append(Value(name: name, shape: shape, source: source))
    return ValueID(values.count - 1)
  }

  /// Adds a graph input.
  @discardableResult
  public mutating func addInput(name: String, shape: [Int], dataType: DataType = .float32) -> ValueID {
    let id = addValue(name: name, shape: shape, source: .input)
    values[id].dataType = dataType
    inputs.append(id)
    return id
  }

  /// Adds a constant tensor.
  @discardableResult
  public mutating func addConstant(_ tensor: Tensor, name: String) -> ValueID {
    let id = addValue(name: name, shape: tensor.shape, source: .constant)
    constants[id] = tensor
    return id
  }

  /// Appends a node whose output shapes are inferred by the op registry; returns its output ids.
  @discardableResult
  public mutating func addNode(
    op: String, inputs: [ValueID], attributes: Attributes = [:], name: String? = nil, outputNames: [String]? = nil
  ) throws(GraphFuseError) -> [ValueID] {
    let nodeName = name ?? "\(op)_\(nodes.count)"
    let definition = try OpRegistry.definition(of: op, node: nodeName)
    guard definition.arity.contains(inputs.count) else {
      throw GraphFuseError("takes \(definition.arity) inputs, got \(inputs.count)", node: nodeName, op: op)
    }
    for input in inputs where !values.indices.contains(input.index) {
      throw GraphFuseError("reads %\(input), which does not exist", node: nodeName, op: op)
    }
    let shapes = try definition.inferShapes(
      ShapeQuery(graph: self, inputs: inputs, attributes: attributes, node: nodeName, op: op))
    let index = NodeID(nodes.count)
    var outputs: [ValueID] = []
    for (k, shape) in shapes.enumerated() {
      let valueName =
        outputNames.flatMap { k < $0.count ? $0[k] : nil } ?? (shapes.count == 1 ? nodeName : "\(nodeName):\(k)")
      outputs.append(addValue(name: valueName, shape: shape, source: .node(index, output: k)))
    }
    nodes.append(Node(name: nodeName, op: op, attributes: attributes, inputs: inputs, outputs: outputs))
    return outputs
  }

  /// The shape of a value.
  public func shape(of id: ValueID) -> [Int] { values[id].shape }

  /// The element type of a value.
  public func dataType(of id: ValueID) -> DataType { values[id].dataType }

  /// The constant tensor behind a value, if it is a constant.
  public func constant(_ id: ValueID) -> Tensor? { constants[id] }

  /// The index of the node producing a value, if a node produces it.
  public func producer(of id: ValueID) -> NodeID? {
    if case .node(let n, _) = values[id].source { return n }
    return nil
  }

  /// For every value, the indices of the nodes that read it (a node reading twice appears twice).
  public func consumers() -> [[NodeID]] {
    var result = [[NodeID]](repeating: [], count: values.count)
    for index in nodes.ids {
      for input in nodes[index].inputs { result[input.index].append(index) }
    }
    return result
  }

  /// How many times each op appears, in order of first appearance.
  public var opCounts: [(op: String, count: Int)] {
    var order: [String] = []
    var counts: [String: Int] = [:]
    for node in nodes {
      if counts[node.op] == nil { order.append(node.op) }
      counts[node.op, default: 0] += 1
    }
    return order.map { ($0, counts[$0]!) }
  }
}
