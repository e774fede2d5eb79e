/// Layer norm and einsum anchors in the generic plain-layout lowering.
extension GroupLowering {
  /// Statements computing a layer-norm row's mean and 1/σ over axes `axis…` at `idx` (whose
  /// entries on those axes are ignored); records them in `rowLocals` as (mean, rstd).
  mutating func layerNormRow(_ n: NodeID, idx: [IndexExpr], axis: Int) throws(GraphFuseError) -> (
    [Stmt], (max: String, sum: String)
  ) {
    let node = graph.nodes[n]
    let x = graph.shape(of: node.inputs[0])
    let mean = fresh("mean"), rstd = fresh("rstd")
    let vars = x.indices.dropFirst(axis).map { _ in fresh("r") }
    let extents = Array(x[axis...])
    let rowIdx = Array(idx[..<axis]) + vars.map { IndexExpr.variable($0) }
    let saved = prelude
    prelude = []
    let x1 = try value(node.inputs[0], at: rowIdx)
    let inner1 = prelude
    prelude = []
    let x2 = try value(node.inputs[0], at: rowIdx)
    let inner2 = prelude
    prelude = saved
    let first = { (body: Stmt) in Self.serialNest(vars, extents, inner1 + [body]) }
    let second = { (body: Stmt) in Self.serialNest(vars, extents, inner2 + [body]) }
    let (declarations, compute) = RowNormalization.statements(
      mean: mean, rstd: rstd, count: extents.reduce(1, *), epsilon: node.attributes.float("epsilon", default: 1e-5),
      x: (x1, x2), passes: (first, second))
    rowLocals[n] = (mean, rstd)
    return (declarations + compute, (mean, rstd))
  }

  /// Loops in program order (no vectorization: the bodies hold statements of their own).
  private static func serialNest(_ vars: [String], _ extents: [Int], _ body: [Stmt]) -> Stmt {
    var inner = body
    for (v, e) in zip(vars, extents).reversed() { inner = [.loop(variable: v, extent: e, kind: .serial, body: inner)] }
    return inner.count == 1 ? inner[0] : .when([], inner)
  }

  /// The layer norm's output at `idx`: row statistics from `rowLocals`, else computed here.
  mutating func layerNorm(_ n: NodeID, at idx: [IndexExpr]) throws(GraphFuseError) -> ValueExpr {
    let node = graph.nodes[n]
    let x = graph.shape(of: node.inputs[0])
    let axis = LayerNorm.axis(node.attributes, rank: x.count) ?? x.count - 1
    let locals: (max: String, sum: String)
    if let known = rowLocals[n] {
      locals = known
    } else {
      let (stats, computed) = try layerNormRow(n, idx: idx, axis: axis)
      prelude += stats
      rowLocals[n] = nil  // computed for this index only
      locals = computed
    }
    let normalizedIdx = Array(idx[axis...])
    let xv = try value(node.inputs[0], at: idx)
    let scale = try value(node.inputs[1], at: Self.broadcast(normalizedIdx, to: graph.shape(of: node.inputs[1])))
    var y = ValueExpr.binary(.mul, .binary(.mul, .binary(.sub, xv, .local(locals.max)), .local(locals.sum)), scale)
    if node.inputs.count > 2 {
      y = .binary(
        .add, y, try value(node.inputs[2], at: Self.broadcast(normalizedIdx, to: graph.shape(of: node.inputs[2]))))
    }
    return y
  }

  /// The einsum's output at `idx`: a sum over the contracted labels of the operands' product.
  mutating func einsum(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError) -> ValueExpr {
    let equation: EinsumEquation
    let extents: [Character: Int]
    do throws(GraphFuseError) {
      equation = try EinsumEquation(node.attributes.string("equation", default: ""))
      extents = try equation.extents(node.inputs.map { graph.shape(of: $0) })
    } catch {
      throw GraphFuseError(error.message, node: node.name, op: node.op)
    }
    var index: [Character: IndexExpr] = [:]
    for (k, c) in equation.output.enumerated() { index[c] = idx[k] }
    let vars = equation.contracted.map { _ in fresh("k") }
    for (c, v) in zip(equation.contracted, vars) { index[c] = .variable(v) }
    var product: ValueExpr? = nil
    for (labels, input) in zip(equation.inputs, node.inputs) {
      let v = try value(input, at: labels.map { index[$0]! })
      product = product.map { .binary(.mul, $0, v) } ?? v
    }
    guard let product else { throw GraphFuseError("einsum without operands", node: node.name, op: node.op) }
    if vars.isEmpty { return product }
    prelude += [
      .declare(acc, .constant(0)),
      nest(vars, equation.contracted.map { extents[$0]! }, [.accumulate(acc, .sum, product)]),
    ]
    return .local(acc)
  }
}
