/// The recurrence schedule: an `lstm` or `gru` node as one ``RecurrenceKernel``.
extension Scheduler {
  /// Emits the `lstm` or `gru` anchor of `group` (alone in it: the ops are opaque) as one kernel.
  mutating func emitRecurrence(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    let lstm = node.op == "lstm"
    var kernel = RecurrenceKernel(
      cell: lstm ? .lstm : .gru, steps: x[0], batch: x[1], directions: x[2], hidden: x[3] / (lstm ? 4 : 3),
      reversed: node.attributes.ints("reverse_directions", default: [Int](repeating: 0, count: x[2])),
      initialStates: node.inputs.count == 4)
    kernel.width = vectorWidth
    // Inputs in order: xg, rt, then rb (GRU), then the initial states.
    let names = ["xg", "rt"] + (lstm ? ["h0", "c0"] : ["rb", "h0"])
    var bindings = KernelBindings()
    for (name, value) in zip(names, node.inputs) {
      bindings = bindings + KernelBindings([name: try plainBuffer(value, group: g)])
    }
    let scratch = kernelPlan.addBuffer(
      BufferPlan(count: kernel.scratchFloats * max(1, threads), storage: .arena, value: nil))
    bindings = bindings + KernelBindings(["scratch": scratch, "out": kernelPlan.plainBuffer(graph, node.outputs[0])])
    let schedule = KernelSchedule(
      .recurrence, group: g, inputs: [KernelSchedule.Layout](repeating: .plain, count: node.inputs.count),
      output: .plain, parallel: [.batch])
    try kernelPlan.addStep(kernel.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
