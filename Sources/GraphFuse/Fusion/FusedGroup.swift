/// One fused group: the nodes compiled as one loop nest around a single anchor.
public struct FusedGroup: Sendable, Equatable {
  /// A name from the member ops in order, deduplicated: `fused_conv2d_add_relu`, `fused_conv2d_add_relu_1`.
  public var name: String
  /// The node index of the anchor: the op whose schedule the group uses (the conv, the gemm,
  /// or for an elementwise-only group its last node).
  public var anchor: NodeID
  /// The group's pattern: the maximum of its members' patterns.
  public var pattern: OpPattern
  /// Member node indices in topological order.
  public var nodes: [NodeID]
  /// Values the group reads from outside itself (graph inputs, constants, other groups' outputs), in first-use order.
  public var inputs: [ValueID]
  /// Values the group writes that are read outside it or are graph outputs.
  public var outputs: [ValueID]
  /// The conv chain the group is (an inverted residual block: [1×1 →] depthwise → 1×1), decided
  /// when the group is made; nil for every other group. The scheduler runs it as one kernel, or as
  /// its stages when ``ConvChain/asStages`` says why; nothing re-derives it.
  public var chain: ConvChain?
  /// How the group runs as no kernel of its own, applied by the convs that read it (a channel
  /// multiply folded into their weights, an elementwise stage into their input tiles), decided
  /// when the plan is made (``InputFold``); nil for every group that runs as kernels.
  public var fold: InputFold?
  /// The attention the group is (`Q·Kᵀ` → softmax → `·V`, each with its tail), decided when the
  /// group is made only when one kernel runs it; nil for every other group.
  public var attention: AttentionChain?
  /// The matmul whose result goes back to channels first through the group's transpose, stored
  /// into blocks by the kernel (``ChannelsFirstStore``); nil for every other group.
  public var channelsFirstStore: ChannelsFirstStore?
  /// The layer norm whose result the group's matmul alone reads, applied by the matmul to its rows
  /// as it reads them (``NormalizedInput``); the matmul is then the anchor. Nil for every other group.
  public var normalizedInput: NormalizedInput?

  /// Creates a group.
  public init(name: String, anchor: NodeID, pattern: OpPattern, nodes: [NodeID], inputs: [ValueID], outputs: [ValueID])
  {
    self.name = name
    self.anchor = anchor
    self.pattern = pattern
    self.nodes = nodes
    self.inputs = inputs
    self.outputs = outputs
  }

  /// Creates a group and records the conv chain its nodes form in `graph`, if any.
  public init(
    _ graph: Graph, name: String, anchor: NodeID, pattern: OpPattern, nodes: [NodeID], inputs: [ValueID],
    outputs: [ValueID]
  ) {
    self.init(name: name, anchor: anchor, pattern: pattern, nodes: nodes, inputs: inputs, outputs: outputs)
    chain = ConvChain.match(graph, nodes: nodes, outputs: outputs)
    if chain == nil { attention = AttentionChain.match(graph, nodes: nodes, outputs: outputs) }
    if chain == nil, attention == nil {
      channelsFirstStore = ChannelsFirstStore.match(graph, nodes: nodes, outputs: outputs)
    }
    if chain == nil, attention == nil, channelsFirstStore == nil,
      let normalized = NormalizedInput.match(graph, nodes: nodes, outputs: outputs)
    {
      normalizedInput = normalized
      self.anchor = normalized.matmul
    }
  }
}

/// A partition of a graph's nodes into fused groups, in topological order of groups.
public struct FusionPlan: Sendable, Equatable {
  /// The groups; every node belongs to exactly one.
  public var groups: [FusedGroup]

  /// Creates a plan from groups as they are (folds and chains as the groups record them).
  public init(groups: [FusedGroup]) { self.groups = groups }

  /// The plan of a partition of `graph` (node sets in topological order, ordered by their last
  /// node), with the folds into reading convs it allows (``InputFold``).
  public init(_ graph: Graph, partition: [[NodeID]]) {
    var groups = Self.makeGroups(graph, partition: partition)
    InputFold.annotate(graph, groups: &groups)
    self.init(groups: groups)
  }

  /// For each node index, the id of its group.
  public var groupOfNode: [GroupID] {
    let count = groups.reduce(0) { $0 + $1.nodes.count }
    var result = [GroupID](repeating: -1, count: count)
    for g in groups.ids { for n in groups[g].nodes { result[n.index] = g } }
    return result
  }

  /// The plan with no fusion: every node its own group.
  public static func unfused(_ graph: Graph) -> FusionPlan {
    FusionPlan(graph, partition: graph.nodes.ids.map { [$0] })
  }

  /// Builds named groups with inputs and outputs from node sets (each in topological order,
  /// sets ordered by their last node).
  public static func makeGroups(_ graph: Graph, partition: [[NodeID]]) -> [FusedGroup] {
    var groupOf = [Int](repeating: -1, count: graph.nodes.count)
    for (g, members) in partition.enumerated() { for n in members { groupOf[n.index] = g } }
    let consumers = graph.consumers()
    let graphOutputs = Set(graph.outputs)
    var nameCounts: [String: Int] = [:]
    return partition.enumerated().map { g, members in
      var inputs: [ValueID] = [], seen = Set<ValueID>()
      var outputs: [ValueID] = []
      for n in members {
        for v in graph.nodes[n].inputs where !seen.contains(v) {
          if let p = graph.producer(of: v), groupOf[p.index] == g { continue }
          seen.insert(v)
          inputs.append(v)
        }
        for v in graph.nodes[n].outputs
        where graphOutputs.contains(v) || consumers[v.index].contains(where: { groupOf[$0.index] != g }) {
          outputs.append(v)
        }
      }
      let patterns = members.map { OpRegistry.pattern(of: graph.nodes[$0]) }
      let pattern = patterns.max() ?? .opaque
      // The anchor is the first member of the group's pattern (the conv), else the last node.
      let anchor = pattern <= .broadcast ? members.last! : members[patterns.firstIndex(of: pattern)!]
      let base = "fused_" + members.map { graph.nodes[$0].op }.joined(separator: "_")
      let k = nameCounts[base, default: 0]
      nameCounts[base] = k + 1
      return FusedGroup(
        graph, name: k == 0 ? base : "\(base)_\(k)", anchor: anchor, pattern: pattern, nodes: members, inputs: inputs,
        outputs: outputs)
    }
  }
}
