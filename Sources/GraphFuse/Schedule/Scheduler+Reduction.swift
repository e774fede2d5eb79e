/// The reduction schedules: a `reduce_sum`, `reduce_mean` or `reduce_max` with the elementwise ops
/// fused before it (a prologue evaluated as each vector is read) and after it (the epilogue), as
/// one kernel: over axes 2 and 3 of a blocked map (``SpatialReduction``), or over a run of axes
/// before the last of a plain tensor (``ColumnReduction``). Other reductions run as generic loops.
extension Scheduler {
  /// Emits the group as a ``SpatialReduction`` or a ``ColumnReduction``; false when neither fits.
  mutating func emitReduction(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    let operations: [String: SpatialReduction.Operation] = [
      "reduce_sum": .sum, "reduce_mean": .mean, "reduce_max": .max,
    ]
    guard let operation = operations[node.op], node.inputs.count == 1,
      let axes = Reduction.axes(node.attributes, rank: x.count)?.sorted(), !axes.isEmpty,
      let position = group.nodes.firstIndex(of: group.anchor)
    else { return false }
    // Members before the anchor feed it (the prologue), members after it read its result.
    let before = Array(group.nodes[..<position]), after = Array(group.nodes[(position + 1)...])
    let tail = FusionPlan.makeGroups(graph, partition: [[group.anchor] + after])[0]
    let stage = before.isEmpty ? nil : FusionPlan.makeGroups(graph, partition: [before])[0]
    // One result: the prologue only feeds the reduction, the tail is the group's output.
    guard group.outputs.count == 1, tail.outputs == group.outputs, stage.map({ $0.outputs == [node.inputs[0]] }) ?? true
    else { return false }
    if x.count == 4, axes == [2, 3],
      try emitSpatialReduction(operation, node: node, stage: stage, tail: tail, index: g, group: group)
    {
      return true
    }
    return try emitColumnReduction(operation, node: node, axes: axes, stage: stage, tail: tail, index: g, group: group)
  }

  /// Axes 2 and 3 of a rank-4 tensor whose blocked layout exists (the input, or every tensor the
  /// prologue reads: a copy into it would cost more than the generic reduction saves).
  private mutating func emitSpatialReduction(
    _ operation: SpatialReduction.Operation, node: Node, stage: FusedGroup?, tail: FusedGroup, index g: GroupID,
    group: FusedGroup
  ) throws(GraphFuseError) -> Bool {
    let x = graph.shape(of: node.inputs[0])
    guard let e = Epilogue.make(graph, group: tail, anchor: tail.anchor, vector: vectorWidth), !e.readsTensors else {
      return false
    }
    var prologue: Epilogue? = nil
    var inputs: KernelBindings
    var layouts: [KernelSchedule.Layout]
    if let stage {
      guard let p = Epilogue.make(graph, group: stage, anchor: nil, vector: vectorWidth), p.output == node.inputs[0]
      else { return false }
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
    } else {
      guard let input = blocked[node.inputs[0]] else { return false }
      inputs = KernelBindings(["in": input])
      layouts = [.blocked(vectorWidth)]
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

  /// A run of axes before the last, at least a vector of columns after it, in plain layout.
  private mutating func emitColumnReduction(
    _ operation: SpatialReduction.Operation, node: Node, axes: [Int], stage: FusedGroup?, tail: FusedGroup,
    index g: GroupID, group: FusedGroup
  ) throws(GraphFuseError) -> Bool {
    let x = graph.shape(of: node.inputs[0])
    guard let first = axes.first, let last = axes.last, last - first + 1 == axes.count, last < x.count - 1 else {
      return false
    }
    // The columns are the axes after the run. An operand other than a whole tensor or a scalar is
    // read per vector as if the vector lay within one row of the last axis (a channel block, a
    // suffix, a row's value): only when the columns are that one axis.
    let columns = x[(last + 1)...].reduce(1, *)
    let outRank = graph.shape(of: node.outputs[0]).count
    func readsWhole(_ e: Epilogue) -> Bool {
      e.operands.allSatisfy {
        switch $0 {
        case .full, .scalar: true
        default: false
        }
      }
    }
    guard columns >= vectorWidth,
      let e = Epilogue.make(graph, group: tail, anchor: tail.anchor, vector: vectorWidth, channelAxis: outRank - 1),
      last == x.count - 2 || readsWhole(e)
    else { return false }
    var prologue: Epilogue? = nil
    var inputs: KernelBindings
    var layouts: [KernelSchedule.Layout]
    if let stage {
      guard
        let p = Epilogue.make(graph, group: stage, anchor: nil, vector: vectorWidth, channelAxis: x.count - 1),
        p.output == node.inputs[0], last == x.count - 2 || readsWhole(p)
      else { return false }
      let (buffers, operandLayouts) = try plainOperands(p, group: g)
      prologue = p
      inputs = .numbered("x", buffers)
      layouts = operandLayouts
    } else {
      inputs = KernelBindings(["in": try plainBuffer(node.inputs[0], group: g)])
      layouts = [.plain]
    }
    let kernel = ColumnReduction(
      outer: x[..<first].reduce(1, *), rows: x[first...last].reduce(1, *), columns: columns, operation: operation,
      prologue: prologue, epilogue: e)
    let (tailBuffers, tailLayouts) = try plainOperands(e, group: g)
    let schedule = KernelSchedule(
      .columnReduction, group: g, inputs: layouts + tailLayouts, output: .plain, parallel: [.batch, .channelBlock],
      epilogue: epilogueOps(group, anchor: group.anchor))
    var nest = kernel.nest
    nest.body = InnerVectorize.apply(nest.body, width: vectorWidth)
    try kernelPlan.addStep(
      nest,
      bindings: inputs + .numbered("e", tailBuffers) + KernelBindings(["out": kernelPlan.plainBuffer(graph, e.output)]),
      schedule: schedule)
    return true
  }
}
