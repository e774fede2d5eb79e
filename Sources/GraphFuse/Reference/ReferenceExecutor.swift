/// Runs a graph op by op with the registry's reference kernels: the ground truth.
public enum ReferenceExecutor {
  /// Runs `graph` on `inputs` (one per graph input, in order) and returns its outputs.
  public static func run(_ graph: Graph, inputs: [Tensor]) throws(GraphFuseError) -> [Tensor] {
    try run(graph, inputs: inputs, keepIntermediates: false).outputs
  }

  /// Runs `graph` and also returns every computed value when `keepIntermediates` is set.
  public static func run(_ graph: Graph, inputs: [Tensor], keepIntermediates: Bool) throws(GraphFuseError) -> (outputs: [Tensor], values: [ValueID: Tensor]) {
    guard inputs.count == graph.inputs.count else {
      throw GraphFuseError("the graph takes \(graph.inputs.count) inputs, got \(inputs.count)")
    }
    var env: [ValueID: Tensor] = graph.constants
    for (id, tensor) in zip(graph.inputs, inputs) {
      guard tensor.shape == graph.shape(of: id) else {
        throw GraphFuseError("input '\(graph.values[id].name)' has shape \(graph.shape(of: id)), got \(tensor.shape)")
      }
      env[id] = tensor
    }
    // Free each value after its last use unless it is kept.
    var lastUse = [Int](repeating: -1, count: graph.values.count)
    for (n, node) in graph.nodes.enumerated() { for i in node.inputs { lastUse[i] = n } }
    let keep = Set(graph.outputs)
    for (n, node) in graph.nodes.enumerated() {
      let definition = try OpRegistry.definition(of: node.op, node: node.name)
      let args = node.inputs.map { env[$0]! }
      let results = try definition.reference(KernelContext(inputs: args, attributes: node.attributes, node: node.name, op: node.op))
      for (id, tensor) in zip(node.outputs, results) { env[id] = tensor }
      if !keepIntermediates {
        for i in node.inputs where lastUse[i] == n && !keep.contains(i) && graph.constants[i] == nil { env[i] = nil }
      }
    }
    return (graph.outputs.map { env[$0]! }, env)
  }
}
