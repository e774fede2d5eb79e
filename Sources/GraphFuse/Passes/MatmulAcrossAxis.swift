/// A linear layer applied along an axis that is not the last, written as exporters write it,
/// `transpose(x, axis a to the end) → matmul(·, W) [→ add b] → transpose(back)`, becomes
/// `reshape(x, [pre, H, post]) → matmul(Wᵀ, ·) [→ add b per row] → reshape(back)`: the same
/// sums, `y[…, h′, …] = Σₕ W[h, h′] · x[…, h, …] + b[h′]`, with the weights as the left operand
/// and `x` read in place. CaiT's talking heads mix the heads of its `[1, heads, N, N]` scores
/// this way (K = N = 4 heads: the transposed matmul ran at 5 % of the peak and the transposes as
/// copies), and MLP-Mixer-style token mixing is the same form. Both transposes and their copies
/// disappear; the product runs on the matmul kernel with `post` (N·N pixels) as its columns.
///
/// Applies when the first transpose moves one axis `a` (not the last) to the end and keeps the
/// others in order, the second is its inverse, `W` is a 2-d constant `[H, H′]`, the bias (if
/// any) a constant of `H′` values, and each intermediate has that one reader and is no graph
/// output. Part of folding: the `unfused` configuration keeps the transposes.
let matmulAcrossAxisPass = Pass("matmulAcrossAxis") { (ctx: inout PassContext) in
  guard ctx.options.fold else { return }
  var graph = ctx.graph
  let consumers = graph.consumers()
  func onlyReader(_ v: ValueID) -> NodeID? {
    guard !graph.isOutput(v), consumers[v.index].count == 1 else { return nil }
    return consumers[v.index][0]
  }
  for t1 in graph.nodes.ids where graph.nodes[t1].op == "transpose" {
    let first = graph.nodes[t1]
    let x = first.inputs[0]
    let shape = graph.shape(of: x), rank = shape.count
    guard rank >= 3, let a = MatmulAcrossAxis.movedAxis(first.attributes.ints("perm", default: []), rank: rank),
      let m = onlyReader(first.outputs[0]), graph.nodes[m].op == "matmul", graph.nodes[m].inputs[0] == first.outputs[0],
      let w = graph.constant(graph.nodes[m].inputs[1]), w.rank == 2, w.shape[0] == shape[a]
    else { continue }
    let (h, h2) = (w.shape[0], w.shape[1])
    var last = graph.nodes[m].outputs[0]
    var add: (node: NodeID, bias: Tensor)? = nil
    if let n = onlyReader(last), graph.nodes[n].op == "add" {
      let other = graph.nodes[n].inputs.first { $0 != last }
      if let other, let b = graph.constant(other), b.count == h2, b.shape.last == h2 || b.rank == 0 {
        add = (n, b)
        last = graph.nodes[n].outputs[0]
      }
    }
    guard let t2 = onlyReader(last), graph.nodes[t2].op == "transpose",
      graph.nodes[t2].attributes.ints("perm", default: []) == MatmulAcrossAxis.inverse(of: a, rank: rank)
    else { continue }
    let pre = shape[..<a].reduce(1, *), post = shape[(a + 1)...].reduce(1, *)
    var transposed = [Float](repeating: 0, count: h * h2)
    for i in 0..<h {
      for j in 0..<h2 { transposed[j * h + i] = w.data[i * h2 + j] }
    }
    let weight = graph.addConstant(Tensor(shape: [h2, h], data: transposed), name: graph.nodes[m].name + "/transposed")
    let viewed = first.outputs[0], product = graph.nodes[m].outputs[0]
    graph.nodes[t1] = Node(
      name: first.name, op: "reshape", attributes: ["shape": .ints([pre, h, post])], inputs: [x], outputs: [viewed])
    graph.values[viewed].shape = [pre, h, post]
    graph.nodes[m] = Node(name: graph.nodes[m].name, op: "matmul", inputs: [weight, viewed], outputs: [product])
    graph.values[product].shape = [pre, h2, post]
    var result = product
    if let add {
      let bias = graph.addConstant(
        Tensor(shape: [h2, 1], data: add.bias.data), name: graph.nodes[add.node].name + "/rows")
      result = graph.nodes[add.node].outputs[0]
      graph.nodes[add.node] = Node(
        name: graph.nodes[add.node].name, op: "add", inputs: [product, bias], outputs: [result])
      graph.values[result].shape = [pre, h2, post]
    }
    let out = graph.nodes[t2].outputs[0]
    graph.nodes[t2] = Node(
      name: graph.nodes[t2].name, op: "reshape", attributes: ["shape": .ints(graph.shape(of: out))], inputs: [result],
      outputs: [out])
  }
  // The old weights and biases are dropped by dead-code elimination.
  ctx.graph = graph
}

/// The permutations ``matmulAcrossAxisPass`` matches.
enum MatmulAcrossAxis {
  /// The axis `perm` moves to the end, keeping the others in order; nil for any other permutation
  /// or when it moves none.
  static func movedAxis(_ perm: [Int], rank: Int) -> Int? {
    guard perm.count == rank, perm.last != rank - 1, let a = perm.last, a >= 0, a < rank else { return nil }
    return perm == Array(0..<a) + Array((a + 1)..<rank) + [a] ? a : nil
  }

  /// The permutation that moves the last axis back to position `a`.
  static func inverse(of a: Int, rank: Int) -> [Int] {
    Array(0..<a) + [rank - 1] + Array(a..<(rank - 1))
  }
}
