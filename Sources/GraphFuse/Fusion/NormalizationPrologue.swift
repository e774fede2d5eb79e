/// GraphFuse's fusion phase for what feeds a layer norm: a group of elementwise, broadcast and
/// row-gather (`take`) ops whose one result only a lone layer norm reads, as its data, joins the
/// layer norm's group. The norm's row loop then computes the sum on the fly (BERT's and GPT-2's
/// embeddings: token, position and type rows gathered, added and normalized in one kernel) instead
/// of writing the sum and reading it back.
///
/// TVM's FuseOps fuses broadcast ops into a following reduction, but a layer norm is an
/// `outEWiseFusable` anchor there as here, so it keeps its producers apart; ONNX Runtime fuses
/// this pattern as `EmbedLayerNormalization` for BERT-like graphs. Layout-changing injective ops
/// (reshape, transpose) stay out: inlined into the norm's rows they would turn its contiguous
/// reads into strided ones. One layout change may join: a conv's output moved channels-last
/// (ConvNeXt's `permute(0, 2, 3, 1)` before its norm, ``isChannelsLastViewOfConv(_:_:groupOf:partition:)``).
/// The scheduler keeps a conv's output in `NCHW[v]c` blocks, so a row of channels is whole
/// vectors there and the norm reads them in place, with no transpose kernel writing a copy.
enum NormalizationPrologue {
  /// The ops a prologue may hold besides elementwise and broadcast ones: gathers of whole rows.
  static let gathers: Set<String> = ["take"]

  /// Whether `n` is a lone transpose `[0, 2, 3, 1]` of a rank-4 value a conv group computes (its
  /// anchor a conv), the group it is in holding nothing else.
  static func isChannelsLastViewOfConv(_ graph: Graph, _ n: NodeID, groupOf: [Int], partition: [[NodeID]]) -> Bool {
    let node = graph.nodes[n]
    guard node.op == "transpose", partition[groupOf[n.index]] == [n],
      node.attributes.ints("perm", default: []) == [0, 2, 3, 1], graph.shape(of: node.inputs[0]).count == 4,
      let producer = graph.producer(of: node.inputs[0])
    else { return false }
    let source = partition[groupOf[producer.index]]
    return source.first.map { graph.nodes[$0].op == "conv2d" } ?? false
  }

  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    let groupOf = PartitionMerge.setOfNode(graph, partition)
    let consumers = graph.consumers()
    let graphOutputs = Set(graph.outputs)
    var mergedInto = Array(partition.indices)
    for (g, members) in partition.enumerated() {
      let memberSet = Set(members)
      let allowed = members.allSatisfy { n in
        let node = graph.nodes[n]
        return !opaque.contains(node.op)
          && (OpRegistry.pattern(of: node) <= .broadcast || Self.gathers.contains(node.op)
            || isChannelsLastViewOfConv(graph, n, groupOf: groupOf, partition: partition))
      }
      guard allowed else { continue }
      // Exactly one value leaves the group, and only a layer norm in a group of its own reads it, once, as its data.
      let leaving = members.flatMap { graph.nodes[$0].outputs }.filter { v in
        graphOutputs.contains(v) || consumers[v.index].contains { !memberSet.contains($0) }
      }
      guard leaving.count == 1, let v = leaving.first, !graphOutputs.contains(v), consumers[v.index].count == 1,
        let norm = consumers[v.index].first
      else { continue }
      let node = graph.nodes[norm]
      let target = groupOf[norm.index]
      guard node.op == "layer_norm", !opaque.contains(node.op), partition[target] == [norm],
        node.inputs.first == v, !node.inputs.dropFirst().contains(v),
        graph.shape(of: v) == graph.shape(of: node.outputs[0]), members.count + 1 <= maxGroupSize
      else { continue }
      mergedInto[g] = target
    }
    return PartitionMerge.merged(partition, into: mergedInto)
  }
}
