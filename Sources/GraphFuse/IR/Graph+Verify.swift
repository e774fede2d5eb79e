extension Graph {
  /// Checks the graph's invariants: topological order, single definitions, shapes
  /// consistent with the op registry, constants present, outputs defined.
  public func verify() throws(GraphFuseError) {
    var defined = [Bool](repeating: false, count: values.count)
    for id in inputs {
      guard values.indices.contains(id.index), values[id].source == .input, !defined[id.index] else {
        throw GraphFuseError("input %\(id) is not a unique graph input")
      }
      defined[id.index] = true
    }
    for (id, value) in zip(values.ids, values) where value.source == .constant {
      guard let tensor = constants[id] else { throw GraphFuseError("constant \(ssaName(id)) has no tensor") }
      guard tensor.shape == value.shape else {
        throw GraphFuseError("constant \(ssaName(id)) is \(tensor.shape), declared \(value.shape)")
      }
      defined[id.index] = true
    }
    var names = Set<String>()
    for (n, node) in nodes.enumerated() {
      guard names.insert(node.name).inserted else {
        throw GraphFuseError("node name is not unique", node: node.name, op: node.op)
      }
      let definition = try OpRegistry.definition(of: node.op, node: node.name)
      guard definition.arity.contains(node.inputs.count) else {
        throw GraphFuseError("takes \(definition.arity) inputs, has \(node.inputs.count)", node: node.name, op: node.op)
      }
      for input in node.inputs where !values.indices.contains(input.index) || !defined[input.index] {
        throw GraphFuseError("reads %\(input) before it is defined", node: node.name, op: node.op)
      }
      let expected = try definition.inferShapes(
        ShapeQuery(graph: self, inputs: node.inputs, attributes: node.attributes, node: node.name, op: node.op))
      guard expected.count == node.outputs.count else {
        throw GraphFuseError(
          "has \(node.outputs.count) outputs, expected \(expected.count)", node: node.name, op: node.op)
      }
      for (k, (id, shape)) in zip(node.outputs, expected).enumerated() {
        guard values.indices.contains(id.index), !defined[id.index] else {
          throw GraphFuseError("redefines %\(id)", node: node.name, op: node.op)
        }
        guard values[id].source == .node(NodeID(n), output: k) else {
          throw GraphFuseError("output %\(id) does not point back to the node", node: node.name, op: node.op)
        }
        guard values[id].shape == shape else {
          throw GraphFuseError(
            "output %\(id) is declared \(values[id].shape), inferred \(shape)", node: node.name, op: node.op)
        }
        defined[id.index] = true
      }
    }
    for id in outputs where !values.indices.contains(id.index) || !defined[id.index] {
      throw GraphFuseError("graph output %\(id) is never defined")
    }
  }
}
