/// What shape inference sees of one node: its input shapes, constants and attributes.
public struct ShapeQuery {
  /// The graph the node is being added to.
  public let graph: Graph
  /// The node's input value ids.
  public let inputs: [ValueID]
  /// The node's attributes.
  public let attributes: Attributes
  /// The node's name, for errors.
  public let node: String
  /// The node's op, for errors.
  public let op: String

  /// The shape of input `i`.
  public func shape(_ i: Int) -> [Int] { graph.shape(of: inputs[i]) }

  /// The input shapes in order.
  public var shapes: [[Int]] { inputs.map { graph.shape(of: $0) } }

  /// The constant tensor behind input `i`, if it is a constant.
  public func constant(_ i: Int) -> Tensor? { i < inputs.count ? graph.constant(inputs[i]) : nil }

  /// An error about this node.
  public func error(_ message: String) -> GraphFuseError {
    GraphFuseError(message, node: node, op: op)
  }
}

/// What a reference kernel sees: the input tensors and the node's attributes.
public struct KernelContext {
  /// The input tensors in operand order.
  public let inputs: [Tensor]
  /// The node's attributes.
  public let attributes: Attributes
  /// The node's name, for errors.
  public let node: String
  /// The node's op, for errors.
  public let op: String
  /// The names of the input values, for errors (empty when not known).
  public var inputNames: [String] = []

  /// An error about this node.
  public func error(_ message: String) -> GraphFuseError {
    GraphFuseError(message, node: node, op: op)
  }
}

/// Everything GraphFuse knows about one op; the registry holds one per op.
public struct OpDefinition: Sendable {
  /// The op name used in graphs (`conv2d`).
  public var name: String
  /// The allowed number of inputs.
  public var arity: ClosedRange<Int>
  /// The fusion pattern of a node with these attributes.
  public var pattern: @Sendable (Attributes) -> OpPattern
  /// Output shapes from input shapes; throws on a mismatch, never traps.
  public var inferShapes: @Sendable (ShapeQuery) throws(GraphFuseError) -> [[Int]]
  /// The reference kernel: plain loops, the ground truth.
  public var reference: @Sendable (KernelContext) throws(GraphFuseError) -> [Tensor]
  /// For elementwise and broadcast ops, the per-element math over the operands.
  public var scalar: (@Sendable (Attributes) -> ScalarExpr)?
  /// For ops whose operands do not broadcast numpy-style (batch_norm's per-channel vectors),
  /// the shape each operand broadcasts as, given the attributes and the input shapes.
  public var operandShapes: (@Sendable (Attributes, [[Int]]) -> [[Int]])?

  /// Creates a definition.
  public init(
    name: String, arity: ClosedRange<Int>, pattern: @escaping @Sendable (Attributes) -> OpPattern,
    inferShapes: @escaping @Sendable (ShapeQuery) throws(GraphFuseError) -> [[Int]],
    reference: @escaping @Sendable (KernelContext) throws(GraphFuseError) -> [Tensor],
    scalar: (@Sendable (Attributes) -> ScalarExpr)? = nil,
    operandShapes: (@Sendable (Attributes, [[Int]]) -> [[Int]])? = nil
  ) {
    self.name = name
    self.arity = arity
    self.pattern = pattern
    self.inferShapes = inferShapes
    self.reference = reference
    self.scalar = scalar
    self.operandShapes = operandShapes
  }

  /// Floating-point operations of one node from its input shapes, output shape and attributes;
  /// nil means one per output element.
  public var flops: (@Sendable (_ inputs: [[Int]], _ output: [Int], Attributes) -> Int)?

  /// This definition with a FLOP count.
  func withFlops(_ count: @escaping @Sendable (_ inputs: [[Int]], _ output: [Int], Attributes) -> Int) -> OpDefinition {
    var copy = self
    copy.flops = count
    return copy
  }

  /// The shape each operand broadcasts as: `operandShapes` when set, else the shapes themselves.
  public func broadcastShapes(_ attributes: Attributes, _ shapes: [[Int]]) -> [[Int]] {
    operandShapes?(attributes, shapes) ?? shapes
  }
}

/// The table of every op GraphFuse understands.
public enum OpRegistry {
  /// Every definition, keyed by op name. Each op family contributes its list in its own file.
  public static let definitions: [String: OpDefinition] = {
    let all =
      elementwiseOps + broadcastOps + convolutionOps + batchNormOps + denseOps + poolingOps
      + injectiveOps + gatherOps + reductionOps + transformerElementwiseOps + comparisonOps + [
        expandOp, LayerNorm.definition, einsumOp, Take.definition, CumSum.definition, LSTMRecurrence.definition,
        GRURecurrence.definition, GroupNorm.definition,
      ]
    return Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
  }()

  /// The definition of `op`; an unknown op is an error naming the node.
  public static func definition(of op: String, node: String? = nil) throws(GraphFuseError) -> OpDefinition {
    guard let definition = definitions[op] else {
      throw GraphFuseError("unknown op '\(op)'", node: node, op: op)
    }
    return definition
  }

  /// The floating-point operations of one node of `graph`.
  public static func flops(of node: Node, in graph: Graph) -> Int {
    let out = graph.shape(of: node.outputs[0])
    guard let count = definitions[node.op]?.flops else { return out.reduce(1, *) }
    return count(node.inputs.map(graph.shape(of:)), out, node.attributes)
  }

  /// The fusion pattern of a node.
  public static func pattern(of node: Node) -> OpPattern {
    definitions[node.op]?.pattern(node.attributes) ?? .opaque
  }
}
