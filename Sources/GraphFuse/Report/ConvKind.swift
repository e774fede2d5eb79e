/// What kind of convolution a `conv2d` node is: pointwise (1×1), depthwise, grouped or dense k×k.
public enum ConvKind: String, Sendable, Codable, CaseIterable {
  /// A 1×1 convolution with one group: a matrix product over channels.
  case pointwise = "1x1"
  /// One group per input channel (`group == C_in`): each channel filtered on its own.
  case depthwise
  /// Several groups, each over several channels (`1 < group < C_in`).
  case grouped
  /// A k×k convolution with one group.
  case dense

  /// The kind of a `conv2d` node of `graph`, nil for any other op.
  public static func of(_ node: Node, in graph: Graph) -> ConvKind? {
    guard node.op == "conv2d", node.inputs.count >= 2 else { return nil }
    let groups = node.attributes.int("group", default: 1)
    let x = graph.shape(of: node.inputs[0]), w = graph.shape(of: node.inputs[1])
    guard x.count >= 2, w.count >= 3 else { return nil }
    if groups > 1 { return groups == x[1] ? .depthwise : .grouped }
    return w.dropFirst(2).allSatisfy { $0 == 1 } ? .pointwise : .dense
  }

  /// How the report's op column shows a conv of this kind.
  var label: String {
    switch self {
    case .pointwise: return "conv2d(1x1)"
    case .depthwise: return "conv2d(depthwise)"
    case .grouped: return "conv2d(grouped)"
    case .dense: return "conv2d"
    }
  }
}
