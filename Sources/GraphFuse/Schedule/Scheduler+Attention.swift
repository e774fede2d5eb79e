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
    let (q, k, values) = (first.inputs[0], first.inputs[1], second.inputs[1])
    var kernel = AttentionKernel(
      batch: batch, qBatchStrides: strides(s.a), kBatchStrides: strides(s.b), vBatchStrides: strides(o.b),
      m: m, d: d, n: n, dv: dv, qRowStride: d, qColumnStride: 1, keys: .transposed(rowStride: n), vRowStride: dv,
      scores: se, probabilities: pe, output: oe)
    kernel.l1DataBytes = target.l1DataBytes
    // Q, K and V that are views of one projection are read in place through their strides.
    var (qSource, kSource, vSource) = (q, k, values)
    // K row by row (`[…, n, d]`): each thread copies it transposed into its scratch, once per batch entry.
    if s.transposedB { kernel.keys = .rows(rowStride: d) }
    var scoreScale = 1.0
    if let view = views[q]?.view {
      let (batchStrides, row, column) = viewStrides(view, batch: batch)
      (kernel.qBatchStrides, kernel.qRowStride, kernel.qColumnStride, kernel.qOffset) =
        (batchStrides, row, column, view.offset)
      qSource = view.source
      scoreScale *= view.scale
    }
    if let view = views[k]?.view {
      let (batchStrides, row, column) = viewStrides(view, batch: batch)
      // K's keys run along its columns (Kᵀ, `[d, n]`) or its rows (`[n, d]`); one of the two must be contiguous.
      let (keyStride, depthStride) = s.transposedB ? (row, column) : (column, row)
      if keyStride == 1 || n == 1 {
        (kernel.kBatchStrides, kernel.keys, kernel.kOffset) = (
          batchStrides, .transposed(rowStride: depthStride), view.offset
        )
        kSource = view.source
        scoreScale *= view.scale
      } else if depthStride == 1 || d == 1 {
        (kernel.kBatchStrides, kernel.keys, kernel.kOffset) = (batchStrides, .rows(rowStride: keyStride), view.offset)
        kSource = view.source
        scoreScale *= view.scale
      }
    }
    if let view = views[values]?.view {
      let (batchStrides, row, column) = viewStrides(view, batch: batch)
      if column == 1 || dv == 1 {
        (kernel.vBatchStrides, kernel.vRowStride, kernel.vOffset) = (batchStrides, row, view.offset)
        vSource = view.source
        if view.scale != 1 { kernel.output = kernel.output.scalingAccumulator(by: view.scale) }
      }
    }
    if scoreScale != 1 { kernel.scores = kernel.scores.scalingAccumulator(by: scoreScale) }
    var bindings = KernelBindings(["q": try plainBuffer(qSource, group: g), "v": try plainBuffer(vSource, group: g)])
    bindings = bindings + KernelBindings(["k": try plainBuffer(kSource, group: g)])
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
      "\(kernel.rows) query rows x 2 vectors of keys, then of V's columns; the tile's \(kernel.rows) x "
      + "\(kernel.keyBlock ?? n) scores stay in a per-thread scratch"
      + (kernel.keyBlock.map { "; key blocks of \($0) keys with an online softmax" } ?? "")
      + (kernel.keys.byRows ? "; K copied transposed into the scratch once per batch entry and thread" : "")
      + ([qSource, kSource, vSource] != [q, k, values] ? "; Q, K or V read in place through its view" : "")
    let schedule = KernelSchedule(
      .attention, group: g, inputs: layouts, output: .plain,
      tile: .init(pixels: kernel.rows, vectors: 2, reason: reason),
      parallel: [.batch, .row],
      epilogue: epilogueOps(group, anchor: group.anchor))
    try kernelPlan.addStep(kernel.nest(threads: threads), bindings: bindings, schedule: schedule)
    return true
  }
}
