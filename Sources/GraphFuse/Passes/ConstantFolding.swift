/// Evaluates every node whose inputs are all constants with its reference kernel and replaces
/// its outputs with constants.
let foldConstantsPass = Pass("foldConstants") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var removed = Set<NodeID>()
  for index in graph.nodes.ids where graph.nodes[index].inputs.allSatisfy({ graph.constant($0) != nil }) {
    let node = graph.nodes[index]
    let definition = try OpRegistry.definition(of: node.op, node: node.name)
    guard definition.pattern(node.attributes) != .opaque else { continue }
    let results = try definition.reference(
      KernelContext(
        inputs: node.inputs.map { graph.constant($0)! }, attributes: node.attributes, node: node.name, op: node.op,
        inputNames: node.inputs.map { graph.values[$0].name }))
    for (id, tensor) in zip(node.outputs, results) {
      graph.values[id].source = .constant
      graph.constants[id] = tensor
    }
    removed.insert(index)
  }
  ctx.graph = graph.removingNodes(removed)
}

/// Removes nodes none of whose outputs are used, and constants nothing reads.
let eliminateDeadCodePass = Pass("eliminateDeadCode") { (ctx: inout PassContext) in
  ctx.graph = ctx.graph.withoutDeadNodes()
}
