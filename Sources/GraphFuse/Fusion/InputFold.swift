/// A group that runs as no kernel of its own because every conv reading its output applies it as
/// it reads its input: decided by fusion (``FusionPlan/init(_:partition:)``), recorded on the group
/// (``FusedGroup/fold``), shown by `report`, and carried out by the scheduler without a second look.
public enum InputFold: Sendable, Equatable {
  /// `x · s`, `s` one value per channel computed at run time (a squeeze-excitation gate): each
  /// reading conv scales its packed weights by `s` along the input-channel axis and reads `x`.
  case channelScale(x: ValueID, scale: ValueID)
  /// `f(x)`, `f` elementwise with per-channel or scalar operands (a batch norm kept whole, then
  /// relu, in DenseNet), the group's members `nodes`: each reading 1×1 conv applies `f` to its
  /// input tiles and reads `x`. Members before `nodes` (a concat producing `x`, DenseNet's concat
  /// → batch norm → relu) run as a stage of their own.
  case inputPrologue(x: ValueID, nodes: [NodeID])

  /// Records on `groups` (a partition of `graph`, in topological order) the folds that apply.
  /// A channel multiply folds when scaling the weights costs less than the multiply pass it
  /// replaces (Σ Cout·kh·kw over the readers ≤ H·W); an elementwise stage folds when only 1×1
  /// unpadded convs read it (no pixel of their window is a zero pad, which `f` would not map to 0).
  static func annotate(_ graph: Graph, groups: inout [FusedGroup]) {
    let readers = FoldReaders(graph, groups: groups)
    for g in groups.indices {
      groups[g].fold = readers.channelScale(groups[g]) ?? readers.inputPrologue(groups[g])
    }
  }
}

/// The readers a fold needs, checked against a plan's groups.
struct FoldReaders {
  let graph: Graph
  let groups: [FusedGroup]
  let consumers: [[NodeID]]
  let groupOfNode: [Int?]

  init(_ graph: Graph, groups: [FusedGroup]) {
    self.graph = graph
    self.groups = groups
    consumers = graph.consumers()
    groupOfNode = FusionPlan(groups: groups).groupOfNode.map { $0.index < 0 ? nil : $0.index }
  }

  /// The fold of `group` when it is a lone `mul` of a `[N, C, H, W]` activation by a run-time
  /// `[1, C, 1, 1]` scale, every reader takes a fold (``weight(of:reading:)``) and the weights
  /// to scale are no more than the pixels of one input channel.
  func channelScale(_ group: FusedGroup) -> InputFold? {
    guard group.nodes.count == 1, group.outputs.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    guard node.op == "mul", node.inputs.count == 2, node.outputs == group.outputs else { return nil }
    let product = node.outputs[0]
    let shape = graph.shape(of: product)
    guard shape.count == 4, !graph.outputs.contains(product) else { return nil }
    let pair = [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])].first { x, s in
      graph.shape(of: x) == shape && graph.shape(of: s) == [1, shape[1], 1, 1] && graph.constant(s) == nil
    }
    guard let (x, scale) = pair, x != scale else { return nil }
    var weightsPerChannel = 0
    for c in consumers[product.index] {
      guard let weight = weight(of: c, reading: product) else { return nil }
      weightsPerChannel += weight.shape[0] * weight.shape[2] * weight.shape[3]
    }
    guard weightsPerChannel > 0, weightsPerChannel <= shape[2] * shape[3] else { return nil }
    return .channelScale(x: x, scale: scale)
  }

  /// The fold of `group` when it is, or ends in after a leading concat, an elementwise stage over
  /// one rank-4 tensor `x` (its other operands per channel or scalar), and only 1×1 unpadded convs
  /// that take a fold read its output. Folding saves writing and reading the output (the input
  /// tile goes through `f` once per tile into a per-thread scratch, not once per output channel).
  func inputPrologue(_ group: FusedGroup) -> InputFold? {
    guard group.outputs.count == 1, let stage = elementwiseStage(group),
      let tail = ElementwiseTail.make(graph, group: stage, anchor: nil)
    else { return nil }
    let tensors = tail.operands.filter { !$0.isPerChannelOrScalar }
    let y = tail.output
    guard tensors.count == 1, case .full(let x) = tensors[0], graph.shape(of: x).count == 4,
      !graph.outputs.contains(y), !consumers[y.index].isEmpty
    else { return nil }
    for c in consumers[y.index] {
      guard let weight = weight(of: c, reading: y), weight.shape[2] == 1, weight.shape[3] == 1,
        Window2D(graph.nodes[c].attributes, kernel: [1, 1]).pads.allSatisfy({ $0 == 0 })
      else { return nil }
    }
    return .inputPrologue(x: x, nodes: stage.nodes)
  }

  /// The group itself when it is elementwise; for a concat followed by elementwise members, those
  /// members as a group of their own; nil otherwise.
  func elementwiseStage(_ group: FusedGroup) -> FusedGroup? {
    if group.pattern <= .broadcast { return group }
    let rest = Array(group.nodes.dropFirst())
    guard graph.nodes[group.nodes[0]].op == "concat", !rest.isEmpty,
      rest.allSatisfy({ OpRegistry.pattern(of: graph.nodes[$0]) <= .broadcast })
    else { return nil }
    return FusionPlan.makeGroups(graph, partition: [[group.nodes[0]], rest])[1]
  }

  /// The constant weight of conv node `c` when it can take a fold of the value it reads: a
  /// one-group conv reading `value` once, as its activation, with constant weights and bias,
  /// the anchor and first node of a group that is no chain or attention and whose tail fits a
  /// tiled kernel (``ElementwiseTail``). Nil otherwise.
  func weight(of c: NodeID, reading value: ValueID) -> Tensor? {
    let conv = graph.nodes[c]
    guard conv.op == "conv2d", conv.inputs[0] == value, !conv.inputs.dropFirst().contains(value),
      conv.attributes.int("group", default: 1) == 1, let weight = graph.constant(conv.inputs[1]),
      weight.shape.count == 4, conv.inputs.count < 3 || graph.constant(conv.inputs[2]) != nil,
      groupOfNode.indices.contains(c.index), let g = groupOfNode[c.index]
    else { return nil }
    let reader = groups[g]
    guard reader.anchor == c, reader.nodes.first == c, reader.chain == nil, reader.attention == nil,
      ElementwiseTail.make(graph, group: reader, anchor: c) != nil
    else { return nil }
    return weight
  }
}
