/// The bookkeeping GraphFuse's merge phases share (conv chains, layer-norm prologues, attention):
/// which set of a partition holds each node, and the partition after some sets were merged into
/// others.
enum PartitionMerge {
  /// For each node index of `graph`, the index of its set in `partition`.
  static func setOfNode(_ graph: Graph, _ partition: [[NodeID]]) -> [Int] {
    var setOf = [Int](repeating: -1, count: graph.nodes.count)
    for (g, members) in partition.enumerated() { for n in members { setOf[n.index] = g } }
    return setOf
  }

  /// The values nodes `members` produce that a node outside them reads, or that are graph outputs.
  static func outputs(_ graph: Graph, of members: [NodeID], consumers: [[NodeID]], graphOutputs: Set<ValueID>)
    -> [ValueID]
  {
    let inside = Set(members)
    return members.flatMap { graph.nodes[$0].outputs }.filter { v in
      graphOutputs.contains(v) || consumers[v.index].contains { !inside.contains($0) }
    }
  }

  /// The partition after merging, set by set, each set `s` with the set `partner` names for it (nil:
  /// none), when neither was merged yet, the union stays within `maxGroupSize`, no member is an op
  /// the user marked opaque and `accepts(nodes, outputs)` holds for the union (its nodes in order, the
  /// values it writes that others read). `partner` sees the set's members, which set holds each node
  /// and each value's readers.
  static func mergingPairs(
    _ graph: Graph, _ partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String>,
    partner: (_ members: [NodeID], _ setOf: [Int], _ consumers: [[NodeID]]) -> Int?,
    accepts: (_ nodes: [NodeID], _ outputs: [ValueID]) -> Bool
  ) -> [[NodeID]] {
    let setOf = setOfNode(graph, partition)
    let consumers = graph.consumers()
    let graphOutputs = Set(graph.outputs)
    var mergedInto = Array(partition.indices)
    for (s, members) in partition.enumerated() {
      guard mergedInto[s] == s, let p = partner(members, setOf, consumers), p != s, mergedInto[p] == p else { continue }
      let nodes = (partition[p] + members).sorted()
      guard nodes.count <= maxGroupSize, !nodes.contains(where: { opaque.contains(graph.nodes[$0].op) }),
        accepts(nodes, outputs(graph, of: nodes, consumers: consumers, graphOutputs: graphOutputs))
      else { continue }
      mergedInto[p] = s
    }
    return merged(partition, into: mergedInto)
  }

  /// The partition with set `g` merged into set `target[g]` (its own index: kept): each result in
  /// topological order, the results ordered by their last node.
  static func merged(_ partition: [[NodeID]], into target: [Int]) -> [[NodeID]] {
    var merged: [Int: [NodeID]] = [:]
    for (g, members) in partition.enumerated() { merged[target[g], default: []] += members }
    return merged.values.map { $0.sorted() }.sorted { $0.last! < $1.last! }
  }
}
