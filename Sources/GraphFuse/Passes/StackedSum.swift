/// A sum over the axis along which tensors were stacked becomes the sum of the tensors: selective-
/// kernel blocks (SK-Net, and ResNeSt's split attention) stack their branches with `unsqueeze` and
/// `concat` into `[N, branches, C, H, W]`, sum them over axis 1 for the attention's squeeze, then
/// weigh them by the attention `[N, branches, C, 1, 1]` and sum again. `reduce_sum(concat(u₀, u₁…),
/// axis k)` becomes `a₀ + a₁ + …` and `reduce_sum(concat(…) · w, axis k)` becomes `a₀ · w₀ + a₁ ·
/// w₁ + …`, where `aᵢ` is `uᵢ` without axis `k` (the tensor it unsqueezes, or a reshape of it) and
/// `wᵢ` is slice `i` of `w` along `k`, reshaped the same way. The stack was a copy of every branch
/// into a tensor of rank 5 that only generic loops read (SK-ResNet-18: 0.6 ms of copies and 0.4 ms
/// of sums in 11 ms); the sums are elementwise ops on the convs' blocked outputs, and the mean after
/// them a global average pool (`spatialMeanAsGlobalPool`).
///
/// Applies to `reduce_sum` over one axis `k` (kept or dropped) of a float32 concat along `k` whose
/// inputs each have extent 1 along `k`, or of a reshape that splits axis `k` of a tensor in two
/// (ResNeSt's radix split `[N, K·C, H, W] → [N, K, C, H, W]`: the branches are runs of `C` channels,
/// slices, which the scheduler takes as views of the blocked conv output), read directly or through
/// a `mul` by a tensor whose extent along `k` is the number of branches or 1; not a graph output.
/// Not part of folding: the same additions run, branch by branch in order, so every configuration
/// gets it.
let stackedSumPass = Pass("stackedSum") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var changed = false
  for index in graph.nodes.ids where graph.nodes[index].op == "reduce_sum" {
    let node = graph.nodes[index]
    let x = node.inputs[0], shape = graph.shape(of: x)
    guard node.inputs.count == 1, graph.dataType(of: x) == .float32, !graph.isOutput(node.outputs[0]),
      let axes = Reduction.axes(node.attributes, rank: shape.count), axes.count == 1,
      let stack = StackedSum(x, axis: axes[0], in: graph)
    else { continue }
    let k = axes[0]
    var squeezed = shape
    squeezed.remove(at: k)
    var total: ValueID? = nil
    for (i, branch) in stack.branches.enumerated() {
      var term: ValueID
      switch branch {
      case .branch(let v):
        term = try StackedSum.squeezed(v, to: squeezed, in: &graph, name: node.name + ".branch\(i)")
      case .slice(let v, let axis, let start, let count):
        term = try graph.addSlice(v, axis: axis, start: start, end: start + count, name: node.name + ".branch\(i)")
      }
      if let weight = stack.weight {
        var w = graph.shape(of: weight)
        w.remove(at: k)
        var slice = weight
        if graph.shape(of: weight)[k] > 1 {
          slice = try graph.addSlice(weight, axis: k, start: i, end: i + 1, name: node.name + ".weight\(i)")
        }
        let wi = try StackedSum.squeezed(slice, to: w, in: &graph, name: node.name + ".weight\(i).squeezed")
        term = try graph.addNode(op: "mul", inputs: [term, wi], name: node.name + ".weighted\(i)")[0]
      }
      if let sum = total {
        total = try graph.addNode(op: "add", inputs: [sum, term], name: node.name + ".sum\(i)")[0]
      } else {
        total = term
      }
    }
    guard var result = total else { continue }
    if graph.shape(of: node.outputs[0]) != graph.shape(of: result) {
      result = try graph.addReshape(result, to: graph.shape(of: node.outputs[0]), name: node.name + ".kept")
    }
    graph.replaceUses(of: node.outputs[0], with: result)
    changed = true
  }
  // The replaced reductions and stacks are left to dead-code elimination.
  if changed { graph = GatherMove.topologicallyOrdered(graph) }
  ctx.graph = graph
}

/// The stack a reduction's input is (``stackedSumPass``): the concat's inputs and the weight that
/// multiplies the stack, if any.
struct StackedSum {
  var branches: [Branch]
  var weight: ValueID?

  init?(_ x: ValueID, axis k: Int, in graph: Graph) {
    guard var p = graph.producer(of: x) else { return nil }
    var weight: ValueID? = nil
    if graph.nodes[p].op == "mul", graph.nodes[p].inputs.count == 2 {
      // The stack is the side of the product's shape made by a concat or a reshape; the other side
      // is the weight, of the stack's rank.
      let inputs = graph.nodes[p].inputs, shape = graph.shape(of: x)
      func isStack(_ v: ValueID) -> Bool {
        guard let q = graph.producer(of: v), graph.shape(of: v) == shape else { return false }
        return graph.nodes[q].op == "concat" || Injective.reshapes.contains(graph.nodes[q].op)
      }
      guard let side = inputs.firstIndex(where: isStack), let q = graph.producer(of: inputs[side]),
        graph.shape(of: inputs[1 - side]).count == shape.count
      else { return nil }
      weight = inputs[1 - side]
      p = q
    }
    let stack = graph.nodes[p]
    let shape = graph.shape(of: stack.outputs[0])
    if stack.op == "concat", Injective.axis(stack.attributes.int("axis", default: 0), rank: shape.count) == k,
      stack.inputs.allSatisfy({ graph.shape(of: $0)[k] == 1 })
    {
      branches = stack.inputs.map { .branch($0) }
    } else if Injective.reshapes.contains(stack.op), k + 1 < shape.count {
      // A split by reshape (ResNeSt's radix): `[N, K·C, …]` viewed as `[N, K, C, …]`.
      var merged = shape
      merged[k] *= merged.remove(at: k + 1)
      guard graph.shape(of: stack.inputs[0]) == merged else { return nil }
      branches = (0..<shape[k]).map {
        .slice(of: stack.inputs[0], axis: k, start: $0 * shape[k + 1], count: shape[k + 1])
      }
    } else {
      return nil
    }
    if let weight, ![1, branches.count].contains(graph.shape(of: weight)[k]) { return nil }
    self.weight = weight
  }

  /// One branch of the stack: a tensor the concat stacked, or a run of the split tensor along an axis.
  enum Branch {
    case branch(ValueID)
    case slice(of: ValueID, axis: Int, start: Int, count: Int)
  }

  /// `v` with its unit axis removed, `shape`: the tensor an `unsqueeze` or `reshape` made it from
  /// when that has the shape, else a reshape of it.
  static func squeezed(_ v: ValueID, to shape: [Int], in graph: inout Graph, name: String) throws(GraphFuseError)
    -> ValueID
  {
    if graph.shape(of: v) == shape { return v }
    if let p = graph.producer(of: v), Injective.reshapes.contains(graph.nodes[p].op),
      graph.shape(of: graph.nodes[p].inputs[0]) == shape
    {
      return graph.nodes[p].inputs[0]
    }
    return try graph.addReshape(v, to: shape, name: name)
  }
}
