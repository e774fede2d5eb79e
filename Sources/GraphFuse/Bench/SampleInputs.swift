/// Deterministic inputs of the right element types for timing a graph without data of its own.
extension Graph {
  /// One input per graph input, from `seed`: float32 uniform in [-1, 1]; an integer input that a
  /// runtime gather reads as indices (token ids) uniform over that table's rows; every other
  /// integer or bool input (masks, token types) 0 or 1.
  public func sampleInputs(seed: UInt64 = 42) -> [Tensor] {
    inputs.enumerated().map { k, id in
      let shape = self.shape(of: id)
      guard dataType(of: id).isInteger else { return Tensor.random(shape: shape, seed: seed + UInt64(k)) }
      var rows = 2
      for node in nodes where node.op == "take" && node.inputs[1] == id {
        let table = self.shape(of: node.inputs[0])
        let axis = Injective.axis(node.attributes.int("axis", default: 0), rank: table.count) ?? 0
        rows = max(1, min(rows == 2 ? table[axis] : rows, table[axis]))
      }
      if dataType(of: id) == .bool { rows = 2 }
      var generator = SplitMix64(seed: seed + UInt64(k))
      let count = shape.reduce(1, *)
      return Tensor(shape: shape, data: (0..<count).map { _ in Float(generator.next() % UInt64(rows)) })
    }
  }
}
