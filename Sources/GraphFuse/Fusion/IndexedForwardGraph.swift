/// The op nodes of a graph with their consumer edges and patterns, for fusion (TVM's
/// `IndexedForwardGraph`). Inputs and constants are not nodes: they never fuse.
struct IndexedForwardGraph {
  /// One consumer edge: the consuming node and the edge's pattern.
  struct Edge {
    var node: Int
    var pattern: OpPattern
  }

  /// The pattern of each node (opaque for ops the user marked opaque).
  var patterns: [OpPattern]
  /// The consumer edges of each node.
  var outputs: [[Edge]]
  /// Whether a node's value escapes the graph (a graph output): it cannot fuse into a consumer.
  var externRef: [Bool]

  var count: Int { patterns.count }

  init(_ graph: Graph, opaque: Set<String>) {
    patterns = graph.nodes.map { opaque.contains($0.op) ? .opaque : OpRegistry.pattern(of: $0) }
    outputs = [[Edge]](repeating: [], count: graph.nodes.count)
    externRef = graph.nodes.map { $0.outputs.contains(where: graph.isOutput) }
    // Reads of the group's inputs per element, through the upsampling gathers inlined so far.
    var taps = [Int](repeating: 1, count: graph.nodes.count)
    for (index, node) in graph.nodes.enumerated() {
      let upsampling = Self.upsampling(node, graph)
      if patterns[index] <= .injective { taps[index] = upsampling }
      let outShape = graph.shape(of: node.outputs[0])
      let definition = OpRegistry.definitions[node.op]
      let operandShapes = definition?.broadcastShapes(node.attributes, node.inputs.map(graph.shape(of:))) ?? []
      for (k, input) in node.inputs.enumerated() {
        guard let producer = graph.producer(of: input) else { continue }
        var pattern = patterns[index]
        // A broadcast edge whose operand already has the output's shape is elementwise.
        if pattern == .broadcast, k < operandShapes.count, operandShapes[k] == outShape { pattern = .elemwise }
        let cut = Self.recomputes(
          node, operand: input, producerPattern: patterns[producer.index], producerTaps: taps[producer.index], graph)
        if cut { pattern = .opaque }
        outputs[producer.index].append(Edge(node: index, pattern: pattern))
        if patterns[index] <= .injective {
          taps[index] = max(taps[index], (cut ? 1 : taps[producer.index]) * (k == 0 ? upsampling : 1))
        }
      }
    }
  }
}

extension IndexedForwardGraph {
  /// Whether fusing the producer of `operand` into `node` would recompute the producer's work once
  /// per read instead of once per element:
  /// - `node` is a gather with at least 4 times as many elements out as in (an upsampling) and the
  ///   producer is elementwise or broadcast. Inlined into the gather's loop, the producer would run
  ///   once per read: a bilinear resize's width taps (two gathers, two products and a sum per
  ///   element) once for each of the 2 × 16 reads of its height taps when DeepLabV3 upsamples
  ///   14 × 14 logits to 224 × 224, in gathered loads. A ×2 upsampling stays fused: EfficientFormerV2's
  ///   7² → 14² resizes took 0.047 ms fused and 0.036 + 0.083 split. Nor may chained upsamplings
  ///   multiply to 8 reads or more (`producerTaps`, the reads per element of the upsampling gathers
  ///   already inlined into the producer): one bilinear ×2 resize is 2 × 2 reads, but GLPN's decoder
  ///   resizes ×2 and again ×2, 16 reads of a gated sum per output inlined (1.06 of its 1.7 ms);
  /// - `node` broadcasts `operand`, read at least 8 times per element, and `operand` is, through
  ///   reshapes and other layout ops of the same size, a transcendental of a small tensor (ECA's
  ///   `sigmoid` of its channel gate, `[1, 1, 1, C]`, reshaped to `[1, C, 1, 1]`): inlined, the
  ///   sigmoid ran for every pixel, scalar, and its operand was read lane by lane (ECA-NFNet-L0's six
  ///   such groups: 4.7 of its 35 ms).
  ///
  /// The edge is a group boundary instead: the producer's value is written once, and read by the
  /// consumer's group.
  static func recomputes(
    _ node: Node, operand: ValueID, producerPattern: OpPattern, producerTaps: Int = 1, _ graph: Graph
  ) -> Bool {
    let read = graph.shape(of: operand).reduce(1, *), written = graph.shape(of: node.outputs[0]).reduce(1, *)
    if node.op == "gather" {
      return producerPattern <= .broadcast && (written >= 4 * read || upsampling(node, graph) * producerTaps >= 8)
    }
    guard OpRegistry.pattern(of: node) == .broadcast, written >= 8 * read else { return false }
    var value = operand
    while let p = graph.producer(of: value),
      Injective.reshapes.contains(graph.nodes[p].op)
        || ["transpose", "identity"].contains(graph.nodes[p].op)
    {
      value = graph.nodes[p].inputs[0]
    }
    guard let p = graph.producer(of: value) else { return false }
    return Self.transcendental.contains(graph.nodes[p].op)
  }

  /// Output elements per element of a gather's data: the reads of each data element when the
  /// gather upsamples (2 for a ×2 resize along one axis); 1 for any other node.
  static func upsampling(_ node: Node, _ graph: Graph) -> Int {
    guard node.op == "gather", let data = node.inputs.first else { return 1 }
    let read = graph.shape(of: data).reduce(1, *), written = graph.shape(of: node.outputs[0]).reduce(1, *)
    return max(1, written / max(1, read))
  }

  /// Elementwise ops of many instructions per element (a polynomial each). Not `sqrt` and `div`:
  /// one instruction each, they cost less inlined than a group of their own does in launches and
  /// memory (an RMS norm's `1/sqrt` per row, ConvNeXt-V2's response-norm ratio: Qwen2 and ConvNeXt-V2
  /// ran 1.13× slower with them cut).
  static let transcendental: Set<String> = [
    "sigmoid", "tanh", "exp", "log", "erf", "gelu", "silu", "pow", "sin", "cos",
  ]
}

/// The post-dominator tree of an indexed forward graph: a node's parent is the least common
/// ancestor of its consumers, and `pathPattern` the largest edge pattern on the way there.
struct PostDominatorTree {
  var parent: [Int?]
  var depth: [Int]
  var pathPattern: [OpPattern]

  init(_ graph: IndexedForwardGraph) {
    parent = [Int?](repeating: nil, count: graph.count)
    depth = [Int](repeating: 1, count: graph.count)
    pathPattern = [OpPattern](repeating: .opaque, count: graph.count)
    // Consumers come later in topological order, so visit nodes backwards.
    for node in stride(from: graph.count - 1, through: 0, by: -1) {
      guard !graph.externRef[node], let first = graph.outputs[node].first else { continue }
      var pattern = OpPattern.elemwise
      var lca: Int? = first.node
      pattern = max(pattern, first.pattern)
      for edge in graph.outputs[node].dropFirst() {
        lca = leastCommonAncestor(lca, edge.node, &pattern)
        pattern = max(pattern, edge.pattern)
      }
      parent[node] = lca
      pathPattern[node] = pattern
      depth[node] = lca.map { depth[$0] + 1 } ?? 1
    }
  }

  private func leastCommonAncestor(_ a: Int?, _ b: Int?, _ pattern: inout OpPattern) -> Int? {
    var lhs = a, rhs = b
    while lhs != rhs {
      guard let l = lhs, let r = rhs else { return nil }
      if depth[l] < depth[r] {
        pattern = max(pattern, pathPattern[r])
        rhs = parent[r]
      } else if depth[r] < depth[l] {
        pattern = max(pattern, pathPattern[l])
        lhs = parent[l]
      } else {
        pattern = max(pattern, max(pathPattern[l], pathPattern[r]))
        lhs = parent[l]
        rhs = parent[r]
      }
    }
    return lhs
  }
}
