/// Structural re-parameterization (RepVGG, ACNet, MobileOne, Diverse Branch Block): parallel
/// branches on one input whose outputs are summed fold into one conv with a bias.
///
/// A branch is a conv of the input (its batch norm already folded into it), the input itself
/// through a per-channel affine (`scale_shift`, an identity batch norm) or not, or an average pool
/// of the input (then the affine, if any): a per-channel kernel of `1/(kh·kw)`, exact when the pool
/// counts its padding (`count_include_pad`) or has none, and does not round its output size up. Every conv branch
/// has the same stride, groups, output channels and "same"-style centring (`(k−1)/2 − pad` equal
/// on each axis, dilation 1); a smaller kernel sits at the centre of the largest, and the identity
/// is a per-channel delta at the centre (stride 1, input and output of one shape). The merged
/// weight and bias are summed in Double. Each branch and each `add` of the sum must have no other
/// reader; at most one other summand (a residual from elsewhere) stays as one `add` after the
/// merged conv. The result equals the sum up to rounding: the same products, summed in another
/// order.
enum Reparameterization {
  /// One summand recognized as a branch of `x`.
  struct Branch {
    /// The node computing it (nil for `x` itself).
    var node: NodeID?
    /// Conv weight `[O, C/g, kh, kw]` and bias (nil: none); nil weight for an identity.
    var weight: Tensor?
    var bias: Tensor?
    /// Identity scale and shift per channel (1 and 0 for `x` itself).
    var scale: Tensor?
    var shift: Tensor?
    /// `(k − 1)/2 − pad` on each axis, for convs and pools.
    var offset: [Int] = [0, 0]
    /// An average pool's kernel `[kh, kw]` (nil for any other branch).
    var pool: [Int]? = nil
    /// An average pool's strides.
    var poolStrides: [Int] = [1, 1]
    /// Nodes of the branch besides `node` (the pool under its affine).
    var extra: [NodeID] = []
    /// Why the branch cannot fold (an average pool that is no conv), so its sum stays as it is.
    var unfoldable: String? = nil
  }

  /// Why an average pool of a sum is no per-channel conv.
  static let inexactPool =
    "an average-pool branch that leaves padding out of its mean, rounds its size up or is dilated"

  /// An average pool that is a per-channel conv: odd kernel, no dilation, symmetric pads, no
  /// ceil-mode overhang, and padding counted in the mean (or none): `(input, kernel, strides, offset)`.
  static func exactPool(_ graph: Graph, _ n: NodeID) -> (x: ValueID, kernel: [Int], strides: [Int], offset: [Int])? {
    let node = graph.nodes[n], a = node.attributes
    guard node.op == "avg_pool2d", graph.shape(of: node.inputs[0]).count == 4 else { return nil }
    let kernel = a.ints("kernel_shape", default: []), pads = a.ints("pads", default: [0, 0, 0, 0])
    guard kernel.count == 2, kernel.allSatisfy({ $0 % 2 == 1 }), pads.count == 4, pads[0] == pads[2],
      pads[1] == pads[3], a.ints("dilations", default: [1, 1]) == [1, 1], !a.bool("ceil_mode", default: false),
      a.bool("count_include_pad", default: false) || pads.allSatisfy({ $0 == 0 })
    else { return nil }
    let offset = [(kernel[0] - 1) / 2 - pads[0], (kernel[1] - 1) / 2 - pads[1]]
    return (node.inputs[0], kernel, a.ints("strides", default: [1, 1]), offset)
  }

  /// The branch `leaf` is, with the input it reads; nil when it is none.
  static func branch(_ graph: Graph, _ leaf: ValueID, consumers: [[NodeID]]) -> (x: ValueID, branch: Branch)? {
    guard let n = graph.producer(of: leaf) else { return nil }
    let node = graph.nodes[n]
    switch node.op {
    case "conv2d":
      guard let w = graph.constant(node.inputs[1]), w.shape.count == 4,
        graph.shape(of: node.inputs[0]).count == 4
      else { return nil }
      let bias = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
      guard node.inputs.count < 3 || bias != nil else { return nil }
      let a = node.attributes
      let pads = a.ints("pads", default: [0, 0, 0, 0])
      guard a.ints("dilations", default: [1, 1]) == [1, 1], pads.count == 4, pads[0] == pads[2], pads[1] == pads[3],
        w.shape[2] % 2 == 1, w.shape[3] % 2 == 1
      else { return nil }
      let offset = [(w.shape[2] - 1) / 2 - pads[0], (w.shape[3] - 1) / 2 - pads[1]]
      return (node.inputs[0], Branch(node: n, weight: w, bias: bias, offset: offset))
    case "scale_shift":
      let c = graph.shape(of: leaf)[safe: 1] ?? 0
      guard let s = graph.constant(node.inputs[1]), let t = graph.constant(node.inputs[2]),
        graph.shape(of: leaf).count == 4, [1, c].contains(s.count), [1, c].contains(t.count)
      else { return nil }
      // An affine over an average pool that nothing else reads: one pool branch.
      let y = node.inputs[0]
      if let p = graph.producer(of: y), consumers[y.index] == [n], !graph.isOutput(y), let pool = exactPool(graph, p) {
        return (
          pool.x,
          Branch(
            node: n, scale: s, shift: t, offset: pool.offset, pool: pool.kernel, poolStrides: pool.strides, extra: [p])
        )
      }
      if let p = graph.producer(of: y), graph.nodes[p].op == "avg_pool2d", consumers[y.index] == [n] {
        return (graph.nodes[p].inputs[0], Branch(node: n, extra: [p], unfoldable: inexactPool))
      }
      return (y, Branch(node: n, scale: s, shift: t))
    case "avg_pool2d":
      guard let pool = exactPool(graph, n) else { return (node.inputs[0], Branch(node: n, unfoldable: inexactPool)) }
      return (pool.x, Branch(node: n, offset: pool.offset, pool: pool.kernel, poolStrides: pool.strides))
    default:
      return nil
    }
  }

  /// Rewrites every sum of branches in `graph`; returns the merged convs' names and, for each sum
  /// of branches left as it is, its root add's name and why.
  static func run(_ graph: inout Graph) -> (merged: [String], left: [String]) {
    // Sums are found in the graph as given; rewrites go to `graph`.
    let g = graph
    let consumers = g.consumers()
    func isAdd(_ n: NodeID) -> Bool { g.nodes[n].op == "add" && g.nodes[n].inputs.count == 2 }
    /// A value computed by an add of the sum whose only reader is the add above it.
    func interior(_ v: ValueID, readBy parent: NodeID) -> Bool {
      guard isAdd(parent), let p = g.producer(of: v), isAdd(p), consumers[v.index] == [parent], !g.isOutput(v) else {
        return false
      }
      return g.nodes[p].inputs.allSatisfy { g.shape(of: $0) == g.shape(of: v) }
    }
    func collect(_ n: NodeID, _ adds: inout [NodeID], _ leaves: inout [ValueID]) {
      adds.append(n)
      for v in g.nodes[n].inputs {
        if interior(v, readBy: n), let p = g.producer(of: v) { collect(p, &adds, &leaves) } else { leaves.append(v) }
      }
    }
    var touched = Set<NodeID>(), removed = Set<NodeID>(), merged: [String] = [], left: [String] = []
    for root in g.nodes.ids where isAdd(root) {
      let out = g.nodes[root].outputs[0]
      // The topmost add of each sum only.
      if let parent = consumers[out.index].first, interior(out, readBy: parent) { continue }
      guard g.nodes[root].inputs.allSatisfy({ g.shape(of: $0) == g.shape(of: out) }) else { continue }
      var adds: [NodeID] = [], leaves: [ValueID] = []
      collect(root, &adds, &leaves)
      guard let outcome = merge(g, leaves: leaves, consumers: consumers, adds: adds) else { continue }
      guard case .merged(let result) = outcome else {
        if case .left(let reason) = outcome { left.append("\(g.nodes[root].name): \(reason)") }
        continue
      }
      let nodes = Set(adds + result.branchNodes)
      guard nodes.isDisjoint(with: touched) else { continue }
      touched.formUnion(nodes)
      let rootNode = g.nodes[root]
      let w = graph.addConstant(result.weight, name: result.name + ".weight")
      let b = graph.addConstant(result.bias, name: result.name + ".bias")
      let inputs = [result.x, w, b]
      if let other = result.other {
        // The merged conv takes the earliest branch's place, the root adds the other summand.
        let slot = result.branchNodes.min()!
        let y = graph.addValue(name: result.name, shape: g.shape(of: out), source: .node(slot, output: 0))
        graph.nodes[slot] = Node(
          name: result.name, op: "conv2d", attributes: result.attributes, inputs: inputs, outputs: [y])
        graph.nodes[root] = Node(name: rootNode.name, op: "add", inputs: [y, other], outputs: rootNode.outputs)
        removed.formUnion(nodes.subtracting([slot, root]))
      } else {
        graph.nodes[root] = Node(
          name: result.name, op: "conv2d", attributes: result.attributes, inputs: inputs, outputs: rootNode.outputs)
        removed.formUnion(nodes.subtracting([root]))
      }
      merged.append(result.name)
    }
    if !removed.isEmpty { graph = graph.removingNodes(removed) }
    return (merged, left)
  }

  /// The merged conv of one sum.
  struct Merged {
    var x: ValueID
    var weight: Tensor
    var bias: Tensor
    var attributes: Attributes
    var name: String
    var branchNodes: [NodeID]
    var other: ValueID?
  }

  /// What became of a sum with branches to fold: merged, or left with the reason.
  enum Outcome {
    case merged(Merged)
    case left(String)
  }

  /// The outcome for a sum's `leaves`; nil when they hold no two branches of one input (an
  /// ordinary residual add, not a re-parameterizable block).
  private static func merge(_ graph: Graph, leaves: [ValueID], consumers: [[NodeID]], adds: [NodeID]) -> Outcome? {
    let addSet = Set(adds)
    var byInput: [ValueID: [(leaf: ValueID, branch: Branch)]] = [:]
    for leaf in leaves {
      // `x` itself is an identity branch when a conv branch reads it (checked below).
      if graph.constant(leaf) == nil, leaves.filter({ $0 == leaf }).count == 1 {
        byInput[leaf, default: []].append((leaf, Branch(node: nil)))
      }
      guard consumers[leaf.index].count == 1, addSet.contains(consumers[leaf.index][0]), !graph.isOutput(leaf),
        let (x, branch) = Self.branch(graph, leaf, consumers: consumers)
      else { continue }
      byInput[x, default: []].append((leaf, branch))
    }
    // The input with the most branches, at least one of them a conv and two in all.
    let candidates = byInput.filter { x, bs in
      bs.count >= 2 && bs.contains { $0.branch.weight != nil } && bs.contains { $0.leaf != x }
    }
    guard let (x, all) = candidates.max(by: { $0.value.count < $1.value.count }) else { return nil }
    let branches = all
    if let reason = branches.compactMap(\.branch.unfoldable).first { return .left(reason) }
    let convs = branches.compactMap { b in b.branch.node.flatMap { graph.nodes[$0].op == "conv2d" ? b : nil } }
    guard
      let widest = convs.max(by: { a, b in
        a.branch.weight!.shape[2] * a.branch.weight!.shape[3] < b.branch.weight!.shape[2] * b.branch.weight!.shape[3]
      })
    else { return .left("no conv branch") }
    let wide = graph.nodes[widest.branch.node!]
    let a = wide.attributes
    let groups = a.int("group", default: 1), strides = a.ints("strides", default: [1, 1])
    let shape = widest.branch.weight!.shape
    let (o, cg) = (shape[0], shape[1])
    let pools = branches.filter { $0.branch.pool != nil }
    let kh = (convs.map { $0.branch.weight!.shape[2] } + pools.map { $0.branch.pool![0] }).max()!
    let kw = (convs.map { $0.branch.weight!.shape[3] } + pools.map { $0.branch.pool![1] }).max()!
    let offset = widest.branch.offset
    for c in convs {
      let node = graph.nodes[c.branch.node!]
      let w = c.branch.weight!.shape
      guard node.attributes.int("group", default: 1) == groups,
        node.attributes.ints("strides", default: [1, 1]) == strides,
        w[0] == o, w[1] == cg, c.branch.offset == offset
      else { return .left("its conv branches differ in groups, stride, channels or centring") }
    }
    let outShape = graph.shape(of: widest.leaf)
    for p in pools {
      // The pool's window per channel is a diagonal kernel of the merged conv.
      guard p.branch.poolStrides == strides, p.branch.offset == offset, graph.shape(of: x)[1] == o, o == cg * groups
      else { return .left("an average-pool branch with another stride or centring, or beside a channel-changing conv") }
    }
    let identities = branches.filter { $0.branch.weight == nil && $0.branch.pool == nil }
    if !identities.isEmpty {
      // A delta at the centre reads input channel o for output o, pixel for pixel.
      guard strides == [1, 1], offset == [0, 0], graph.shape(of: x) == outShape, outShape[1] == o, o == cg * groups
      else { return .left("an identity branch beside a strided, shifted or channel-changing conv") }
    }
    guard branches.allSatisfy({ graph.shape(of: $0.leaf) == outShape }) else {
      return .left("its branches have different shapes")
    }
    var weight = [Double](repeating: 0, count: o * cg * kh * kw)
    var bias = [Double](repeating: 0, count: o)
    func value(_ t: Tensor?, _ c: Int, default d: Double) -> Double {
      guard let t else { return d }
      return Double(t.count == 1 ? t.data[0] : t.data[c])
    }
    for c in convs {
      let w = c.branch.weight!
      let (h, wd) = (w.shape[2], w.shape[3])
      let (dy, dx) = ((kh - h) / 2, (kw - wd) / 2)
      for oc in 0..<o {
        for i in 0..<cg {
          for y in 0..<h {
            for xx in 0..<wd {
              weight[((oc * cg + i) * kh + y + dy) * kw + xx + dx] += Double(w.data[((oc * cg + i) * h + y) * wd + xx])
            }
          }
        }
        bias[oc] += value(c.branch.bias, oc, default: 0)
      }
    }
    for id in identities {
      for oc in 0..<o {
        weight[((oc * cg + oc % cg) * kh + kh / 2) * kw + kw / 2] += value(id.branch.scale, oc, default: 1)
        bias[oc] += value(id.branch.shift, oc, default: 0)
      }
    }
    for p in pools {
      let (ph, pw) = (p.branch.pool![0], p.branch.pool![1])
      let (dy, dx) = ((kh - ph) / 2, (kw - pw) / 2)
      for oc in 0..<o {
        let tap = value(p.branch.scale, oc, default: 1) / Double(ph * pw)
        for y in 0..<ph {
          for xx in 0..<pw { weight[((oc * cg + oc % cg) * kh + y + dy) * kw + xx + dx] += tap }
        }
        bias[oc] += value(p.branch.shift, oc, default: 0)
      }
    }
    var attributes = a
    attributes["pads"] = .ints([
      (kh - 1) / 2 - offset[0], (kw - 1) / 2 - offset[1], (kh - 1) / 2 - offset[0],
      (kw - 1) / 2 - offset[1],
    ])
    let used = Set(branches.map(\.leaf))
    let others = leaves.filter { !used.contains($0) }
    guard others.count <= 1 else { return .left("\(others.count) other summands (one can stay as an add)") }
    return .merged(
      Merged(
        x: x, weight: Tensor(shape: [o, cg, kh, kw], data: weight.map(Float.init)),
        bias: Tensor(shape: [o], data: bias.map(Float.init)), attributes: attributes,
        name: wide.name + ".reparameterized",
        branchNodes: branches.flatMap { ($0.branch.node.map { [$0] } ?? []) + $0.branch.extra },
        other: others.first))
  }
}

extension Array {
  /// The element at `index`, or nil past the ends.
  fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// Folds parallel conv / identity branches that are summed into one conv (``Reparameterization``).
let reparameterizePass = Pass("reparameterize") { (ctx: inout PassContext) in
  guard ctx.options.fold, ctx.options.reparameterize else { return }
  var graph = ctx.graph
  let (merged, left) = Reparameterization.run(&graph)
  ctx.reparameterized += merged
  ctx.reparameterizationsLeft += left
  ctx.graph = graph
}
