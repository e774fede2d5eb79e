/// A conv's kernel rows or columns that read only padding, for every output position, are cropped
/// from the weight, the padding shrunk to match: dilated convs on small maps, DeepLabV3's atrous
/// pyramid (3×3 at dilations 12, 24 and 36 on a 14×14 map: at 24 and 36 every tap but the centre
/// reads zeros, so those convs are 1×1 convs). The output is unchanged (each output sums the same
/// non-zero products), and the conv does a ninth of the multiply-adds. ONNX Runtime's NCHWc convs
/// skip kernel rows outside the input as they run; this does it once, at compile time, for the
/// rows and columns no output reads. Only edge rows and columns go (the kept ones stay evenly
/// dilated); a cropped kernel of one tap has dilation 1. Applies to `conv2d` with a constant
/// weight; every configuration gets it: it removes multiplications by padding, not an op.
let cropDeadConvTapsPass = Pass("cropDeadConvTaps") { (ctx: inout PassContext) in
  var graph = ctx.graph
  for c in graph.nodes.ids where graph.nodes[c].op == "conv2d" {
    let conv = graph.nodes[c]
    guard let weight = graph.constant(conv.inputs[1]), weight.shape.count == 4 else { continue }
    let x = graph.shape(of: conv.inputs[0]), y = graph.shape(of: conv.outputs[0])
    guard x.count == 4, y.count == 4 else { continue }
    let a = conv.attributes
    let strides = a.ints("strides", default: [1, 1]), dilations = a.ints("dilations", default: [1, 1])
    let pads = a.ints("pads", default: [0, 0, 0, 0])
    guard strides.count == 2, dilations.count == 2, pads.count == 4 else { continue }
    // Per spatial axis, the first and last kernel index some output position reads inside the input.
    var kept: [ClosedRange<Int>] = []
    for axis in 0..<2 {
      let extent = weight.shape[2 + axis]
      let alive = (0..<extent).filter { k in
        (0..<y[2 + axis]).contains { o in
          let i = o * strides[axis] - pads[axis] + k * dilations[axis]
          return i >= 0 && i < x[2 + axis]
        }
      }
      guard let first = alive.first, let last = alive.last else { break }
      kept.append(first...last)
    }
    guard kept.count == 2, kept[0].count < weight.shape[2] || kept[1].count < weight.shape[3] else { continue }
    // The cropped kernel keeps every output where it was: the start padding loses the cropped
    // rows' span, the end padding is what the output extent then needs.
    var newPads = pads, newDilations = dilations
    for axis in 0..<2 {
      newPads[axis] = pads[axis] - kept[axis].lowerBound * dilations[axis]
      if kept[axis].count == 1 { newDilations[axis] = 1 }
      let span = (kept[axis].count - 1) * newDilations[axis] + 1
      newPads[axis + 2] = (y[2 + axis] - 1) * strides[axis] + span - x[2 + axis] - newPads[axis]
    }
    guard newPads.allSatisfy({ $0 >= 0 }) else { continue }
    let (m, cin) = (weight.shape[0], weight.shape[1])
    var data: [Float] = []
    data.reserveCapacity(m * cin * kept[0].count * kept[1].count)
    for o in 0..<m {
      for i in 0..<cin {
        for ky in kept[0] {
          for kx in kept[1] { data.append(weight.data[((o * cin + i) * weight.shape[2] + ky) * weight.shape[3] + kx]) }
        }
      }
    }
    let cropped = graph.addConstant(
      Tensor(shape: [m, cin, kept[0].count, kept[1].count], data: data),
      name: graph.values[conv.inputs[1]].name + ".cropped")
    graph.nodes[c].inputs[1] = cropped
    graph.nodes[c].attributes["pads"] = .ints(newPads)
    graph.nodes[c].attributes["dilations"] = .ints(newDilations)
  }
  ctx.graph = graph
}
