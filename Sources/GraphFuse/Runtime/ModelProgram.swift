/// Where a buffer's data lives at run time.
enum BufferStorage: Equatable {
  /// Packed once at compile time (weights, reordered weights, per-channel vectors).
  case constant([Float])
  /// In the per-run arena (graph inputs, intermediates, graph outputs).
  case arena
}

/// One buffer of a compiled model: its element count and storage.
struct BufferPlan {
  var count: Int
  var storage: BufferStorage
  /// The graph value it holds (in plain or blocked layout), if any.
  var value: ValueID?
  /// Set when the buffer is a slice of another arena buffer instead of memory of its own: a
  /// concat input written straight into its place in the concat's output.
  var view: BufferView?
}

/// A buffer that lives inside another: `count` floats starting `offset` floats into `base`.
struct BufferView: Equatable {
  var base: BufferID
  var offset: Int
}

/// One kernel launch: a C function over task range `[0, tasks)` reading and writing buffers.
struct StepPlan {
  var symbol: String
  var buffers: [BufferID]
  var tasks: Int
  /// The plan group the step belongs to (layout changes count toward the group that needs them).
  var group: GroupID
  /// Runs every task on the calling thread, never through the pool (tiny work).
  var onCaller = false

  /// The task count `gf_parallel` takes: negative for a step that runs on the calling thread.
  var launchTasks: Int { onCaller ? -tasks : tasks }
}

/// A whole model as buffers, steps and one C translation unit.
struct ModelProgram {
  var buffers: [BufferPlan] = []
  var steps: [StepPlan] = []
  /// The kernel functions, each emitted once: steps with the same kernel share its symbol.
  var functions: [KernelFunction] = []
  /// The symbol of each distinct kernel text (with its own symbol blanked out).
  private var symbolOfKernel: [String: String] = [:]
  /// The buffers holding graph inputs and outputs in plain layout, in graph order.
  var inputBuffers: [BufferID] = []
  var outputBuffers: [BufferID] = []
  /// Buffer of each value in plain layout.
  var plain: [ValueID: BufferID] = [:]
  /// The schedules of each plan group's kernels (layout changes it needs included), in plan order.
  var schedules: [[KernelSchedule]] = []
  /// Floats per SIMD vector of the blocked layout.
  var vectorWidth = 16

  /// The C source of the whole model, split into parts as `split` says.
  func source(_ split: ModelSource.Split = .machine) -> ModelSource {
    ModelSource(functions: functions, vectorWidth: vectorWidth, split: split)
  }

  /// The plain-layout buffer of a value, created on first use.
  mutating func plainBuffer(_ graph: Graph, _ v: ValueID) -> BufferID {
    if let b = plain[v] { return b }
    let count = graph.shape(of: v).reduce(1, *)
    let storage: BufferStorage = graph.constant(v).map { .constant($0.data) } ?? .arena
    let b = addBuffer(BufferPlan(count: count, storage: storage, value: v))
    plain[v] = b
    return b
  }

  /// Adds a buffer and returns its id.
  mutating func addBuffer(_ buffer: BufferPlan) -> BufferID {
    buffers.append(buffer)
    return BufferID(buffers.count - 1)
  }

  /// Adds a C function rendered from `nest` and its launch. A function identical to one already
  /// emitted (same schedule and shapes: the same text up to its symbol) is not emitted again; the
  /// step launches the earlier one.
  private mutating func addStep(
    _ function: String, symbol: String, buffers: [BufferID], tasks: Int, schedule: KernelSchedule, nest: LoopNest
  ) {
    let group = schedule.group
    let key = KernelFunction.blanking(symbol, in: function)
    var launched = symbol
    if let existing = symbolOfKernel[key] {
      launched = existing
    } else {
      symbolOfKernel[key] = symbol
      functions.append(KernelFunction(symbol: symbol, text: function, nest: nest))
    }
    steps.append(
      StepPlan(symbol: launched, buffers: buffers, tasks: max(0, tasks), group: group, onCaller: schedule.onCaller))
    var done = schedule
    done.symbol = launched
    done.tasks = max(0, tasks)
    schedules[group.index].append(done)
  }

  /// Adds the kernel a loop nest renders to and its launch (tasks: the nest's parallel extent).
  mutating func addStep(_ nest: LoopNest, buffers: [BufferID], schedule: KernelSchedule) {
    assert(nest.localsShadowingBuffers.isEmpty, "\(nest.name): locals \(nest.localsShadowingBuffers) hide buffers")
    let symbol = nextSymbol
    addStep(
      CEmitter.function(nest, symbol: symbol), symbol: symbol, buffers: buffers, tasks: nest.taskCount,
      schedule: schedule, nest: nest)
  }

  /// The next unused kernel symbol.
  var nextSymbol: String { "gf_k\(steps.count)" }

  /// Builds the program: each group through its schedule, generic loops when no template fits.
  static func build(_ graph: Graph, plan: FusionPlan, vectorWidth: Int, threads: Int = 1) throws(GraphFuseError)
    -> ModelProgram
  {
    let order = try executionOrder(graph, plan: plan)
    var program = ModelProgram()
    program.vectorWidth = vectorWidth
    for v in graph.inputs { program.inputBuffers.append(program.plainBuffer(graph, v)) }
    var layouts = LayoutPlanner(graph: graph, plan: plan, vectorWidth: vectorWidth)
    layouts.threads = threads
    program.schedules = [[KernelSchedule]](repeating: [], count: plan.groups.count)
    for g in order {
      let group = plan.groups[g]
      if try layouts.emitTemplate(group: g, into: &program) { continue }
      // A group no blocked schedule runs whole (a conv chain that does not fit) runs stage by stage.
      let stages = group.stages(in: graph)
      for stage in stages {
        if stages.count > 1, try layouts.emitTemplate(stage, index: g, into: &program) { continue }
        try program.emitGeneric(graph, group: stage, index: g, layouts: &layouts)
      }
    }
    for v in graph.outputs {
      program.outputBuffers.append(try layouts.plainBuffer(v, into: &program, group: GroupID(plan.groups.count - 1)))
    }
    return program
  }

  /// The generic schedule: inlined loops in plain layout.
  mutating func emitGeneric(_ graph: Graph, group: FusedGroup, index g: GroupID, layouts: inout LayoutPlanner)
    throws(GraphFuseError)
  {
    var lowering = GroupLowering(graph: graph, group: group)
    // A rank-4 input that a template left in blocked layout only (a depthwise conv before a
    // transpose to channels-last) is read in place through its blocked index map.
    for v in group.inputs where layouts.blocked[v] != nil && plain[v] == nil && graph.shape(of: v).count == 4 {
      lowering.blockedInputs[v] = vectorWidth
    }
    for var nest in try lowering.lower() {
      // Innermost loops over contiguous elements become explicit vector loops (softmax and layer
      // norm rows, elementwise tails with exp/erf/tanh that clang would not vectorize).
      nest.body = InnerVectorize.apply(nest.body, width: vectorWidth)
      var bufferIDs: [BufferID] = []
      for b in nest.buffers {
        if !b.isOutput, lowering.blockedInputs[b.value] != nil, let blocked = layouts.blocked[b.value] {
          bufferIDs.append(blocked)
          continue
        }
        bufferIDs.append(
          b.isOutput ? plainBuffer(graph, b.value) : try layouts.plainBuffer(b.value, into: &self, group: g))
      }
      let inputs = nest.buffers.filter { !$0.isOutput }.map { b in
        lowering.blockedInputs[b.value].map { KernelSchedule.Layout.blocked($0) } ?? .plain
      }
      let schedule = KernelSchedule(
        .loops, group: g, inputs: inputs, output: .plain, parallel: nest.taskCount > 1 ? [.element] : [],
        epilogue: group.nodes.filter { $0 != group.anchor }.map { graph.nodes[$0].op })
      addStep(nest, buffers: bufferIDs, schedule: schedule)
    }
  }

  /// The order to run the groups in: plan order where it respects the data dependencies,
  /// otherwise the earliest group whose inputs are ready. A plan must cover every node exactly
  /// once, and its groups must not depend on each other in a cycle.
  static func executionOrder(_ graph: Graph, plan: FusionPlan) throws(GraphFuseError) -> [GroupID] {
    var groupOf = [Int](repeating: -1, count: graph.nodes.count)
    for (g, group) in plan.groups.enumerated() {
      for n in group.nodes {
        guard graph.nodes.indices.contains(n.index) else {
          throw GraphFuseError("group \(group.name) names node \(n), the graph has \(graph.nodes.count)", op: "compile")
        }
        guard groupOf[n.index] == -1 else {
          throw GraphFuseError("node is in two groups of the plan", node: graph.nodes[n].name, op: graph.nodes[n].op)
        }
        groupOf[n.index] = g
      }
    }
    if let missing = groupOf.firstIndex(of: -1) {
      throw GraphFuseError(
        "node is in no group of the plan", node: graph.nodes[missing].name, op: graph.nodes[missing].op)
    }
    var dependencies = [Set<Int>](repeating: [], count: plan.groups.count)
    for (g, group) in plan.groups.enumerated() {
      for n in group.nodes {
        for input in graph.nodes[n].inputs {
          guard let p = graph.producer(of: input) else { continue }
          if groupOf[p.index] != g { dependencies[g].insert(groupOf[p.index]) }
        }
      }
    }
    var done = [Bool](repeating: false, count: plan.groups.count), order: [Int] = []
    while order.count < plan.groups.count {
      guard let next = plan.groups.indices.first(where: { !done[$0] && dependencies[$0].allSatisfy { done[$0] } })
      else {
        let stuck = plan.groups.indices.first { !done[$0] }!
        throw GraphFuseError(
          "groups of the plan depend on each other in a cycle (at \(plan.groups[stuck].name))", op: "compile")
      }
      done[next] = true
      order.append(next)
    }
    return order.map(GroupID.init)
  }
}
