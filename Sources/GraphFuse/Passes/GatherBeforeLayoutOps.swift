/// Moves a gather of one index ahead of the layout ops that feed it: `gather(transpose(x), a, i)`
/// becomes `transpose(gather(x, perm[a], i))`, and the same through `squeeze`, `unsqueeze` and a
/// `reshape` that splits the gathered axis out of one axis of `x` (there the gather is a `slice`).
/// It applies when every reader of the layout op's result is such a gather, so the layout op's
/// whole result is never written: each gather reads only its own part of `x`.
///
/// Attention layers split a fused QKV projection this way: `qkv.reshape(B, N, 3, H, d).permute(2,
/// 0, 3, 1, 4)` then `q, k, v = qkv[0], qkv[1], qkv[2]` (Swin, ViT's `in_proj`). Unchanged, the
/// permuted `[3, B, H, N, d]` tensor is written by one group and read back by three; after this
/// pass each of Q, K and V is a slice, reshape and transpose of the projection, one group each.
let moveGathersBeforeLayoutOpsPass = Pass("moveGathersBeforeLayoutOps") { (ctx: inout PassContext) in
  var graph = ctx.graph
  // Each round moves every eligible gather one op up; the moved gathers may move again.
  for _ in 0..<16 {
    var changed = false
    let consumers = graph.consumers()
    var removed = Set<NodeID>()
    for g in graph.nodes.ids where GatherMove.isScalarGather(graph.nodes[g]) {
      let y = graph.nodes[g].inputs[0]
      let firstNew = graph.values.count
      guard let p = graph.producer(of: y), !graph.isOutput(y),
        consumers[y.index].allSatisfy({ GatherMove.isScalarGather(graph.nodes[$0]) }),
        let moved = try? GatherMove.rewrite(&graph, gather: g, layout: p)
      else { continue }
      // The moved ops carry the gathered tensor's element type (an int64 shape or mask stays int64).
      for v in firstNew..<graph.values.count { graph.values[v].dataType = graph.dataType(of: y) }
      // The result keeps the gather's name: a graph output is still found by its ONNX name.
      graph.values[moved].name = graph.values[graph.nodes[g].outputs[0]].name
      graph.replaceUses(of: graph.nodes[g].outputs[0], with: moved)
      removed.insert(g)
      changed = true
    }
    guard changed else { break }
    graph = GatherMove.topologicallyOrdered(graph.removingNodes(removed)).withoutDeadNodes()
  }
  ctx.graph = graph
}

/// The rewrites of ``moveGathersBeforeLayoutOpsPass``.
enum GatherMove {
  /// A `gather` of one index with no index axes (`x[i]` along its axis): the axis disappears.
  static func isScalarGather(_ node: Node) -> Bool {
    node.op == "gather" && node.attributes.ints("indices", default: []).count == 1
      && node.attributes.ints("indices_shape", default: [1]).isEmpty
  }

  /// Appends the gather `gather` moved above the layout op `layout` and the layout op after it;
  /// returns the new result (the gather's shape), or nil when `layout` is not a movable op.
  static func rewrite(_ graph: inout Graph, gather g: NodeID, layout p: NodeID) throws(GraphFuseError) -> ValueID? {
    let gather = graph.nodes[g], op = graph.nodes[p]
    let x = op.inputs[0], xShape = graph.shape(of: x), yShape = graph.shape(of: op.outputs[0])
    guard let a = Injective.axis(gather.attributes.int("axis", default: 0), rank: yShape.count) else { return nil }
    var index = gather.attributes.ints("indices", default: [])[0]
    if index < 0 { index += yShape[a] }
    func gatherX(_ axis: Int) throws(GraphFuseError) -> ValueID {
      var attributes = gather.attributes
      attributes.values["axis"] = .int(axis)
      attributes.values["indices"] = .ints([index])
      return try graph.addNode(op: "gather", inputs: [x], attributes: attributes, name: gather.name + ".moved")[0]
    }
    func then(_ opName: String, _ input: ValueID, _ attributes: Attributes) throws(GraphFuseError) -> ValueID {
      let name = "\(op.name).after_gather_\(index)"
      return try graph.addNode(op: opName, inputs: [input], attributes: attributes, name: name)[0]
    }
    switch op.op {
    case "transpose":
      let perm = op.attributes.ints("perm", default: Array((0..<xShape.count).reversed()))
      let xa = perm[a]
      let rest = perm.filter { $0 != xa }.map { $0 > xa ? $0 - 1 : $0 }
      let moved = try gatherX(xa)
      return rest == Array(rest.indices) ? moved : try then("transpose", moved, ["perm": .ints(rest)])
    case "squeeze":
      guard let axes = Injective.squeezeAxes(op.attributes, shape: xShape) else { return nil }
      let kept = xShape.indices.filter { !axes.contains($0) }
      let xa = kept[a]
      return try then("squeeze", try gatherX(xa), ["axes": .ints(axes.map { $0 > xa ? $0 - 1 : $0 })])
    case "unsqueeze":
      let axes = op.attributes.ints("axes", default: []).compactMap { Injective.axis($0, rank: yShape.count) }
      guard axes.count == op.attributes.ints("axes", default: []).count, !axes.contains(a) else { return nil }
      let xa = a - axes.filter { $0 < a }.count
      return try then("unsqueeze", try gatherX(xa), ["axes": .ints(axes.map { $0 > a ? $0 - 1 : $0 })])
    case "reshape":
      // y's axes a…b split x's axis k, the axes before them hold the same elements as x's before k:
      // y[…, i, …] is the slice [i·r, (i+1)·r) of x's axis k, reshaped.
      let before = yShape[..<a].reduce(1, *)
      guard let k = xShape.indices.first(where: { xShape[..<$0].reduce(1, *) == before && xShape[$0] > 1 }),
        (a..<yShape.count).contains(where: { yShape[a...$0].reduce(1, *) == xShape[k] }), yShape[a] > 1
      else { return nil }
      let r = xShape[k] / yShape[a]
      let slice = try graph.addNode(
        op: "slice", inputs: [x],
        attributes: ["starts": .ints([index * r]), "ends": .ints([(index + 1) * r]), "axes": .ints([k])],
        name: gather.name + ".slice")[0]
      var shape = yShape
      shape.remove(at: a)
      return try then("reshape", slice, ["shape": .ints(shape)])
    default: return nil
    }
  }

  /// The graph with its nodes in an order where every node follows the producers of its inputs
  /// (Kahn's algorithm, earlier nodes first among the ready ones).
  static func topologicallyOrdered(_ graph: Graph) -> Graph {
    let count = graph.nodes.count
    var waiting = [Int](repeating: 0, count: count)
    var readers = [[Int]](repeating: [], count: count)
    for (n, node) in graph.nodes.enumerated() {
      for input in node.inputs {
        if let p = graph.producer(of: input) {
          waiting[n] += 1
          readers[p.index].append(n)
        }
      }
    }
    var ready = (0..<count).filter { waiting[$0] == 0 }.reversed().map { $0 }
    var order: [Int] = []
    while let n = ready.popLast() {
      order.append(n)
      for r in readers[n] {
        waiting[r] -= 1
        if waiting[r] == 0 {
          ready.append(r)
          ready.sort(by: >)
        }
      }
    }
    guard order.count == count, order != Array(0..<count) else { return graph }
    var result = graph
    var newIndex = [Int](repeating: 0, count: count)
    for (k, n) in order.enumerated() { newIndex[n] = k }
    result.nodes = order.map { graph.nodes[$0] }
    for id in result.values.ids {
      if case .node(let n, let k) = result.values[id].source {
        result.values[id].source = .node(NodeID(newIndex[n.index]), output: k)
      }
    }
    return result
  }
}
