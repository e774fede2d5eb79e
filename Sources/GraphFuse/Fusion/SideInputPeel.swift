/// Members a conv's group computes only to feed its elementwise tail from the side, moved to groups
/// of their own when they keep the conv off its tiled kernel.
///
/// TVM's rules fuse an injective producer into its elementwise consumer, and that consumer into the
/// conv before it: an FPN's `lateral_conv(x) + upsample(top)` puts the upsampling's gathers in the
/// lateral conv's group. The tiled conv kernel applies its tail to a vector of channels per pixel
/// and reads each outside operand as a tensor (``ElementwiseTail``); gathers are no such term, so
/// the whole group, conv included, ran as a generic scalar loop (UperNet's three top-down merges:
/// 0.47 of its 1.9 ms). Here the members that are not downstream of the conv, and not upstream of
/// it either, become groups of their own, one per connected set, when that leaves a tail the tiled
/// kernel takes: they write their value once, and the conv's tail reads it as a full tensor.
enum SideInputPeel {
  /// The partition with side members peeled off the conv groups whose tail does not fit otherwise.
  static func apply(_ graph: Graph, partition: [[NodeID]]) -> [[NodeID]] {
    let groups = FusionPlan.makeGroups(graph, partition: partition)
    var result: [[NodeID]] = []
    for (members, group) in zip(partition, groups) {
      guard graph.nodes[group.anchor].op == "conv2d", members.count > 1,
        ElementwiseTail.make(graph, group: group, anchor: group.anchor) == nil,
        let split = peel(graph, members: members, anchor: group.anchor)
      else {
        result.append(members)
        continue
      }
      result.append(contentsOf: split)
    }
    return result
  }

  /// The side components, then the conv's members without them; nil when there are none, when a
  /// side member reads a value of the remaining members (the groups would read each other), or
  /// when the conv's tail still does not fit.
  static func peel(_ graph: Graph, members: [NodeID], anchor: NodeID) -> [[NodeID]]? {
    let inGroup = Set(members)
    // Downstream of the anchor: the anchor and every member reading a downstream member's value.
    var downstream: Set<NodeID> = [anchor]
    for n in members where n != anchor {
      if graph.nodes[n].inputs.contains(where: { graph.producer(of: $0).map(downstream.contains) ?? false }) {
        downstream.insert(n)
      }
    }
    // Upstream of the anchor: members the anchor reads, directly or through other members.
    var upstream = Set<NodeID>()
    var stack = graph.nodes[anchor].inputs.compactMap { graph.producer(of: $0) }.filter(inGroup.contains)
    while let n = stack.popLast() {
      guard upstream.insert(n).inserted else { continue }
      stack += graph.nodes[n].inputs.compactMap { graph.producer(of: $0) }.filter(inGroup.contains)
    }
    let side = members.filter { !downstream.contains($0) && !upstream.contains($0) }
    guard !side.isEmpty else { return nil }
    let sideSet = Set(side)
    let rest = members.filter { !sideSet.contains($0) }
    let restSet = Set(rest)
    let readsRest = side.contains { n in
      graph.nodes[n].inputs.contains { graph.producer(of: $0).map(restSet.contains) ?? false }
    }
    if readsRest { return nil }
    // Connected sets of side members, in topological order (members are).
    var component: [NodeID: Int] = [:], components: [[NodeID]] = []
    for n in side {
      let linked = Set(graph.nodes[n].inputs.compactMap { graph.producer(of: $0) }.compactMap { component[$0] })
      let target = linked.min() ?? components.count
      if target == components.count { components.append([]) }
      for other in linked.sorted(by: >) where other != target {
        for m in components[other] { component[m] = target }
        components[target] += components[other]
        components[other] = []
      }
      component[n] = target
      components[target].append(n)
    }
    let pieces = components.filter { !$0.isEmpty }.map { $0.sorted { $0.index < $1.index } }
    let regrouped = FusionPlan.makeGroups(graph, partition: pieces + [rest])
    guard let conv = regrouped.last, ElementwiseTail.make(graph, group: conv, anchor: anchor) != nil else { return nil }
    return pieces + [rest]
  }
}
