import GraphFuse

/// GatherND with constant indices, as a `gather` along the flattened indexed axes.
extension ImportSession {
  /// `GatherND(data, indices)` with `batch_dims = b`: data `[B…, D1…Dk, R…]` is reshaped to
  /// `[∏B·∏D, R…]`, each index tuple becomes one flat row number (batch offset included, negative
  /// indices resolved, each checked against its extent), and one `gather` along axis 0 with
  /// `indices_shape = [B…, I…]` yields `[B…, I…, R…]`, the ONNX output shape.
  mutating func gatherND(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let data = try required(node, 0)
    guard let indices = try constantInput(node, 1, "indices") else { throw node.error("needs indices") }
    let values = try indices.intValues("indices")
    try node.checkBounded(values, "indices")
    let ds = shape(data), iss = indices.shape
    let batch = try node.int("batch_dims", default: 0)
    guard let k = iss.last, batch >= 0, iss.count > batch, k >= 1, batch + k <= ds.count else {
      throw node.error("indices \(iss) with batch_dims \(batch) do not index data \(ds)")
    }
    guard Array(iss[..<batch]) == Array(ds[..<batch]) else {
      throw node.error("the batch axes of indices \(iss) and data \(ds) differ")
    }
    let indexed = Array(ds[batch..<(batch + k)])
    let rows = indexed.reduce(1, *)
    var strides = [Int](repeating: 1, count: k)
    for j in stride(from: k - 2, through: 0, by: -1) { strides[j] = strides[j + 1] * indexed[j + 1] }
    var flat: [Int] = []
    flat.reserveCapacity(values.count / k)
    // Tuples are laid out batch-major, so tuple t belongs to batch t / (tuples per batch).
    let perBatch = max(iss[batch..<(iss.count - 1)].reduce(1, *), 1)
    for t in 0..<(values.count / k) {
      var row = (t / perBatch) * rows
      for j in 0..<k {
        let v = values[t * k + j]
        guard v >= -indexed[j], v < indexed[j] else {
          throw node.error("index \(v) is out of range for extent \(indexed[j]) (axis \(batch + j) of \(ds))")
        }
        row += (v < 0 ? v + indexed[j] : v) * strides[j]
      }
      flat.append(row)
    }
    let rest = Array(ds[(batch + k)...])
    let table = try emit(
      "reshape", [data], ["shape": .ints([ds[..<batch].reduce(1, *) * rows] + rest)], node: node, irName: "rows")
    let gathered: Attributes = [
      "axis": .int(0), "indices": .ints(flat), "indices_shape": .ints(Array(iss.dropLast())),
    ]
    return [try emit("gather", [table], gathered, node: node)]
  }
}
