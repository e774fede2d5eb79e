extension Scheduler {
  /// Emits an injective group whose outputs are all channel remaps (``ChannelRemap``: channel
  /// shuffles, slices, splits, concats and their compositions) as blocked kernels, one per output,
  /// when one of its sources is already blocked: no round trip through plain layout. An output
  /// that is a run of whole channel blocks of one source, with batch 1, becomes a view of the
  /// source's blocked buffer and runs no kernel. Returns false, having emitted nothing, otherwise.
  mutating func emitChannelRemap(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    guard group.pattern == .injective else { return false }
    var remaps: [ChannelRemap] = []
    for out in group.outputs {
      guard let remap = ChannelRemap.match(graph, group: group, output: out) else { return false }
      remaps.append(remap)
    }
    guard remaps.contains(where: { $0.sources.contains { blocked[$0] != nil } }) else { return false }
    let v = vectorWidth
    for remap in remaps {
      let layouts = [KernelSchedule.Layout](repeating: .blocked(v), count: remap.sources.count)
      if viewInPlace(remap) {
        let schedule = KernelSchedule(.channelSliceView, group: g, inputs: layouts, output: .blocked(v))
        kernelPlan.schedules[g.index].append(schedule)
        continue
      }
      var inputs: [BufferID] = []
      for x in remap.sources { inputs.append(try blockedBuffer(x, group: g)) }
      let nest = BlockedKernels.channelRemap(
        remap, sourceChannels: remap.sources.map { graph.shape(of: $0)[1] }, vector: v)
      let schedule = KernelSchedule(
        .channelRemap, group: g, inputs: layouts, output: .blocked(v), parallel: [.batch, .channelBlock, .pixelTile])
      let bindings = KernelBindings.numbered("x", inputs) + KernelBindings(["out": output(remap.output)])
      try kernelPlan.addStep(nest, bindings: bindings, schedule: schedule)
    }
    return true
  }

  /// Makes a remap free when its output is whole channel blocks of one blocked arena source, in
  /// order, with batch 1: the output's blocked buffer becomes a view into the source's at that
  /// run (the memory plan keeps the source alive while the view is read). The run must start on
  /// a block boundary and end on one or at the source's last channel (whose padding lanes are
  /// already zero). Returns false, changing nothing, otherwise.
  mutating func viewInPlace(_ remap: ChannelRemap) -> Bool {
    let v = vectorWidth
    let c = remap.shape[1]
    guard remap.shape[0] == 1, remap.sources.count == 1, let base = blocked[remap.sources[0]],
      kernelPlan.buffers[base].storage == .arena
    else { return false }
    let first = remap.channels[0].channel
    let sourceChannels = graph.shape(of: remap.sources[0])[1]
    guard first % v == 0, c % v == 0 || first + c == sourceChannels,
      remap.channels.enumerated().allSatisfy({ $1.channel == first + $0 })
    else { return false }
    let hw = remap.shape[2] * remap.shape[3]
    let count = (c + v - 1) / v * v * hw
    blocked[remap.output] = kernelPlan.addBuffer(
      BufferPlan(
        count: count, storage: .arena, value: remap.output, view: BufferView(base: base, offset: first * hw)))
    return true
  }
}
