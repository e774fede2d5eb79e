/// A matmul over channels-last pixels whose result goes back to channels first:
/// `matmul [→ tail] → transpose(0, 3, 1, 2) [→ tail]`, as ConvNeXt ends each block (its second
/// MLP layer, `permute(0, 3, 1, 2)`, the layer scale and the residual add). GraphFuse's fusion
/// phase puts the transpose and its elementwise tail in the matmul's group; the kernel applies
/// both tails to each accumulator vector and stores it straight into its `NCHW[v]c` block: the
/// output features of one pixel, a vector at a time, are one contiguous vector of a channel block
/// there, so the layout change costs no pass over memory of its own.
///
/// TVM leaves the transpose to a separate injective group (an `outEWiseFusable` anchor fuses
/// elementwise consumers only); ONNX Runtime's transpose optimizer moves transposes through
/// elementwise ops and cancels pairs, which leaves this one in place.
public struct ChannelsFirstStore: Sendable, Equatable {
  /// The matmul's stage (the matmul and its tail), then the transpose's (the transpose and its tail).
  public var stages: [[NodeID]]
  /// The transpose to channels first.
  public var transpose: NodeID

  /// The store `nodes` form (one matmul of a constant weight matrix first, its rank-4 result read
  /// by the transpose alone, each stage's tail elementwise with its one result), or nil.
  static func match(_ graph: Graph, nodes: [NodeID], outputs: [ValueID]) -> ChannelsFirstStore? {
    guard outputs.count == 1, let first = nodes.first, graph.nodes[first].op == "matmul",
      let t = nodes.firstIndex(where: { graph.nodes[$0].op == "transpose" }), t > 0
    else { return nil }
    let matmul = graph.nodes[first], transpose = graph.nodes[nodes[t]]
    let weights = graph.shape(of: matmul.inputs[1])
    guard transpose.attributes.ints("perm", default: []) == [0, 3, 1, 2],
      graph.shape(of: matmul.outputs[0]).count == 4, graph.constant(matmul.inputs[1]) != nil,
      weights.dropLast(2).allSatisfy({ $0 == 1 })
    else { return nil }
    let head = Array(nodes[..<t]), tail = Array(nodes[t...])
    let stages = FusionPlan.makeGroups(graph, partition: [head, tail])
    let x = transpose.inputs[0]
    guard stages[0].outputs == [x], graph.consumers()[x.index] == [nodes[t]], stages[1].outputs == outputs,
      ElementwiseTail.make(graph, group: stages[0], anchor: first, channelAxis: 3) != nil,
      ElementwiseTail.make(graph, group: stages[1], anchor: nodes[t], channelAxis: 1) != nil
    else { return nil }
    return ChannelsFirstStore(stages: [head, tail], transpose: nodes[t])
  }

  /// Merges, in a partition of `graph`, every group that starts with a transpose `(0, 3, 1, 2)`
  /// into the matmul group whose one result it reads, when together they form a store
  /// (``match(_:nodes:outputs:)``), no member is opaque and the result stays within `maxGroupSize`.
  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    PartitionMerge.mergingPairs(
      graph, partition, maxGroupSize: maxGroupSize, opaque: opaque,
      partner: { members, setOf, _ in
        guard let t = members.first, graph.nodes[t].op == "transpose",
          let producer = graph.producer(of: graph.nodes[t].inputs[0])
        else { return nil }
        let g = setOf[producer.index]
        return partition[g].first.map { graph.nodes[$0].op == "matmul" } == true ? g : nil
      },
      accepts: { nodes, outputs in match(graph, nodes: nodes, outputs: outputs) != nil })
  }
}
