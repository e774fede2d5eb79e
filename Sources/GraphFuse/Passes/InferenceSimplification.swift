/// Removes ops that do nothing at inference: identity, dropout, float-to-float cast.
let removeIdentitiesPass = Pass("removeIdentities") { (ctx: inout PassContext) in
  var graph = ctx.graph
  var removed = Set<NodeID>()
  for index in graph.nodes.ids where ["identity", "dropout", "cast"].contains(graph.nodes[index].op) {
    let node = graph.nodes[index]
    // A graph output that is just a renamed graph input keeps its node.
    if graph.isOutput(node.outputs[0]), graph.producer(of: node.inputs[0]) == nil { continue }
    // A graph output keeps its element type: an identity that changes it (int64 → float32) stays.
    if graph.isOutput(node.outputs[0]), graph.dataType(of: node.outputs[0]) != graph.dataType(of: node.inputs[0]) {
      continue
    }
    graph.replaceUses(of: node.outputs[0], with: node.inputs[0])
    removed.insert(index)
  }
  ctx.graph = graph.removingNodes(removed)
}

/// Every inference batch_norm left after folding, with constant parameters, becomes one
/// `scale_shift(x, s, t)` with `s = γ/sqrt(σ²+ε)` and `t = β − μ·s` precomputed, shaped to
/// broadcast over the channel axis. Kept-whole, training-mode and non-constant ones stay.
let simplifyBatchNormPass = Pass("simplifyBatchNorm") { (ctx: inout PassContext) throws(GraphFuseError) in
  guard !ctx.options.keep.contains("batch_norm") else { return }
  var graph = ctx.graph
  for index in graph.nodes.ids where graph.nodes[index].op == "batch_norm" {
    let bn = graph.nodes[index]
    guard !BatchNorm.isTraining(bn.attributes), bn.inputs.dropFirst().allSatisfy({ graph.constant($0) != nil }) else {
      continue
    }
    let (scale, shift) = try scaleShift(of: bn, graph: graph)
    let rank = graph.shape(of: bn.inputs[0]).count
    let axis = BatchNorm.axis(bn.attributes, rank: rank)
    let shape = [scale.count] + [Int](repeating: 1, count: rank - axis - 1)
    let s = graph.addConstant(Tensor(shape: shape, data: scale.map(Float.init)), name: bn.name + ".scale")
    let t = graph.addConstant(Tensor(shape: shape, data: shift.map(Float.init)), name: bn.name + ".shift")
    graph.nodes[index] = Node(name: bn.name, op: "scale_shift", inputs: [bn.inputs[0], s, t], outputs: bn.outputs)
  }
  // The old parameters are dropped by dead-code elimination.
  ctx.graph = graph
}

/// Folds per-channel constant `mul` / `add` / `scale_shift` that follow a conv or dense layer into
/// its weight and bias, as ONNX Runtime's ConvMulFusion and ConvAddFusion do.
let foldChannelAffinePass = Pass("foldChannelAffine") { (ctx: inout PassContext) in
  guard ctx.options.fold else { return }
  var graph = ctx.graph
  var removed = Set<NodeID>()
  for index in graph.nodes.ids where ["mul", "add", "sub", "scale_shift"].contains(graph.nodes[index].op) {
    let node = graph.nodes[index]
    guard let (x, scale, shift) = channelAffine(node, graph: graph),
      let producer = graph.producer(of: x), ChannelAffine.producers.contains(graph.nodes[producer].op),
      ChannelAffine.hasConstantParameters(graph, graph.nodes[producer]), !graph.isOutput(x)
    else { continue }
    guard graph.useCount(of: x, excluding: removed) == 1 else { continue }
    ChannelAffine.fold(into: producer, scale: scale, shift: shift, graph: &graph)
    graph.replaceUses(of: node.outputs[0], with: x)
    removed.insert(index)
  }
  ctx.graph = graph.removingNodes(removed)
}

/// The non-constant operand and the per-channel scale and shift of an affine node, if it is one.
private func channelAffine(_ node: Node, graph: Graph) -> (ValueID, [Double], [Double])? {
  let out = graph.shape(of: node.outputs[0])
  guard out.count >= 2 else { return nil }
  func vector(_ id: ValueID) -> [Double]? { graph.constant(id).flatMap { ChannelAffine.perChannel($0, outShape: out) } }
  let ones = [Double](repeating: 1, count: out[1]), zeros = [Double](repeating: 0, count: out[1])
  let (a, b) = (node.inputs[0], node.inputs.count > 1 ? node.inputs[1] : node.inputs[0])
  // The non-constant operand must already have the output's shape (no broadcasting of x).
  switch node.op {
  case "mul":
    if let m = vector(b), graph.shape(of: a) == out { return (a, m, zeros) }
    if let m = vector(a), graph.shape(of: b) == out { return (b, m, zeros) }
  case "add":
    if let c = vector(b), graph.shape(of: a) == out { return (a, ones, c) }
    if let c = vector(a), graph.shape(of: b) == out { return (b, ones, c) }
  case "sub":
    if let c = vector(b), graph.shape(of: a) == out { return (a, ones, c.map { -$0 }) }
  case "scale_shift":
    if let s = vector(node.inputs[1]), let t = vector(node.inputs[2]), graph.shape(of: a) == out { return (a, s, t) }
  default: break
  }
  return nil
}
