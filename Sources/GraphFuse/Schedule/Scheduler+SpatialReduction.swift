/// The spatial-reduction schedule: a `reduce_sum`, `reduce_mean` or `reduce_max` over axes 2 and 3
/// of a rank-4 tensor held in blocked layout, with the elementwise ops fused before it (a
/// ``SpatialReduction`` prologue) and after it (the epilogue), as one blocked kernel.
extension Scheduler {
  /// Emits the group as a ``SpatialReduction``; false when the reduction is over other axes, its
  /// input (or a tensor its prologue reads) is not already blocked, or a tail reads a tensor.
  mutating func emitSpatialReduction(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    let operations: [String: SpatialReduction.Operation] = [
      "reduce_sum": .sum, "reduce_mean": .mean, "reduce_max": .max,
    ]
    guard let operation = operations[node.op], node.inputs.count == 1, x.count == 4,
      let axes = Reduction.axes(node.attributes, rank: 4), axes.count == 2, Set(axes) == [2, 3],
      let position = group.nodes.firstIndex(of: group.anchor)
    else { return false }
    // Members before the anchor feed it (the prologue), members after it read its result.
    let before = Array(group.nodes[..<position]), after = Array(group.nodes[(position + 1)...])
    let tail = FusionPlan.makeGroups(graph, partition: [[group.anchor] + after])[0]
    guard let e = Epilogue.make(graph, group: tail, anchor: group.anchor, vector: vectorWidth), !e.readsTensors else {
      return false
    }
    var prologue: Epilogue? = nil
    var inputs: KernelBindings
    var layouts: [KernelSchedule.Layout]
    if before.isEmpty {
      guard let input = blocked[node.inputs[0]] else { return false }
      inputs = KernelBindings(["in": input])
      layouts = [.blocked(vectorWidth)]
    } else {
      let stage = FusionPlan.makeGroups(graph, partition: [before])[0]
      guard let p = Epilogue.make(graph, group: stage, anchor: nil, vector: vectorWidth), p.output == node.inputs[0]
      else { return false }
      // Every tensor the prologue reads must be in blocked layout already: a copy into it would
      // cost more than the generic reduction saves.
      for operand in p.operands {
        switch operand {
        case .full(let v) where blocked[v] != nil: continue
        case .channel, .scalar: continue
        default: return false
        }
      }
      prologue = p
      inputs = .numbered("x", try operandBuffers(p, group: g))
      layouts = self.layouts(p)
    }
    let nest = SpatialReduction(
      n: x[0], c: x[1], pixels: x[2] * x[3], operation: operation, prologue: prologue, epilogue: e
    ).nest
    let schedule = KernelSchedule(
      .spatialReduction, group: g, inputs: layouts + self.layouts(e), output: .plain,
      parallel: [.batch, .channelBlock], epilogue: epilogueOps(group, anchor: group.anchor))
    try kernelPlan.addStep(
      nest,
      bindings: inputs + .numbered("e", try operandBuffers(e, group: g))
        + KernelBindings(["out": kernelPlan.plainBuffer(graph, e.output)]),
      schedule: schedule)
    return true
  }
}
