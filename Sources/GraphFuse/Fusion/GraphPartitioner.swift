/// TVM's FuseOps partition: union-find groups grown along post-dominator paths in three phases.
///
/// - phase 0: an outEWiseFusable node fuses into its post-dominator when the path is elementwise
///   and every node on it is ≤ broadcast; a ≤ broadcast node fuses into a post-dominator reached by
///   an ≤ injective or commReduce path.
/// - phase 1: injective nodes fuse along all-injective paths.
/// - phase 2: injective nodes into tuple groups already fused (no tuple ops exist in this IR yet).
///
/// Two outEWiseFusable groups never merge (the path check sees the sink group's pattern) and a
/// commReduce node never starts a fusion. Cost: O(n · d) for n nodes and dominator depth d.
struct GraphPartitioner {
  private let graph: IndexedForwardGraph
  private let tree: PostDominatorTree
  private let maxGroupSize: Int
  /// Union-find parent of each node's group.
  private var parent: [Int]
  /// Pattern of each group root (merged groups take the anchor's pattern).
  private var groupPattern: [OpPattern]
  private var hasAnchor: [Bool]
  private var size: [Int]

  init(_ graph: IndexedForwardGraph, maxGroupSize: Int) {
    self.graph = graph
    self.tree = PostDominatorTree(graph)
    self.maxGroupSize = maxGroupSize
    parent = Array(0..<graph.count)
    groupPattern = graph.patterns
    hasAnchor = graph.patterns.map { $0 == .outEWiseFusable }
    size = [Int](repeating: 1, count: graph.count)
  }

  /// Node sets, one per group, each in topological order; groups in topological order.
  mutating func partition() -> [[Int]] {
    for phase in 0..<3 { runFuse(phase: phase) }
    var members: [Int: [Int]] = [:]
    for node in 0..<graph.count { members[find(node), default: []].append(node) }
    return topologicallyOrdered(Array(members.values))
  }

  private mutating func find(_ node: Int) -> Int {
    var root = node
    while parent[root] != root { root = parent[root] }
    var n = node
    while parent[n] != root { (n, parent[n]) = (parent[n], root) }
    return root
  }

  private mutating func runFuse(phase: Int) {
    for node in 0..<graph.count {
      let pattern = groupPattern[node]
      guard pattern != .opaque, let sink = tree.parent[node] else { continue }
      guard find(node) != find(sink) else { continue }
      guard size[find(node)] + size[find(sink)] <= maxGroupSize else { continue }
      let path = tree.pathPattern[node]
      if phase == 2 {
        // Injective nodes into a tuple already fused into injective consumers.
        guard pattern <= .injective, graph.patterns[sink] == .tuple, groupPattern[find(sink)] <= .injective else {
          continue
        }
        if checkPath(node, sink, { kind, _ in kind <= .injective }) { commitFuse(node, sink) }
        continue
      }
      if pattern == .outEWiseFusable {
        guard phase == 0, path == .elemwise else { continue }
        if checkPath(node, sink, { kind, _ in kind <= .broadcast }) { commitFuse(node, sink) }
      } else if pattern <= .broadcast {
        guard phase == 0, path <= .injective || path == .commReduce else { continue }
        let ok = checkPath(node, sink) { kind, isSink in
          isSink ? (kind <= .injective || kind == .commReduce || kind == .outEWiseFusable) : kind <= .injective
        }
        if ok { commitFuse(node, sink) }
      } else if pattern == .injective || pattern == .tuple {
        // An opaque edge on the way (``IndexedForwardGraph/recomputes(_:operand:producerPattern:_:)``)
        // is a boundary for injective nodes too.
        guard phase == 1, path != .opaque else { continue }
        if checkPath(node, sink, { kind, _ in kind <= .injective }) { commitFuse(node, sink) }
      }
      // commReduce and outEWiseFusable in later phases: nothing.
    }
  }

  /// Whether every node on every path from `source` (exclusive) to `sink` (inclusive) passes `condition`
  /// on its group's pattern.
  private mutating func checkPath(_ source: Int, _ sink: Int, _ condition: (OpPattern, Bool) -> Bool) -> Bool {
    var visited = Set<Int>()
    var stack = graph.outputs[source].map(\.node)
    while let node = stack.popLast() {
      guard visited.insert(node).inserted else { continue }
      guard condition(groupPattern[find(node)], node == sink) else { return false }
      if node != sink { stack += graph.outputs[node].map(\.node) }
    }
    return true
  }

  /// Merges every node on the paths from `source` to `sink` into the sink's group.
  private mutating func commitFuse(_ source: Int, _ sink: Int) {
    var visited = Set<Int>()
    var stack = [source]
    while let node = stack.popLast() {
      guard node != sink, visited.insert(node).inserted else { continue }
      merge(node, into: sink)
      stack += graph.outputs[node].map(\.node)
    }
  }

  private mutating func merge(_ child: Int, into target: Int) {
    let c = find(child), p = find(target)
    guard c != p else { return }
    size[p] += size[c]
    parent[c] = p
    if hasAnchor[c] {
      precondition(!hasAnchor[p], "two outEWiseFusable anchors in one group")
      hasAnchor[p] = true
      groupPattern[p] = max(groupPattern[p], groupPattern[c])
    }
  }

  /// Groups sorted so every group comes after the groups it reads from.
  private func topologicallyOrdered(_ groups: [[Int]]) -> [[Int]] {
    var groupOf = [Int](repeating: 0, count: graph.count)
    for (g, members) in groups.enumerated() { for n in members { groupOf[n] = g } }
    var indegree = [Int](repeating: 0, count: groups.count)
    var successors = [Set<Int>](repeating: [], count: groups.count)
    for node in 0..<graph.count {
      for edge in graph.outputs[node] where groupOf[edge.node] != groupOf[node] {
        if successors[groupOf[node]].insert(groupOf[edge.node]).inserted { indegree[groupOf[edge.node]] += 1 }
      }
    }
    var ready = groups.indices.filter { indegree[$0] == 0 }
    var order: [[Int]] = []
    while !ready.isEmpty {
      // Take the ready group whose first node comes earliest, so the order follows the graph.
      let pick = ready.indices.min { groups[ready[$0]].min()! < groups[ready[$1]].min()! }!
      let g = ready.remove(at: pick)
      order.append(groups[g].sorted())
      for s in successors[g] {
        indegree[s] -= 1
        if indegree[s] == 0 { ready.append(s) }
      }
    }
    precondition(order.count == groups.count, "fused groups form a cycle")
    return order
  }
}
