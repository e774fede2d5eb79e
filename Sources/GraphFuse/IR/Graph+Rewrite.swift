extension Graph {
  /// Points every use of `old` (node inputs and graph outputs) at `new`.
  public mutating func replaceUses(of old: ValueID, with new: ValueID) {
    for n in nodes.indices {
      for k in nodes[n].inputs.indices where nodes[n].inputs[k] == old { nodes[n].inputs[k] = new }
    }
    for k in outputs.indices where outputs[k] == old { outputs[k] = new }
  }

  /// Appends `reshape(v)` to `shape`, named `name`; returns its output (passes that rewrite a
  /// value into a view of another).
  mutating func addReshape(_ v: ValueID, to shape: [Int], name: String) throws(GraphFuseError) -> ValueID {
    try addNode(op: "reshape", inputs: [v], attributes: ["shape": .ints(shape)], name: name)[0]
  }

  /// Appends the slice `start..<end` of `v` along `axis`, named `name`; returns its output.
  mutating func addSlice(_ v: ValueID, axis: Int, start: Int, end: Int, name: String) throws(GraphFuseError)
    -> ValueID
  {
    let attributes: Attributes = [
      "starts": .ints([start]), "ends": .ints([end]), "axes": .ints([axis]), "steps": .ints([1]),
    ]
    return try addNode(op: "slice", inputs: [v], attributes: attributes, name: name)[0]
  }

  /// How many times nodes other than those in `excluded` read `id`.
  public func useCount(of id: ValueID, excluding excluded: Set<NodeID> = []) -> Int {
    nodes.ids.reduce(0) { n, i in excluded.contains(i) ? n : n + nodes[i].inputs.filter { $0 == id }.count }
  }

  /// Whether a value is a graph output.
  public func isOutput(_ id: ValueID) -> Bool { outputs.contains(id) }

  /// The graph without the nodes none of whose results reach a graph output (nodes in topological
  /// order), and without the values and constants nothing refers to any more.
  public func withoutDeadNodes() -> Graph {
    var live = Set(outputs)
    var removed = Set<NodeID>()
    for index in nodes.ids.reversed() {
      let node = nodes[index]
      if node.outputs.contains(where: live.contains) { live.formUnion(node.inputs) } else { removed.insert(index) }
    }
    return removingNodes(removed)
  }

  /// The graph without the nodes at `removed` and without values nothing refers to any more;
  /// value ids are renumbered densely in their old order.
  public func removingNodes(_ removed: Set<NodeID>) -> Graph {
    var keepNode = [Bool](repeating: true, count: nodes.count)
    for n in removed { keepNode[n.index] = false }
    var used = [Bool](repeating: false, count: values.count)
    for id in inputs { used[id.index] = true }
    for id in outputs { used[id.index] = true }
    for (n, node) in nodes.enumerated() where keepNode[n] {
      for id in node.inputs { used[id.index] = true }
      for id in node.outputs { used[id.index] = true }
    }
    var newID = [ValueID](repeating: -1, count: values.count)
    var newNodeIndex = [NodeID](repeating: -1, count: nodes.count)
    var next = 0
    for n in nodes.indices where keepNode[n] {
      newNodeIndex[n] = NodeID(next)
      next += 1
    }
    var result = Graph()
    for (id, value) in zip(values.ids, values) where used[id.index] {
      var v = value
      if case .node(let n, let k) = value.source {
        guard keepNode[n.index] else { continue }
        v.source = .node(newNodeIndex[n.index], output: k)
      }
      newID[id.index] = ValueID(result.values.count)
      result.values.append(v)
      if let c = constants[id] { result.constants[newID[id.index]] = c }
    }
    for (n, node) in nodes.enumerated() where keepNode[n] {
      var copy = node
      copy.inputs = node.inputs.map { newID[$0.index] }
      copy.outputs = node.outputs.map { newID[$0.index] }
      result.nodes.append(copy)
    }
    result.inputs = inputs.map { newID[$0.index] }
    result.outputs = outputs.map { newID[$0.index] }
    return result
  }
}
