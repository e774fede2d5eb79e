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
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0
      for p in 0..<k {
        let av = transA ? a.data[p * m + i] : a.data[i * k + p]
        let bv = transB ? b.data[j * k + p] : b.data[p * n + j]
        sum += Double(av) * Double(bv)
      }
      out[i * n + j] = Float(alpha * sum + beta * Double(c?.data[i * n + j] ?? 0))
    }
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
  for batch in 0..<batchCount {
    var rem = batch, aBase = 0, bBase = 0
    for axis in stride(from: s.batch.count - 1, through: 0, by: -1) {
      let i = rem % s.batch[axis]
      rem /= s.batch[axis]
      aBase += i * aStrides[axis]
      bBase += i * bStrides[axis]
    }
    aBase *= s.m * s.k
    bBase *= s.k * s.n
    for i in 0..<s.m {
      for j in 0..<s.n {
        var sum = 0.0
        for p in 0..<s.k { sum += Double(a.data[aBase + i * s.k + p]) * Double(b.data[bBase + p * s.n + j]) }
        out[(batch * s.m + i) * s.n + j] = Float(sum)
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
