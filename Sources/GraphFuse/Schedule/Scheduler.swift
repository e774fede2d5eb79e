/// The machine a plan is scheduled for: what the schedules read of it.
public struct ScheduleTarget: Sendable, Equatable {
  /// Floats per SIMD vector (16 with AVX-512, else 8): the blocked layout's channel block.
  public var vectorWidth: Int
  /// Threads a run may use (task splits, per-thread scratch).
  public var threads: Int
  /// Bytes of the L1 data cache of one core: how deep a K block of a matmul's B may be.
  public var l1DataBytes: Int
  /// Bytes of the L2 cache of one core (1 MiB, the smallest of current x86-64 server cores, when not
  /// given): whether a conv's input is read again from L2 or from L3.
  public var l2Bytes = 1 << 20
  /// Whether stride-1 3×3 convs may run as Winograd (``CompileOptions/winograd``).
  public var winograd = true
  /// Whether every conv that qualifies runs as Winograd, also where the direct conv's estimate is
  /// lower (``CompileOptions/winogradEverywhere``).
  public var winogradEverywhere = false
  /// Floats per cache line (64 bytes on every x86-64 and Arm server core): the step of the
  /// kernels' prefetch hints, one per line.
  static let cacheLineFloats = 16

  /// A target of `vectorWidth`-float vectors, `threads` threads and an L1 data cache of
  /// `l1DataBytes` (32 KiB, the smallest of current x86-64 and Arm server cores, when not given).
  public init(vectorWidth: Int, threads: Int = 1, l1DataBytes: Int = 32 * 1024) {
    self.vectorWidth = vectorWidth
    self.threads = threads
    self.l1DataBytes = l1DataBytes
  }
}

/// The scheduler, a pure pass `(graph, fusion plan, target) → KernelPlan`: for each group it
/// chooses the kernel (kind, layouts, register tile, task split), builds its loop nest, binds
/// its buffers by name and describes its constants as packing recipes. It packs no weights,
/// renders no C and runs no compiler.
///
/// Blocked groups (convolutions, pooling over blocked input, elementwise groups with a blocked
/// operand) write blocked `NCHW[v]c` outputs; everything else reads and writes plain NCHW. A
/// layout change is emitted only where a consumer needs the other layout (once per value), and
/// at graph outputs.
struct Scheduler {
  let graph: Graph
  let plan: FusionPlan
  let vectorWidth: Int
  /// Threads a run may use (per-thread scratch is sized for them).
  let threads: Int
  /// The machine scheduled for (its L1 data cache sizes matmul K blocks).
  let target: ScheduleTarget
  /// The plan being built.
  var kernelPlan = KernelPlan()
  /// Buffer of each value held in blocked layout.
  var blocked: [ValueID: BufferID] = [:]
  /// Channel multiplies `x · s` not run as kernels: the convs reading them scale their weights by
  /// `s` instead and read `x` (`Scheduler+ScaledInput.swift`), keyed by the product.
  var scaledInputs: [ValueID: ScaledInput] = [:]
  /// Elementwise stages not run as kernels: the 1×1 convs reading them apply them to their input
  /// tiles (`Scheduler+InputPrologue.swift`), keyed by the stage's output.
  var prologues: [ValueID: InputPrologue] = [:]
  /// Views no kernel writes: the attention reading them takes their strides instead
  /// (`Scheduler+OperandView.swift`), keyed by the view's value, with the group that would write it.
  var views: [ValueID: (view: OperandView, group: GroupID)] = [:]
  /// The nodes that read each value, and the plan group of each node.
  let consumers: [[NodeID]]
  let groupOfNode: [GroupID?]

  init(graph: Graph, plan: FusionPlan, target: ScheduleTarget) {
    self.graph = graph
    self.plan = plan
    self.vectorWidth = target.vectorWidth
    self.threads = target.threads
    self.target = target
    kernelPlan.vectorWidth = target.vectorWidth
    kernelPlan.schedules = [[KernelSchedule]](repeating: [], count: plan.groups.count)
    consumers = graph.consumers()
    var groupOf = [GroupID?](repeating: nil, count: graph.nodes.count)
    for g in plan.groups.ids {
      for n in plan.groups[g].nodes where groupOf.indices.contains(n.index) { groupOf[n.index] = g }
    }
    groupOfNode = groupOf
  }

  /// Schedules every group of `plan` for `target`: each through its blocked schedule, generic
  /// loops when none fits.
  static func schedule(_ graph: Graph, plan: FusionPlan, target: ScheduleTarget) throws(GraphFuseError)
    -> KernelPlan
  {
    let order = try KernelPlan.executionOrder(graph, plan: plan)
    var scheduler = Scheduler(graph: graph, plan: plan, target: target)
    for v in graph.inputs { scheduler.kernelPlan.inputBuffers.append(scheduler.kernelPlan.plainBuffer(graph, v)) }
    for g in order {
      let group = plan.groups[g]
      if scheduler.foldOperandView(g) { continue }
      if try scheduler.emitTemplate(group: g) { continue }
      // A group no blocked schedule runs whole (a conv chain that does not fit) runs stage by stage.
      let stages = group.stages(in: graph)
      for stage in stages {
        if stages.count > 1, try scheduler.emitTemplate(stage, index: g) { continue }
        try scheduler.emitGeneric(group: stage, index: g)
      }
    }
    for v in graph.outputs {
      let b = try scheduler.plainBuffer(v, group: GroupID(plan.groups.count - 1))
      scheduler.kernelPlan.outputBuffers.append(b)
    }
    if let (step, _) = scheduler.kernelPlan.firstUnwrittenRead() {
      let group = plan.groups[scheduler.kernelPlan.steps[step].group.index].name
      throw GraphFuseError("internal: a kernel of \(group) reads a buffer no kernel before it wrote", op: "compile")
    }
    return scheduler.kernelPlan
  }

  /// ``schedule(_:plan:target:)`` for `vectorWidth`-float vectors and `threads` threads, with
  /// Winograd convs or not (where cheaper, or `winogradEverywhere`).
  static func schedule(
    _ graph: Graph, plan: FusionPlan, vectorWidth: Int, threads: Int = 1, winograd: Bool = true,
    winogradEverywhere: Bool = false
  ) throws(GraphFuseError) -> KernelPlan {
    var target = ScheduleTarget(vectorWidth: vectorWidth, threads: threads)
    target.winograd = winograd
    target.winogradEverywhere = winogradEverywhere
    return try schedule(graph, plan: plan, target: target)
  }

  /// The generic schedule: inlined loops in plain layout (the output in blocked layout when only
  /// convs and elementwise ops read it, ``writesBlocked(_:)``).
  mutating func emitGeneric(group: FusedGroup, index g: GroupID) throws(GraphFuseError) {
    let blockedOutput = writesBlocked(group)
    // A rank-4 input that a template left in blocked layout only (a depthwise conv before a
    // transpose to channels-last) is read in place through its blocked index map, unless it is
    // among `plain`.
    func makeLowering(plain: Set<ValueID>, blocked forced: Set<ValueID> = []) -> GroupLowering {
      var lowering = GroupLowering(graph: graph, group: group)
      if blockedOutput { lowering.blockedOutput = vectorWidth }
      for v in group.inputs
      where blocked[v] != nil && (kernelPlan.plain[v] == nil || forced.contains(v)) && graph.shape(of: v).count == 4
        && !plain.contains(v)
      {
        lowering.blockedInputs[v] = vectorWidth
      }
      return lowering
    }
    var lowering = makeLowering(plain: [])
    var nests = try lowering.lower()
    // Read in place only where the innermost loops run along the channels: one whose loads step
    // across pixels would read one float per cache line (YOLO's head reading its class convs
    // pixel by pixel: 0.67 ms of YOLO12n's 7.6), where a layout change turns 16×16 tiles over
    // in registers first.
    let strided = InnerVectorize.stridedLoads(nests.flatMap(\.body), width: vectorWidth)
    func readStrided(_ v: ValueID) -> Bool {
      nests.contains { $0.buffers.contains { b in b.value == v && !b.isOutput && strided.contains(b.name) } }
    }
    let stepping = Set(lowering.blockedInputs.keys.filter(readStrided))
    // The converse: a loop writing blocked runs its lanes along the channels, so a rank-4 input
    // in plain layout is read one float per lane, a plane apart (UperNet's concat of upsampled
    // levels for its bottleneck conv read them lane by lane: 0.28 ms for 295 K outputs); a layout
    // change to blocked first makes those loads vectors.
    let acrossPlanes =
      blockedOutput
      ? Set(
        group.inputs.filter { lowering.blockedInputs[$0] == nil && graph.shape(of: $0).count == 4 && readStrided($0) })
      : []
    if !stepping.isEmpty || !acrossPlanes.isEmpty {
      for v in acrossPlanes { _ = try blockedBuffer(v, group: g) }
      lowering = makeLowering(plain: stepping, blocked: acrossPlanes)
      nests = try lowering.lower()
    }
    for var nest in nests {
      // Innermost loops over contiguous elements become explicit vector loops (softmax and layer
      // norm rows, elementwise tails with exp/erf/tanh that clang would not vectorize).
      nest.body = InnerVectorize.apply(nest.body, width: vectorWidth)
      var bindings = KernelBindings()
      for b in nest.buffers {
        guard let value = b.value else {
          if b.name == IndexExpr.statusBuffer {
            bindings = bindings + KernelBindings([b.name: kernelPlan.statusBuffer()])
          }
          continue
        }
        let buffer: BufferID
        if !b.isOutput, lowering.blockedInputs[value] != nil, let inPlace = blocked[value] {
          buffer = inPlace
        } else {
          buffer =
            b.isOutput
            ? (blockedOutput ? output(value) : kernelPlan.plainBuffer(graph, value)) : try plainBuffer(value, group: g)
        }
        bindings = bindings + KernelBindings([b.name: buffer])
      }
      let inputs = nest.buffers.filter { !$0.isOutput }.map { b in
        b.value.flatMap { lowering.blockedInputs[$0] }.map { KernelSchedule.Layout.blocked($0) } ?? .plain
      }
      let schedule = KernelSchedule(
        .loops, group: g, inputs: inputs, output: blockedOutput ? .blocked(vectorWidth) : .plain,
        parallel: nest.taskCount > 1 ? [.element] : [],
        epilogue: group.nodes.filter { $0 != group.anchor }.map { graph.nodes[$0].op })
      try kernelPlan.addStep(nest, bindings: bindings, schedule: schedule)
    }
  }

  /// Whether a generic group writes its output in blocked layout (``GroupLowering/blockedOutput``):
  /// no reduction, one rank-4 output of at least one vector of channels (the last block's extra
  /// lanes written as zeros) that is not a graph output, read by at least one conv as its data
  /// (directly or through up to three elementwise ops) and otherwise only by elementwise or broadcast ops and
  /// channel slices and concats, which read the blocked layout in place. The
  /// conv then needs no layout change, and a channels-last source is read a vector at a time.
  func writesBlocked(_ group: FusedGroup) -> Bool {
    guard group.pattern <= .injective, group.outputs.count == 1 else { return false }
    let value = group.outputs[0]
    let shape = graph.shape(of: value)
    guard shape.count == 4, shape[1] >= vectorWidth, !graph.outputs.contains(value)
    else { return false }
    func readsAsData(_ node: Node, _ v: ValueID) -> Bool {
      node.op == "conv2d" && node.inputs.first == v && !node.inputs.dropFirst().contains(v)
    }
    // Whether a conv reads `v` as its data, directly or through up to `depth` elementwise ops
    // (DPN's pre-activation batch norm and relu, folded into the conv's input tiles).
    func feedsConv(_ v: ValueID, depth: Int) -> Bool {
      consumers[v.index].contains { reader in
        let node = graph.nodes[reader]
        if readsAsData(node, v) { return true }
        return depth > 0 && OpRegistry.pattern(of: node) <= .broadcast && feedsConv(node.outputs[0], depth: depth - 1)
      }
    }
    var readByConv = false
    for reader in consumers[value.index] {
      let node = graph.nodes[reader]
      if readsAsData(node, value) {
        readByConv = true
      } else if OpRegistry.pattern(of: node) <= .broadcast {
        if feedsConv(node.outputs[0], depth: 3) { readByConv = true }
      } else if !["slice", "concat"].contains(node.op) {
        // Channel slices and concats read the blocked layout in place (channel remaps).
        return false
      }
    }
    return readByConv
  }

  func blockedCount(_ shape: [Int]) -> Int {
    shape[0] * (shape[1] + vectorWidth - 1) / vectorWidth * vectorWidth * shape[2] * shape[3]
  }

  /// The plain-layout buffer of `v`, converting from blocked layout on first need.
  mutating func plainBuffer(_ v: ValueID, group: GroupID) throws(GraphFuseError)
    -> BufferID
  {
    if let b = kernelPlan.plain[v] { return b }
    try requireComputed(v)
    guard let source = blocked[v] else { return kernelPlan.plainBuffer(graph, v) }
    let target = kernelPlan.plainBuffer(graph, v)
    let s = graph.shape(of: v)
    var schedule = KernelSchedule(
      .toPlain, group: group, inputs: [.blocked(vectorWidth)], output: .plain,
      parallel: [.batch, .channelBlock, .pixelTile])
    schedule.value = graph.values[v].name
    try kernelPlan.addStep(
      BlockedKernels.toPlain(n: s[0], c: s[1], hw: s[2] * s[3], vector: vectorWidth),
      bindings: KernelBindings(["in": source, "out": target]), schedule: schedule)
    return target
  }

  /// The blocked buffer of a rank-4 `v`, converting from plain layout on first need.
  mutating func blockedBuffer(_ v: ValueID, group: GroupID) throws(GraphFuseError)
    -> BufferID
  {
    if let b = blocked[v] { return b }
    try requireComputed(v)
    let s = graph.shape(of: v)
    if graph.constant(v) != nil {
      // A constant is laid out once, when the model is loaded.
      let recipe = ConstantRecipe.blocked(v, vector: vectorWidth)
      let b = kernelPlan.addBuffer(BufferPlan(count: recipe.count(in: graph), storage: .constant(recipe), value: v))
      blocked[v] = b
      return b
    }
    let source = try plainBuffer(v, group: group)
    let target = kernelPlan.addBuffer(BufferPlan(count: blockedCount(s), storage: .arena, value: v))
    var schedule = KernelSchedule(
      .toBlocked, group: group, inputs: [.plain], output: .blocked(vectorWidth),
      parallel: [.batch, .channelBlock, .pixelTile])
    schedule.value = graph.values[v].name
    try kernelPlan.addStep(
      BlockedKernels.toBlocked(n: s[0], c: s[1], hw: s[2] * s[3], vector: vectorWidth),
      bindings: KernelBindings(["in": source, "out": target]), schedule: schedule)
    blocked[v] = target
    return target
  }

  /// Buffers for the epilogue operands, in operand order.
  mutating func operandBuffers(_ e: Epilogue, group: GroupID) throws(GraphFuseError)
    -> [BufferID]
  {
    var result: [BufferID] = []
    for operand in e.operands {
      switch operand {
      case .channel(let v, let channels):
        result.append(kernelPlan.addConstant(.channels(v, scale: 1, channels: channels, vector: vectorWidth), graph))
      case .scalar(let v): result.append(try plainBuffer(v, group: group))
      case .full(let v), .channelTensor(let v), .suffix(let v, _), .broadcast(let v, _),
        .rowBroadcast(let v, _), .imageBroadcast(let v, _, _):
        result.append(try blockedBuffer(v, group: group))
      }
    }
    return result
  }

  /// A new blocked buffer for a group's output value.
  mutating func output(_ v: ValueID) -> BufferID {
    let b = kernelPlan.addBuffer(BufferPlan(count: blockedCount(graph.shape(of: v)), storage: .arena, value: v))
    blocked[v] = b
    return b
  }

  /// Emits the group through a blocked-layout schedule when one applies; false means use the generic one.
  mutating func emitTemplate(group g: GroupID) throws(GraphFuseError) -> Bool {
    try emitTemplate(plan.groups[g], index: g)
  }

  /// The layouts in which an epilogue's operands are read.
  func layouts(_ e: Epilogue) -> [KernelSchedule.Layout] {
    e.operands.map { operand in
      switch operand {
      case .channel: return .packed
      case .scalar: return .plain
      case .full, .channelTensor, .suffix, .broadcast, .rowBroadcast, .imageBroadcast: return .blocked(vectorWidth)
      }
    }
  }

  /// The IR op names of a group's members other than its anchor, in order.
  func epilogueOps(_ group: FusedGroup, anchor: NodeID?) -> [String] {
    group.nodes.filter { $0 != anchor }.map { graph.nodes[$0].op }
  }

  /// Emits `group` (plan group `g`, or one stage of it) through the schedule of its kind
  /// (``GroupKind/of(_:in:)``, the entry of ``GroupKind/schedules``); false, having emitted
  /// nothing, means the kind has no schedule or it does not fit, and the group runs as its stages
  /// or generic loops.
  mutating func emitTemplate(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError)
    -> Bool
  {
    guard let schedule = GroupKind.schedules[GroupKind.of(group, in: graph)] else { return false }
    return try schedule(&self, group, g)
  }

  /// A lone channel multiply fusion folded into the weights of the convs that read it: no kernel.
  mutating func emitScaleFold(_ group: FusedGroup, index g: GroupID) -> Bool {
    guard case .channelScale(let x, let scale) = group.fold else { return false }
    let v = vectorWidth
    scaledInputs[group.outputs[0]] = ScaledInput(x: x, scale: scale)
    kernelPlan.schedules[g.index].append(
      KernelSchedule(.scaleFolded, group: g, inputs: [.blocked(v), .blocked(v)], output: .blocked(v)))
    return true
  }

  /// An elementwise stage fusion folded into the input tiles of the 1×1 convs that read it: no
  /// kernel (the members before it, a concat, run first as their own stage).
  mutating func emitPrologueFold(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    guard case .inputPrologue(let x, let nodes) = group.fold else { return false }
    var stage = group
    let head = group.nodes.filter { !nodes.contains($0) }
    if !head.isEmpty {
      let stages = FusionPlan.makeGroups(graph, partition: [head, nodes])
      if try !emitTemplate(stages[0], index: g) { try emitGeneric(group: stages[0], index: g) }
      stage = stages[1]
    }
    guard let function = Epilogue.make(graph, group: stage, anchor: nil, vector: vectorWidth) else {
      throw GraphFuseError("internal: the folded input prologue \(group.name) is not elementwise", op: "compile")
    }
    let prologue = InputPrologue(x: x, function: function, ops: stage.nodes.map { graph.nodes[$0].op })
    let v = vectorWidth
    prologues[prologue.function.output] = prologue
    kernelPlan.schedules[g.index].append(
      KernelSchedule(.prologueFolded, group: g, inputs: [.blocked(v)] + layouts(prologue.function), output: .blocked(v))
    )
    return true
  }

  /// An elementwise or broadcast group with a blocked operand, as one blocked pass.
  mutating func emitElementwise(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let v = vectorWidth
    guard let e = Epilogue.make(graph, group: group, anchor: nil, vector: v),
      e.operands.contains(where: { if case .full(let x) = $0 { return blocked[x] != nil } else { return false } })
    else { return false }
    let operands = try operandBuffers(e, group: g)
    let nest = BlockedKernels.elementwise(shape: graph.shape(of: e.output), epilogue: e)
    let schedule = KernelSchedule(
      .elementwise, group: g, inputs: layouts(e), output: .blocked(v), parallel: [.batch, .channelBlock, .row],
      epilogue: epilogueOps(group, anchor: nil))
    try kernelPlan.addStep(
      nest, bindings: .numbered("e", operands) + KernelBindings(["out": output(e.output)]), schedule: schedule)
    return true
  }

  /// A channel concat: in place or block copies, then any elementwise tail as its own stage; a
  /// concat that does not fit those runs as a channel remap when it can.
  mutating func emitConcatGroup(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let node = graph.nodes[group.anchor]
    if group.nodes == [group.anchor], try emitConcat(node, group: group, index: g) { return true }
    if try emitConcatStages(group, index: g) { return true }
    if try emitChannelRemap(group, index: g) { return true }
    return try emitRemapThenTail(group, index: g)
  }

  /// A max or average pool over blocked input, its tail as the epilogue.
  mutating func emitPool(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let v = vectorWidth
    let node = graph.nodes[group.anchor]
    guard let input = blocked[node.inputs[0]],
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: v)
    else { return false }
    let operands = try operandBuffers(e, group: g)
    let nest = BlockedKernels.pool(
      node, input: graph.shape(of: node.inputs[0]), output: graph.shape(of: node.outputs[0]), epilogue: e)
    let schedule = KernelSchedule(
      .pool, group: g, inputs: [.blocked(v)] + layouts(e), output: .blocked(v),
      parallel: [.batch, .channelBlock, .row],
      epilogue: epilogueOps(group, anchor: group.anchor))
    try kernelPlan.addStep(
      nest, bindings: KernelBindings(["in": input, "out": output(e.output)]) + .numbered("e", operands),
      schedule: schedule)
    return true
  }

  /// A global average pool over blocked input, written in plain layout, its tail as the epilogue.
  mutating func emitGlobalAveragePool(_ group: FusedGroup, index g: GroupID) throws(GraphFuseError) -> Bool {
    let v = vectorWidth
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0])
    guard let input = blocked[node.inputs[0]], x.count == 4,
      let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: v),
      !e.readsTensors
    else { return false }
    let operands = try operandBuffers(e, group: g)
    let nest = SpatialReduction(n: x[0], c: x[1], pixels: x[2] * x[3], operation: .mean, epilogue: e).nest
    let schedule = KernelSchedule(
      .globalAveragePool, group: g, inputs: [.blocked(v)] + layouts(e), output: .plain,
      parallel: [.batch, .channelBlock],
      epilogue: epilogueOps(group, anchor: group.anchor))
    let result = kernelPlan.plainBuffer(graph, e.output)
    try kernelPlan.addStep(
      nest, bindings: KernelBindings(["in": input, "out": result]) + .numbered("e", operands), schedule: schedule)
    return true
  }

  /// A conv (dense, 1×1, depthwise or grouped) as a blocked register-tiled kernel, its tail
  /// as the epilogue; a folded channel multiply or input prologue applied as it reads.
  mutating func emitConv(_ group: FusedGroup, index g: GroupID)
    throws(GraphFuseError) -> Bool
  {
    if try emitWinogradConv(group, index: g) { return true }
    let v = vectorWidth
    let node = graph.nodes[group.anchor]
    let x = graph.shape(of: node.inputs[0]), out = graph.shape(of: node.outputs[0])
    guard let weight = graph.constant(node.inputs[1]) else { return false }
    let bias: ValueID? = node.inputs.count > 2 ? node.inputs[2] : nil
    guard bias.map({ graph.constant($0) != nil }) ?? true else { return false }
    let groups = node.attributes.int("group", default: 1)
    let depthwise = groups > 1 && groups == x[1] && groups == out[1]
    let grouped = groups == 1 || depthwise ? nil : GroupedConvBlocks(cin: x[1], cout: out[1], groups: groups, vector: v)
    guard groups == 1 || depthwise || grouped != nil else { return false }
    guard let e = Epilogue.make(graph, group: group, anchor: group.anchor, vector: v) else { return false }
    let win = Window2D(node.attributes, kernel: [weight.shape[2], weight.shape[3]])
    // A folded channel multiply: read its unscaled input, scale the weights instead.
    let scaled = groups == 1 ? scaledInputs[node.inputs[0]] : nil
    // A folded elementwise stage: read its input, apply it to each input tile.
    let prologue = groups == 1 ? prologues[node.inputs[0]] : nil
    let source = scaled?.x ?? prologue?.x ?? node.inputs[0]
    let inputBlocked = depthwise || grouped != nil || prologue != nil || blocked[source] != nil || x[1] >= v
    if groups == 1, scaled == nil, prologue == nil, inputBlocked,
      FewChannelConv.applies(cout: out[1], ow: out[3], vector: v, epilogue: e)
    {
      let conv = FewChannelConv(
        n: x[0], cin: x[1], h: x[2], w: x[3], cout: out[1], oh: out[2], ow: out[3], kh: weight.shape[2],
        kw: weight.shape[3], sh: win.strides[0], sw: win.strides[1], pt: win.pads[0], pl: win.pads[1],
        dh: win.dilations[0], dw: win.dilations[1], v: v, epilogue: e)
      return try emitFewChannelConv(conv, group: group, index: g, weight: node.inputs[1], bias: bias)
    }
    if grouped != nil, RotatedGroupConv.applies(cin: x[1], cout: out[1], groups: groups, vector: v) {
      let conv = RotatedGroupConv(
        n: x[0], c: x[1], h: x[2], w: x[3], oh: out[2], ow: out[3], kh: weight.shape[2], kw: weight.shape[3],
        sh: win.strides[0], sw: win.strides[1], pt: win.pads[0], pl: win.pads[1], dh: win.dilations[0],
        dw: win.dilations[1], g: x[1] / groups, v: v, epilogue: e)
      return try emitRotatedGroupConv(conv, group: group, index: g, weight: node.inputs[1], bias: bias)
    }
    var t = BlockedConv(
      n: x[0], cin: x[1], h: x[2], w: x[3], cout: out[1], oh: out[2], ow: out[3],
      kh: weight.shape[2], kw: weight.shape[3], sh: win.strides[0], sw: win.strides[1], pt: win.pads[0],
      pl: win.pads[1],
      dh: win.dilations[0], dw: win.dilations[1], inputBlocked: inputBlocked, depthwise: depthwise, v: v, epilogue: e,
      grouped: grouped)
    t.prologue = prologue?.function
    if prologue != nil {
      t.prologueChunks = TaskSplit.chunks(t.channelGroups, tiles: t.flatTiles.count * x[0], threads: threads)
    }
    let budget = t.flatTiles.count
    if prologue != nil {
      t.flatTileLimit = TaskSplit.tileLimit(
        out[2] * out[3], maxTile: t.maxTile, outer: out[0] * t.prologueChunks, threads: threads)
    } else if t.usesFlatPixels {
      t.flatTileLimit = TaskSplit.tileLimit(
        out[2] * out[3], maxTile: t.maxTile, outer: out[0] * t.channelGroups, threads: threads)
    }
    t.nextWeightsGroups = t.hintsNextWeights ? max(1, threads) : 0
    t.groupsInnermost = t.prefersGroupsInnermost(l2Bytes: target.l2Bytes)
    let input =
      inputBlocked
      ? try blockedBuffer(source, group: g)
      : try plainBuffer(source, group: g)
    let packed: ConstantRecipe
    if depthwise {
      packed = .depthwiseWeight(node.inputs[1], vector: v)
    } else if let grouped {
      packed = .convWeight(
        node.inputs[1], vector: v, nv: t.nv, icBlock: t.icBlock, groups: groups, start: grouped.start,
        count: grouped.count)
    } else {
      packed = .convWeight(node.inputs[1], in: graph, vector: v, nv: t.nv, icBlock: t.icBlock)
    }
    var w = kernelPlan.addConstant(packed, graph)
    let biasBuffer = kernelPlan.addConstant(.channels(bias, scale: 1, channels: out[1], vector: v), graph)
    if let scaled {
      w = try emitScaledWeights(
        packed: w, count: packed.count(in: graph), scale: scaled.scale, template: t,
        kernel: weight.shape[2] * weight.shape[3], group: g)
    }
    var bindings = KernelBindings(["in": input, "wt": w, "bias": biasBuffer])
    if let prologue {
      let all = try operandBuffers(prologue.function, group: g)
      let perChannel = prologue.function.operands.indices.filter { prologue.function.operands[$0].isPerChannelOrScalar }
      bindings = bindings + .numbered("pro", perChannel.map { all[$0] }, indices: perChannel)
      let floats = t.prologueScratchFloats * max(1, threads)
      let scratch = kernelPlan.addBuffer(BufferPlan(count: floats, storage: .arena, value: nil))
      bindings = bindings + KernelBindings(["scratch": scratch])
    }
    let operands = try operandBuffers(e, group: g)
    let result = output(e.output)
    let kind: KernelSchedule.Kind =
      depthwise
      ? .convDepthwise
      : grouped != nil ? .convGrouped : weight.shape[2] * weight.shape[3] == 1 ? .convPointwise : .convDense
    let flat = t.usesFlatPixels
    var reason =
      flat
      ? "runs of consecutive pixels across rows: rows narrower than two tiles"
      : "\(t.nv * t.tilePixels) accumulators within the \(v == 16 ? 32 : 16)-register budget, rows split evenly"
    if flat, t.flatTiles.count != budget {
      reason += "; tiles of \(t.flatTiles.size) px so the tasks split evenly over \(threads) threads"
    }
    if let grouped { reason += "; " + grouped.reason(cin: x[1], cout: out[1], groups: groups) }
    if t.groupsInnermost { reason += "; channel groups innermost: the input is larger than L2, the weights are not" }
    if t.nextWeightsGroups > 0 { reason += "; the weights of the group \(t.nextWeightsGroups) on hinted into L2" }
    if t.compensatedSum { reason += "; compensated sums: one output pixel, a matrix-vector product" }
    if prologue != nil {
      reason =
        "runs of consecutive pixels, the input prologue applied once per tile into a per-thread scratch"
        + (t.prologueChunks > 1 ? "; channel groups in \(t.prologueChunks) chunks so every thread has work" : "")
    }
    var schedule = KernelSchedule(
      kind, group: g,
      inputs: [inputBlocked ? .blocked(v) : .plain, scaled == nil ? .packed : .blocked(v), .packed]
        + (prologue.map { p in zip(p.function.operands, layouts(p.function)).filter(\.0.isPerChannelOrScalar).map(\.1) }
          ?? []) + layouts(e),
      output: .blocked(v),
      tile: .init(pixels: t.tilePixels, vectors: t.nv, reason: reason),
      parallel: t.groupsInnermost
        ? [.batch, .row, .channelGroup]
        : (x[0] > 1 ? [.channelGroup, .batch] : [.batch, .channelGroup]) + [flat ? .pixelTile : .row],
      epilogue: epilogueOps(group, anchor: group.anchor))
    schedule.prologue = prologue?.ops ?? []
    let fmas = out[0] * out[1] * out[2] * out[3] * x[1] / groups * weight.shape[2] * weight.shape[3]
    schedule.onCaller = 2 * fmas < Self.callerWork
    bindings = bindings + .numbered("e", operands) + KernelBindings(["out": result])
    try kernelPlan.addStep(t.nest, bindings: bindings, schedule: schedule)
    return true
  }
}
