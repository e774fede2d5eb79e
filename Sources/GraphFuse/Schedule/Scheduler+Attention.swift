/// The attention schedule: a fused ``AttentionChain`` group as one ``AttentionKernel``.
extension Scheduler {
  /// Emits an attention group, which fusion matched to fit one kernel
  /// (``AttentionChain/fits(_:outputs:)``: products of the forms it reads, elementwise tails), as
  /// one kernel.
  mutating func emitAttention(_ chain: AttentionChain, group: FusedGroup, index g: GroupID) throws(GraphFuseError)
    -> Bool
  {
    let v = vectorWidth
    let stages = FusionPlan.makeGroups(graph, partition: chain.stages)
    let first = graph.nodes[chain.scores[0]], second = graph.nodes[chain.output[0]]
    let scoreShape = graph.shape(of: first.outputs[0]), outShape = graph.shape(of: second.outputs[0])
    guard let s = AttentionChain.product(graph, first), let o = AttentionChain.product(graph, second),
      let se = Epilogue.make(
        graph, group: stages[0], anchor: chain.scores[0], vector: v, channelAxis: scoreShape.count - 1),
      let pe = Epilogue.make(
        graph, group: stages[1], anchor: chain.softmax[0], vector: v, channelAxis: scoreShape.count - 1),
      let oe = Epilogue.make(
        graph, group: stages[2], anchor: chain.output[0], vector: v, channelAxis: outShape.count - 1)
    else { throw GraphFuseError("internal: attention \(group.name) does not fit one kernel", op: "compile") }
    let batch = Array(scoreShape.dropLast(2))
    let (m, d, n, dv) = (s.rows, s.depth, s.columns, o.columns)
    func strides(_ shape: [Int]) -> [Int] {
      Broadcasting.strides(of: Array(shape.dropLast(2)), broadcastTo: batch).map { $0 * shape.suffix(2).reduce(1, *) }
    }
    var kernel = AttentionKernel(
      batch: batch, qBatchStrides: strides(s.a), kBatchStrides: strides(s.b), vBatchStrides: strides(o.b),
      m: m, d: d, n: n, dv: dv, qRowStride: d, qColumnStride: 1,
      keys: s.transposedB ? .rows(rowStride: d) : .transposed(rowStride: n), vRowStride: dv,
      scores: se, probabilities: pe, output: oe)
    kernel.wholeEntries = kernel.wholeEntries(threads: threads)
    var bindings = KernelBindings([
      "q": try plainBuffer(first.inputs[0], group: g), "k": try plainBuffer(first.inputs[1], group: g),
      "v": try plainBuffer(second.inputs[1], group: g),
    ])
    var layouts: [KernelSchedule.Layout] = [.plain, .plain, .plain]
    for (prefix, e) in [("s", se), ("p", pe), ("e", oe)] {
      let (buffers, operandLayouts) = try plainOperands(e, group: g)
      bindings = bindings + .numbered(prefix, buffers)
      layouts += operandLayouts
    }
    let scratch = kernelPlan.addBuffer(
      BufferPlan(count: kernel.scratchFloats * max(1, threads), storage: .arena, value: nil))
    bindings = bindings + KernelBindings(["scratch": scratch, "out": kernelPlan.plainBuffer(graph, oe.output)])
    let reason =
      "\(kernel.rows) query rows x 2 vectors of keys, then of V's columns; the tile's \(kernel.rows) x \(n) "
      + "scores stay in a per-thread scratch" + (s.transposedB ? "; K copied transposed once per task" : "")
    let schedule = KernelSchedule(
      .attention, group: g, inputs: layouts, output: .plain,
      tile: .init(pixels: kernel.rows, vectors: 2, reason: reason),
      parallel: kernel.wholeEntries ? [.batch] : [.batch, .row],
      epilogue: epilogueOps(group, anchor: group.anchor))
    try kernelPlan.addStep(kernel.nest(threads: threads), bindings: bindings, schedule: schedule)
    return true
  }
}
