/// The attention schedule: a fused ``AttentionChain`` group as one ``AttentionKernel``.
extension Scheduler {
  /// One product of an attention chain: `A[…, rows, depth] · B`, B either `[…, depth, columns]`
  /// or, for an einsum that reads it transposed (`…id,…jd->…ij`), `[…, columns, depth]`.
  struct AttentionProduct {
    var a: [Int], b: [Int]
    var transposedB: Bool
    var rows: Int { a[a.count - 2] }
    var depth: Int { a[a.count - 1] }
    var columns: Int { transposedB ? b[b.count - 2] : b[b.count - 1] }
  }

  /// The product a `matmul` or two-operand `einsum` node computes, or nil for any other form.
  func attentionProduct(_ node: Node) -> AttentionProduct? {
    guard node.inputs.count == 2 else { return nil }
    let a = graph.shape(of: node.inputs[0]), b = graph.shape(of: node.inputs[1])
    guard a.count >= 2, b.count >= 2 else { return nil }
    var transposed = false
    if node.op == "einsum" {
      guard let e = try? EinsumEquation(node.attributes.string("equation", default: "")),
        let form = Self.batchedMatrixProduct(e)
      else { return nil }
      transposed = form
    } else if node.op != "matmul" {
      return nil
    }
    let product = AttentionProduct(a: a, b: b, transposedB: transposed)
    let bDepth = transposed ? b[b.count - 1] : b[b.count - 2]
    return bDepth == product.depth ? product : nil
  }

  /// Emits an attention group as one kernel; false (nothing emitted) when a stage's tail is not an
  /// epilogue the kernel applies or the products are not of the forms it reads (the caller then
  /// runs the three stages as their own groups).
  mutating func emitAttention(_ chain: AttentionChain, group: FusedGroup, index g: GroupID) throws(GraphFuseError)
    -> Bool
  {
    let v = vectorWidth
    let stages = FusionPlan.makeGroups(graph, partition: chain.stages)
    let first = graph.nodes[chain.scores[0]], second = graph.nodes[chain.output[0]]
    guard let s = attentionProduct(first), let o = attentionProduct(second), !o.transposedB else { return false }
    let scoreShape = graph.shape(of: first.outputs[0]), outShape = graph.shape(of: second.outputs[0])
    let batch = Array(scoreShape.dropLast(2))
    let (m, d, n, dv) = (s.rows, s.depth, s.columns, o.columns)
    guard scoreShape == batch + [m, n], o.a == scoreShape, outShape == batch + [m, dv], o.depth == n,
      let se = Epilogue.make(
        graph, group: stages[0], anchor: chain.scores[0], vector: v, channelAxis: scoreShape.count - 1),
      let pe = Epilogue.make(
        graph, group: stages[1], anchor: chain.softmax[0], vector: v, channelAxis: scoreShape.count - 1),
      let oe = Epilogue.make(
        graph, group: stages[2], anchor: chain.output[0], vector: v, channelAxis: outShape.count - 1),
      group.outputs == [oe.output]
    else { return false }
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
