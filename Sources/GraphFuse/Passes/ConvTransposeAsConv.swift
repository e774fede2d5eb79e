/// A transposed convolution with constant weights becomes a forward `conv2d` with `s_y · s_x`
/// times the output channels, one per output phase, then a depth-to-space (reshape, transpose,
/// reshape) and a crop: the scheduler runs the conv in its blocked register-tiled kernels, where the
/// transposed conv ran as a generic scalar loop over every tap with a divisibility test per tap
/// (DPT's ×4 reassemble upsampling, `[1, 16, 6, 6] → [1, 16, 24, 24]`: 0.28 ms for 0.3 MFLOP).
///
/// The phase decomposition: with `y + p = q·s + r` (`p` the leading pad, `0 ≤ r < s`), output `y`
/// of a transposed conv sums `x[q − t] · w[t·s + r]` over `t < T = ⌈k / s⌉`; that is a forward
/// conv over `x` padded by `T − 1` in front, tap `u` reading `x[q − (T − 1) + u]` with weight
/// `w[(T − 1 − u)·s + r]` (zero where that passes the kernel). Phase `(r_y, r_x)` of output
/// channel `o` is forward output channel `(o·s_y + r_y)·s_x + r_x`; interleaving the phases and
/// dropping the first `p` rows and columns gives the output. For a kernel equal to its stride (a
/// U-Net's or DPT's `k = s = 2` or 4 upsampling) the conv is 1×1 and does exactly the transposed
/// conv's multiplies; for `k = 3, s = 2` it does 16 per 9 (taps past the kernel are zeros).
/// OpenVINO's oneDNN runs deconvolutions as this kind of strided forward convolution; ONNX Runtime's
/// CPU `ConvTranspose` runs a GEMM and col2im.
///
/// Applies to one group, undilated, with constant float32 weights (and bias); anything else keeps
/// the generic loop. Not part of folding: a batch norm after the transposed conv folds into it first
/// (the pass runs after the folding passes), and every configuration gets the rewrite.
let convTransposeAsConvPass = Pass("convTransposeAsConv") { (ctx: inout PassContext) throws(GraphFuseError) in
  var graph = ctx.graph
  var replaced: [NodeID] = []
  for index in graph.nodes.ids where graph.nodes[index].op == "conv_transpose2d" {
    let node = graph.nodes[index]
    guard let plan = ConvTransposePhases(node, in: graph) else { continue }
    let output = node.outputs[0], name = graph.values[output].name
    let weight = graph.addConstant(plan.weight, name: node.name + ".phases")
    var inputs = [node.inputs[0], weight]
    if let bias = plan.bias { inputs.append(graph.addConstant(bias, name: node.name + ".phases_bias")) }
    let attributes: Attributes = [
      "strides": .ints([1, 1]), "pads": .ints(plan.pads), "dilations": .ints([1, 1]), "group": .int(1),
    ]
    var value = try graph.addNode(op: "conv2d", inputs: inputs, attributes: attributes, name: node.name + ".phases")[0]
    let (n, o, s) = (plan.batch, plan.outputChannels, plan.strides)
    let conv = graph.shape(of: value)
    if s != [1, 1] {
      value = try graph.addReshape(value, to: [n, o, s[0], s[1], conv[2], conv[3]], name: node.name + ".split")
      value = try graph.addNode(
        op: "transpose", inputs: [value], attributes: ["perm": .ints([0, 1, 4, 2, 5, 3])],
        name: node.name + ".interleave")[0]
      value = try graph.addReshape(value, to: [n, o, conv[2] * s[0], conv[3] * s[1]], name: node.name + ".merge")
    }
    let target = graph.shape(of: output)
    for axis in [2, 3] where graph.shape(of: value)[axis] != target[axis] || plan.leading[axis - 2] != 0 {
      let start = plan.leading[axis - 2]
      value = try graph.addSlice(
        value, axis: axis, start: start, end: start + target[axis], name: node.name + ".crop\(axis)")
    }
    graph.values[output].name = name + ".transposed"
    graph.values[value].name = name
    graph.replaceUses(of: output, with: value)
    replaced.append(index)
  }
  if !replaced.isEmpty { ctx.graph = GatherMove.topologicallyOrdered(graph.removingNodes(Set(replaced))) }
}

/// The forward conv of a transposed one (``convTransposeAsConvPass``): its weights and bias, pads,
/// and where the transposed conv's output starts in the interleaved phases.
struct ConvTransposePhases {
  var weight: Tensor
  var bias: Tensor?
  /// The forward conv's pads, `[top, left, bottom, right]`.
  var pads: [Int]
  var strides: [Int]
  var batch: Int, outputChannels: Int
  /// The transposed conv's leading pads: its output starts this far into the interleaved rows and columns.
  var leading: [Int]

  /// Nil unless `node` (a `conv_transpose2d`) has one group, no dilation and constant weights and bias.
  init?(_ node: Node, in graph: Graph) {
    let a = node.attributes
    guard a.int("group", default: 1) == 1, a.ints("dilations", default: [1, 1]) == [1, 1],
      graph.dataType(of: node.inputs[0]) == .float32, let w = graph.constant(node.inputs[1])
    else { return nil }
    let b = node.inputs.count > 2 ? graph.constant(node.inputs[2]) : nil
    if node.inputs.count > 2 && b == nil { return nil }
    let x = graph.shape(of: node.inputs[0]), out = graph.shape(of: node.outputs[0])
    let (c, o, k) = (w.shape[0], w.shape[1], [w.shape[2], w.shape[3]])
    let window = Window2D(a, kernel: k)
    let s = window.strides
    let taps: [Int] = (0..<2).map { (a: Int) -> Int in (k[a] + s[a] - 1) / s[a] }
    // Forward output rows per phase: enough for the transposed output after its leading pad.
    let rows: [Int] = (0..<2).map { (a: Int) -> Int in (out[2 + a] + window.pads[a] + s[a] - 1) / s[a] }
    let input = [x[2], x[3]]
    pads = [taps[0] - 1, taps[1] - 1, max(0, rows[0] - input[0]), max(0, rows[1] - input[1])]
    strides = s
    batch = x[0]
    outputChannels = o
    leading = [window.pads[0], window.pads[1]]
    let phases = s[0] * s[1]
    var data = [Float](repeating: 0, count: o * phases * c * taps[0] * taps[1])
    for oc in 0..<o {
      for ry in 0..<s[0] {
        for rx in 0..<s[1] {
          let f = (oc * s[0] + ry) * s[1] + rx
          for ic in 0..<c {
            for uy in 0..<taps[0] {
              let ky = (taps[0] - 1 - uy) * s[0] + ry
              guard ky < k[0] else { continue }
              for ux in 0..<taps[1] {
                let kx = (taps[1] - 1 - ux) * s[1] + rx
                guard kx < k[1] else { continue }
                data[((f * c + ic) * taps[0] + uy) * taps[1] + ux] = w.data[((ic * o + oc) * k[0] + ky) * k[1] + kx]
              }
            }
          }
        }
      }
    }
    weight = Tensor(shape: [o * phases, c, taps[0], taps[1]], data: data)
    bias = b.map { b in Tensor(b.data.flatMap { [Float](repeating: $0, count: phases) }) }
  }
}
