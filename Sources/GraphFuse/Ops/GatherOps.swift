/// gather with constant indices (attribute `indices`, shaped `indices_shape`) along `axis`: injective.
private func gatherShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let x = q.shape(0)
  guard let axis = Injective.axis(q.attributes.int("axis", default: 0), rank: x.count) else {
    throw q.error("axis \(q.attributes.int("axis", default: 0)) is out of range for \(x)")
  }
  let indices = q.attributes.ints("indices", default: [])
  let indicesShape = q.attributes.ints("indices_shape", default: [indices.count])
  guard indicesShape.reduce(1, *) == indices.count else {
    throw q.error("indices_shape \(indicesShape) does not hold \(indices.count) indices")
  }
  guard indices.allSatisfy({ $0 >= -x[axis] && $0 < x[axis] }) else {
    throw q.error("an index is out of range for extent \(x[axis])")
  }
  return [Array(x[..<axis]) + indicesShape + Array(x[(axis + 1)...])]
}

private func gatherReference(_ ctx: KernelContext) -> [Tensor] {
  let x = ctx.inputs[0]
  let axis = Injective.axis(ctx.attributes.int("axis", default: 0), rank: x.rank)!
  let indices = ctx.attributes.ints("indices", default: []).map { $0 < 0 ? $0 + x.shape[axis] : $0 }
  let indicesShape = ctx.attributes.ints("indices_shape", default: [indices.count])
  let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
  var out: [Float] = []
  out.reserveCapacity(outer * indices.count * inner)
  for o in 0..<outer {
    for i in indices {
      let base = (o * x.shape[axis] + i) * inner
      out += x.data[base..<(base + inner)]
    }
  }
  return [Tensor(shape: Array(x.shape[..<axis]) + indicesShape + Array(x.shape[(axis + 1)...]), data: out)]
}

let gatherOps: [OpDefinition] = [
  OpDefinition(
    name: "gather", arity: 1...1, pattern: { _ in .injective }, inferShapes: gatherShape,
    reference: { gatherReference($0) })
]

/// take {axis}(data, indices): gather along `axis` with indices computed at run time (token ids
/// into an embedding table): output shape `data[..<axis] + indices.shape + data[(axis+1)...]`.
/// Indices are whole numbers in `-n ..< n` (`n` the axis extent; negative ones count from the
/// end); any other index is an error at run time, never an out-of-bounds read.
enum Take {
  static func shape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
    let x = q.shape(0)
    guard let axis = Injective.axis(q.attributes.int("axis", default: 0), rank: x.count) else {
      throw q.error("axis \(q.attributes.int("axis", default: 0)) is out of range for \(x)")
    }
    return [Array(x[..<axis]) + q.shape(1) + Array(x[(axis + 1)...])]
  }

  /// The error for index `value` of the indices named `indices` into an axis of extent `n`.
  public static func rangeError(value: Float, indices: String, axis: Int, extent n: Int) -> String {
    let shown = value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    return "index \(shown) in '\(indices)' is out of range: axis \(axis) has \(n) entries, valid indices are "
      + "\(-n) ..< \(n)"
  }

  static func reference(_ ctx: KernelContext) throws(GraphFuseError) -> [Tensor] {
    let x = ctx.inputs[0], indices = ctx.inputs[1]
    let axis = Injective.axis(ctx.attributes.int("axis", default: 0), rank: x.rank)!
    let n = x.shape[axis]
    let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
    var rows: [Int] = []
    rows.reserveCapacity(indices.count)
    for v in indices.data {
      guard v >= -Float(n), v < Float(n), v == v.rounded() else {
        let name = ctx.inputNames.count > 1 ? ctx.inputNames[1] : "indices"
        throw ctx.error(rangeError(value: v, indices: name, axis: axis, extent: n))
      }
      rows.append(Int(v) < 0 ? Int(v) + n : Int(v))
    }
    var out: [Float] = []
    out.reserveCapacity(outer * rows.count * inner)
    for o in 0..<outer {
      for r in rows {
        let base = (o * n + r) * inner
        out += x.data[base..<(base + inner)]
      }
    }
    return [Tensor(shape: Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...]), data: out)]
  }

  static let definition = OpDefinition(
    name: "take", arity: 2...2, pattern: { _ in .injective }, inferShapes: shape,
    reference: { ctx throws(GraphFuseError) in try reference(ctx) })
}

extension Take {
  /// The error a compiled run reports for its status (``IndexExpr/checked``): the take node at
  /// graph node index `site` read index `value`.
  static func siteError(_ graph: Graph, site: Int, value: Float) -> GraphFuseError {
    guard graph.nodes.indices.contains(site), graph.nodes[site].inputs.count == 2 else {
      return GraphFuseError("an index (\(value)) is out of range", op: "take")
    }
    let node = graph.nodes[site]
    let x = graph.shape(of: node.inputs[0])
    let axis = Injective.axis(node.attributes.int("axis", default: 0), rank: x.count) ?? 0
    let message = rangeError(value: value, indices: graph.values[node.inputs[1]].name, axis: axis, extent: x[axis])
    return GraphFuseError(message, node: node.name, op: node.op)
  }
}
