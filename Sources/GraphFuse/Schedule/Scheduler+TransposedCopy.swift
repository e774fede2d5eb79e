/// Transposing copies through registers (``TransposedCopy``).
extension Scheduler {
  /// Emits an injective group that is a strided view of one value (``OperandView``) whose output's
  /// last axis is strided in the source and another output axis contiguous, as a
  /// ``TransposedCopy``; false (nothing emitted) otherwise, when the source exists only in blocked
  /// layout, or when the output would be written blocked for the convs reading it.
  mutating func emitTransposedCopy(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    guard group.pattern == .injective, group.outputs.count == 1, !writesBlocked(group),
      let (view, full) = transposedView(group)
    else { return false }
    let out = group.outputs[0]
    // Extent-1 axes take no part in a row-major layout.
    let kept = full.indices.filter { full[$0] != 1 }
    let squeezed = OperandView(
      source: view.source, strides: kept.map { view.strides[$0] }, offset: view.offset, scale: view.scale)
    guard blocked[view.source] == nil || kernelPlan.plain[view.source] != nil,
      let copy = TransposedCopy.of(squeezed, shape: kept.map { full[$0] }, width: vectorWidth)
    else { return false }
    let source = try plainBuffer(view.source, group: g)
    let target = kernelPlan.plainBuffer(graph, out)
    let schedule = KernelSchedule(
      .transposedCopy, group: g, inputs: [.plain], output: .plain, parallel: [.batch, .row])
    try kernelPlan.addStep(copy.nest, bindings: KernelBindings(["in": source, "out": target]), schedule: schedule)
    return true
  }

  /// The group's view and the shape it is taken at: the output's, or, when the output is a reshape
  /// of a value the group computes (XCiT's `transpose → reshape` merging heads and depth back into
  /// `[tokens, heads·d]`, whose merged axis is not affine in the source), the reshape's input's:
  /// row-major, both shapes lay the same floats out in the same order.
  private func transposedView(_ group: FusedGroup) -> (OperandView, [Int])? {
    let out = group.outputs[0]
    if let view = OperandView.of(graph, group: group) { return (view, graph.shape(of: out)) }
    guard let last = graph.producer(of: out), group.nodes.count > 1, group.nodes.contains(last),
      Injective.reshapes.contains(graph.nodes[last].op)
    else { return nil }
    let inner = graph.nodes[last].inputs[0]
    let rest = FusionPlan.makeGroups(graph, partition: [group.nodes.filter { $0 != last }])
    guard let before = rest.first, before.outputs == [inner], let view = OperandView.of(graph, group: before) else {
      return nil
    }
    return (view, graph.shape(of: inner))
  }
}
