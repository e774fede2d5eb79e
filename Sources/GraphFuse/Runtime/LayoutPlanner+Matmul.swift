/// The matmul and gemm schedules: ``MatmulKernel`` over plain row-major operands, the group's
/// elementwise tail (bias, GELU, residual add, scaling) as its epilogue over the output features.
extension LayoutPlanner {
  /// Emits a gemm group; false (nothing emitted) when its shape is not one the kernel runs.
  mutating func emitGemm(_ node: Node, group: FusedGroup, index g: GroupID, into program: inout ModelProgram)
    throws(GraphFuseError) -> Bool
  {
    let a = node.attributes
    let transA = a.bool("transA", default: false), transB = a.bool("transB", default: false)
    let alpha = Float(a.float("alpha", default: 1))
    let out = graph.shape(of: node.outputs[0])
    let aShape = graph.shape(of: node.inputs[0])
    guard group.nodes.first == group.anchor, out.count == 2,
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: vectorWidth, channelAxis: 1)
    else { return false }
    // The bias C must be one value per output feature (or absent).
    var bias: Tensor? = nil
    if node.inputs.count > 2 {
      guard let c = graph.constant(node.inputs[2]), c.count == out[1] || c.count == 1,
        c.shape.last == c.count || c.count == 1
      else { return false }
      let beta = Float(a.float("beta", default: 1))
      bias = Tensor((0..<out[1]).map { beta * (c.count == 1 ? c.data[0] : c.data[$0]) })
    }
    let (m, n) = (out[0], out[1])
    let k = transA ? aShape[0] : aShape[1]
    var kernel = MatmulKernel(
      batch: [], aBatchStrides: [], m: m, k: k, n: n, aRowStride: transA ? 1 : k, aColumnStride: transA ? m : 1,
      rhs: .packed(bias: bias != nil), epilogue: e)
    var weights: [BufferID] = []
    if let b = graph.constant(node.inputs[1]) {
      let packed = WeightPacking.matmul(
        b, transposed: transB, alpha: alpha, vector: vectorWidth, vectors: kernel.tile.vectors)
      weights.append(constantBuffer(packed, into: &program))
      if let bias {
        weights.append(constantBuffer(WeightPacking.channels(bias, channels: n, vector: vectorWidth), into: &program))
      }
    } else {
      guard !transB, alpha == 1, bias == nil else { return false }
      kernel.rhs = .plain(batchStrides: [], rowStride: n)
      weights.append(try plainBuffer(node.inputs[1], into: &program, group: g))
    }
    return try emitMatmulKernel(
      kernel, kind: .dense, input: node.inputs[0], weights: weights, group: group, index: g,
      into: &program)
  }

  /// Emits a matmul group (numpy semantics, batch axes broadcast); false (nothing emitted) for
  /// 1-d operands or a group whose tail is not an epilogue over the output features.
  mutating func emitMatmul(_ node: Node, group: FusedGroup, index g: GroupID, into program: inout ModelProgram)
    throws(GraphFuseError) -> Bool
  {
    let aShape = graph.shape(of: node.inputs[0]), bShape = graph.shape(of: node.inputs[1])
    let out = graph.shape(of: node.outputs[0])
    guard aShape.count >= 2, bShape.count >= 2, group.nodes.first == group.anchor,
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: vectorWidth, channelAxis: out.count - 1)
    else { return false }
    let (m, k, n) = (aShape[aShape.count - 2], aShape[aShape.count - 1], bShape[bShape.count - 1])
    let batch = Array(out.dropLast(2))
    let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
    let aStrides = Broadcasting.strides(of: aBatch, broadcastTo: batch).map { $0 * m * k }
    let bStrides = Broadcasting.strides(of: bBatch, broadcastTo: batch).map { $0 * k * n }
    if let b = graph.constant(node.inputs[1]), bBatch.allSatisfy({ $0 == 1 }) {
      // One weight matrix for every batch: A's rows flatten into one M (contiguous, row-major).
      let rows = batch.reduce(1, *) * m
      let kernel = MatmulKernel(
        batch: [], aBatchStrides: [], m: rows, k: k, n: n, aRowStride: k, aColumnStride: 1,
        rhs: .packed(bias: false), epilogue: e)
      let packed = WeightPacking.matmul(
        Tensor(shape: [k, n], data: b.data), transposed: false, alpha: 1, vector: vectorWidth,
        vectors: kernel.tile.vectors)
      let w = constantBuffer(packed, into: &program)
      return try emitMatmulKernel(
        kernel, kind: .matmul, input: node.inputs[0], weights: [w], group: group, index: g,
        into: &program)
    }
    let kernel = MatmulKernel(
      batch: batch, aBatchStrides: aStrides, m: m, k: k, n: n, aRowStride: k, aColumnStride: 1,
      rhs: .plain(batchStrides: bStrides, rowStride: n), epilogue: e)
    let w = try plainBuffer(node.inputs[1], into: &program, group: g)
    return try emitMatmulKernel(
      kernel, kind: .matmul, input: node.inputs[0], weights: [w], group: group, index: g,
      into: &program)
  }

  private mutating func constantBuffer(_ data: [Float], into program: inout ModelProgram) -> BufferID {
    program.addBuffer(BufferPlan(count: data.count, storage: .constant(data), value: nil))
  }

  private mutating func emitMatmulKernel(
    _ kernel: MatmulKernel, kind: KernelSchedule.Kind, input: ValueID, weights: [BufferID], group: FusedGroup,
    index g: GroupID,
    into program: inout ModelProgram
  ) throws(GraphFuseError) -> Bool {
    let a = try plainBuffer(input, into: &program, group: g)
    var operands: [BufferID] = []
    var layouts: [KernelSchedule.Layout] = []
    for operand in kernel.epilogue.operands {
      switch operand {
      case .channel(let data):
        operands.append(constantBuffer(data, into: &program))
        layouts.append(.packed)
      case .scalar(let v), .full(let v), .channelTensor(let v):  // run-time per-channel: NCHW epilogues only
        operands.append(try plainBuffer(v, into: &program, group: g))
        layouts.append(.plain)
      }
    }
    let result = program.plainBuffer(graph, kernel.epilogue.output)
    let rhs: [KernelSchedule.Layout] =
      if case .packed(let bias) = kernel.rhs { bias ? [.packed, .packed] : [.packed] } else { [.plain] }
    let tile = kernel.tile
    let schedule = KernelSchedule(
      kind, group: g, inputs: [.plain] + rhs + layouts, output: .plain,
      tile: .init(pixels: tile.rows, vectors: tile.vectors, reason: kernel.tileReason),
      parallel: [.batch, .row, .channelBlock], epilogue: epilogueOps(group, anchor: group.anchor))
    program.addStep(kernel.nest, buffers: [a] + weights + operands + [result], schedule: schedule)
    return true
  }
}
