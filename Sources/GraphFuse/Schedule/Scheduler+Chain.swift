extension Scheduler {
  /// Emits a conv chain group, which fusion matched to fit one kernel (``ConvChain/match(_:nodes:outputs:)``:
  /// constant weights, elementwise tails, only the last stage reading tensors), as one
  /// ``ConvChainKernel`` loop nest.
  mutating func emitChain(_ chain: ConvChain, group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    let v = vectorWidth
    let stages = FusionPlan.makeGroups(graph, partition: chain.stages)
    var epilogues: [Epilogue] = []
    var weights: [Tensor] = [], biases: [ValueID?] = []
    for stage in stages {
      let conv = graph.nodes[stage.anchor]
      guard let e = Epilogue.make(graph, group: stage, anchor: stage.anchor, vector: v),
        let w = graph.constant(conv.inputs[1])
      else { throw GraphFuseError("internal: conv chain \(group.name) does not fit one kernel", op: "compile") }
      epilogues.append(e)
      weights.append(w)
      biases.append(conv.inputs.count > 2 ? conv.inputs[2] : nil)
    }
    let hasExpand = chain.expand != nil
    let dwNode = graph.nodes[chain.depthwise[0]]
    let input = hasExpand ? graph.nodes[chain.expand![0]].inputs[0] : dwNode.inputs[0]
    let x = graph.shape(of: input), mid = graph.shape(of: dwNode.inputs[0]), out = graph.shape(of: group.outputs[0])
    let dwWeight = weights[hasExpand ? 1 : 0]
    let win = Window2D(dwNode.attributes, kernel: [dwWeight.shape[2], dwWeight.shape[3]])
    let dwOut = graph.shape(of: dwNode.outputs[0])
    var t = ConvChainKernel(
      v: v, n: x[0], cin: x[1], h: mid[2], w: mid[3], cout: out[1], oh: dwOut[2], ow: dwOut[3],
      mid: mid[1], hasExpand: hasExpand, kh: win.kernel[0], kw: win.kernel[1], sh: win.strides[0], sw: win.strides[1],
      pt: win.pads[0], pl: win.pads[1], expandEpilogue: hasExpand ? epilogues[0] : nil,
      depthwiseEpilogue: epilogues[hasExpand ? 1 : 0],
      projectEpilogue: epilogues.last!, bands: 1)
    t.bands = ConvChain.bands(rows: t.oh, threads: threads)

    // Parameters: `in`, then per stage (1 expand, 2 depthwise, 3 project) `wt<s>`, `bias<s>` and
    // the epilogue operands `a<k>`, `b<k>`, `c<k>`; `scratch`, `out`.
    var bindings = KernelBindings(["in": try blockedBuffer(input, group: g)])
    for (k, stage) in stages.enumerated() {
      let conv = graph.nodes[stage.anchor]
      let isDepthwise = conv.attributes.int("group", default: 1) > 1
      let channels = graph.shape(of: conv.outputs[0])[1]
      let nv = k == 0 && hasExpand ? t.expandVectors : t.projectVectors
      let weight: ConstantRecipe =
        isDepthwise
        ? .depthwiseWeight(conv.inputs[1], vector: v)
        : .convWeight(conv.inputs[1], in: graph, vector: v, nv: nv, icBlock: v)
      let s = hasExpand ? k + 1 : k + 2
      bindings =
        bindings
        + KernelBindings([
          "wt\(s)": kernelPlan.addConstant(weight, graph),
          "bias\(s)": kernelPlan.addConstant(.channels(biases[k], scale: 1, channels: channels, vector: v), graph),
        ])
        + .numbered(["a", "b", "c"][s - 1], try operandBuffers(epilogues[k], group: g))
    }
    let scratch = kernelPlan.addBuffer(
      BufferPlan(count: t.scratchFloats * max(1, threads), storage: .arena, value: nil))
    bindings = bindings + KernelBindings(["scratch": scratch, "out": output(group.outputs[0])])
    let schedule = KernelSchedule(
      .convChain, group: g,
      inputs: [.blocked(v)] + [KernelSchedule.Layout](repeating: .packed, count: bindings.pairs.count - 3) + [.plain],
      output: .blocked(v), parallel: [.batch, .rowBand], epilogue: epilogueOps(group, anchor: chain.stages.last?.first))
    try kernelPlan.addStep(t.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
