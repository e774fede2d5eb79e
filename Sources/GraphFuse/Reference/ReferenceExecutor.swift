/// Runs a graph op by op with the registry's reference kernels: the ground truth.
public enum ReferenceExecutor {
  /// Runs `graph` on `inputs` (one per graph input, in order) and returns its outputs.
  public static func run(_ graph: Graph, inputs: [Tensor]) throws(GraphFuseError) -> [Tensor] {
    try run(graph, inputs: inputs, keepIntermediates: false).outputs
  }

  /// Runs `graph` after checking its peak memory against `maxMemory` bytes (and the limits of
  /// ``MemoryBudget``); the plain ``run(_:inputs:)`` checks against those limits alone.
  public static func run(_ graph: Graph, inputs: [Tensor], maxMemory: Int?) throws(GraphFuseError) -> [Tensor] {
    try run(graph, inputs: inputs, keepIntermediates: false, maxMemory: maxMemory).outputs
  }

  /// The most bytes of tensors alive at once when running `graph` op by op (constants, inputs,
  /// every value from its producer to its last use; all values when `keepIntermediates`), with
  /// room for what a reference kernel holds while it runs: its outputs built in a working array
  /// and then wrapped as tensors count twice at that node, and the graph outputs once more for
  /// the copies a caller makes to write them.
  public static func peakBytes(_ graph: Graph, keepIntermediates: Bool = false) -> Int {
    var lastUse = [Int](repeating: -1, count: graph.values.count)
    for (n, node) in graph.nodes.enumerated() {
      for i in node.inputs where i.index < lastUse.count { lastUse[i.index] = n }
    }
    let keep = Set(graph.outputs)
    func bytes(_ v: ValueID) -> Int { MemoryBudget.floatBytes(shape: graph.shape(of: v)) }
    var live = MemoryBudget.sum(graph.constants.keys.map(bytes) + graph.inputs.map(bytes))
    var peak = live
    for (n, node) in graph.nodes.enumerated() {
      let outputs = MemoryBudget.sum(node.outputs.map(bytes))
      peak = max(peak, MemoryBudget.sum([live, outputs, outputs]))
      live = MemoryBudget.sum([live, outputs])
      guard !keepIntermediates else { continue }
      for i in Set(node.inputs) where lastUse[i.index] == n && !keep.contains(i) && graph.constants[i] == nil {
        live -= min(live, bytes(i))
      }
    }
    return max(peak, MemoryBudget.sum([live] + graph.outputs.map(bytes)))
  }

  /// Runs `graph` and also returns every computed value when `keepIntermediates` is set.
  public static func run(
    _ graph: Graph, inputs: [Tensor], keepIntermediates: Bool, maxMemory: Int? = nil
  ) throws(GraphFuseError) -> (outputs: [Tensor], values: [ValueID: Tensor]) {
    guard inputs.count == graph.inputs.count else {
      throw GraphFuseError("the graph takes \(graph.inputs.count) inputs, got \(inputs.count)")
    }
    try MemoryBudget.check(
      "the reference run", parts: [("tensors", peakBytes(graph, keepIntermediates: keepIntermediates))],
      option: maxMemory)
    var env: [ValueID: Tensor] = graph.constants
    for (id, tensor) in zip(graph.inputs, inputs) {
      guard tensor.shape == graph.shape(of: id) else {
        throw GraphFuseError("input '\(graph.values[id].name)' has shape \(graph.shape(of: id)), got \(tensor.shape)")
      }
      env[id] = tensor
    }
    // Free each value after its last use unless it is kept.
    var lastUse = [Int](repeating: -1, count: graph.values.count)
    for (n, node) in graph.nodes.enumerated() { for i in node.inputs { lastUse[i.index] = n } }
    let keep = Set(graph.outputs)
    for (n, node) in graph.nodes.enumerated() {
      let definition = try OpRegistry.definition(of: node.op, node: node.name)
      let args = node.inputs.map { env[$0]! }
      let results = try definition.reference(
        KernelContext(
          inputs: args, attributes: node.attributes, node: node.name, op: node.op,
          inputNames: node.inputs.map { graph.values[$0].name }))
      for (id, tensor) in zip(node.outputs, results) { env[id] = tensor }
      if !keepIntermediates {
        for i in node.inputs where lastUse[i.index] == n && !keep.contains(i) && graph.constants[i] == nil {
          env[i] = nil
        }
      }
    }
    return (graph.outputs.map { env[$0]! }, env)
  }
}
