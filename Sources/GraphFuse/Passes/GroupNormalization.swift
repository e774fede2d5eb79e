/// A `layer_norm` whose rows are whole channel groups of a rank-4 `[N, C, H, W]` tensor, seen
/// through reshapes, becomes a `group_norm` of that tensor. PyTorch exports `nn.GroupNorm` (and
/// the importer writes ONNX's GroupNormalization and InstanceNormalization) as `reshape → [N, G,
/// R]`, a norm over each row of `R = C/G·H·W` elements, a reshape back, then the per-channel
/// scale and shift. Over the reshaped tensor the norm is one row per group, which the scheduler
/// could only run in plain layout, a row per task: PoolFormer-S12's GroupNorm with one group copied
/// the conv's blocked output out to a plain row, normalized 200,704 elements on one thread and
/// copied back (3.7 of its 18 ms, `bench`). As a `group_norm` it reads and writes the blocked
/// layout, its statistics split over pixel chunks on every thread, the scale and shift after it
/// fused as its epilogue.
///
/// Applies when the norm's scale is a constant of ones, its bias absent or zeros, and its rows
/// are `N·G` rows of whole channels (`G` divides `C`); a norm of a rank-4 tensor itself over its
/// last axis (a channels-last layer norm) stays. The norm's result is then the group norm's
/// read through a reshape: where a chain of reshapes, each the one reader of the last, leads back
/// to the tensor's shape, the chain's end reads the group norm directly; otherwise a reshape of it
/// takes the norm's place. Not part of folding: it changes which kernel computes the norm, not
/// what is computed, so every configuration gets it.
let groupNormPass = Pass("groupNorm") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  let consumers = graph.consumers()
  var changed = false
  for index in graph.nodes.ids where graph.nodes[index].op == "layer_norm" {
    let norm = graph.nodes[index]
    guard let match = GroupNormMatch(norm, in: graph) else { continue }
    let attributes: Attributes = [
      "groups": .int(match.groups), "epsilon": .float(norm.attributes.float("epsilon", default: 1e-5)),
    ]
    let outputs = try graph.addNode(op: "group_norm", inputs: [match.source], attributes: attributes, name: norm.name)
    let grouped = outputs[0]
    // Follow the reshapes after the norm back to the source's shape.
    var end = norm.outputs[0]
    while graph.shape(of: end) != graph.shape(of: match.source), !graph.isOutput(end), consumers[end.index].count == 1,
      graph.nodes[consumers[end.index][0]].op == "reshape"
    {
      end = graph.nodes[consumers[end.index][0]].outputs[0]
    }
    if graph.shape(of: end) == graph.shape(of: match.source), !graph.isOutput(end) {
      graph.replaceUses(of: end, with: grouped)
    } else {
      let back = try graph.addReshape(grouped, to: graph.shape(of: norm.outputs[0]), name: norm.name + ".rows")
      graph.replaceUses(of: norm.outputs[0], with: back)
    }
    changed = true
  }
  // The replaced nodes are left to dead-code elimination; the new ones go in dependency order.
  if changed { graph = GatherMove.topologicallyOrdered(graph) }
  ctx.graph = graph
}

/// A layer norm that is a group norm of a rank-4 tensor (``groupNormPass``).
struct GroupNormMatch {
  /// The `[N, C, H, W]` tensor the norm's input reshapes.
  var source: ValueID
  /// Channel groups: the norm's rows per image.
  var groups: Int

  init?(_ norm: Node, in graph: Graph) {
    let input = norm.inputs[0]
    let shape = graph.shape(of: input)
    guard graph.dataType(of: input) == .float32, let axis = LayerNorm.axis(norm.attributes, rank: shape.count),
      let scale = graph.constant(norm.inputs[1]), scale.data.allSatisfy({ $0 == 1 })
    else { return nil }
    if norm.inputs.count > 2 {
      guard let bias = graph.constant(norm.inputs[2]), bias.data.allSatisfy({ $0 == 0 }) else { return nil }
    }
    // Back through reshapes to the first rank-4 tensor. A rank-4 input itself must be normalized
    // over its channels and pixels (one group) or its pixels (a group per channel): over the last
    // axis it is a channels-last layer norm, which stays one.
    var source = input
    if shape.count == 4, axis > 2 { return nil }
    while graph.shape(of: source).count != 4 {
      guard let p = graph.producer(of: source), graph.nodes[p].op == "reshape" else { return nil }
      source = graph.nodes[p].inputs[0]
    }
    let x = graph.shape(of: source)
    let row = shape[axis...].reduce(1, *), rows = shape[..<axis].reduce(1, *)
    let image = x[1] * x[2] * x[3]
    guard row > 0, image % row == 0 else { return nil }
    let groups = image / row
    guard x[1] % groups == 0, rows == x[0] * groups else { return nil }
    self.source = source
    self.groups = groups
  }
}
