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
