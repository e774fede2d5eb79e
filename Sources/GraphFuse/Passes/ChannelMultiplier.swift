/// A convolution with one input channel per group and `k > 1` outputs per group (a depthwise conv
/// with a channel multiplier: FastViT's reparameterized 7×7 downsampling, TensorFlow's
/// `depth_multiplier`) becomes a `gather` of the input channels, each repeated `k` times
/// (`[c0 ×k, c1 ×k, …]`), then a depthwise conv over the `k·C` channels with the same weights: output
/// channel `o` reads input channel `o / k` either way. The grouped conv ran on the blocked kernel
/// with 16 FMAs per useful one (every output vector reduced over a whole input block of which one
/// lane was its own: FastViT-T8's two took 0.72 ms at 5–6 % of the FMA peak); the gather is a
/// channel remap (``ChannelRemap``), one pass over `k` times the input, and the
/// depthwise kernel runs a vector of channels per FMA.
///
/// Applies to `conv2d` with `group` = input channels > 1 and output channels a multiple `k > 1` of
/// them. Not part of folding: it changes which kernel computes the conv, not what it computes, so
/// every configuration gets it.
let channelMultiplierPass = Pass("channelMultiplier") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var changed = false
  for index in graph.nodes.ids where graph.nodes[index].op == "conv2d" {
    let node = graph.nodes[index]
    guard let k = ChannelMultiplier.multiplier(node, in: graph) else { continue }
    let x = node.inputs[0], channels = graph.shape(of: x)[1]
    let indices = (0..<(channels * k)).map { $0 / k }
    let repeated = try graph.addNode(
      op: "gather", inputs: [x], attributes: ["axis": .int(1), "indices": .ints(indices)],
      name: node.name + ".repeated")[0]
    graph.nodes[index].inputs[0] = repeated
    graph.nodes[index].attributes["group"] = .int(channels * k)
    changed = true
  }
  if changed { graph = GatherMove.topologicallyOrdered(graph) }
  ctx.graph = graph
}

/// The rule of ``channelMultiplierPass``.
enum ChannelMultiplier {
  /// The outputs per group `k > 1` of a `conv2d` with one input channel per group (and more than
  /// one group), or nil.
  static func multiplier(_ node: Node, in graph: Graph) -> Int? {
    guard node.op == "conv2d", node.inputs.count >= 2 else { return nil }
    let x = graph.shape(of: node.inputs[0]), out = graph.shape(of: node.outputs[0])
    let groups = node.attributes.int("group", default: 1)
    guard x.count == 4, out.count == 4, groups > 1, groups == x[1], out[1] % groups == 0, out[1] > groups else {
      return nil
    }
    return out[1] / groups
  }
}
