/// A layer norm whose one reader is a matmul, as its rows: `[transpose(0, 2, 3, 1) →] layer_norm →
/// [row view →] matmul [→ tail]` (the norm before every MLP of ConvNeXt, ViT, Swin, MaxViT;
/// ConvNeXt's transpose of the depthwise conv's result before it; TorchScript ViT's
/// `[1, 197, 768] → [197, 1, 768]` transpose after it, a view that moves no data). GraphFuse's
/// fusion phase puts the norm's group in the matmul's; the matmul kernel computes each row's mean
/// and 1/σ and normalizes the row as it reads it into its A panel, so the normalized tensor is never
/// written.
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
  /// as its rows (directly or through one ``isRowView(_:in:)``); the matmul's weight a constant
  /// matrix and its tail elementwise with one result.
  static func match(_ graph: Graph, nodes: [NodeID], outputs: [ValueID]) -> NormalizedInput? {
    guard outputs.count == 1, let m = nodes.firstIndex(where: { graph.nodes[$0].op == "matmul" }), m > 0,
      let l = nodes.firstIndex(where: { graph.nodes[$0].op == "layer_norm" }), l == m - 1 || l == m - 2, l <= 1
    else { return nil }
    let norm = graph.nodes[nodes[l]], matmul = graph.nodes[nodes[m]]
    let shape = graph.shape(of: norm.outputs[0])
    let features = shape.last ?? 0
    let consumers = graph.consumers()
    // The value the matmul reads as its rows: the norm's result, or the row view of it.
    var rows = norm.outputs[0]
    if l == m - 2 {
      let view = graph.nodes[nodes[l + 1]]
      guard isRowView(view, in: graph), view.inputs[0] == rows, consumers[rows.index] == [nodes[l + 1]] else {
        return nil
      }
      rows = view.outputs[0]
    }
    guard shape.count >= 2, LayerNorm.axis(norm.attributes, rank: shape.count) == shape.count - 1,
      norm.inputs.dropFirst().allSatisfy({ graph.constant($0)?.count == features }),
      consumers[rows.index] == [nodes[m]], matmul.inputs[0] == rows,
      graph.constant(matmul.inputs[1]) != nil, graph.shape(of: matmul.inputs[1]).dropLast(2).allSatisfy({ $0 == 1 })
    else { return nil }
    if l == 1 {
      // The conv's channels-last view, read by the norm alone.
      let view = graph.nodes[nodes[0]]
      guard view.op == "transpose", view.attributes.ints("perm", default: []) == [0, 2, 3, 1],
        norm.inputs[0] == view.outputs[0], consumers[view.outputs[0].index] == [nodes[l]]
      else { return nil }
    }
    let head = Array(nodes[..<m]), tail = Array(nodes[m...])
    let stages = FusionPlan.makeGroups(graph, partition: [head, tail])
    guard stages[1].outputs == outputs,
      ElementwiseTail.make(
        graph, group: stages[1], anchor: nodes[m],
        channelAxis: shape.count - 1) != nil
    else { return nil }
    return NormalizedInput(stages: [head, tail], norm: nodes[l], matmul: nodes[m])
  }

  /// Whether `node` is a view that keeps rows whole and in order: a reshape, squeeze, unsqueeze or
  /// flatten, or a transpose that moves only axes of extent 1, with the last axis unchanged. Row `i`
  /// of its result is row `i` of its input, so a matmul reads the input's rows in its place.
  static func isRowView(_ node: Node, in graph: Graph) -> Bool {
    let input = graph.shape(of: node.inputs[0]), output = graph.shape(of: node.outputs[0])
    guard let features = input.last, output.last == features, graph.dataType(of: node.inputs[0]) == .float32 else {
      return false
    }
    switch node.op {
    case "reshape", "squeeze", "unsqueeze", "flatten":
      return true
    case "transpose":
      let perm = node.attributes.ints("perm", default: Array((0..<input.count).reversed()))
      let moved = perm.filter { input[$0] != 1 }
      return perm.count == input.count && moved == moved.sorted() && moved.last == input.count - 1
    default:
      return false
    }
  }

  /// Merges, in a partition of `graph`, every layer-norm group into the matmul group that alone
  /// reads its result (first a lone row view between them into the norm's group, when the three
  /// together form one), when together they form a ``NormalizedInput``, no member is opaque and
  /// the result stays within `maxGroupSize`.
  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    let graphOutputs = Set(graph.outputs)
    /// The set of `sets` whose first member is the one reader of the last member's result, if any.
    func readerSet(_ members: [NodeID], _ sets: [[NodeID]], _ setOf: [Int], _ consumers: [[NodeID]]) -> Int? {
      guard let last = members.last, let reader = consumers[graph.nodes[last].outputs[0].index].first else {
        return nil
      }
      let g = setOf[reader.index]
      return sets[g].first == reader ? g : nil
    }
    let viewSetOf = PartitionMerge.setOfNode(graph, partition)
    let viewConsumers = graph.consumers()
    let withViews = PartitionMerge.mergingPairs(
      graph, partition, maxGroupSize: maxGroupSize, opaque: opaque,
      partner: { members, setOf, consumers in
        guard let last = members.last, graph.nodes[last].op == "layer_norm",
          let g = readerSet(members, partition, setOf, consumers), partition[g].count == 1,
          isRowView(graph.nodes[partition[g][0]], in: graph)
        else { return nil }
        return g
      },
      accepts: { nodes, _ in
        // Only when the matmul's group then joins too.
        guard let m = readerSet(nodes, partition, viewSetOf, viewConsumers) else { return false }
        let all = (nodes + partition[m]).sorted()
        let outputs = PartitionMerge.outputs(graph, of: all, consumers: viewConsumers, graphOutputs: graphOutputs)
        return all.count <= maxGroupSize && match(graph, nodes: all, outputs: outputs) != nil
      })
    return PartitionMerge.mergingPairs(
      graph, withViews, maxGroupSize: maxGroupSize, opaque: opaque,
      partner: { members, setOf, consumers in
        guard members.contains(where: { graph.nodes[$0].op == "layer_norm" }) else { return nil }
        return readerSet(members, withViews, setOf, consumers)
      },
      accepts: { nodes, outputs in match(graph, nodes: nodes, outputs: outputs) != nil })
  }
}
