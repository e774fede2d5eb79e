/// A layer norm whose one reader is a matmul, as its rows: `[transpose(0, 2, 3, 1) →] layer_norm →
/// matmul [→ tail]` (the norm before every MLP of ConvNeXt, ViT, Swin, MaxViT; ConvNeXt's transpose
/// of the depthwise conv's result before it). GraphFuse's fusion phase puts the norm's group in the
/// matmul's; the matmul kernel computes each row's mean and 1/σ and normalizes the row as it reads
/// it into its A panel, so the normalized tensor is never written.
///
/// TVM and ONNX Runtime keep the norm as a kernel of its own (an `outEWiseFusable` anchor in
/// FuseOps; `LayerNormalization` / `SkipLayerNormalization` in ONNX Runtime).
public struct NormalizedInput: Sendable, Equatable {
  /// The norm's stage (`[transpose,] layer_norm`), then the matmul's (the matmul and its tail).
  public var stages: [[NodeID]]
  /// The layer norm.
  public var norm: NodeID
  /// The matmul: the group's anchor.
  public var matmul: NodeID

  /// The normalized input `nodes` form, or nil: the norm over the last axis with constant scale
  /// (and bias) of one value per feature, its data a group input, read (through the conv's
  /// channels-last view, when there is one) by the norm alone, its result read by the matmul alone,
  /// as its rows; the matmul's weight a constant matrix and its tail elementwise with one result.
  static func match(_ graph: Graph, nodes: [NodeID], outputs: [ValueID]) -> NormalizedInput? {
    guard outputs.count == 1, let m = nodes.firstIndex(where: { graph.nodes[$0].op == "matmul" }), m > 0,
      let l = nodes.firstIndex(where: { graph.nodes[$0].op == "layer_norm" }), l == m - 1, l <= 1
    else { return nil }
    let norm = graph.nodes[nodes[l]], matmul = graph.nodes[nodes[m]]
    let shape = graph.shape(of: norm.outputs[0])
    let features = shape.last ?? 0
    let consumers = graph.consumers()
    guard shape.count >= 2, LayerNorm.axis(norm.attributes, rank: shape.count) == shape.count - 1,
      norm.inputs.dropFirst().allSatisfy({ graph.constant($0)?.count == features }),
      consumers[norm.outputs[0].index] == [nodes[m]], matmul.inputs[0] == norm.outputs[0],
      graph.constant(matmul.inputs[1]) != nil, graph.shape(of: matmul.inputs[1]).dropLast(2).allSatisfy({ $0 == 1 })
    else { return nil }
    if l == 1 {
      // The conv's channels-last view, read by the norm alone.
      let view = graph.nodes[nodes[0]]
      guard view.op == "transpose", view.attributes.ints("perm", default: []) == [0, 2, 3, 1],
        norm.inputs[0] == view.outputs[0], consumers[view.outputs[0].index] == [nodes[l]]
      else { return nil }
    }
    let head = Array(nodes[...l]), tail = Array(nodes[m...])
    let stages = FusionPlan.makeGroups(graph, partition: [head, tail])
    guard stages[1].outputs == outputs,
      ElementwiseTail.make(
        graph, group: stages[1], anchor: nodes[m],
        channelAxis: shape.count - 1) != nil
    else { return nil }
    return NormalizedInput(stages: [head, tail], norm: nodes[l], matmul: nodes[m])
  }

  /// Merges, in a partition of `graph`, every layer-norm group into the matmul group that alone
  /// reads its result, when together they form a ``NormalizedInput``, no member is opaque and the
  /// result stays within `maxGroupSize`.
  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    PartitionMerge.mergingPairs(
      graph, partition, maxGroupSize: maxGroupSize, opaque: opaque,
      partner: { members, setOf, consumers in
        guard let last = members.last, graph.nodes[last].op == "layer_norm",
          let reader = consumers[graph.nodes[last].outputs[0].index].first
        else { return nil }
        let g = setOf[reader.index]
        return partition[g].first == reader ? g : nil
      },
      accepts: { nodes, outputs in match(graph, nodes: nodes, outputs: outputs) != nil })
  }
}
