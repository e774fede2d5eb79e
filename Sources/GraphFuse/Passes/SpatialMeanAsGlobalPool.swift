/// A `reduce_mean` over the two spatial axes of a rank-4 `[N, C, H, W]` tensor, keeping them
/// (`[N, C, 1, 1]`), becomes a `global_avg_pool`: the same average, which the scheduler runs on the
/// blocked layout the conv before it wrote, a vector of channels at a time, where the generic
/// reduction read one channel per lane (a strided gather through every cache line, sixteen times
/// over). PyTorch's default exporter writes squeeze-and-excitation's `x.mean((2, 3), keepdim=True)`
/// this way where TorchScript wrote `GlobalAveragePool`: MaxViT-T's twelve took 0.29 ms where they
/// took 1.33 (`bench`, two runs per build). OpenVINO's `ConvertReduceMeanToPooling` does the same
/// rewrite.
///
/// Applies to float32 inputs with axes {2, 3} in any order or sign, computed by a conv and the
/// elementwise ops after it (``SpatialMean/followsConv(_:in:)``): that conv's group writes the
/// blocked layout the pool reads. A mean that keeps the axes (ONNX's default) becomes the pool; one
/// that drops them (`[N, C]`: ECA's `x.mean((2, 3))`, a classifier head's pooling) becomes the pool
/// and a reshape to `[N, C]`, a view: ECA-ResNet-26t's eight took 1.31 ms as reductions (`bench`).
/// Elsewhere the generic reduction stays, because elementwise ops before it fuse into it and would
/// not into the pool (a relu on an input `[1, 40, 56, 56]` then the mean: 18 µs as one group, 36 as
/// two). Not part of folding: it changes which kernel computes an op, not which ops run, so every
/// configuration gets it.
let spatialMeanAsGlobalPoolPass = Pass("spatialMeanAsGlobalPool") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var dropped: [NodeID] = []
  for index in graph.nodes.ids where graph.nodes[index].op == "reduce_mean" {
    let node = graph.nodes[index]
    guard SpatialMean.isGlobalPool(node, in: graph) else { continue }
    if node.attributes.bool("keepdims", default: true) {
      graph.nodes[index].op = "global_avg_pool"
      graph.nodes[index].attributes = [:]
    } else {
      dropped.append(index)
    }
  }
  // A mean that drops the axes: the pool and a reshape appended, the reshape's result taking the
  // mean's name and readers, then the nodes put back in dependency order.
  for index in dropped {
    let node = graph.nodes[index]
    let output = node.outputs[0], name = graph.values[output].name
    let pooled = try graph.addNode(op: "global_avg_pool", inputs: node.inputs, name: node.name + ".pool")[0]
    let flat = try graph.addNode(
      op: "reshape", inputs: [pooled], attributes: ["shape": .ints(graph.shape(of: output))], name: node.name,
      outputNames: [name])[0]
    graph.replaceUses(of: output, with: flat)
  }
  if !dropped.isEmpty { graph = GatherMove.topologicallyOrdered(graph.removingNodes(Set(dropped))) }
  ctx.graph = graph
}

/// The rule of ``spatialMeanAsGlobalPoolPass``.
enum SpatialMean {
  /// Whether `node`, a `reduce_mean`, averages a rank-4 float32 tensor over axes 2 and 3 (kept
  /// or dropped).
  static func isGlobalPool(_ node: Node, in graph: Graph) -> Bool {
    guard node.inputs.count == 1, graph.dataType(of: node.inputs[0]) == .float32 else { return false }
    let rank = graph.shape(of: node.inputs[0]).count
    guard rank == 4, let axes = Reduction.axes(node.attributes, rank: rank) else { return false }
    return Set(axes) == [2, 3] && axes.count == 2 && followsConv(node.inputs[0], in: graph)
  }

  /// Whether `value` is a `conv2d`'s output, or an elementwise or broadcast op's of the same shape
  /// whose operand of that shape is (up to 8 ops back: activations, a residual add).
  static func followsConv(_ value: ValueID, in graph: Graph) -> Bool {
    let shape = graph.shape(of: value)
    var current = value
    for _ in 0..<8 {
      guard let p = graph.producer(of: current) else { return false }
      let node = graph.nodes[p]
      if node.op == "conv2d" { return true }
      guard let def = OpRegistry.definitions[node.op], def.scalar != nil, def.pattern(node.attributes) <= .broadcast,
        let next = node.inputs.first(where: { graph.shape(of: $0) == shape && graph.constant($0) == nil })
      else { return false }
      current = next
    }
    return false
  }
}
