/// Reshapes with no kernel: a group that only reshapes a value kept in plain row-major memory
/// (`reshape`, `flatten`, `squeeze`, `unsqueeze`) is that memory read with the new shape.
extension Scheduler {
  /// Makes the output's plain buffer a view of the input's (``BufferPlan/view``, offset 0: the
  /// memory plan keeps the input alive as long as either is read) and emits no kernel; false
  /// (nothing done) when the input is a constant or a graph input, is only in blocked layout, or
  /// the output is a graph output (which needs memory of its own).
  mutating func emitReshapeView(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    guard group.nodes == [group.anchor], Injective.reshapes.contains(node.op),
      group.outputs.count == 1
    else { return false }
    let x = node.inputs[0], y = group.outputs[0]
    guard !graph.outputs.contains(y), graph.constant(x) == nil, !graph.inputs.contains(x), kernelPlan.plain[y] == nil,
      blocked[x] == nil || kernelPlan.plain[x] != nil
    else { return false }
    let source = try plainBuffer(x, group: g)
    guard kernelPlan.buffers[source.index].storage == .arena else { return false }
    let count = graph.shape(of: y).reduce(1, *)
    kernelPlan.plain[y] = kernelPlan.addBuffer(
      BufferPlan(count: count, storage: .arena, value: y, view: BufferView(base: source, offset: 0)))
    kernelPlan.schedules[g.index].append(KernelSchedule(.reshapeView, group: g, inputs: [.plain], output: .plain))
    return true
  }
}
