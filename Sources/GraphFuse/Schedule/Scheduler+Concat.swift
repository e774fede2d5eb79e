/// Channel concats in the blocked layout: in place (the inputs written where they belong in the
/// output), else one block copy per output channel block; and a concat with an elementwise tail
/// (DenseNet's concat → batch norm → relu) run as the concat, then the tail as its own stage.
extension Scheduler {
  /// A channel concat of blocked inputs whose channel counts are whole vectors: in place when
  /// ``concatInPlace(_:into:)`` allows, else one block copy per output channel block.
  mutating func emitConcat(_ node: Node, group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    guard concatFits(node), group.outputs == node.outputs else { return false }
    let v = vectorWidth
    let out = graph.shape(of: node.outputs[0])
    let layouts = [KernelSchedule.Layout](repeating: .blocked(v), count: node.inputs.count)
    if concatInPlace(node) {
      kernelPlan.schedules[g.index].append(
        KernelSchedule(.concatInPlace, group: g, inputs: layouts, output: .blocked(v)))
      return true
    }
    var inputs: [BufferID] = []
    for x in node.inputs { inputs.append(try blockedBuffer(x, group: g)) }
    let channels = node.inputs.map { graph.shape(of: $0)[1] }
    let nest = BlockedKernels.concat(n: out[0], channels: channels, hw: out[2] * out[3], vector: v)
    let schedule = KernelSchedule(
      .concat, group: g, inputs: layouts, output: .blocked(v), parallel: [.batch, .channelBlock])
    let bindings = KernelBindings.numbered("x", inputs) + KernelBindings(["out": output(node.outputs[0])])
    try kernelPlan.addStep(nest, bindings: bindings, schedule: schedule)
    return true
  }

  /// A rank-4 concat along channels, every input a whole number of channel vectors, one of
  /// them already blocked.
  private func concatFits(_ node: Node) -> Bool {
    let out = graph.shape(of: node.outputs[0])
    return out.count == 4 && Injective.axis(node.attributes.int("axis", default: 1), rank: 4) == 1
      && node.inputs.allSatisfy({ graph.shape(of: $0)[1] % vectorWidth == 0 })
      && node.inputs.contains(where: { blocked[$0] != nil })
  }

  /// A group whose first node is a blocked-fitting concat and whose other members are
  /// elementwise or broadcast ops: the concat runs as its own stage (in place or a block copy),
  /// then the tail as a blocked elementwise stage (or folded into the convs that read it, see
  /// ``InputFold``), or generic loops when no blocked schedule takes it. Without
  /// this the whole group runs as generic loops in plain layout, converted back to blocked for
  /// the conv after it.
  mutating func emitConcatStages(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    let concat = graph.nodes[group.nodes[0]]
    let tail = Array(group.nodes.dropFirst())
    guard concat.op == "concat", !tail.isEmpty, concatFits(concat),
      tail.allSatisfy({ OpRegistry.pattern(of: graph.nodes[$0]) <= .broadcast })
    else { return false }
    let stages = FusionPlan.makeGroups(graph, partition: [[group.nodes[0]], tail])
    guard stages[0].outputs == concat.outputs, try emitConcat(concat, group: stages[0], index: g)
    else { return false }
    if try emitTemplate(stages[1], index: g) { return true }
    try emitGeneric(group: stages[1], index: g)
    return true
  }

  /// A group led by a concat whose tail is not elementwise (GhostNetV2's gate: the ghost module's
  /// concat of two 36-channel halves, a slice, then a product with a gate upsampled by gathers):
  /// the concat and the channel slices and concats after it run as one channel remap (lane
  /// shuffles per pixel, written blocked), the rest as its own stage reading that in place. Members
  /// the concat reads (a gate product on one of its inputs) run before it, as a stage of their own.
  /// Fused whole, the group was a generic loop choosing its source lane by lane (0.98 of
  /// GhostNetV2's 4.9 ms in its 14 such groups).
  mutating func emitRemapThenTail(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    guard graph.nodes[group.anchor].op == "concat" else { return false }
    let members = Set(group.nodes)
    // Members the concat reads, directly or through others (RDNet's gate product before its
    // concat): a stage of their own that runs first, so the remap finds their values written.
    var prologue = Set<NodeID>()
    var pending = [group.anchor]
    while let n = pending.popLast() {
      for v in graph.nodes[n].inputs {
        if let p = graph.producer(of: v), members.contains(p), prologue.insert(p).inserted { pending.append(p) }
      }
    }
    var head: [NodeID] = []
    for n in group.nodes where !prologue.contains(n) {
      let node = graph.nodes[n]
      let fed = node.inputs.allSatisfy { v in
        guard let p = graph.producer(of: v), members.contains(p) else { return true }
        return head.contains(p) || prologue.contains(p)
      }
      let reads = node.inputs.contains { v in graph.producer(of: v).map { head.contains($0) } ?? false }
      if n == group.anchor || (["slice", "concat"].contains(node.op) && fed && reads) { head.append(n) }
    }
    let first = group.nodes.filter { prologue.contains($0) }
    let tail = group.nodes.filter { !head.contains($0) && !prologue.contains($0) }
    guard !tail.isEmpty else { return false }
    let stages = FusionPlan.makeGroups(graph, partition: (first.isEmpty ? [] : [first]) + [head, tail])
    let (remap, rest) = (stages[stages.count - 2], stages[stages.count - 1])
    guard remap.outputs.count == 1 else { return false }
    if first.isEmpty {
      guard try emitChannelRemap(remap, index: g) else { return false }
    } else {
      // Checked before the prologue's stage is emitted: nothing may be emitted for a group that
      // then returns false (the caller runs it whole).
      guard remap.pattern == .injective, ChannelRemap.match(graph, group: remap, output: remap.outputs[0]) != nil
      else { return false }
      if try !emitTemplate(stages[0], index: g) { try emitGeneric(group: stages[0], index: g) }
      // The prologue's stage is emitted: a remap that does not fit runs with the tail as generic loops.
      if try !emitChannelRemap(remap, index: g) {
        try emitGeneric(group: FusionPlan.makeGroups(graph, partition: [head + tail])[0], index: g)
        return true
      }
    }
    if try emitTemplate(rest, index: g) { return true }
    try emitGeneric(group: rest, index: g)
    return true
  }

  /// Makes a channel concat free when its inputs can simply be written where they belong: with
  /// batch 1 and whole channel blocks, input `k` of a blocked concat is one contiguous run of
  /// the output, so each input's blocked buffer becomes a view into the output buffer at that
  /// run (the buffers are placed in memory only after the program is built, so producers that
  /// were already emitted write straight into the output).
  ///
  /// The inputs are taken in runs. A run is one input with an arena buffer of its own in blocked
  /// layout (not a constant, not a view, not a graph input), or consecutive inputs that are
  /// views exactly covering, in order, a buffer that is itself no view: an earlier in-place
  /// concat of the same values (DenseNet concats every earlier feature map again in each layer:
  /// that concat becomes the first part of this one, so a whole dense block shares one buffer
  /// and no feature map is ever copied). Each run's buffer becomes a view into the output.
  /// Every input appears once. Returns false, changing nothing, otherwise.
  mutating func concatInPlace(_ node: Node) -> Bool {
    let out = graph.shape(of: node.outputs[0])
    guard out[0] == 1, Set(node.inputs).count == node.inputs.count else { return false }
    var runs: [BufferID] = []
    var k = 0
    while k < node.inputs.count {
      guard let b = blocked[node.inputs[k]], graph.producer(of: node.inputs[k]) != nil else { return false }
      let (root, offset) = kernelPlan.root(of: b)
      guard kernelPlan.buffers[root].storage == .arena, !kernelPlan.inputBuffers.contains(root), offset == 0 else {
        return false
      }
      // The inputs from `k` on whose buffers lie back to back in `root`, from its start.
      var covered = 0
      while k < node.inputs.count, let x = blocked[node.inputs[k]], kernelPlan.root(of: x) == (root, covered) {
        covered += kernelPlan.buffers[x].count
        k += 1
      }
      guard covered == kernelPlan.buffers[root].count else { return false }
      runs.append(root)
    }
    guard runs.reduce(0, { $0 + kernelPlan.buffers[$1].count }) == blockedCount(out) else { return false }
    let result = output(node.outputs[0])
    var offset = 0
    for b in runs {
      kernelPlan.buffers[b].view = BufferView(base: result, offset: offset)
      offset += kernelPlan.buffers[b].count
    }
    return true
  }
}
