/// An `expand` read by an elementwise or broadcast op that broadcasts numpy-style anyway is
/// skipped: the reader reads the expand's input and broadcasts it by its own indexing, so the
/// expanded tensor is never written (the expand goes when nothing else reads it). ECA's
/// `x * y.expand_as(x)` with `y [N, C, 1, 1]`: the expand wrote a whole `[N, C, H, W]` tensor that
/// the multiply then read back; now the multiply reads one value per channel, and in a conv's
/// epilogue that is a per-channel operand. ECA-ResNet-26t: four expand groups, 0.52 ms (`bench`).
/// ONNX Runtime leaves such expands to its kernels' broadcasting; OpenVINO's
/// `BroadcastElementwiseFusion` removes a broadcast whose consumer broadcasts to the same shape, as
/// here. A reader whose operands do not broadcast numpy-style (a per-channel `batch_norm`) keeps
/// the expand, as does one for which the unexpanded input would not give the same output shape.
let expandIntoBroadcastPass = Pass("expandIntoBroadcast") { (ctx: inout PassContext) in
  var graph = ctx.graph
  var skipped = false
  let consumers = graph.consumers()
  for index in graph.nodes.ids where graph.nodes[index].op == "expand" {
    let expand = graph.nodes[index]
    let (expanded, source) = (expand.outputs[0], expand.inputs[0])
    for reader in consumers[expanded.index] {
      let node = graph.nodes[reader]
      guard let definition = OpRegistry.definitions[node.op], definition.scalar != nil,
        definition.operandShapes == nil, definition.pattern(node.attributes) <= .broadcast
      else { continue }
      let shapes = node.inputs.map { graph.shape(of: $0 == expanded ? source : $0) }
      var result: [Int]? = shapes[0]
      for s in shapes.dropFirst() { result = result.flatMap { Broadcasting.shape($0, s) } }
      guard result == graph.shape(of: node.outputs[0]) else { continue }
      for k in node.inputs.indices where node.inputs[k] == expanded { graph.nodes[reader].inputs[k] = source }
      skipped = true
    }
  }
  if skipped { ctx.graph = graph.withoutDeadNodes() }
}
