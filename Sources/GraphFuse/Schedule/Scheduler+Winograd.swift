extension Scheduler {
  /// A stride-1 3×3 conv as ``WinogradConv`` when the target allows it and the conv is one that
  /// gains: one group, no dilation, at least two vectors of input and output channels, its input
  /// read as it is (no folded channel multiply or prologue), and an estimate below the direct
  /// conv's (``WinogradTransform/directCost(cin:cout:oh:ow:)``). False: the direct schedule runs it.
  mutating func emitWinogradConv(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let v = vectorWidth
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0]), out = graph.shape(of: node.outputs[0])
    guard target.winograd, let weight = graph.constant(node.inputs[1]), weight.shape.count == 4,
      weight.shape[2] == 3, weight.shape[3] == 3, node.attributes.int("group", default: 1) == 1,
      x.count == 4, x[1] >= 2 * v, out[1] >= 2 * v,
      scaledInputs[node.inputs[0]] == nil, prologues[node.inputs[0]] == nil
    else { return false }
    let bias: ValueID? = node.inputs.count > 2 ? node.inputs[2] : nil
    guard bias.map({ graph.constant($0) != nil }) ?? true else { return false }
    let win = Window2D(node.attributes, kernel: [3, 3])
    guard win.strides == [1, 1], win.dilations == [1, 1],
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: v)
    else { return false }
    let transform = WinogradTransform.cheapest(cin: x[1], cout: out[1], oh: out[2], ow: out[3], vector: v)
    // Where its estimate is no lower than the direct conv's (deep channels on a small map, whose
    // transformed weights outweigh the multiplies saved), the direct schedule runs it.
    guard
      target.winogradEverywhere
        || transform.cost(cin: x[1], cout: out[1], oh: out[2], ow: out[3], vector: v)
          < WinogradTransform.directCost(cin: x[1], cout: out[1], oh: out[2], ow: out[3])
    else { return false }
    let t = WinogradConv(
      n: x[0], cin: x[1], h: x[2], w: x[3], cout: out[1], oh: out[2], ow: out[3], pt: win.pads[0], pl: win.pads[1],
      v: v, epilogue: e, transform: transform, threads: max(1, threads))
    let input = try blockedBuffer(node.inputs[0], group: g)
    let u = kernelPlan.addConstant(.winogradWeight(node.inputs[1], transform: t.transform, vector: v, nv: t.nv), graph)
    let biasBuffer = kernelPlan.addConstant(.channels(bias, scale: 1, channels: out[1], vector: v), graph)
    let scratch = kernelPlan.addBuffer(
      BufferPlan(count: t.scratchFloats * max(1, threads), storage: .arena, value: nil))
    let operands = try operandBuffers(e, group: g)
    let (chunks, tiles, groupChunks) = t.split
    let m = t.transform.m
    var reason = "Winograd F(\(m)x\(m),3x3): \(t.alpha * t.alpha) products over \(t.tiles) tiles of \(m)x\(m) px"
    reason += ", \(chunks) chunk\(chunks == 1 ? "" : "s") of \(tiles) tiles"
    if groupChunks > 1 { reason += "; channel groups in \(groupChunks) chunks so every thread has work" }
    let schedule = KernelSchedule(
      .convWinograd, group: g, inputs: [.blocked(v), .packed, .packed] + layouts(e), output: .blocked(v),
      tile: .init(pixels: min(t.maxTile, tiles), vectors: t.nv, reason: reason),
      parallel: [.batch, .channelGroup, .pixelTile], epilogue: epilogueOps(group, anchor: group.anchor))
    let bindings =
      KernelBindings(["in": input, "wt": u, "bias": biasBuffer, "scratch": scratch]) + .numbered("e", operands)
      + KernelBindings(["out": output(e.output)])
    try kernelPlan.addStep(t.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
