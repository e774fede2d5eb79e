/// A zero `pad` of the spatial axes in front of a `conv2d` (TensorFlow's "same" padding as
/// exported from TF ports, `tf_efficientnet_*` in timm: `Pad` then `Conv` with no padding of its
/// own) becomes the conv's own padding, so the padded copy of the input is never written and the
/// conv runs on its fast path with asymmetric pads. ONNX Runtime's `PadFusion` does the same.
/// Applies when the pad is constant 0 on the two spatial axes only (no negative pads); the pad
/// node stays while something else reads it, else dead-code elimination removes it. Part of
/// folding: off in the unfused configuration.
let foldPadIntoConvPass = Pass("foldPadIntoConv") { (ctx: inout PassContext) in
  guard ctx.options.fold else { return }
  var graph = ctx.graph
  for c in graph.nodes.ids where graph.nodes[c].op == "conv2d" {
    let conv = graph.nodes[c]
    guard let p = graph.producer(of: conv.inputs[0]), graph.nodes[p].op == "pad" else { continue }
    let pad = graph.nodes[p]
    let pads = pad.attributes.ints("pads", default: [])
    let own = conv.attributes.ints("pads", default: [0, 0, 0, 0])
    guard graph.shape(of: pad.inputs[0]).count == 4, pads.count == 8, own.count == 4,
      pad.attributes.float("value", default: 0) == 0, pads.allSatisfy({ $0 >= 0 }),
      pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0
    else { continue }
    graph.nodes[c].attributes["pads"] = .ints([own[0] + pads[2], own[1] + pads[3], own[2] + pads[6], own[3] + pads[7]])
    graph.nodes[c].inputs[0] = pad.inputs[0]
  }
  ctx.graph = graph
}
