/// Two-operand einsum as a batched matrix product on ``ReferenceGEMM``: the operands rearranged to
/// `[batch, m, k]` and `[batch, k, n]`, the product rearranged to the output's label order.
enum ReferenceEinsum {
  /// The result, or nil when the equation is not a batched product (a label summed within one operand).
  static func product(_ equation: EinsumEquation, _ a: Tensor, _ b: Tensor, extents: [Character: Int]) -> Tensor? {
    let (la, lb, lo) = (equation.inputs[0], equation.inputs[1], equation.output)
    guard la.allSatisfy({ lb.contains($0) || lo.contains($0) }), lb.allSatisfy({ la.contains($0) || lo.contains($0) })
    else { return nil }
    let batch = lo.filter { la.contains($0) && lb.contains($0) }
    let rows = lo.filter { la.contains($0) && !lb.contains($0) }
    let columns = lo.filter { lb.contains($0) && !la.contains($0) }
    let inner = la.filter { lb.contains($0) && !lo.contains($0) }
    func size(_ labels: [Character]) -> Int { labels.map { extents[$0]! }.reduce(1, *) }
    let (count, m, k, n) = (size(batch), size(rows), size(inner), size(columns))
    let left = permuted(a.data, labels: la, to: batch + rows + inner, extents)
    let right = permuted(b.data, labels: lb, to: batch + inner + columns, extents)
    var out = [Float](repeating: 0, count: count * m * n)
    if m * n * k > 0 {
      left.withUnsafeBufferPointer { ap in
        right.withUnsafeBufferPointer { bp in
          out.withUnsafeMutableBufferPointer { op in
            for i in 0..<count {
              ReferenceGEMM.multiply(
                m: m, n: n, k: k, a: .init(base: ap.baseAddress! + i * m * k, rowStride: k, columnStride: 1),
                b: .init(base: bp.baseAddress! + i * k * n, rowStride: n, columnStride: 1),
                c: op.baseAddress! + i * m * n, ldc: n)
            }
          }
        }
      }
    }
    let result = permuted(out, labels: batch + rows + columns, to: lo, extents)
    return Tensor(shape: lo.map { extents[$0]! }, data: result)
  }

  /// The elements of a row-major tensor with axes `labels`, in the row-major order of the axes `order`
  /// (a permutation of `labels`).
  static func permuted(_ data: [Float], labels: [Character], to order: [Character], _ extents: [Character: Int])
    -> [Float]
  {
    guard labels != order else { return data }
    let own = Tensor.strides(of: labels.map { extents[$0]! })
    let shape = order.map { extents[$0]! }, strides = order.map { own[labels.firstIndex(of: $0)!] }
    var out: [Float] = []
    out.reserveCapacity(data.count)
    guard !data.isEmpty else { return out }
    let last = shape.count - 1
    var index = [Int](repeating: 0, count: shape.count), base = 0
    data.withUnsafeBufferPointer { src in
      while true {
        for i in 0..<shape[last] { out.append(src[base + i * strides[last]]) }
        // Advance the outer axes like an odometer; done when the first one wraps.
        var axis = last - 1
        while axis >= 0 {
          index[axis] += 1
          base += strides[axis]
          if index[axis] < shape[axis] { break }
          base -= index[axis] * strides[axis]
          index[axis] = 0
          axis -= 1
        }
        if axis < 0 { return }
      }
    }
    return out
  }
}
