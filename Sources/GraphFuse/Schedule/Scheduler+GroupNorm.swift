/// The group-norm schedule: a `group_norm` anchor and its elementwise tail as the five steps of a
/// ``GroupNormKernel`` on the blocked layout.
extension Scheduler {
  /// Emits the group's `group_norm` and its tail; false when the tail is no epilogue (the group
  /// then runs as its stages, the norm alone first).
  mutating func emitGroupNorm(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    guard x.count == 4, let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: vectorWidth) else {
      return false
    }
    let kernel = GroupNormKernel(
      n: x[0], c: x[1], pixels: x[2] * x[3], groups: GroupNorm.groups(node.attributes),
      epsilon: node.attributes.float("epsilon", default: 1e-5), hasScale: node.inputs.count > 1,
      hasBias: node.inputs.count > 2, epilogue: e, threads: threads)
    var bindings = KernelBindings(["x": try blockedBuffer(node.inputs[0], group: g)])
    for (name, count) in [
      ("partial", kernel.partialFloats), ("mean", kernel.meanFloats), ("affine", kernel.affineFloats),
    ] {
      bindings = bindings + KernelBindings([name: kernelPlan.addBuffer(BufferPlan(count: count, storage: .arena))])
    }
    for (name, k) in [("gamma", 1), ("beta", 2)] where node.inputs.count > k {
      bindings = bindings + KernelBindings([name: try plainBuffer(node.inputs[k], group: g)])
    }
    bindings = bindings + .numbered("e", try operandBuffers(e, group: g)) + KernelBindings(["out": output(e.output)])
    let v = vectorWidth
    for (step, nest) in kernel.nests.enumerated() {
      let last = step == kernel.nests.count - 1
      let schedule = KernelSchedule(
        .groupNorm, group: g, inputs: last ? [.blocked(v)] + layouts(e) : [.blocked(v)],
        output: last ? .blocked(v) : .plain, parallel: step % 2 == 0 ? [.batch, .channelBlock, .pixelTile] : [.batch],
        epilogue: last ? epilogueOps(group, anchor: group.anchor) : [])
      var vectorized = nest
      vectorized.body = InnerVectorize.apply(nest.body, width: v)
      try kernelPlan.addStep(vectorized, bindings: bindings.restricted(to: nest), schedule: schedule)
    }
    return true
  }
}
