/// einsum {equation}: products of the operands summed over every label absent from the output.
///
/// The equation is in explicit form with single-letter labels, spaces removed
/// (`bghid,bghjd->bghij`); ellipses and repeated labels within one operand (diagonals) are
/// not supported. Every occurrence of a label must have the same extent.
public struct EinsumEquation: Sendable, Equatable {
  /// The labels of each operand.
  public var inputs: [[Character]]
  /// The labels of the output.
  public var output: [Character]

  /// Parses an equation; implicit output (no `->`) is the labels used once, alphabetically.
  public init(_ text: String) throws(GraphFuseError) {
    let compact = text.filter { !$0.isWhitespace }
    guard !compact.contains(".") else {
      throw GraphFuseError("einsum equation '\(text)' uses an ellipsis, which is not supported")
    }
    let sides = compact.components(separatedBy: "->")
    guard sides.count <= 2 else { throw GraphFuseError("einsum equation '\(text)' has more than one '->'") }
    inputs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(Array.init)
    let all = inputs.flatMap { $0 }
    if sides.count == 2 {
      output = Array(sides[1])
    } else {
      output = Set(all).filter { c in all.filter { $0 == c }.count == 1 }.sorted()
    }
    for labels in inputs + [output] {
      guard labels.allSatisfy({ $0.isLetter && $0.isASCII }), Set(labels).count == labels.count else {
        throw GraphFuseError("einsum equation '\(text)' needs distinct letter labels per operand (no diagonals)")
      }
    }
    guard output.allSatisfy({ all.contains($0) }) else {
      throw GraphFuseError("einsum equation '\(text)' has an output label that no operand has")
    }
  }

  /// The normalized text, as stored in the IR attribute.
  public var text: String { inputs.map { String($0) }.joined(separator: ",") + "->" + String(output) }

  /// The labels summed over, in first-appearance order.
  public var contracted: [Character] {
    var seen: [Character] = []
    for c in inputs.flatMap({ $0 }) where !output.contains(c) && !seen.contains(c) { seen.append(c) }
    return seen
  }

  /// The extent of each label from the operand shapes, or an error on a mismatch.
  public func extents(_ shapes: [[Int]]) throws(GraphFuseError) -> [Character: Int] {
    guard shapes.count == inputs.count else {
      throw GraphFuseError("einsum equation '\(text)' has \(inputs.count) operands, got \(shapes.count) inputs")
    }
    var extents: [Character: Int] = [:]
    for (labels, shape) in zip(inputs, shapes) {
      guard labels.count == shape.count else {
        throw GraphFuseError("einsum operand '\(String(labels))' does not match the rank of shape \(shape)")
      }
      for (c, d) in zip(labels, shape) {
        if let known = extents[c], known != d {
          throw GraphFuseError("einsum label '\(c)' has extents \(known) and \(d)")
        }
        extents[c] = d
      }
    }
    return extents
  }
}

private func einsumReference(_ ctx: KernelContext) throws(GraphFuseError) -> [Tensor] {
  let equation = try EinsumEquation(ctx.attributes.string("equation", default: ""))
  let extents = try equation.extents(ctx.inputs.map(\.shape))
  if ctx.inputs.count == 2,
    let product = ReferenceEinsum.product(equation, ctx.inputs[0], ctx.inputs[1], extents: extents)
  {
    return [product]
  }
  let labels = equation.output + equation.contracted
  let sizes = labels.map { extents[$0]! }
  let strides = zip(equation.inputs, ctx.inputs).map { labels_, t in
    let own = Tensor.strides(of: t.shape)
    return labels.map { c in labels_.firstIndex(of: c).map { own[$0] } ?? 0 }
  }
  let outShape = equation.output.map { extents[$0]! }
  let outCount = outShape.reduce(1, *), inner = sizes.dropFirst(outShape.count).reduce(1, *)
  var out = [Float](repeating: 0, count: outCount)
  var index = [Int](repeating: 0, count: labels.count)
  for o in 0..<outCount {
    var sum = 0.0
    for _ in 0..<inner {
      var product = 1.0
      for (k, t) in ctx.inputs.enumerated() { product *= Double(t.data[Injective.offset(index, strides[k])]) }
      sum += product
      var axis = labels.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < sizes[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    out[o] = Float(sum)
  }
  return [Tensor(shape: outShape, data: out)]
}

let einsumOp = OpDefinition(
  name: "einsum", arity: 1...8, pattern: { _ in .outEWiseFusable },
  inferShapes: { q throws(GraphFuseError) in
    do throws(GraphFuseError) {
      let equation = try EinsumEquation(q.attributes.string("equation", default: ""))
      let extents = try equation.extents(q.shapes)
      return [equation.output.map { extents[$0]! }]
    } catch {
      throw q.error(error.message)
    }
  },
  reference: { ctx throws(GraphFuseError) in
    do throws(GraphFuseError) { return try einsumReference(ctx) } catch { throw ctx.error(error.message) }
  }
).withFlops { i, o, a in
  guard let e = try? EinsumEquation(a.string("equation", default: "")), let x = try? e.extents(i) else { return 0 }
  return 2 * o.reduce(1, *) * e.contracted.map { x[$0]! }.reduce(1, *)
}

extension EinsumEquation {
  /// The form of an equation that is a batched matrix product with distinct labels and the batch
  /// labels `B…` in one order everywhere: false for `B…ij,B…jk->B…ik`, true for `B…id,B…jd->B…ij`
  /// (the second operand read transposed, Q·Kᵀ); nil for any other equation.
  var batchedMatrixProduct: Bool? {
    guard inputs.count == 2 else { return nil }
    let (a, b, o) = (inputs[0], inputs[1], output)
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
