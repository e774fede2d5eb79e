/// A chain of convolutions compiled as one group: an optional 1×1 conv (the expansion), a
/// depthwise conv and a 1×1 conv (the projection), each with its elementwise tail — MobileNet's
/// inverted residual block. TVM's rules never fuse two conv anchors; GraphFuse's chain phase
/// does, because the depthwise conv reads its input once per output row band, so the expanded
/// tensor can live in a per-thread ring of rows instead of memory (see `Docs/Passes/Fusion.md`).
public struct ConvChain: Sendable, Equatable {
  /// The 1×1 conv and its tail, if the chain starts with one.
  public var expand: [NodeID]?
  /// The depthwise conv and its tail.
  public var depthwise: [NodeID]
  /// The 1×1 conv and its tail (which may read tensors from outside, e.g. a residual add).
  public var project: [NodeID]
  /// Why the chain runs as its stages, one kernel each, instead of one kernel; nil when it runs as
  /// one. Decided for the plan's thread count (``OptimizeOptions/threads``): row bands that split
  /// unevenly over the threads leave one idle at the end of the kernel (7 rows on 2 threads).
  public var asStages: String?

  /// The stages in execution order.
  public var stages: [[NodeID]] { (expand.map { [$0] } ?? []) + [depthwise, project] }

  /// The chain formed by a group's nodes, or nil when the group is not a chain or a stage's tail
  /// does not fit the chain kernel (``fits(_:outputs:)``).
  public static func match(_ graph: Graph, nodes: [NodeID], outputs: [ValueID]) -> ConvChain? {
    guard let chain = link(graph, nodes: nodes), chain.fits(graph, outputs: outputs) else { return nil }
    return chain
  }

  /// Whether one kernel can run the chain: each stage's tail is an elementwise expression
  /// (``ElementwiseTail``), only the last reads tensors (the earlier outputs never reach memory),
  /// and the last stage's output is the group's one output.
  func fits(_ graph: Graph, outputs: [ValueID]) -> Bool {
    let stages = FusionPlan.makeGroups(graph, partition: stages)
    let tails = stages.compactMap { stage in
      stage.anchor == stage.nodes.first ? ElementwiseTail.make(graph, group: stage, anchor: stage.anchor) : nil
    }
    return tails.count == stages.count && tails.dropLast().allSatisfy { !$0.readsTensors }
      && outputs == [tails.last!.output]
  }

  /// Why a chain whose depthwise conv writes `rows` rows per image for `images` images runs as
  /// its stages on `threads` threads; nil when its row bands keep every thread busy.
  static func stagesReason(rows: Int, images: Int, threads: Int) -> String? {
    let bands = bands(rows: rows, threads: threads)
    guard !isBalanced(rows: rows, bands: bands, images: images, threads: threads) else { return nil }
    return "\(images) × \(bands) bands of \(rows) rows leave one of \(threads) threads idle at the end"
  }

  /// Row bands per image: a multiple of the thread count (so every thread gets equal work), two
  /// per thread while bands keep ≥ 4 rows (a band recomputes its `kh − sh` halo rows, so thinner
  /// bands cost more expansion work).
  static func bands(rows: Int, threads: Int) -> Int {
    let t = max(1, threads)
    return max(1, min(rows, t * max(1, min(2, rows / (4 * t)))))
  }

  /// Whether `images × bands` tasks keep every thread busy to the end: handed out in order, each
  /// to the least-loaded thread, the busiest thread's rows are at most 5 % above an even share.
  /// 7 rows on 2 threads (bands of 4 and 3) are not: one thread idles for a seventh of the kernel.
  static func isBalanced(rows: Int, bands: Int, images: Int, threads: Int) -> Bool {
    let t = max(1, threads), b = max(1, bands)
    var load = [Int](repeating: 0, count: t)
    for _ in 0..<images {
      for k in 0..<b {
        // Band k's rows, as the nest splits them: [k·rows/b, (k+1)·rows/b).
        let height = (k + 1) * rows / b - k * rows / b
        load[load.indices.min { load[$0] < load[$1] } ?? 0] += height
      }
    }
    return 100 * (load.max() ?? 0) * t <= 105 * images * rows
  }

  /// The chain the convs of `nodes` form (each stage's tail elementwise, each stage's last value
  /// read only by the next conv), or nil.
  static func link(_ graph: Graph, nodes: [NodeID]) -> ConvChain? {
    let convs = nodes.filter { graph.nodes[$0].op == "conv2d" }
    guard convs.count >= 2, convs.count <= 3, let first = nodes.first, first == convs[0] else { return nil }
    var stages: [[NodeID]] = []
    for n in nodes {
      if graph.nodes[n].op == "conv2d" { stages.append([n]) } else { stages[stages.count - 1].append(n) }
    }
    // Each stage is its conv and an elementwise tail whose last value is read by the next conv
    // (as its data input) and by nothing else, so the stages really form one chain.
    let consumers = graph.consumers()
    for (k, stage) in stages.enumerated() {
      guard stage.dropFirst().allSatisfy({ OpRegistry.pattern(of: graph.nodes[$0]) <= .broadcast }) else { return nil }
      guard k + 1 < stages.count else { break }
      let value = graph.nodes[stage.last!].outputs[0]
      let next = stages[k + 1][0]
      guard graph.nodes[next].inputs.first == value, consumers[value.index] == [next], !graph.outputs.contains(value)
      else {
        return nil
      }
    }
    let kinds = stages.map { kind(graph, $0[0]) }
    if stages.count == 3, kinds == [.pointwise, .depthwise, .pointwise] {
      return ConvChain(expand: stages[0], depthwise: stages[1], project: stages[2])
    }
    if stages.count == 2, kinds == [.depthwise, .pointwise] {
      return ConvChain(expand: nil, depthwise: stages[0], project: stages[1])
    }
    return nil
  }

  /// Merges, in a partition of `graph` (node sets in topological order), every depthwise conv
  /// group into the 1×1 conv group that is its only consumer, together with the 1×1 conv group
  /// that is its input's only producer when there is one. A stage joins only when its output is
  /// read by the next stage's conv alone, the tails of the first stages read nothing but
  /// constants, and no member is an op the user marked opaque. O(n) in the number of nodes.
  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    let groupOf = PartitionMerge.setOfNode(graph, partition)
    let consumers = graph.consumers()
    let graphOutputs = Set(graph.outputs)
    /// The group's single output when only node `reader` (as input 0) reads it.
    func soleOutput(_ g: Int, readBy reader: NodeID) -> Bool {
      let members = Set(partition[g])
      var outputs: [ValueID] = []
      for n in partition[g] {
        for v in graph.nodes[n].outputs
        where graphOutputs.contains(v) || consumers[v.index].contains(where: { !members.contains($0) }) {
          outputs.append(v)
        }
      }
      guard outputs.count == 1, let v = outputs.first, !graphOutputs.contains(v) else { return false }
      return consumers[v.index] == [reader] && graph.nodes[reader].inputs.firstIndex(of: v) == 0
        && graph.nodes[reader].inputs.dropFirst().allSatisfy { $0 != v }
    }
    /// A conv group whose tail is elementwise over constants only (nothing to read from memory).
    func selfContained(_ g: Int) -> Bool {
      let members = Set(partition[g])
      return partition[g].dropFirst().allSatisfy { n in
        OpRegistry.pattern(of: graph.nodes[n]) <= .broadcast
          && graph.nodes[n].inputs.allSatisfy { v in
            graph.producer(of: v).map(members.contains) ?? (graph.constant(v) != nil)
          }
      }
    }
    func convGroup(_ g: Int, _ k: Kind) -> Bool {
      guard let first = partition[g].first, kind(graph, first) == k,
        !partition[g].contains(where: { opaque.contains(graph.nodes[$0].op) })
      else { return false }
      return partition[g].dropFirst().allSatisfy { OpRegistry.pattern(of: graph.nodes[$0]) <= .broadcast }
    }
    var mergedInto = Array(partition.indices)
    var taken = Set<Int>()
    for d in partition.indices where convGroup(d, .depthwise) && selfContained(d) {
      let dwConv = partition[d][0]
      let outputValue = graph.nodes[partition[d].last!].outputs[0]
      guard consumers[outputValue.index].count == 1 else { continue }
      let p = groupOf[consumers[outputValue.index][0].index]
      guard p != d, !taken.contains(p), convGroup(p, .pointwise), soleOutput(d, readBy: partition[p][0]) else {
        continue
      }
      var chain = [d, p]
      if let producer = graph.producer(of: graph.nodes[dwConv].inputs[0]) {
        let e = groupOf[producer.index]
        if !taken.contains(e), convGroup(e, .pointwise), selfContained(e), soleOutput(e, readBy: dwConv) {
          chain.insert(e, at: 0)
        }
      }
      guard chain.reduce(0, { $0 + partition[$1].count }) <= maxGroupSize else { continue }
      // A chain whose tails do not fit one kernel stays apart.
      let members = chain.flatMap { partition[$0] }.sorted()
      let outputs = PartitionMerge.outputs(graph, of: members, consumers: consumers, graphOutputs: graphOutputs)
      guard match(graph, nodes: members, outputs: outputs) != nil else { continue }
      for g in chain { mergedInto[g] = p; taken.insert(g) }
    }
    return PartitionMerge.merged(partition, into: mergedInto)
  }

  enum Kind: Equatable { case pointwise, depthwise, other }

  /// A 1×1 stride-1 unpadded conv, or a depthwise conv with dilation 1, over constant weights.
  static func kind(_ graph: Graph, _ n: NodeID) -> Kind {
    let node = graph.nodes[n]
    guard node.op == "conv2d", let w = graph.constant(node.inputs[1]), w.shape.count == 4,
      node.inputs.count < 3 || graph.constant(node.inputs[2]) != nil
    else { return .other }
    let x = graph.shape(of: node.inputs[0]), y = graph.shape(of: node.outputs[0])
    guard x.count == 4, y.count == 4 else { return .other }
    let a = node.attributes
    let groups = a.int("group", default: 1)
    let unitDilation = a.ints("dilations", default: [1, 1]) == [1, 1]
    if groups == 1, w.shape[2] == 1, w.shape[3] == 1, unitDilation, a.ints("strides", default: [1, 1]) == [1, 1],
      a.ints("pads", default: [0, 0, 0, 0]).allSatisfy({ $0 == 0 })
    {
      return .pointwise
    }
    if groups > 1, groups == x[1], groups == y[1], w.shape[1] == 1, unitDilation, w.shape[2] <= 7, w.shape[3] <= 7 {
      return .depthwise
    }
    return .other
  }
}

extension FusedGroup {
  /// The single-anchor groups this group runs as when it cannot run as one loop nest: the stages
  /// of a conv chain; for any other group with several anchors (reductions, convs, opaque ops —
  /// possible in a plan built by hand), one stage per anchor in node order; else the group itself.
  public func stages(in graph: Graph) -> [FusedGroup] {
    if let chain { return FusionPlan.makeGroups(graph, partition: chain.stages) }
    if let attention { return FusionPlan.makeGroups(graph, partition: attention.stages) }
    if let channelsFirstStore { return FusionPlan.makeGroups(graph, partition: channelsFirstStore.stages) }
    if let normalizedInput { return FusionPlan.makeGroups(graph, partition: normalizedInput.stages) }
    let isAnchor = { (n: NodeID) in
      [.commReduce, .outEWiseFusable, .opaque].contains(OpRegistry.pattern(of: graph.nodes[n]))
    }
    guard nodes.filter(isAnchor).count > 1 else { return [self] }
    var parts: [[NodeID]] = []
    var seenAnchor = false
    for n in nodes {
      if isAnchor(n) && seenAnchor { parts.append([]) }
      if parts.isEmpty { parts.append([]) }
      seenAnchor = seenAnchor || isAnchor(n)
      parts[parts.count - 1].append(n)
    }
    return FusionPlan.makeGroups(graph, partition: parts)
  }
}
