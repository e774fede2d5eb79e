/// A blocked matrix multiply of float matrices for the reference kernels: plain Swift, SIMD tiles, threads.
///
/// It packs A into strips of ``rows`` rows and B into panels of ``columns`` columns (zero-padded, so
/// every tile is full), then runs one register tile per strip × panel with the K loop innermost:
/// six `SIMD8<Double>` accumulators, one row each, fed by a contiguous load of B and a broadcast of A.
/// Every sum runs in double and is rounded to float once: the reference is the truth the compiled
/// kernels are checked against, so its error should not grow with the depth (a float sum of K
/// terms drifts by about √K rounding steps; MixNet-S's squeeze-excitation convs drifted 3–5×
/// further from the double result than ONNX Runtime's, and deep networks amplify that).
/// Tiles are shared out over the cores by ``ReferenceParallel``; each output element
/// is summed by one thread in a fixed order, so results do not depend on the thread count.
/// It is independent of the compiled path (Codegen, Schedule, Runtime) on purpose: it checks it.
enum ReferenceGEMM {
  /// Rows of A per register tile.
  static let rows = 6
  /// Columns of B per register tile: one `SIMD8<Float>`.
  static let columns = 8

  /// A read-only strided matrix: element `(i, j)` is `base[i * rowStride + j * columnStride]`.
  struct Matrix {
    var base: UnsafePointer<Float>
    var rowStride: Int
    var columnStride: Int
  }

  /// Writes `c[i * ldc + j] = Σ_p a(i, p) · b(p, j)` for `i < m`, `j < n` (zero when `k == 0`).
  static func multiply(m: Int, n: Int, k: Int, a: Matrix, b: Matrix, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
      return
    }
    let strips = (m + rows - 1) / rows, panels = (n + columns - 1) / columns
    let packedA = UnsafeMutablePointer<Float>.allocate(capacity: strips * k * rows)
    let packedB = UnsafeMutablePointer<Float>.allocate(capacity: panels * k * columns)
    defer {
      packedA.deallocate()
      packedB.deallocate()
    }
    pack(a, count: m, depth: k, width: rows, transposed: false, into: packedA)
    pack(b, count: n, depth: k, width: columns, transposed: true, into: packedB)
    // Panel-major order: a thread's consecutive tiles reuse one panel of B while it is in cache.
    ReferenceParallel.forEach(strips * panels, work: m * n * k) { tile in
      let panel = tile / strips, strip = tile % strips
      kernel(
        k: k, a: packedA + strip * k * rows, b: packedB + panel * k * columns,
        c: c + strip * rows * ldc + panel * columns, ldc: ldc,
        validRows: min(rows, m - strip * rows), validColumns: min(columns, n - panel * columns))
    }
  }

  /// Packs `count` lines of `matrix` (rows of A, or columns of B when `transposed`) into blocks of
  /// `width` lines interleaved along the depth: `out[(block · depth + p) · width + line]`, zero-padded.
  private static func pack(
    _ matrix: Matrix, count: Int, depth: Int, width: Int, transposed: Bool, into out: UnsafeMutablePointer<Float>
  ) {
    let lineStride = transposed ? matrix.columnStride : matrix.rowStride
    let depthStride = transposed ? matrix.rowStride : matrix.columnStride
    // In bands of 8 depths across all blocks: each band reads its lines' memory in order. (Line by
    // line, a row-major B would be read in strides of its row length, and lengths like 3072 map
    // every read to the same few cache sets.)
    let blocks = (count + width - 1) / width
    for p0 in stride(from: 0, to: depth, by: 8) {
      for block in 0..<blocks {
        let dst = out + block * depth * width, src = matrix.base + block * width * lineStride
        let lines = min(width, count - block * width)
        for p in p0..<min(p0 + 8, depth) {
          let row = dst + p * width, from = src + p * depthStride
          for line in 0..<lines { row[line] = from[line * lineStride] }
          for line in lines..<width { row[line] = 0 }
        }
      }
    }
  }

  /// One register tile: a 6 × 8 block of C from a packed strip of A and a packed panel of B.
  @inline(__always)
  private static func kernel(
    k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    validRows: Int, validColumns: Int
  ) {
    var c0 = SIMD8<Double>(), c1 = SIMD8<Double>(), c2 = SIMD8<Double>()
    var c3 = SIMD8<Double>(), c4 = SIMD8<Double>(), c5 = SIMD8<Double>()
    var pa = a, pb = UnsafeRawPointer(b)
    for _ in 0..<k {
      let bv = SIMD8<Double>(pb.loadUnaligned(as: SIMD8<Float>.self))
      c0 += bv * Double(pa[0])
      c1 += bv * Double(pa[1])
      c2 += bv * Double(pa[2])
      c3 += bv * Double(pa[3])
      c4 += bv * Double(pa[4])
      c5 += bv * Double(pa[5])
      pa += rows
      pb += columns * MemoryLayout<Float>.stride
    }
    func store(_ wide: SIMD8<Double>, _ r: Int) {
      guard r < validRows else { return }
      let dst = c + r * ldc, v = SIMD8<Float>(wide)
      if validColumns == columns {
        UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD8<Float>.self)
      } else {
        for j in 0..<validColumns { dst[j] = v[j] }
      }
    }
    store(c0, 0)
    store(c1, 1)
    store(c2, 2)
    store(c3, 3)
    store(c4, 4)
    store(c5, 5)
  }
}
