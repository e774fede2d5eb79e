extension Graph: CustomStringConvertible {
  /// The SSA spelling of a value: `%3`, or `%w3` for a constant.
  public func ssaName(_ id: ValueID) -> String {
    values[id].source == .constant ? "%w\(id)" : "%\(id)"
  }

  /// SSA text, one node a line: `%3 = conv2d(%0, %w1) {pads=[3,3,3,3], strides=[2,2]}`.
  public var description: String {
    var lines: [String] = []
    let args = inputs.map { "\(ssaName($0)): \(values[$0].shape)" }.joined(separator: ", ")
    lines.append("graph(\(args)) {")
    for node in nodes {
      let outs = node.outputs.map(ssaName).joined(separator: ", ")
      let ins = node.inputs.map(ssaName).joined(separator: ", ")
      let attrs = node.attributes.description
      let shapes = node.outputs.map { "\(values[$0].shape)" }.joined(separator: ", ")
      lines.append("  \(outs) = \(node.op)(\(ins))\(attrs.isEmpty ? "" : " " + attrs) : \(shapes)")
    }
    lines.append("  return " + outputs.map(ssaName).joined(separator: ", "))
    lines.append("}")
    return lines.joined(separator: "\n")
  }
}
