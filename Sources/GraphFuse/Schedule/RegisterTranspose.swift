/// A square block of vectors turned over in registers: vector `i` lane `l` of the result is vector
/// `l` lane `i` of the input. For each bit h of the lane index, vectors `i` and `i + h` (bit h of i
/// clear) swap their lanes with bit h set and clear respectively, two two-source shuffles per pair:
/// w · log₂ w shuffles for w vectors of w lanes (64 for 16 lanes; clang picks `vshufps`, `vshufpd`,
/// `vpermt2pd` and `vshuff64x2` for them on AVX-512). Kernels that must copy a matrix transposed
/// (K given row by row in attention, A copied into row-tile panels) load a vector per row, turn the
/// block over and store a vector per column.
enum RegisterTranspose {
  /// The statements that turn `vectors` (names of declared vectors, as many as their lanes) over,
  /// and the names of the result's vectors in order. Locals are named `prefix` + stage + index.
  static func statements(_ vectors: [String], prefix: String) -> (statements: [Stmt], names: [String]) {
    let width = vectors.count
    var names = vectors, statements: [Stmt] = []
    var h = 1, stage = 0
    while h < width {
      var next = names
      let low = (0..<width).map { $0 & h == 0 ? $0 : width + $0 - h }
      let high = (0..<width).map { $0 & h == 0 ? $0 + h : width + $0 }
      for i in 0..<width where i & h == 0 {
        next[i] = "\(prefix)\(stage)_\(i)"
        next[i + h] = "\(prefix)\(stage)_\(i + h)"
        statements.append(.declareVector(next[i], .shuffle(.local(names[i]), .local(names[i + h]), low)))
        statements.append(.declareVector(next[i + h], .shuffle(.local(names[i]), .local(names[i + h]), high)))
      }
      names = next
      h *= 2
      stage += 1
    }
    return (statements, names)
  }
}
