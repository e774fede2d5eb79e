/// Strided views of the QKV projection read in place by attention (``OperandView``).
extension Scheduler {
  /// Records group `g` as a view its attention reads in place, and emits no kernel for it, when the
  /// group is an ``OperandView`` and its one result is read only by one attention group, as Q, K
  /// or V; false otherwise. If the attention does not take the view after all (a V whose columns
  /// are not contiguous, a kernel that falls back to stages), the first read through
  /// ``requireComputed(_:)`` runs the group's own kernel then.
  mutating func foldOperandView(_ g: GroupID) -> Bool {
    let group = plan.groups[g]
    guard group.pattern == .injective, group.chain == nil, group.attention == nil, group.fold == nil,
      group.outputs.count == 1, !graph.outputs.contains(group.outputs[0])
    else { return false }
    let o = group.outputs[0]
    let readers = consumers[o.index]
    guard let reader = readers.first, let a = groupOfNode[reader.index], let attention = plan.groups[a].attention
    else { return false }
    let scores = attention.scores[0], product = attention.output[0]
    let read = readers.allSatisfy { n in
      n == scores || (n == product && graph.nodes[n].inputs[0] != o)
    }
    guard read, let view = OperandView.of(graph, group: group) else { return false }
    views[o] = (view, g)
    kernelPlan.schedules[g.index].append(KernelSchedule(.viewFolded, group: g, inputs: [.plain], output: .plain))
    return true
  }

  /// Runs the kernel of a view no reader took (``foldOperandView(_:)``), so `v` is computed.
  mutating func materializeView(_ v: ValueID) throws(GraphFuseError) {
    guard let (_, g) = views.removeValue(forKey: v) else { return }
    kernelPlan.schedules[g.index].removeAll { $0.kind == .viewFolded }
    if try !emitTemplate(group: g) { try emitGeneric(group: plan.groups[g], index: g) }
  }

  /// An attention operand `[batch…, rows, columns]` read through its view: the kernel's strides per
  /// batch axis of the scores (`batch`, the operand's axes right-aligned, 0 where it is broadcast),
  /// along its rows and its columns.
  func viewStrides(_ view: OperandView, batch: [Int]) -> (batch: [Int], row: Int, column: Int) {
    let rank = view.strides.count
    let lead = batch.count - (rank - 2)
    let batchStrides = batch.indices.map { i in i - lead >= 0 ? view.strides[i - lead] : 0 }
    return (batchStrides, view.strides[rank - 2], view.strides[rank - 1])
  }
}
