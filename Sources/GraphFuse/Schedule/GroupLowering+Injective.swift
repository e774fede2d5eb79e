/// Injective members as index remaps, and training-mode batch norm as its own loop nest.
extension GroupLowering {
  /// The output of injective node `node` at `idx`: its input at the remapped index.
  mutating func injective(_ node: Node, at idx: [IndexExpr]) throws(GraphFuseError) -> ValueExpr {
    let a = node.attributes
    let x = graph.shape(of: node.inputs[0])
    let out = graph.shape(of: node.outputs[0])
    switch node.op {
    case "reshape", "flatten", "squeeze", "unsqueeze":
      return try value(node.inputs[0], at: Self.reshape(idx, from: out, to: x))
    case "transpose":
      let perm = a.ints("perm", default: Array((0..<x.count).reversed()))
      var inIdx = [IndexExpr](repeating: .constant(0), count: x.count)
      for (k, p) in perm.enumerated() { inIdx[p] = idx[k] }
      return try value(node.inputs[0], at: inIdx)
    case "slice":
      guard let ranges = Injective.sliceRanges(a, shape: x) else {
        throw GraphFuseError("bad slice", node: node.name, op: node.op)
      }
      let inIdx = idx.indices.map { k in .constant(ranges[k].start) + idx[k] * ranges[k].step }
      return try value(node.inputs[0], at: inIdx)
    case "pad":
      let pads = a.ints("pads", default: [Int](repeating: 0, count: 2 * x.count))
      let inIdx = idx.indices.map { k in idx[k] - pads[k] }
      let conditions = x.indices.filter { pads[$0] != 0 || pads[$0 + x.count] != 0 }.map {
        IndexCondition.inRange(inIdx[$0], 0, x[$0])
      }
      let inside = try value(node.inputs[0], at: inIdx)
      return conditions.isEmpty ? inside : .select(conditions, inside, .constant(a.float("value", default: 0)))
    case "concat":
      let axis = Injective.axis(a.int("axis", default: 1), rank: x.count) ?? 0
      var offsets: [Int] = [], offset = 0
      for input in node.inputs { offsets.append(offset); offset += graph.shape(of: input)[axis] }
      // A balanced tree of selects on the concat axis: depth log2(inputs), size linear, so a concat
      // of thousands of inputs stays a small expression for clang.
      offsets.append(offset)
      func pick(_ lo: Int, _ hi: Int) throws(GraphFuseError) -> ValueExpr {
        if hi - lo == 1 {
          var inIdx = idx
          inIdx[axis] = idx[axis] - offsets[lo]
          return try value(node.inputs[lo], at: inIdx)
        }
        let mid = (lo + hi) / 2
        let left = try pick(lo, mid), right = try pick(mid, hi)
        return .select([.inRange(idx[axis], offsets[lo], offsets[mid])], left, right)
      }
      return try pick(0, node.inputs.count)
    case "expand":
      return try value(node.inputs[0], at: Self.broadcast(idx, to: x))
    case "gather":
      let axis = Injective.axis(a.int("axis", default: 0), rank: x.count) ?? 0
      let indices = a.ints("indices", default: []).map { $0 < 0 ? $0 + x[axis] : $0 }
      let indicesShape = a.ints("indices_shape", default: [indices.count])
      let r = indicesShape.count
      let position = Self.flat(Array(idx[axis..<(axis + r)]), indicesShape)
      let inIdx = Array(idx[..<axis]) + [Self.lookup(indices, position)] + Array(idx[(axis + r)...])
      return try value(node.inputs[0], at: inIdx)
    case "take":
      let axis = Injective.axis(a.int("axis", default: 0), rank: x.count) ?? 0
      let r = graph.shape(of: node.inputs[1]).count
      let raw = try value(node.inputs[1], at: Array(idx[axis..<(axis + r)]))
      let site = graph.nodes.firstIndex { $0.name == node.name } ?? 0
      declareStatus()
      let inIdx = Array(idx[..<axis]) + [.checked(raw, extent: x[axis], site: site)] + Array(idx[(axis + r)...])
      return try value(node.inputs[0], at: inIdx)
    default:
      throw GraphFuseError("no compiled index remap for this op", node: node.name, op: node.op)
    }
  }

  /// The input index of a reshape from `x` to `out` at output index `idx`, axis group by axis
  /// group: runs of axes whose extents multiply to the same product on both sides map onto each
  /// other, so an axis kept as it is keeps its index, merged axes become one flat index and only a
  /// split axis needs a division (instead of a division and modulo per axis of the whole flat
  /// offset). Extent-1 axes take index 0.
  static func reshape(_ idx: [IndexExpr], from out: [Int], to x: [Int]) -> [IndexExpr] {
    var result = [IndexExpr](repeating: .constant(0), count: x.count)
    let outAxes = out.indices.filter { out[$0] != 1 }, inAxes = x.indices.filter { x[$0] != 1 }
    var o = 0, i = 0
    while o < outAxes.count && i < inAxes.count {
      var groupOut = [outAxes[o]], groupIn = [inAxes[i]]
      var po = out[outAxes[o]], pi = x[inAxes[i]]
      o += 1
      i += 1
      while po != pi {
        if po < pi {
          guard o < outAxes.count else { break }
          groupOut.append(outAxes[o])
          po *= out[outAxes[o]]
          o += 1
        } else {
          guard i < inAxes.count else { break }
          groupIn.append(inAxes[i])
          pi *= x[inAxes[i]]
          i += 1
        }
      }
      guard po == pi else { return unflatten(flat(idx, out), x) }
      let local = flat(groupOut.map { idx[$0] }, groupOut.map { out[$0] })
      let parts = unflatten(local, groupIn.map { x[$0] })
      for (axis, part) in zip(groupIn, parts) { result[axis] = part }
    }
    guard o == outAxes.count && i == inAxes.count else { return unflatten(flat(idx, out), x) }
    return result
  }

  /// Training batch norm: per channel, the batch mean and biased variance, then the normalized
  /// output and (when used) the updated running statistics.
  mutating func trainingBatchNorm(_ node: Node) throws(GraphFuseError) -> LoopNest {
    let a = node.attributes
    let shape = graph.shape(of: node.inputs[0])
    let axis = BatchNorm.axis(a, rank: shape.count)
    let channels = shape[axis]
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    let c = fresh("c"), o = fresh("o"), i = fresh("i")
    let mean = fresh("mean"), variance = fresh("var"), scale = fresh("scale")
    let offset: IndexExpr = (.variable(o) * channels + .variable(c)) * inner + .variable(i)
    func input(_ k: Int) -> String { names[node.inputs[k]]! }
    let xv = ValueExpr.load(input(0), offset)
    let count = Double(outer * inner)
    func over(_ body: [Stmt]) -> Stmt {
      .loop(
        variable: o, extent: outer, kind: .serial, body: [.loop(variable: i, extent: inner, kind: .serial, body: body)])
    }
    let centered = ValueExpr.binary(.sub, xv, .local(mean))
    var body: [Stmt] = [
      .declare(mean, .constant(0)),
      over([.accumulate(mean, .sum, xv)]),
      .assign(mean, .binary(.div, .local(mean), .constant(count))),
      .declare(variance, .constant(0)),
      over([.accumulate(variance, .sum, .binary(.mul, centered, centered))]),
      .assign(variance, .binary(.div, .local(variance), .constant(count))),
      .declare(
        scale,
        .binary(
          .div, .load(input(1), .variable(c)),
          .unary(.sqrt, .binary(.add, .local(variance), .constant(a.float("epsilon", default: 1e-5)))))),
    ]
    if let y = names[node.outputs[0]] {
      body.append(
        over([.store(y, offset, .binary(.add, .binary(.mul, centered, .local(scale)), .load(input(2), .variable(c))))]))
    }
    let m = a.float("momentum", default: 0.9)
    for (k, stat) in [(1, mean), (2, variance)] where node.outputs.count > k {
      guard let name = names[node.outputs[k]] else { continue }
      body.append(
        .store(
          name, .variable(c),
          .binary(
            .add,
            .binary(.mul, .load(input(2 + k), .variable(c)), .constant(m)),
            .binary(.mul, .local(stat), .constant(1 - m)))))
    }
    let buffers =
      group.inputs.map {
        BufferDecl(name: names[$0]!, count: graph.shape(of: $0).reduce(1, *), isOutput: false, value: $0)
      }
      + group.outputs.map {
        BufferDecl(name: names[$0]!, count: graph.shape(of: $0).reduce(1, *), isOutput: true, value: $0)
      }
    return LoopNest(
      name: group.name, buffers: buffers, body: [.loop(variable: c, extent: channels, kind: .parallel, body: body)])
  }

  /// `indices[position]`: arithmetic when the indices step evenly (`first + position · step`: an
  /// identity, a strided slice or a repeated index written as a gather, whose loads the vectorizer
  /// then sees as contiguous, strided or invariant), else a table lookup. SqueezeBERT's mask is a
  /// gather of all 128 tokens in order: as a table each of its 16,384 outputs loaded lane by lane.
  static func lookup(_ indices: [Int], _ position: IndexExpr) -> IndexExpr {
    guard let first = indices.first else { return .table(indices, position) }
    let step = indices.count > 1 ? indices[1] - first : 0
    guard indices.indices.allSatisfy({ indices[$0] == first + $0 * step }) else { return .table(indices, position) }
    return position * step + .constant(first)
  }
}
