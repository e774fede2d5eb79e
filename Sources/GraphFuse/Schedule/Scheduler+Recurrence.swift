/// The recurrence schedule: an `lstm` node as one ``LSTMKernel``.
extension Scheduler {
  /// Emits the `lstm` anchor of `group` (alone in it: the op is opaque) as one kernel.
  mutating func emitRecurrence(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    let kernel = LSTMKernel(
      steps: x[0], batch: x[1], directions: x[2], hidden: x[3] / 4,
      reversed: node.attributes.ints("reverse_directions", default: [Int](repeating: 0, count: x[2])),
      initialStates: node.inputs.count == 4)
    var bindings = KernelBindings([
      "xg": try plainBuffer(node.inputs[0], group: g), "rt": try plainBuffer(node.inputs[1], group: g),
    ])
    if kernel.initialStates {
      bindings =
        bindings
        + KernelBindings([
          "h0": try plainBuffer(node.inputs[2], group: g), "c0": try plainBuffer(node.inputs[3], group: g),
        ])
    }
    let scratch = kernelPlan.addBuffer(
      BufferPlan(count: kernel.scratchFloats * max(1, threads), storage: .arena, value: nil))
    bindings = bindings + KernelBindings(["scratch": scratch, "out": kernelPlan.plainBuffer(graph, node.outputs[0])])
    let schedule = KernelSchedule(
      .recurrence, group: g, inputs: [KernelSchedule.Layout](repeating: .plain, count: node.inputs.count),
      output: .plain, parallel: [.batch])
    var nest = kernel.nest
    nest.body = InnerVectorize.apply(nest.body, width: vectorWidth)
    try kernelPlan.addStep(nest, bindings: bindings, schedule: schedule)
    return true
  }
}
