/// The matmul and gemm schedules: ``MatmulKernel`` over plain row-major operands, the group's
/// elementwise tail (bias, GELU, residual add, scaling) as its epilogue over the output features.
extension Scheduler {
  /// Emits a gemm group; false (nothing emitted) when its shape is not one the kernel runs.
  mutating func emitGemm(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    let node = graph.nodes[group.anchor]
    let a = node.attributes
    let transA = a.bool("transA", default: false), transB = a.bool("transB", default: false)
    let alpha = Float(a.float("alpha", default: 1))
    let out = graph.shape(of: node.outputs[0])
    let aShape = graph.shape(of: node.inputs[0])
    guard out.count == 2,
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: vectorWidth, channelAxis: 1)
    else { return false }
    // The bias C must be one value per output feature (or absent).
    var bias: ConstantRecipe? = nil
    if node.inputs.count > 2 {
      guard let c = graph.constant(node.inputs[2]), c.count == out[1] || c.count == 1,
        c.shape.last == c.count || c.count == 1
      else { return false }
      let beta = Float(a.float("beta", default: 1))
      bias = .channels(node.inputs[2], scale: beta, channels: out[1], vector: vectorWidth)
    }
    let (m, n) = (out[0], out[1])
    let k = transA ? aShape[0] : aShape[1]
    var kernel = MatmulKernel(
      batch: [], aBatchStrides: [], m: m, k: k, n: n, aRowStride: transA ? 1 : k, aColumnStride: transA ? m : 1,
      rhs: .packed(bias: bias != nil), epilogue: e)
    var weights = KernelBindings()
    if graph.constant(node.inputs[1]) != nil {
      let packed = ConstantRecipe.matmulWeight(
        node.inputs[1], k: k, n: n, transposed: transB, alpha: alpha, vector: vectorWidth,
        vectors: kernel.tile.vectors)
      weights = KernelBindings(["wt": kernelPlan.addConstant(packed, graph)])
      if let bias { weights = weights + KernelBindings(["bias": kernelPlan.addConstant(bias, graph)]) }
    } else {
      guard !transB, alpha == 1, bias == nil else { return false }
      kernel.rhs = .plain(batchStrides: [], rowStride: n)
      weights = KernelBindings(["b": try plainBuffer(node.inputs[1], group: g)])
    }
    return try emitMatmulKernel(
      kernel, kind: .dense, input: node.inputs[0], weights: weights, group: group, index: g)
  }

  /// Emits a matmul group (numpy semantics, batch axes broadcast); false (nothing emitted) for
  /// 1-d operands or a group whose tail is not an epilogue over the output features.
  mutating func emitMatmul(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    if let store = group.channelsFirstStore { return try emitChannelsFirstMatmul(store, group: group, index: g) }
    if let normalized = group.normalizedInput { return try emitNormalizedMatmul(normalized, group: group, index: g) }
    let node = graph.nodes[group.anchor]
    let aShape = graph.shape(of: node.inputs[0]), bShape = graph.shape(of: node.inputs[1])
    let out = graph.shape(of: node.outputs[0])
    guard aShape.count >= 2, bShape.count >= 2,
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: vectorWidth, channelAxis: out.count - 1)
    else { return false }
    let (m, k, n) = (aShape[aShape.count - 2], aShape[aShape.count - 1], bShape[bShape.count - 1])
    let batch = Array(out.dropLast(2))
    let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
    let aStrides = Broadcasting.strides(of: aBatch, broadcastTo: batch).map { $0 * m * k }
    let bStrides = Broadcasting.strides(of: bBatch, broadcastTo: batch).map { $0 * k * n }
    if graph.constant(node.inputs[1]) != nil, bBatch.allSatisfy({ $0 == 1 }) {
      // One weight matrix for every batch: A's rows flatten into one M (contiguous, row-major).
      let kernel = MatmulKernel.weightMatmul(m: batch.reduce(1, *) * m, k: k, n: n, epilogue: e)
      return try emitWeightMatmul(kernel, node: node, group: group, index: g)
    }
    let kernel = MatmulKernel(
      batch: batch, aBatchStrides: aStrides, m: m, k: k, n: n, aRowStride: k, aColumnStride: 1,
      rhs: .plain(batchStrides: bStrides, rowStride: n), epilogue: e)
    let w = try plainBuffer(node.inputs[1], group: g)
    return try emitMatmulKernel(
      kernel, kind: .matmul, input: node.inputs[0], weights: KernelBindings(["b": w]), group: group, index: g)
  }

  /// Emits a matmul stored back to channels first (``ChannelsFirstStore``): one weight matrix for
  /// every pixel, each vector finished by both tails and stored into its `NCHW[v]c` block; false
  /// (nothing emitted) when the output features are not whole vectors.
  private mutating func emitChannelsFirstMatmul(_ store: ChannelsFirstStore, group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    let v = vectorWidth
    let stages = FusionPlan.makeGroups(graph, partition: store.stages)
    let node = graph.nodes[group.anchor]
    let out = graph.shape(of: node.outputs[0])
    let (k, n) = (graph.shape(of: node.inputs[0]).last!, out[3])
    guard n % v == 0,
      let before = Epilogue.make(graph, group: stages[0], anchor: group.anchor, vector: v, channelAxis: 3),
      let after = Epilogue.make(graph, group: stages[1], anchor: store.transpose, vector: v, channelAxis: 1)
    else { return false }
    var kernel = MatmulKernel.weightMatmul(m: out[0] * out[1] * out[2], k: k, n: n, epilogue: before)
    kernel.channelsFirst = (out[1] * out[2], after)
    return try emitWeightMatmul(kernel, node: node, group: group, index: g)
  }

  /// Emits `kernel`, a ``MatmulKernel/weightMatmul(m:k:n:epilogue:)`` of `node`'s constant B.
  private mutating func emitWeightMatmul(
    _ kernel: MatmulKernel, node: Node, group: FusedGroup, index g: GroupID,
    normalizedSource: (KernelBindings, [KernelSchedule.Layout])? = nil
  ) throws(GraphFuseError) -> Bool {
    let packed = ConstantRecipe.matmulWeight(
      node.inputs[1], k: kernel.k, n: kernel.n, transposed: false, alpha: 1, vector: vectorWidth,
      vectors: kernel.tile.vectors)
    let w = kernelPlan.addConstant(packed, graph)
    return try emitMatmulKernel(
      kernel, kind: .matmul, input: node.inputs[0], weights: KernelBindings(["wt": w]), group: group, index: g,
      normalizedSource: normalizedSource)
  }

  /// Emits a matmul whose rows a layer norm normalizes as they are read (``NormalizedInput``): one
  /// weight matrix for every row; the norm's data read row-major, or in place from a conv's blocks
  /// through its channels-last view. False (nothing emitted) when the norm's scale or bias is not a
  /// constant of one value per feature.
  private mutating func emitNormalizedMatmul(_ normalized: NormalizedInput, group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    let v = vectorWidth
    let stages = FusionPlan.makeGroups(graph, partition: normalized.stages)
    let norm = graph.nodes[normalized.norm], node = graph.nodes[normalized.matmul]
    let out = graph.shape(of: node.outputs[0])
    let k = graph.shape(of: norm.outputs[0]).last!, n = out.last!
    guard norm.inputs.dropFirst().allSatisfy({ graph.constant($0)?.count == k }),
      let e = Epilogue.make(graph, group: stages[1], anchor: normalized.matmul, vector: v, channelAxis: out.count - 1)
    else { return false }
    var source: RowNormalization.Source = .rows
    var x: BufferID
    var layout: KernelSchedule.Layout = .plain
    if let view = graph.producer(of: norm.inputs[0]), normalized.stages[0].contains(view) {
      // The conv's channels-last view: its rows are the pixels of the conv's blocks.
      let conv = graph.nodes[view].inputs[0]
      let shape = graph.shape(of: conv)
      source = .channelBlocks(pixels: shape[2] * shape[3])
      x = try blockedBuffer(conv, group: g)
      layout = .blocked(v)
    } else {
      x = try plainBuffer(norm.inputs[0], group: g)
    }
    let epsilon = norm.attributes.float("epsilon", default: 1e-5)
    var kernel = MatmulKernel.weightMatmul(m: out.dropLast().reduce(1, *), k: k, n: n, epilogue: e)
    kernel.normalization = RowNormalization(source: source, epsilon: epsilon, hasBias: norm.inputs.count > 2)
    var bindings = KernelBindings([
      "x": x, "gamma": kernelPlan.addConstant(.channels(norm.inputs[1], scale: 1, channels: k, vector: v), graph),
    ])
    var layouts: [KernelSchedule.Layout] = [layout, .packed]
    if norm.inputs.count > 2 {
      bindings =
        bindings
        + KernelBindings([
          "beta": kernelPlan.addConstant(.channels(norm.inputs[2], scale: 1, channels: k, vector: v), graph)
        ])
      layouts.append(.packed)
    }
    return try emitWeightMatmul(kernel, node: node, group: group, index: g, normalizedSource: (bindings, layouts))
  }

  private mutating func emitMatmulKernel(
    _ unblocked: MatmulKernel, kind: KernelSchedule.Kind, input: ValueID, weights: KernelBindings,
    group: FusedGroup, index g: GroupID, normalizedSource: (KernelBindings, [KernelSchedule.Layout])? = nil
  ) throws(GraphFuseError) -> Bool {
    var kernel = unblocked
    kernel.depthBlock = kernel.depthBlock(l1Bytes: target.l1DataBytes)
    kernel.rowGroups = kernel.rowGroups(threads: target.threads)
    var a: BufferID
    var aLayouts: [KernelSchedule.Layout] = [.plain]
    var bindings = KernelBindings()
    if let (source, sourceLayouts) = normalizedSource {
      kernel.packedA = kernel.normalizesInPanels(threads: threads)
      if kernel.packedA {
        // A first step normalizes each row as it copies it into the panels.
        a = kernelPlan.addBuffer(BufferPlan(count: kernel.packedACount, storage: .arena, value: nil))
        let copy = KernelSchedule(
          .packPanels, group: g, inputs: sourceLayouts, output: .panels(kernel.tile.rows), parallel: [.row],
          epilogue: ["layer_norm"])
        try kernelPlan.addStep(kernel.packNest, bindings: source + KernelBindings(["out": a]), schedule: copy)
        aLayouts = [.panels(kernel.tile.rows)]
      } else {
        // Each task normalizes its row tile into its thread's share of an arena buffer.
        a = kernelPlan.addBuffer(
          BufferPlan(count: kernel.normalizedRowFloats * max(1, threads), storage: .arena, value: nil))
        bindings = source
        aLayouts = sourceLayouts
      }
    } else {
      a = try plainBuffer(input, group: g)
    }
    if normalizedSource == nil, kernel.packsA {
      // A first step copies A into row-tile panels (an arena buffer live for these two steps).
      kernel.packedA = true
      let panels = kernelPlan.addBuffer(BufferPlan(count: kernel.packedACount, storage: .arena, value: nil))
      let copy = KernelSchedule(
        .packPanels, group: g, inputs: [.plain], output: .panels(kernel.tile.rows), parallel: [.row])
      try kernelPlan.addStep(kernel.packNest, bindings: KernelBindings(["x": a, "out": panels]), schedule: copy)
      a = panels
      aLayouts = [.panels(kernel.tile.rows)]
    }
    var (operands, layouts) = try plainOperands(kernel.epilogue, group: g)
    let result: BufferID
    if let tail = kernel.channelsFirst?.tail {
      bindings = bindings + .numbered("t", try operandBuffers(tail, group: g))
      layouts += self.layouts(tail)
      result = output(tail.output)
    } else {
      result = kernelPlan.plainBuffer(graph, kernel.epilogue.output)
    }
    let rhs: [KernelSchedule.Layout] =
      if case .packed(let bias) = kernel.rhs { bias ? [.packed, .packed] : [.packed] } else { [.plain] }
    let tile = kernel.tile
    let schedule = KernelSchedule(
      kind, group: g, inputs: aLayouts + rhs + layouts,
      output: kernel.channelsFirst == nil ? .plain : .blocked(vectorWidth),
      tile: .init(pixels: tile.rows, vectors: tile.vectors, reason: kernel.tileReason),
      parallel: kernel.normalizesRows
        ? [.row]
        : kernel.depthBlock == nil || kernel.rowGroups > 1 ? [.batch, .row, .channelBlock] : [.batch, .channelBlock],
      epilogue: epilogueOps(group, anchor: group.anchor))
    bindings = bindings + KernelBindings(["a": a, "out": result]) + weights + .numbered("e", operands)
    if kernel.partialFloats > 0 {
      let scratch = kernelPlan.addBuffer(
        BufferPlan(count: kernel.partialFloats * max(1, threads), storage: .arena, value: nil))
      bindings = bindings + KernelBindings(["scratch": scratch])
    }
    try kernelPlan.addStep(kernel.nest, bindings: bindings, schedule: schedule)
    return true
  }

  /// Buffers and layouts for the operands of an epilogue over a plain-layout output: per-channel
  /// constants packed, everything else read in plain layout.
  mutating func plainOperands(_ e: Epilogue, group g: GroupID) throws(GraphFuseError)
    -> ([BufferID], [KernelSchedule.Layout])
  {
    var operands: [BufferID] = []
    var layouts: [KernelSchedule.Layout] = []
    for operand in e.operands {
      switch operand {
      case .channel(let v, let channels):
        operands.append(kernelPlan.addConstant(.channels(v, scale: 1, channels: channels, vector: vectorWidth), graph))
        layouts.append(.packed)
      case .scalar(let v), .full(let v), .channelTensor(let v), .suffix(let v, _), .broadcast(let v, _),
        .rowBroadcast(let v, _), .imageBroadcast(let v, _, _):
        operands.append(try plainBuffer(v, group: g))
        layouts.append(.plain)
      }
    }
    return (operands, layouts)
  }
}
