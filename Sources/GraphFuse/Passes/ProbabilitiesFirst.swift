/// Attention written values-first, `V · softmax(S)ᵀ` (`V` `[…, dv, n]`, the output `[…, dv, m]`,
/// LeViT's convolutional blocks: `v @ attn.transpose(-2, -1)`), becomes
/// `transpose(softmax(S) · Vᵀ)`: the same sums, `out[c, i] = Σⱼ V[c, j] · P[i, j]`, with the
/// probabilities as the left operand, the form the fused attention kernel runs
/// (``AttentionChain``). The transpose of the `m × n` probabilities goes; a transpose of `V`
/// (`dv × n`, a view of the QKV projection that the scheduler copies) and one of the output
/// (`dv × m`) come instead, each `dv / m` of its size. LeViT-128S's first stage: 4 heads, 196
/// tokens, `dv` 32.
///
/// Applies when a `matmul`'s second operand is a transpose of the last two axes of a softmax over
/// the last axis, the transpose and the softmax each read by the next op alone, neither a graph
/// output, and both operands have the same rank. Only with attention fusion on, since the rewrite
/// is there to let the three stages fuse; without it the graph stays as imported.
let probabilitiesFirstPass = Pass("probabilitiesFirst") { (ctx: inout PassContext) throws(GraphFuseError) in
  guard ctx.options.fuse, ctx.options.fuseAttention else { return }
  var graph = ctx.graph
  let consumers = graph.consumers()
  var dropped: Set<NodeID> = []
  for m in graph.nodes.ids where graph.nodes[m].op == "matmul" {
    let node = graph.nodes[m]
    guard let (values, probabilities, transpose) = ProbabilitiesFirst.match(graph, node, consumers: consumers) else {
      continue
    }
    let swap: Attribute = .ints(ProbabilitiesFirst.lastTwoSwapped(rank: graph.shape(of: values).count))
    let valuesT = try graph.addNode(
      op: "transpose", inputs: [values], attributes: ["perm": swap], name: node.name + ".values_transposed")[0]
    let product = try graph.addNode(
      op: "matmul", inputs: [probabilities, valuesT], name: node.name + ".probabilities_first")[0]
    let output = node.outputs[0]
    let result = try graph.addNode(
      op: "transpose", inputs: [product], attributes: ["perm": swap], name: node.name,
      outputNames: [graph.values[output].name])[0]
    graph.replaceUses(of: output, with: result)
    dropped.formUnion([m, transpose])
  }
  if !dropped.isEmpty { graph = GatherMove.topologicallyOrdered(graph.removingNodes(dropped)) }
  ctx.graph = graph
}

/// The rule of ``probabilitiesFirstPass``.
enum ProbabilitiesFirst {
  /// `[0, …, rank − 3, rank − 1, rank − 2]`.
  static func lastTwoSwapped(rank: Int) -> [Int] { Array(0..<(rank - 2)) + [rank - 1, rank - 2] }

  /// For `matmul(V, transpose(P))` with `P` a softmax over its last axis: `V`, `P` and the
  /// transpose node; nil for any other form (``probabilitiesFirstPass``).
  static func match(_ graph: Graph, _ node: Node, consumers: [[NodeID]]) -> (ValueID, ValueID, NodeID)? {
    guard node.op == "matmul", node.inputs.count == 2 else { return nil }
    let (values, transposed) = (node.inputs[0], node.inputs[1])
    let rank = graph.shape(of: transposed).count
    guard rank >= 2, graph.shape(of: values).count == rank, let t = graph.producer(of: transposed),
      graph.nodes[t].op == "transpose",
      graph.nodes[t].attributes.ints("perm", default: []) == lastTwoSwapped(rank: rank),
      !graph.isOutput(transposed), consumers[transposed.index].count == 1
    else { return nil }
    let probabilities = graph.nodes[t].inputs[0]
    guard let s = graph.producer(of: probabilities), graph.nodes[s].op == "softmax",
      Injective.axis(graph.nodes[s].attributes.int("axis", default: -1), rank: rank) == rank - 1,
      !graph.isOutput(probabilities), consumers[probabilities.index] == [t]
    else { return nil }
    return (values, probabilities, t)
  }
}
