/// Which schedule a fused group (or one stage of it) takes: a function of the group alone
/// (``of(_:in:)``), and one schedule function per kind (``schedules``). Adding a kernel kind is
/// one case, one line in ``of(_:in:)`` and one table entry; no dispatch order to thread it into.
/// A schedule that does not fit (a weight computed at run time, an epilogue it cannot apply)
/// returns false and the group runs as generic loops, stage by stage.
enum GroupKind: String, CaseIterable, Sendable {
  /// `[1×1 →] depthwise → 1×1` recorded by fusion (``FusedGroup/chain``): one kernel with a ring
  /// of expanded rows, or its stages when the row bands do not split evenly.
  case convChain = "conv chain"
  /// A conv chain fusion recorded to run as its stages (``ConvChain/asStages``): each stage is
  /// scheduled by its own kind.
  case chainStages = "conv chain as stages"
  /// `Q·Kᵀ → softmax → ·V` recorded by fusion (``FusedGroup/attention``): one kernel with a
  /// per-thread block of score rows, or its three stages when a stage does not fit.
  case attention
  /// A lone `x · s` (s per channel, computed at run time) that fusion folded into the weights of
  /// its reading convs (``InputFold/channelScale(x:scale:)``).
  case scaleFold = "channel multiply folded into weights"
  /// An elementwise stage that fusion folded into the input tiles of its reading 1×1 convs
  /// (``InputFold/inputPrologue(x:nodes:)``).
  case prologueFold = "elementwise stage folded into input tiles"
  /// Elementwise and broadcast ops only.
  case elementwise
  /// A channel concat, with or without an elementwise tail.
  case concat
  /// Other injective groups: a lone reshape as a view of its input, channel shuffles, slices,
  /// splits as channel remaps, transposes of an inner pair of axes as copies through registers.
  case injective
  /// Max and average pools.
  case pool = "pool"
  /// Global average pool.
  case globalAveragePool = "global average pool"
  /// 2-d convolution anchors.
  case conv
  /// Gemm (dense) anchors.
  case dense
  /// Matmul anchors.
  case matmul
  /// Einsum anchors: a batched matrix product runs as the matmul (``Scheduler/emitEinsum(_:index:)``).
  case einsum
  /// LSTM and GRU anchors: the steps of each sequence in order (``Scheduler/emitRecurrence(_:index:)``).
  case recurrence
  /// Sum, mean and max reductions: over the spatial axes of a blocked map, or over axes before the
  /// last of a plain tensor, a vector at a time (``Scheduler/emitReduction(_:index:)``); other
  /// reductions run as generic loops.
  case reduction
  /// Group-norm anchors: statistics and the normalization on the blocked layout
  /// (``Scheduler/emitGroupNorm(_:index:)``).
  case groupNorm = "group norm"
  /// Everything else: generic loops.
  case generic

  /// The kind of `group` in `graph`: what fusion recorded on it (a chain, attention, a fold),
  /// else its pattern and anchor op.
  static func of(_ group: FusedGroup, in graph: Graph) -> GroupKind {
    if let chain = group.chain { return chain.asStages == nil ? .convChain : .chainStages }
    if group.attention != nil { return .attention }
    switch group.fold {
    case .channelScale: return .scaleFold
    case .inputPrologue: return .prologueFold
    case nil: break
    }
    if group.pattern <= .broadcast { return .elementwise }
    let op = graph.nodes[group.anchor].op
    if op == "concat" { return .concat }
    if group.pattern == .injective { return .injective }
    return anchors[op] ?? .generic
  }

  /// The kind of a group by its anchor op, for anchors with a schedule of their own.
  static let anchors: [String: GroupKind] = [
    "max_pool2d": .pool, "avg_pool2d": .pool, "global_avg_pool": .globalAveragePool, "conv2d": .conv,
    "gemm": .dense, "matmul": .matmul, "einsum": .einsum, "lstm": .recurrence, "gru": .recurrence,
    "group_norm": .groupNorm, "reduce_sum": .reduction, "reduce_mean": .reduction, "reduce_max": .reduction,
  ]

  /// A schedule function: emits the group's kernels into the scheduler's plan and returns true,
  /// or emits nothing and returns false.
  typealias Schedule = @Sendable (inout Scheduler, FusedGroup, GroupID) throws(GraphFuseError) -> Bool

  /// The schedule of each kind (``generic`` has none: generic loops; ``chainStages`` none: its
  /// stages are scheduled one by one).
  static let schedules: [GroupKind: Schedule] = [
    .convChain: { s, group, g throws(GraphFuseError) in try s.emitChain(group.chain!, group: group, index: g) },
    .attention: { s, group, g throws(GraphFuseError) in try s.emitAttention(group.attention!, group: group, index: g) },
    .scaleFold: { s, group, g in s.emitScaleFold(group, index: g) },
    .prologueFold: { s, group, g throws(GraphFuseError) in try s.emitPrologueFold(group, index: g) },
    .elementwise: { s, group, g throws(GraphFuseError) in try s.emitElementwise(group, index: g) },
    .concat: { s, group, g throws(GraphFuseError) in try s.emitConcatGroup(group, index: g) },
    .injective: { s, group, g throws(GraphFuseError) in
      if try s.emitReshapeView(group, index: g) { return true }
      if try s.emitChannelRemap(group, index: g) { return true }
      return try s.emitTransposedCopy(group, index: g)
    },
    .pool: { s, group, g throws(GraphFuseError) in try s.emitPool(group, index: g) },
    .globalAveragePool: { s, group, g throws(GraphFuseError) in try s.emitGlobalAveragePool(group, index: g) },
    .conv: { s, group, g throws(GraphFuseError) in try s.emitConv(group, index: g) },
    .dense: { s, group, g throws(GraphFuseError) in try s.emitGemm(group, index: g) },
    .matmul: { s, group, g throws(GraphFuseError) in try s.emitMatmul(group, index: g) },
    .einsum: { s, group, g throws(GraphFuseError) in try s.emitEinsum(group, index: g) },
    .recurrence: { s, group, g throws(GraphFuseError) in try s.emitRecurrence(group, index: g) },
    .groupNorm: { s, group, g throws(GraphFuseError) in try s.emitGroupNorm(group, index: g) },
    .reduction: { s, group, g throws(GraphFuseError) in try s.emitReduction(group, index: g) },
  ]
}
