/// gemm: `Y = alpha · A' · B' + beta · C` with `A' = transA ? Aᵀ : A`, `B' = transB ? Bᵀ : B`.
/// A dense (fully connected) layer is gemm with `transB = 1` and weight `[out, in]`.
private func gemmShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let a = q.shape(0), b = q.shape(1)
  guard a.count == 2, b.count == 2 else { throw q.error("expects 2-d operands, got \(a) and \(b)") }
  let transA = q.attributes.bool("transA", default: false), transB = q.attributes.bool("transB", default: false)
  let (m, k) = transA ? (a[1], a[0]) : (a[0], a[1])
  let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
  guard k == kb else {
    throw q.error("inner dimensions differ: A \(a) (transA=\(transA ? 1 : 0)) and B \(b) (transB=\(transB ? 1 : 0))")
  }
  if q.inputs.count == 3, Broadcasting.shape([m, n], q.shape(2)) != [m, n] {
    throw q.error("C of shape \(q.shape(2)) does not broadcast to [\(m), \(n)]")
  }
  return [[m, n]]
}

private func gemmReference(_ ctx: KernelContext) -> [Tensor] {
  let a = ctx.inputs[0], b = ctx.inputs[1]
  let transA = ctx.attributes.bool("transA", default: false), transB = ctx.attributes.bool("transB", default: false)
  let alpha = ctx.attributes.float("alpha", default: 1), beta = ctx.attributes.float("beta", default: 1)
  let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
  let n = transB ? b.shape[0] : b.shape[1]
  let c = ctx.inputs.count > 2 ? Broadcasting.evaluate(.operand(0), [ctx.inputs[2]], outShape: [m, n]) : nil
  var out = [Float](repeating: 0, count: m * n)
  if m * n * k > 0 {
    a.data.withUnsafeBufferPointer { ap in
      b.data.withUnsafeBufferPointer { bp in
        out.withUnsafeMutableBufferPointer { op in
          // A' and B' as strided views: a transposed operand swaps its row and column strides.
          ReferenceGEMM.multiply(
            m: m, n: n, k: k,
            a: .init(base: ap.baseAddress!, rowStride: transA ? 1 : k, columnStride: transA ? m : 1),
            b: .init(base: bp.baseAddress!, rowStride: transB ? 1 : n, columnStride: transB ? k : 1),
            c: op.baseAddress!, ldc: n)
        }
      }
    }
  }
  if alpha != 1 || c != nil {
    let (alpha, beta) = (Float(alpha), Float(beta))
    for i in 0..<out.count { out[i] = alpha * out[i] + beta * (c?.data[i] ?? 0) }
  }
  return [Tensor(shape: [m, n], data: out)]
}

/// matmul with numpy semantics: 1-d operands are promoted, leading (batch) axes broadcast.
private func matmulShapes(_ a: [Int], _ b: [Int]) -> (batch: [Int], m: Int, k: Int, kb: Int, n: Int, out: [Int])? {
  guard !a.isEmpty, !b.isEmpty else { return nil }
  let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
  guard let batch = Broadcasting.shape(Array(a2.dropLast(2)), Array(b2.dropLast(2))) else { return nil }
  let m = a2[a2.count - 2], k = a2[a2.count - 1], kb = b2[b2.count - 2], n = b2[b2.count - 1]
  var out = batch
  if a.count > 1 { out.append(m) }
  if b.count > 1 { out.append(n) }
  return (batch, m, k, kb, n, out)
}

private func matmulShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  guard let s = matmulShapes(q.shape(0), q.shape(1)), s.k == s.kb else {
    throw q.error("cannot multiply shapes \(q.shape(0)) and \(q.shape(1))")
  }
  return [s.out]
}

private func matmulReference(_ ctx: KernelContext) -> [Tensor] {
  let a = ctx.inputs[0], b = ctx.inputs[1]
  let s = matmulShapes(a.shape, b.shape)!
  let a3 = a.rank == 1 ? [1] + a.shape : a.shape, b3 = b.rank == 1 ? b.shape + [1] : b.shape
  let aStrides = Broadcasting.strides(of: Array(a3.dropLast(2)), broadcastTo: s.batch)
  let bStrides = Broadcasting.strides(of: Array(b3.dropLast(2)), broadcastTo: s.batch)
  let batchCount = s.batch.reduce(1, *)
  var out = [Float](repeating: 0, count: batchCount * s.m * s.n)
  guard s.m * s.n * s.k > 0 else { return [Tensor(shape: s.out, data: out)] }
  // A full batch of A times one shared B (a linear layer on [L, N, E]) is one product of
  // `batch · m` rows, so B is packed once.
  let sharedB = bStrides.allSatisfy { $0 == 0 } && a3.dropLast(2).reduce(1, *) == batchCount
  let (products, rows) = sharedB ? (1, batchCount * s.m) : (batchCount, s.m)
  a.data.withUnsafeBufferPointer { ap in
    b.data.withUnsafeBufferPointer { bp in
      out.withUnsafeMutableBufferPointer { op in
        for batch in 0..<products {
          var rem = batch, aBase = 0, bBase = 0
          for axis in stride(from: s.batch.count - 1, through: 0, by: -1) where !sharedB {
            let i = rem % s.batch[axis]
            rem /= s.batch[axis]
            aBase += i * aStrides[axis]
            bBase += i * bStrides[axis]
          }
          ReferenceGEMM.multiply(
            m: rows, n: s.n, k: s.k,
            a: .init(base: ap.baseAddress! + aBase * s.m * s.k, rowStride: s.k, columnStride: 1),
            b: .init(base: bp.baseAddress! + bBase * s.k * s.n, rowStride: s.n, columnStride: 1),
            c: op.baseAddress! + batch * s.m * s.n, ldc: s.n)
        }
      }
    }
  }
  return [Tensor(shape: s.out, data: out)]
}

let denseOps: [OpDefinition] = [
  OpDefinition(
    name: "gemm", arity: 2...3, pattern: { _ in .outEWiseFusable }, inferShapes: gemmShape,
    reference: { gemmReference($0) }
  )
  .withFlops { i, o, a in 2 * o.reduce(1, *) * (a.bool("transA", default: false) ? i[0][0] : i[0][1]) },
  OpDefinition(
    name: "matmul", arity: 2...2, pattern: { _ in .outEWiseFusable }, inferShapes: matmulShape,
    reference: { matmulReference($0) }
  )
  .withFlops { i, o, _ in 2 * o.reduce(1, *) * (i[0].last ?? 1) },
]
