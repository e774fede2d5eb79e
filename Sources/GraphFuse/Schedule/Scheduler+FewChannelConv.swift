/// The schedule of a conv with few output channels (``FewChannelConv``).
extension Scheduler {
  /// Ops that read their input in plain layout (a blocked input is copied to plain for them first).
  static let plainReaders: Set<String> = Injective.reshapes.union(["transpose", "softmax", "matmul"])

  /// Emits `conv` for the group: the input in blocked layout, the weight in the same blocked layout
  /// (input channels in the lanes), the bias per channel; the output plain when every reader of it
  /// reads plain (or it is only the network's output), else blocked.
  mutating func emitFewChannelConv(
    _ conv: FewChannelConv, group: FusedGroup, index g: GroupID, weight: ValueID, bias: ValueID?
  ) throws(GraphFuseError) -> Bool {
    var conv = conv
    let v = conv.v
    let value = conv.epilogue.output
    conv.plainOutput = consumers[value.index].allSatisfy { Self.plainReaders.contains(graph.nodes[$0].op) }
    let node = graph.nodes[group.anchor]
    let input = try blockedBuffer(node.inputs[0], group: g)
    let packed = kernelPlan.addConstant(.blocked(weight, vector: v), graph)
    let biasBuffer = kernelPlan.addConstant(.channels(bias, scale: 1, channels: conv.cout, vector: v), graph)
    let operands = try operandBuffers(conv.epilogue, group: g)
    let reason =
      "\(v) accumulators per output channel, one per pixel of a row's run, input channels in the lanes, "
      + "summed across lanes by a tree of shuffles: \(conv.cout) output channel\(conv.cout == 1 ? "" : "s") "
      + "would fill \(conv.cout) of \(v) lanes of the blocked tile"
    var schedule = KernelSchedule(
      .convFewChannels, group: g, inputs: [.blocked(v), .packed, .packed] + layouts(conv.epilogue),
      output: conv.plainOutput ? .plain : .blocked(v), tile: .init(pixels: v, vectors: conv.cout, reason: reason),
      parallel: [.batch, .row, .pixelTile], epilogue: epilogueOps(group, anchor: group.anchor))
    let fmas = conv.n * conv.cout * conv.oh * conv.ow * conv.cin * conv.kh * conv.kw
    schedule.onCaller = 2 * fmas < Self.callerWork
    let bindings =
      KernelBindings(["in": input, "wt": packed, "bias": biasBuffer]) + .numbered("e", operands)
      + KernelBindings(["out": conv.plainOutput ? kernelPlan.plainBuffer(graph, value) : output(value)])
    try kernelPlan.addStep(conv.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
