/// The schedule of a grouped conv with groups narrower than a vector (``RotatedGroupConv``).
extension Scheduler {
  /// Emits `conv` for the group: the input and output in blocked layout, the weight rotated per
  /// group segment (``ConstantRecipe/rotatedGroupWeight(_:vector:groupWidth:)``), the bias per channel.
  mutating func emitRotatedGroupConv(
    _ conv: RotatedGroupConv, group: FusedGroup, index g: GroupID, weight: ValueID, bias: ValueID?
  ) throws(GraphFuseError) -> Bool {
    let v = conv.v
    let node = graph.nodes[group.anchor]
    let input = try blockedBuffer(node.inputs[0], group: g)
    let packed = kernelPlan.addConstant(.rotatedGroupWeight(weight, vector: v, groupWidth: conv.g), graph)
    let biasBuffer = kernelPlan.addConstant(.channels(bias, scale: 1, channels: conv.c, vector: v), graph)
    let operands = try operandBuffers(conv.epilogue, group: g)
    let tile = conv.rowSchedule.map(\.width).max() ?? 1
    let reason =
      "\(conv.c / conv.g) groups of \(conv.g) channels, \(v / conv.g) to a vector: the partial sums rotated "
      + "within each group's \(conv.g) lanes, \(conv.g - 1) permutes a pixel, no wasted FMAs"
    var schedule = KernelSchedule(
      .convGrouped, group: g, inputs: [.blocked(v), .packed, .packed] + layouts(conv.epilogue),
      output: .blocked(v), tile: .init(pixels: tile, vectors: 1, reason: reason),
      parallel: [.batch, .channelBlock, .row], epilogue: epilogueOps(group, anchor: group.anchor))
    let fmas = conv.n * conv.c * conv.oh * conv.ow * conv.g * conv.kh * conv.kw
    schedule.onCaller = 2 * fmas < Self.callerWork
    let bindings =
      KernelBindings(["in": input, "wt": packed, "bias": biasBuffer]) + .numbered("e", operands)
      + KernelBindings(["out": output(conv.epilogue.output)])
    try kernelPlan.addStep(conv.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
