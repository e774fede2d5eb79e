/// GELU spelled out as `x · ½ · (1 + erf(x / √2))` (PyTorch's and Hugging Face's exports: five
/// ops) becomes one `gelu` node, as ONNX Runtime's `GeluFusion` and OpenVINO's `GeluFusion` do. Its
/// vector code takes Φ(x) from one rational function with the ½ and the 1/√2 folded into its
/// coefficients (`gf_vgelu`): 20 vector operations an element where the five ops took 25. In
/// ConvNeXt-T's first-stage MLP-up matmuls (96 multiply-adds per output vector) those 25 were about
/// a fifth of the instructions.
///
/// Applies to float32 chains whose constants are single elements: the scale `1/√2` (a `mul`
/// within 10⁻⁶; ``divisionByConstantPass`` runs first and makes exporters' `div` by `√2` one), the
/// `1` of the `add`, and the `½` in any of the three places a product of `x`, `½` and `1 + erf` puts
/// it: `(x · a) · ½`, `(½ · a) · x` or `(x · ½) · a` (either operand order in each). The erf, the add
/// and the inner products must have no other readers, and the result must have `x`'s shape. The
/// last product becomes the `gelu` node, keeping its output; the rest is left to dead-code
/// elimination. Part of folding, as ``divisionByConstantPass`` is: the `unfused` configuration keeps
/// the five ops.
let geluFusionPass = Pass("geluFusion") { (ctx: inout PassContext) in
  guard ctx.options.fold else { return }
  var graph = ctx.graph
  let consumers = graph.consumers()
  for index in graph.nodes.ids where graph.nodes[index].op == "erf" {
    guard let (last, x) = GeluFusion.match(erf: index, in: graph, consumers: consumers) else { continue }
    graph.nodes[last].op = "gelu"
    graph.nodes[last].inputs = [x]
    graph.nodes[last].attributes = [:]
  }
  ctx.graph = graph
}

/// The matching rules of ``geluFusionPass``.
enum GeluFusion {
  /// The node whose output becomes `gelu(x)`, and `x`, when `erf` is the erf of such a chain.
  static func match(erf: NodeID, in graph: Graph, consumers: [[NodeID]]) -> (NodeID, ValueID)? {
    let node = graph.nodes[erf]
    guard node.inputs.count == 1, graph.dataType(of: node.outputs[0]) == .float32,
      let scaled = graph.producer(of: node.inputs[0]), let x = scaledInput(scaled, in: graph),
      let add = onlyReader(of: node.outputs[0], op: "add", consumers, graph),
      scalar(other(than: node.outputs[0], in: graph.nodes[add]), graph) == 1,
      let product = onlyReader(of: graph.nodes[add].outputs[0], op: "mul", consumers, graph),
      let partner = other(than: graph.nodes[add].outputs[0], in: graph.nodes[product])
    else { return nil }
    let last: NodeID
    if partner == x || scalar(partner, graph) == 0.5 {
      // (x · a) · ½ or (½ · a) · x: one more product, by the factor the first one lacks.
      let inner = graph.nodes[product].outputs[0]
      guard let outer = onlyReader(of: inner, op: "mul", consumers, graph),
        let factor = other(than: inner, in: graph.nodes[outer]),
        partner == x ? scalar(factor, graph) == 0.5 : factor == x
      else { return nil }
      last = outer
    } else {
      // (x · ½) · a: the half is a product of its own that only this one reads.
      guard let half = graph.producer(of: partner), graph.nodes[half].op == "mul", graph.nodes[half].inputs.count == 2,
        consumers[partner.index].count == 1, !graph.isOutput(partner),
        graph.nodes[half].inputs.contains(x), scalar(other(than: x, in: graph.nodes[half]), graph) == 0.5
      else { return nil }
      last = product
    }
    guard graph.shape(of: graph.nodes[last].outputs[0]) == graph.shape(of: x) else { return nil }
    return (last, x)
  }

  /// `x` when `node` is `x · k` with `k` ≈ 1/√2 (relative 10⁻⁶).
  static func scaledInput(_ node: NodeID, in graph: Graph) -> ValueID? {
    let n = graph.nodes[node]
    guard n.op == "mul", n.inputs.count == 2 else { return nil }
    for (k, x) in [(n.inputs[1], n.inputs[0]), (n.inputs[0], n.inputs[1])] {
      if let c = scalar(k, graph), abs(Double(c) / 0.5.squareRoot() - 1) <= 1e-6 { return x }
    }
    return nil
  }

  /// The one node that reads `value`, if it is a two-input `op` and `value` is no graph output.
  static func onlyReader(of value: ValueID, op: String, _ consumers: [[NodeID]], _ graph: Graph) -> NodeID? {
    let readers = consumers[value.index]
    guard readers.count == 1, !graph.isOutput(value), graph.nodes[readers[0]].op == op,
      graph.nodes[readers[0]].inputs.count == 2
    else { return nil }
    return readers[0]
  }

  /// The input of the two-input `node` that is not `value` (nil when both are).
  static func other(than value: ValueID, in node: Node) -> ValueID? {
    if node.inputs[0] == value { return node.inputs[1] == value ? nil : node.inputs[1] }
    return node.inputs[1] == value ? node.inputs[0] : nil
  }

  /// The element of a one-element float32 constant.
  static func scalar(_ value: ValueID?, _ graph: Graph) -> Float? {
    guard let value, graph.dataType(of: value) == .float32, let tensor = graph.constant(value), tensor.count == 1
    else { return nil }
    return tensor.data[0]
  }
}
