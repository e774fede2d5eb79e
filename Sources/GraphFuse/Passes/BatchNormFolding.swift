/// Batch-norm folding (Docs/Passes/BatchNormFolding.md): every inference batch_norm whose producer is a conv2d,
/// conv_transpose2d or gemm with constant weights and a single consumer is folded into it with
/// `s = γ/sqrt(σ²+ε)`, `W' = W·s`, `b' = (b − μ)·s + β`. Every batch norm gets a decision.
let foldBatchNormPass = Pass("foldBatchNorm") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var removed = Set<NodeID>()
  var decisions: [BatchNormDecision] = []
  for index in graph.nodes.ids where graph.nodes[index].op == "batch_norm" {
    let bn = graph.nodes[index]
    let verdict = try batchNormVerdict(bn, graph: graph, removed: removed, options: ctx.options)
    switch verdict {
    case .keep(let reason):
      decisions.append(BatchNormDecision(node: bn.name, foldedInto: nil, reason: reason))
    case .fold(let producer):
      let (scale, shift) = try scaleShift(of: bn, graph: graph)
      ChannelAffine.fold(into: producer, scale: scale, shift: shift, graph: &graph)
      graph.replaceUses(of: bn.outputs[0], with: bn.inputs[0])
      removed.insert(index)
      decisions.append(BatchNormDecision(node: bn.name, foldedInto: graph.nodes[producer].name, reason: nil))
    }
  }
  ctx.graph = graph.removingNodes(removed)
  ctx.batchNorms = decisions
}

/// Fold into producer node index, or keep for a reason.
private enum Verdict {
  case fold(NodeID)
  case keep(BatchNormReason)
}

/// The producer to fold into, or the reason the batch norm stays.
private func batchNormVerdict(_ bn: Node, graph: Graph, removed: Set<NodeID>, options: OptimizeOptions)
  throws(GraphFuseError) -> Verdict
{
  let x = bn.inputs[0]
  // Statistics computed from x (PyTorch track_running_stats=False) is the more specific reason,
  // whether or not the exporter also set training_mode.
  let statistics = bn.inputs[3...4]
  if statistics.contains(where: { graph.constant($0) == nil && graph.depends($0, on: x) }) {
    return .keep(.batchStatistics)
  }
  if BatchNorm.isTraining(bn.attributes) { return .keep(.trainingMode) }
  if options.keep.contains("batch_norm") { return .keep(.keptWhole) }
  if !options.fold { return .keep(.foldingDisabled) }
  if bn.inputs.dropFirst().contains(where: { graph.constant($0) == nil }) { return .keep(.nonConstantParameters) }
  guard let producer = graph.producer(of: x) else { return .keep(.noProducer(follows: nil)) }
  let node = graph.nodes[producer]
  guard ChannelAffine.producers.contains(node.op), BatchNorm.axis(bn.attributes, rank: graph.shape(of: x).count) == 1
  else {
    return .keep(.noProducer(follows: node.op))
  }
  guard ChannelAffine.hasConstantParameters(graph, node) else { return .keep(.nonConstantParameters) }
  let uses = graph.useCount(of: x, excluding: removed)
  if uses > 1 { return .keep(.producerConsumers(uses)) }
  if graph.isOutput(x) { return .keep(.producerIsGraphOutput) }
  return .fold(producer)
}

/// `s = γ/sqrt(σ²+ε)` and `t = β − μ·s` in Double; a negative or non-finite variance is an error.
func scaleShift(of bn: Node, graph: Graph) throws(GraphFuseError) -> (scale: [Double], shift: [Double]) {
  let gamma = graph.constant(bn.inputs[1])!.data, beta = graph.constant(bn.inputs[2])!.data
  let mean = graph.constant(bn.inputs[3])!.data, variance = graph.constant(bn.inputs[4])!.data
  let eps = bn.attributes.float("epsilon", default: 1e-5)
  if let bad = variance.first(where: { !$0.isFinite || $0 < 0 }) {
    throw GraphFuseError("variance holds \(bad); it must be finite and non-negative", node: bn.name, op: bn.op)
  }
  let scale = gamma.indices.map { Double(gamma[$0]) / (Double(variance[$0]) + eps).squareRoot() }
  let shift = gamma.indices.map { Double(beta[$0]) - Double(mean[$0]) * scale[$0] }
  return (scale, shift)
}

extension Graph {
  /// Whether `value` is computed (transitively) from `source`.
  func depends(_ value: ValueID, on source: ValueID) -> Bool {
    var stack = [value], seen = Set<ValueID>()
    while let v = stack.popLast() {
      if v == source { return true }
      guard seen.insert(v).inserted, let p = producer(of: v) else { continue }
      stack += nodes[p].inputs
    }
    return false
  }
}
