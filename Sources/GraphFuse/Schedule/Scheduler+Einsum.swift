/// The einsum schedule: an einsum that is a batched matrix product in standard operand order
/// (`…ij,…jk->…ik`, the same batch labels in the same order on both operands and the output: the
/// P·V of attention written as an einsum) runs on the tiled matmul, as a `matmul` node would.
extension Scheduler {
  /// Emits the group through ``emitMatmul(_:index:)`` when its einsum is such a product; false
  /// (nothing emitted) for any other equation (Q·Kᵀ's `…id,…jd->…ij` reads its second operand
  /// transposed, which the matmul kernel does not yet take in place).
  mutating func emitEinsum(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    guard node.inputs.count == 2,
      let equation = try? EinsumEquation(node.attributes.string("equation", default: "")),
      Self.isBatchedMatrixProduct(equation)
    else { return false }
    return try emitMatmul(group, index: g)
  }

  /// True for `B…ij,B…jk->B…ik` with distinct labels: batch labels `B…` in one order everywhere.
  static func isBatchedMatrixProduct(_ e: EinsumEquation) -> Bool { batchedMatrixProduct(e) == false }

  /// The form of an einsum that is a batched matrix product with distinct labels and the batch
  /// labels `B…` in one order everywhere: false for `B…ij,B…jk->B…ik`, true for `B…id,B…jd->B…ij`
  /// (the second operand read transposed, Q·Kᵀ); nil for any other equation.
  static func batchedMatrixProduct(_ e: EinsumEquation) -> Bool? {
    guard e.inputs.count == 2 else { return nil }
    let (a, b, o) = (e.inputs[0], e.inputs[1], e.output)
    guard a.count >= 2, b.count == a.count, o.count == a.count else { return nil }
    let batch = Array(o.dropLast(2))
    guard Array(a.dropLast(2)) == batch, Array(b.dropLast(2)) == batch else { return nil }
    let (i, j) = (a[a.count - 2], a[a.count - 1])
    let (rows, columns) = (b[b.count - 2], b[b.count - 1])
    guard o[o.count - 2] == i else { return nil }
    if rows == j, o[o.count - 1] == columns, Set([i, j, columns]).count == 3 { return false }
    if columns == j, o[o.count - 1] == rows, Set([i, j, rows]).count == 3 { return true }
    return nil
  }
}
