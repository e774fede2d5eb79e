/// max_pool2d / avg_pool2d (`kernel_shape`, `strides`, `pads`, `dilations`, `ceil_mode`,
/// `count_include_pad`) and global_avg_pool.
private func poolShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let x = q.shape(0)
  guard x.count == 4 else { throw q.error("expects a 4-d input, got \(x)") }
  let kernel = q.attributes.ints("kernel_shape", default: [])
  guard kernel.count == 2, kernel.allSatisfy({ $0 > 0 }) else {
    throw q.error("needs kernel_shape of two positive extents, got \(kernel)")
  }
  let win = Window2D(q.attributes, kernel: kernel)
  try win.validate(q)
  guard win.pads[0] < kernel[0] * win.dilations[0], win.pads[1] < kernel[1] * win.dilations[1] else {
    throw q.error("pads \(win.pads) must be smaller than the kernel \(kernel)")
  }
  let ceil = q.attributes.bool("ceil_mode", default: false)
  let h = win.outputExtent(x[2], axis: 0, ceilMode: ceil), w = win.outputExtent(x[3], axis: 1, ceilMode: ceil)
  guard h > 0, w > 0 else { throw q.error("kernel \(kernel) is larger than padded input \(x)") }
  return [[x[0], x[1], h, w]]
}

private func poolReference(_ ctx: KernelContext, max isMax: Bool) -> [Tensor] {
  let x = ctx.inputs[0]
  let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let kernel = ctx.attributes.ints("kernel_shape", default: [])
  let win = Window2D(ctx.attributes, kernel: kernel)
  let ceil = ctx.attributes.bool("ceil_mode", default: false)
  let includePad = ctx.attributes.bool("count_include_pad", default: false)
  let oh = win.outputExtent(h, axis: 0, ceilMode: ceil), ow = win.outputExtent(w, axis: 1, ceilMode: ceil)
  var out = [Float](repeating: 0, count: n * c * oh * ow)
  for plane in 0..<(n * c) {
    for y in 0..<oh {
      for xo in 0..<ow {
        var best = -Float.infinity, sum = 0.0, inside = 0, padded = 0
        for ky in 0..<kernel[0] {
          let iy = y * win.strides[0] - win.pads[0] + ky * win.dilations[0]
          for kx in 0..<kernel[1] {
            let ix = xo * win.strides[1] - win.pads[1] + kx * win.dilations[1]
            // count_include_pad counts the explicit pads, not the ceil-mode overhang.
            if iy < h + win.pads[2], ix < w + win.pads[3] { padded += 1 }
            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
            let v = x.data[(plane * h + iy) * w + ix]
            best = nanMax(best, v)
            sum += Double(v)
            inside += 1
          }
        }
        out[(plane * oh + y) * ow + xo] = isMax ? best : Float(sum / Double(includePad ? padded : max(inside, 1)))
      }
    }
  }
  return [Tensor(shape: [n, c, oh, ow], data: out)]
}

private func globalAvgPoolShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let x = q.shape(0)
  guard x.count >= 3 else { throw q.error("expects an input of rank ≥ 3, got \(x)") }
  return [Array(x.prefix(2)) + [Int](repeating: 1, count: x.count - 2)]
}

private func globalAvgPoolReference(_ ctx: KernelContext) -> [Tensor] {
  let x = ctx.inputs[0]
  let planes = x.shape[0] * x.shape[1], size = x.count / max(planes, 1)
  let out = (0..<planes).map { p in
    Float((0..<size).reduce(0.0) { $0 + Double(x.data[p * size + $1]) } / Double(size))
  }
  return [Tensor(shape: Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.rank - 2), data: out)]
}

let poolingOps: [OpDefinition] = [
  OpDefinition(
    name: "max_pool2d", arity: 1...1, pattern: { _ in .outEWiseFusable }, inferShapes: poolShape,
    reference: { poolReference($0, max: true) }
  )
  .withFlops { _, o, a in o.reduce(1, *) * a.ints("kernel_shape", default: [1, 1]).reduce(1, *) },
  OpDefinition(
    name: "avg_pool2d", arity: 1...1, pattern: { _ in .outEWiseFusable }, inferShapes: poolShape,
    reference: { poolReference($0, max: false) }
  )
  .withFlops { _, o, a in o.reduce(1, *) * a.ints("kernel_shape", default: [1, 1]).reduce(1, *) },
  OpDefinition(
    name: "global_avg_pool", arity: 1...1, pattern: { _ in .outEWiseFusable }, inferShapes: globalAvgPoolShape,
    reference: { globalAvgPoolReference($0) }
  )
  .withFlops { i, _, _ in i[0].reduce(1, *) },
]
