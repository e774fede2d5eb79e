/// A channel multiply `x · s` (s one value per channel, computed at run time: a squeeze-excitation
/// gate) that runs as no kernel of its own: every conv reading the product scales its packed
/// weights by `s` along the input-channel axis and reads `x`.
struct ScaledInput: Equatable {
  /// The activation `[N, C, H, W]`.
  var x: ValueID
  /// The per-channel scale `[1, C, 1, 1]`.
  var scale: ValueID
}

extension Scheduler {
  /// Work (in flops, or 8 per float a memory-bound kernel moves) below which a kernel runs on the
  /// calling thread: about 1–2 µs on one core, the price of one round trip through the pool.
  static let callerWork = 1 << 17

  /// The fold of `group` when it is a lone `mul` of a `[N, C, H, W]` activation by a run-time
  /// `[1, C, 1, 1]` scale whose every reader is a one-group conv emitted by ``emitConv`` (its
  /// group's anchor and first node, constant weights and bias, not a conv chain, an epilogue that
  /// fits), and scaling the weights costs less than the multiply pass it replaces:
  /// Σ Cout·kh·kw (weights per input channel, over the readers) ≤ H·W (pixels per input channel).
  func foldableScale(_ group: FusedGroup) -> ScaledInput? {
    guard group.nodes.count == 1, group.outputs.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    guard node.op == "mul", node.inputs.count == 2, node.outputs == group.outputs else { return nil }
    let product = node.outputs[0]
    let shape = graph.shape(of: product)
    guard shape.count == 4, !graph.outputs.contains(product) else { return nil }
    let pair = [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])].first { x, s in
      graph.shape(of: x) == shape && graph.shape(of: s) == [1, shape[1], 1, 1] && graph.constant(s) == nil
    }
    guard let (x, scale) = pair, x != scale else { return nil }
    var weightsPerChannel = 0
    for c in consumers[product.index] {
      guard let weight = foldingConvWeight(c, reading: product) else { return nil }
      weightsPerChannel += weight.shape[0] * weight.shape[2] * weight.shape[3]
    }
    guard weightsPerChannel > 0, weightsPerChannel <= shape[2] * shape[3] else { return nil }
    return ScaledInput(x: x, scale: scale)
  }

  /// Emits the kernel writing `packed · s` (by input channel) into a new arena buffer; returns it.
  mutating func emitScaledWeights(
    packed: BufferID, count: Int, scale: ValueID, template t: BlockedConv, kernel: Int, group g: GroupID
  ) throws(GraphFuseError) -> BufferID {
    let v = vectorWidth
    let s = try blockedBuffer(scale, group: g)
    let scaled = kernelPlan.addBuffer(BufferPlan(count: count, storage: .arena, value: nil))
    let icBlocks = (t.cin + t.icBlock - 1) / t.icBlock
    let ocGroups = (t.cout + v * t.nv - 1) / (v * t.nv)
    let nest = ScaledWeights.nest(
      ocGroups: ocGroups, icBlocks: icBlocks, icBlock: t.icBlock, kernel: kernel, nv: t.nv, vector: v,
      scaleCount: kernelPlan.buffers[s].count)
    var schedule = KernelSchedule(
      .scaleWeights, group: g, inputs: [.packed, .blocked(v)], output: .packed, parallel: [.channelGroup])
    schedule.onCaller = 8 * count < Self.callerWork
    try kernelPlan.addStep(nest, bindings: KernelBindings(["w": packed, "s": s, "out": scaled]), schedule: schedule)
    return scaled
  }
}

extension Scheduler {
  /// The constant weight of conv node `c` when it can take a fold of the value it reads: a
  /// one-group conv reading `value` once, as its activation, with constant weights and bias,
  /// the anchor and first node of a group that is not a conv chain and whose epilogue fits the
  /// blocked conv kernel (``emitConv``). Nil otherwise.
  func foldingConvWeight(_ c: NodeID, reading value: ValueID) -> Tensor? {
    let conv = graph.nodes[c]
    guard conv.op == "conv2d", conv.inputs[0] == value, !conv.inputs.dropFirst().contains(value),
      conv.attributes.int("group", default: 1) == 1, let weight = graph.constant(conv.inputs[1]),
      weight.shape.count == 4, conv.inputs.count < 3 || graph.constant(conv.inputs[2]) != nil,
      groupOfNode.indices.contains(c.index), let g = groupOfNode[c.index]
    else { return nil }
    let consumer = plan.groups[g]
    guard consumer.anchor == c, consumer.nodes.first == c, consumer.chain == nil,
      Epilogue.make(graph, group: consumer, anchor: c, vector: vectorWidth) != nil
    else { return nil }
    return weight
  }

  /// Fails loudly when a kernel other than a folding conv would read a folded product, which no
  /// kernel writes (``foldableScale(_:)`` checks every reader first, so this is a planner bug).
  func requireComputed(_ v: ValueID) throws(GraphFuseError) {
    guard scaledInputs[v] != nil || prologues[v] != nil else { return }
    throw GraphFuseError(
      "internal: the folded \(scaledInputs[v] != nil ? "channel multiply" : "input prologue") \(graph.values[v].name)"
        + " is read by a kernel that does not fold it", op: "compile")
  }
}
