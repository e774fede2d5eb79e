/// An elementwise stage `y = f(x)` (f per channel: a batch norm that cannot fold backward as a
/// scale-shift, then relu, in DenseNet) that runs as no kernel of its own: every 1×1 conv reading
/// `y` applies `f` to its input tile as it loads it (``BlockedConv/prologueNest``) and reads `x`.
struct InputPrologue {
  /// The blocked activation `[N, C, H, W]` the convs read.
  var x: ValueID
  /// `f` as an epilogue expression: its one full-tensor operand is `x`, the others are per
  /// channel or scalar.
  var function: Epilogue
  /// The IR op names of `f`, in order (for the schedule).
  var ops: [String]
}

extension Scheduler {
  /// The prologue of `stage` when it is an elementwise stage over one blocked rank-4 tensor `x`
  /// (its other operands per channel or scalar) whose output is read only by convs that take a
  /// prologue: each reading it once as its activation, 1×1 without padding (so no pixel of the
  /// window is a zero pad, which `f` would not map to zero), one group, constant weights and
  /// bias, the first node and anchor of a group that is not a conv chain, an epilogue that fits.
  /// Folding saves writing and reading `y` (the input tile goes through `f` once per tile into
  /// a per-thread scratch, not once per output channel).
  func foldablePrologue(_ stage: FusedGroup) -> InputPrologue? {
    guard stage.pattern <= .broadcast, stage.outputs.count == 1,
      let e = Epilogue.make(graph, group: stage, anchor: nil, vector: vectorWidth)
    else { return nil }
    let full = e.operands.compactMap { operand -> ValueID? in
      if case .full(let x) = operand { return x } else { return nil }
    }
    let y = e.output
    guard full.count == 1, let x = full.first, e.operands.filter({ !$0.isPerChannelOrScalar }).count == 1,
      blocked[x] != nil, graph.shape(of: x).count == 4,
      !graph.outputs.contains(y), !consumers[y.index].isEmpty
    else { return nil }
    for c in consumers[y.index] {
      guard let weight = foldingConvWeight(c, reading: y), weight.shape[2] == 1, weight.shape[3] == 1,
        Window2D(graph.nodes[c].attributes, kernel: [1, 1]).pads.allSatisfy({ $0 == 0 })
      else { return nil }
    }
    return InputPrologue(x: x, function: e, ops: stage.nodes.map { graph.nodes[$0].op })
  }
}
