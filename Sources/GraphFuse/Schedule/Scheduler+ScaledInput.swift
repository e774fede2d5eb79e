/// A channel multiply `x · s` (s one value per channel, computed at run time: a squeeze-excitation
/// gate) that fusion folded (``InputFold/channelScale(x:scale:)``): every conv reading the product
/// scales its packed weights by `s` along the input-channel axis and reads `x`.
struct ScaledInput: Equatable {
  /// The activation `[N, C, H, W]`.
  var x: ValueID
  /// The per-channel scale `[1, C, 1, 1]`.
  var scale: ValueID
}

extension Scheduler {
  /// Work (in flops, or 8 per float a memory-bound kernel moves) below which a kernel runs on the
  /// calling thread: about 1–2 µs on one core, the price of one round trip through the pool.
  static let callerWork = 1 << 17

  /// Emits the kernel writing `packed · s` (by input channel) into a new arena buffer; returns it.
  mutating func emitScaledWeights(
    packed: BufferID, count: Int, scale: ValueID, template t: BlockedConv, kernel: Int, group g: GroupID
  ) throws(GraphFuseError) -> BufferID {
    let v = vectorWidth
    let s = try blockedBuffer(scale, group: g)
    let scaled = kernelPlan.addBuffer(BufferPlan(count: count, storage: .arena, value: nil))
    let icBlocks = (t.cin + t.icBlock - 1) / t.icBlock
    let ocGroups = (t.cout + v * t.nv - 1) / (v * t.nv)
    let nest = ScaledWeights.nest(
      ocGroups: ocGroups, icBlocks: icBlocks, icBlock: t.icBlock, kernel: kernel, nv: t.nv, vector: v,
      scaleCount: kernelPlan.buffers[s].count)
    var schedule = KernelSchedule(
      .scaleWeights, group: g, inputs: [.packed, .blocked(v)], output: .packed, parallel: [.channelGroup])
    schedule.onCaller = 8 * count < Self.callerWork
    try kernelPlan.addStep(nest, bindings: KernelBindings(["w": packed, "s": s, "out": scaled]), schedule: schedule)
    return scaled
  }
}

extension Scheduler {
  /// Fails loudly when a kernel other than a folding conv would read a folded product, which no
  /// kernel writes (fusion checks every reader first, ``InputFold``, so this is a planner bug); runs
  /// the kernel of a view an attention was to read in place (``foldOperandView(_:)``).
  mutating func requireComputed(_ v: ValueID) throws(GraphFuseError) {
    try materializeView(v)
    guard scaledInputs[v] != nil || prologues[v] != nil else { return }
    throw GraphFuseError(
      "internal: the folded \(scaledInputs[v] != nil ? "channel multiply" : "input prologue") \(graph.values[v].name)"
        + " is read by a kernel that does not fold it", op: "compile")
  }
}
