/// Where a buffer's data lives at run time.
enum BufferStorage: Equatable {
  /// Packed once when the model is loaded, from a recipe (weights, per-channel vectors).
  case constant(ConstantRecipe)
  /// In the per-run arena (graph inputs, intermediates, graph outputs).
  case arena
}

/// One buffer of a kernel plan: its element count and storage.
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

/// One kernel launch: a function over task range `[0, tasks)` reading and writing buffers.
struct StepPlan {
  var symbol: String
  var buffers: [BufferID]
  var tasks: Int
  /// The plan group the step belongs to (layout changes count toward the group that needs them).
  var group: GroupID
  /// Runs every task on the calling thread, never through the pool (tiny work).
  var onCaller = false
  /// The pool deals the tasks in contiguous shares (``KernelSchedule/contiguousShares``).
  var contiguousShares = false

  /// The bit of a task count that asks `gf_parallel` for contiguous shares (`GF_SHARES` in C).
  static let sharesBit = 1 << 40

  /// The task count `gf_parallel` takes: negative for a step that runs on the calling thread,
  /// with ``sharesBit`` set for one whose tasks go in contiguous shares.
  var launchTasks: Int { onCaller ? -tasks : contiguousShares ? tasks | Self.sharesBit : tasks }
}

/// One distinct kernel function of a plan: the loop nest Codegen renders under `symbol`.
struct ScheduledFunction: Sendable {
  /// The entry point, `void symbol(float *const *bufs, long task_begin, long task_end)`.
  var symbol: String
  var nest: LoopNest
}

/// A whole model as the scheduler plans it, as data: buffers (constants as packing recipes),
/// distinct kernel functions (loop nests), launches, and the schedule of every group's kernels.
/// Nothing here is packed, rendered or compiled: Codegen renders ``functions`` once each, the
/// runtime packs the recipes, plans memory, compiles and runs the steps.
struct KernelPlan {
  var buffers: [BufferPlan] = []
  var steps: [StepPlan] = []
  /// The kernel functions, each once: steps whose nests are structurally equal share a symbol.
  var functions: [ScheduledFunction] = []
  /// The function index of each distinct nest (``LoopNest/StructuralKey``).
  private var functionOfNest: [LoopNest.StructuralKey: Int] = [:]
  /// The buffers holding graph inputs and outputs in plain layout, in graph order.
  var inputBuffers: [BufferID] = []
  var outputBuffers: [BufferID] = []
  /// Buffer of each value in plain layout.
  var plain: [ValueID: BufferID] = [:]
  /// The schedules of each plan group's kernels (layout changes it needs included), in plan order.
  var schedules: [[KernelSchedule]] = []
  /// Floats per SIMD vector of the blocked layout.
  var vectorWidth = 16
  /// The run's status buffer, when some kernel checks runtime indices (``IndexExpr/checked``):
  /// zeroed before every run, alive through all of it, and read after it for an index error.
  private(set) var status: BufferID?

  /// The status buffer, created on first use.
  mutating func statusBuffer() -> BufferID {
    if let status { return status }
    let b = addBuffer(BufferPlan(count: 16, storage: .arena, value: nil))
    status = b
    return b
  }

  /// The plain-layout buffer of a value, created on first use.
  mutating func plainBuffer(_ graph: Graph, _ v: ValueID) -> BufferID {
    if let b = plain[v] { return b }
    let count = graph.shape(of: v).reduce(1, *)
    let storage: BufferStorage = graph.constant(v) != nil ? .constant(.plain(v)) : .arena
    let b = addBuffer(BufferPlan(count: count, storage: storage, value: v))
    plain[v] = b
    return b
  }

  /// Adds a buffer and returns its id.
  mutating func addBuffer(_ buffer: BufferPlan) -> BufferID {
    buffers.append(buffer)
    return BufferID(buffers.count - 1)
  }

  /// Adds a constant buffer packed from `recipe` and returns its id.
  mutating func addConstant(_ recipe: ConstantRecipe, _ graph: Graph) -> BufferID {
    addBuffer(BufferPlan(count: recipe.count(in: graph), storage: .constant(recipe), value: nil))
  }

  /// Adds the launch of `nest` (tasks: its parallel extent) with each of its buffer parameters
  /// bound by name. The names must be exactly the nest's parameters, and a bound buffer must
  /// hold at least the floats the parameter declares; anything else is a scheduler bug, thrown.
  /// A nest structurally equal to one already added (``LoopNest/StructuralKey``: the same
  /// parameters and statements) is not added again: the step launches the earlier function.
  mutating func addStep(_ nest: LoopNest, bindings: KernelBindings, schedule: KernelSchedule) throws(GraphFuseError) {
    assert(nest.localsShadowingBuffers.isEmpty, "\(nest.name): locals \(nest.localsShadowingBuffers) hide buffers")
    let buffers = try bindings.ordered(for: nest, in: self)
    let key = nest.structuralKey
    let symbol: String
    if let f = functionOfNest[key] {
      symbol = functions[f].symbol
    } else {
      symbol = "gf_k\(steps.count)"
      functionOfNest[key] = functions.count
      functions.append(ScheduledFunction(symbol: symbol, nest: nest))
    }
    let tasks = max(0, nest.taskCount)
    let group = schedule.group
    let shares = !schedule.onCaller && tasks > 1 && schedule.kind.dealsContiguousShares
    steps.append(
      StepPlan(
        symbol: symbol, buffers: buffers, tasks: tasks, group: group, onCaller: schedule.onCaller,
        contiguousShares: shares))
    var done = schedule
    done.contiguousShares = shares
    done.symbol = symbol
    done.tasks = tasks
    schedules[group.index].append(done)
  }

  /// Renames every function `gf_kN` to `PREFIX_kN` (and the steps that launch it), so that the
  /// kernels of several plans can share one source file (a library for several batch sizes).
  mutating func prefixSymbols(_ prefix: String) {
    func renamed(_ symbol: String) -> String {
      prefix + "_" + (symbol.hasPrefix("gf_") ? String(symbol.dropFirst(3)) : symbol)
    }
    for f in functions.indices { functions[f].symbol = renamed(functions[f].symbol) }
    for s in steps.indices { steps[s].symbol = renamed(steps[s].symbol) }
    for g in schedules.indices {
      for k in schedules[g].indices { schedules[g][k].symbol = schedules[g][k].symbol.map(renamed) }
    }
  }

  /// Ops whose work is a contraction, meant to run on register-tiled kernels.
  static let contractions: Set<String> = ["conv2d", "conv_transpose2d", "gemm", "matmul", "einsum"]

  /// The groups of `plan` holding a contraction (``contractions``) that launch a generic loop
  /// nest: off the fast path, typically one to two orders of magnitude slower than a tiled kernel.
  func offFastPath(_ graph: Graph, plan: FusionPlan) -> [GroupID] {
    plan.groups.ids.filter { g in
      plan.groups[g].nodes.contains { Self.contractions.contains(graph.nodes[$0].op) }
        && schedules[g.index].contains { $0.kind == .loops }
    }
  }

  /// The buffer `b` finally lives in, following views (of views), and its offset there in floats.
  func root(of b: BufferID) -> (BufferID, Int) {
    var (root, offset) = (b, 0)
    while let view = buffers[root].view { (root, offset) = (view.base, offset + view.offset) }
    return (root, offset)
  }

  /// The first launch that reads an arena buffer no launch before it wrote, and that buffer: a
  /// scheduler bug (a stage ordered before the stage that computes its input), which would run and
  /// silently read stale memory. A buffer counts as written once any part of the memory it lies in
  /// is (views share their root), so only reads of memory nothing wrote yet are caught.
  func firstUnwrittenRead() -> (step: Int, buffer: BufferID)? {
    let nests = Dictionary(functions.map { ($0.symbol, $0.nest) }, uniquingKeysWith: { first, _ in first })
    var written = Set(inputBuffers.map { root(of: $0).0 })
    for (i, step) in steps.enumerated() {
      guard let nest = nests[step.symbol] else { continue }
      let params = zip(nest.buffers, step.buffers).filter { buffers[$0.1].storage == .arena }
      for (decl, b) in params where !decl.isOutput && !written.contains(root(of: b).0) { return (i, b) }
      for (decl, b) in params where decl.isOutput { written.insert(root(of: b).0) }
    }
    return nil
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
