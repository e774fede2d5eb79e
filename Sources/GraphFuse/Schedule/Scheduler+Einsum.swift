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
      equation.batchedMatrixProduct == false
    else { return false }
    return try emitMatmul(group, index: g)
  }
}
