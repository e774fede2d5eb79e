/// Scaled dot-product attention compiled as one group: the scores `Q·Kᵀ` with their elementwise
/// tail (scale, mask, relative bias), a softmax over the keys with its tail (Hugging Face's NaN
/// guard), and the product with `V` with its tail. TVM's rules stop at the softmax (a reduction
/// anchor); GraphFuse's attention phase joins the three groups so the scheduler can run them as
/// one kernel that keeps each row tile's scores in a per-thread buffer instead of writing the whole
/// score tensor (``AttentionKernel``).
public struct AttentionChain: Sendable, Equatable {
  /// The scores product (a `matmul`, or an `einsum` over batched matrices) and its tail.
  public var scores: [NodeID]
  /// The softmax over the last axis and its tail.
  public var softmax: [NodeID]
  /// The product of the probabilities with the values and its tail.
  public var output: [NodeID]

  /// The stages in execution order.
  public var stages: [[NodeID]] { [scores, softmax, output] }

  /// The ops that can be the two products.
  static let products: Set<String> = ["matmul", "einsum"]

  /// One product of an attention chain: `A[…, rows, depth] · B`, B either `[…, depth, columns]`
  /// or, for an einsum that reads it transposed (`…id,…jd->…ij`), `[…, columns, depth]`.
  struct Product {
    var a: [Int], b: [Int]
    var transposedB: Bool
    var rows: Int { a[a.count - 2] }
    var depth: Int { a[a.count - 1] }
    var columns: Int { transposedB ? b[b.count - 2] : b[b.count - 1] }
  }

  /// The product a `matmul` or two-operand `einsum` node computes, or nil for any other form.
  static func product(_ graph: Graph, _ node: Node) -> Product? {
    guard node.inputs.count == 2 else { return nil }
    let a = graph.shape(of: node.inputs[0]), b = graph.shape(of: node.inputs[1])
    guard a.count >= 2, b.count >= 2 else { return nil }
    var transposed = false
    if node.op == "einsum" {
      guard let e = try? EinsumEquation(node.attributes.string("equation", default: "")),
        let form = e.batchedMatrixProduct
      else { return nil }
      transposed = form
    } else if node.op != "matmul" {
      return nil
    }
    let product = Product(a: a, b: b, transposedB: transposed)
    let bDepth = transposed ? b[b.count - 1] : b[b.count - 2]
    return bDepth == product.depth ? product : nil
  }

  /// Whether one attention kernel runs the chain: both products of the forms it reads (the
  /// second not transposed), shapes that agree (`[B…, m, n]` scores, `[B…, m, dv]` output), each
  /// stage's tail an elementwise expression with per-column operands along the last axis
  /// (``ElementwiseTail``), and the last stage's output the group's one output.
  func fits(_ graph: Graph, outputs: [ValueID]) -> Bool {
    let first = graph.nodes[scores[0]], second = graph.nodes[output[0]]
    guard let s = Self.product(graph, first), let o = Self.product(graph, second), !o.transposedB else { return false }
    let scoreShape = graph.shape(of: first.outputs[0]), outShape = graph.shape(of: second.outputs[0])
    let batch = Array(scoreShape.dropLast(2))
    guard scoreShape == batch + [s.rows, s.columns], o.a == scoreShape, outShape == batch + [s.rows, o.columns],
      o.depth == s.columns
    else { return false }
    let groups = FusionPlan.makeGroups(graph, partition: stages)
    let anchors = [scores[0], softmax[0], output[0]]
    let axes = [scoreShape.count - 1, scoreShape.count - 1, outShape.count - 1]
    let tails = groups.indices.compactMap { k in
      ElementwiseTail.make(graph, group: groups[k], anchor: anchors[k], channelAxis: axes[k])
    }
    return tails.count == 3 && outputs == [tails[2].output]
  }

  /// The attention chain formed by a group's nodes (topological order) with outputs `outputs`, or
  /// nil when they form none or one kernel cannot run it (``fits(_:outputs:)``).
  public static func match(_ graph: Graph, nodes: [NodeID], outputs: [ValueID]) -> AttentionChain? {
    guard let chain = link(graph, nodes: nodes), chain.fits(graph, outputs: outputs) else { return nil }
    return chain
  }

  /// The attention chain the anchors of `nodes` form (each stage's last value read by the next
  /// anchor alone), or nil.
  static func link(_ graph: Graph, nodes: [NodeID]) -> AttentionChain? {
    let anchors = nodes.filter { products.contains(graph.nodes[$0].op) || graph.nodes[$0].op == "softmax" }
    guard anchors.count == 3, let first = nodes.first, first == anchors[0],
      products.contains(graph.nodes[anchors[0]].op), graph.nodes[anchors[1]].op == "softmax",
      products.contains(graph.nodes[anchors[2]].op)
    else { return nil }
    var stages: [[NodeID]] = []
    for n in nodes {
      if anchors.contains(n) { stages.append([n]) } else { stages[stages.count - 1].append(n) }
    }
    let consumers = graph.consumers()
    for (k, stage) in stages.enumerated() {
      guard stage.dropFirst().allSatisfy({ OpRegistry.pattern(of: graph.nodes[$0]) <= .broadcast }) else { return nil }
      guard k + 1 < stages.count else { break }
      // Each stage's last value is read by the next anchor alone, as its first operand.
      let value = graph.nodes[stage.last!].outputs[0]
      let next = graph.nodes[stages[k + 1][0]]
      guard next.inputs.first == value, !next.inputs.dropFirst().contains(value),
        consumers[value.index] == [stages[k + 1][0]], !graph.outputs.contains(value)
      else { return nil }
    }
    let softmax = graph.nodes[stages[1][0]]
    let rank = graph.shape(of: softmax.inputs[0]).count
    guard rank >= 2, Injective.axis(softmax.attributes.int("axis", default: -1), rank: rank) == rank - 1 else {
      return nil
    }
    return AttentionChain(scores: stages[0], softmax: stages[1], output: stages[2])
  }

  /// Merges, in a partition of `graph` (node sets in topological order), every group that is a
  /// softmax with an elementwise tail with the product group whose only result it reads and the
  /// product group that alone reads its result, when the three form an ``AttentionChain``, no
  /// member is an op the user marked opaque and the result stays within `maxGroupSize`.
  static func merge(_ graph: Graph, partition: [[NodeID]], maxGroupSize: Int, opaque: Set<String> = []) -> [[NodeID]] {
    let groupOf = PartitionMerge.setOfNode(graph, partition)
    let consumers = graph.consumers()
    let graphOutputs = Set(graph.outputs)
    var mergedInto = Array(partition.indices)
    for (s, members) in partition.enumerated() {
      guard let softmax = members.first, graph.nodes[softmax].op == "softmax",
        let producer = graph.producer(of: graph.nodes[softmax].inputs[0])
      else { continue }
      let last = graph.nodes[members.last!].outputs[0]
      guard consumers[last.index].count == 1, let reader = consumers[last.index].first else { continue }
      let before = groupOf[producer.index], after = groupOf[reader.index]
      guard before != s, after != s, before != after, mergedInto[before] == before, mergedInto[after] == after,
        partition[before].first.map({ products.contains(graph.nodes[$0].op) }) == true,
        partition[after].first == reader
      else { continue }
      let nodes = (partition[before] + members + partition[after]).sorted()
      // Nothing outside reads a value of the first two stages (the scores and probabilities are
      // never written, and no outside group can sit between the stages: no cycle).
      let inside = Set(nodes)
      let unshared = (partition[before] + members).allSatisfy { n in
        graph.nodes[n].outputs.allSatisfy { v in
          !graphOutputs.contains(v) && consumers[v.index].allSatisfy(inside.contains)
        }
      }
      let outputs = PartitionMerge.outputs(graph, of: nodes, consumers: consumers, graphOutputs: graphOutputs)
      guard unshared, nodes.count <= maxGroupSize, !nodes.contains(where: { opaque.contains(graph.nodes[$0].op) }),
        match(graph, nodes: nodes, outputs: outputs) != nil
      else { continue }
      mergedInto[before] = after
      mergedInto[s] = after
    }
    return PartitionMerge.merged(partition, into: mergedInto)
  }
}
