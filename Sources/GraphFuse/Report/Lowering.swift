/// Lowering of groups for inspection (`graphfuse lower`, `GRAPHFUSE_DEBUG=3`): the loop nests a
/// group runs and the C they become. It schedules the model once (no weights packed, no
/// compiler run) and renders only the functions of the groups it prints.
public enum Lowering {
  /// The generic loop nest of group `group` (all its outputs in one printable nest).
  public static func loops(_ graph: Graph, plan: FusionPlan, group: GroupID) throws(GraphFuseError) -> LoopNest {
    try check(group, plan)
    let kernels = try Scheduler.schedule(graph, plan: plan, target: CompileOptions(threads: 1).target)
    return try loops(graph, plan: plan, group: group, kernels: kernels)
  }

  /// The generic nest of `group`, headed by the schedules `kernels` gave the group's blocked kernels.
  static func loops(_ graph: Graph, plan: FusionPlan, group: GroupID, kernels: KernelPlan) throws(GraphFuseError)
    -> LoopNest
  {
    var nests: [LoopNest] = []
    for stage in plan.groups[group].stages(in: graph) {
      var lowering = GroupLowering(graph: graph, group: stage)
      nests += try lowering.lower()
    }
    let templates = kernels.schedules[group.index].filter { ![.loops, .toBlocked, .toPlain].contains($0.kind) }
    let schedule = templates.isEmpty ? nil : templates.map(\.description).joined(separator: "; ")
    var seen = Set<String>()
    let buffers = nests.flatMap(\.buffers).filter { seen.insert($0.name).inserted }
    return LoopNest(name: plan.groups[group].name, buffers: buffers, body: nests.flatMap(\.body), schedule: schedule)
  }

  /// The loop nests that run for group `group`, in launch order: each kernel appears as the loop
  /// nest its C is rendered from, headed by its kernel symbol and schedule.
  public static func runningLoops(_ graph: Graph, plan: FusionPlan, group: GroupID, options: CompileOptions = .init())
    throws(GraphFuseError)
    -> [LoopNest]
  {
    try runningKernels(graph, plan: plan, group: group, options: options).nests
  }

  /// ``runningLoops(_:plan:group:options:)`` and the schedules of the group that launch no kernel
  /// (a concat in place, a multiply or an elementwise stage folded into the convs that read it).
  public static func runningKernels(
    _ graph: Graph, plan: FusionPlan, group: GroupID, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> (nests: [LoopNest], kernelFree: [KernelSchedule]) {
    try runningKernels(graph, plan: plan, groups: [group], options: options)[0]
  }

  /// ``runningKernels(_:plan:group:options:)`` of several groups, the model scheduled once.
  public static func runningKernels(
    _ graph: Graph, plan: FusionPlan, groups: [GroupID], options: CompileOptions = .init()
  ) throws(GraphFuseError) -> [(nests: [LoopNest], kernelFree: [KernelSchedule])] {
    for g in groups { try check(g, plan) }
    let kernels = try Scheduler.schedule(graph, plan: plan, target: options.target)
    let nestOf = Dictionary(kernels.functions.map { ($0.symbol, $0.nest) }, uniquingKeysWith: { a, _ in a })
    var stepsOf = [[StepPlan]](repeating: [], count: plan.groups.count)
    for step in kernels.steps { stepsOf[step.group.index].append(step) }
    return groups.map { group in
      var nests: [LoopNest] = []
      var seen = Set<String>()
      for step in stepsOf[group.index] where seen.insert(step.symbol).inserted {
        guard var nest = nestOf[step.symbol] else { continue }
        // Each parameter with the size of the buffer this launch binds to it (a blocked kernel
        // declares sizes it does not index by, such as its packed weights, as 0).
        for (k, b) in step.buffers.enumerated() where nest.buffers.indices.contains(k) {
          nest.buffers[k].count = kernels.buffers[b].count
        }
        let schedule = kernels.schedules[group.index].first { $0.symbol == step.symbol }
        nest.name = "\(plan.groups[group].name) as \(step.symbol)\n// schedule: \(schedule?.description ?? "")"
        nests.append(nest)
      }
      return (nests, kernels.schedules[group.index].filter { $0.symbol == nil })
    }
  }

  /// The C of group `group` as the compiled model runs it: the kernels its steps launch.
  public static func cSource(_ graph: Graph, plan: FusionPlan, group: GroupID, threads: Int? = nil)
    throws(GraphFuseError)
    -> String
  {
    try check(group, plan)
    let kernels = try Scheduler.schedule(graph, plan: plan, target: CompileOptions(threads: threads).target)
    var symbols: [String] = []
    for step in kernels.steps where step.group == group && !symbols.contains(step.symbol) {
      symbols.append(step.symbol)
    }
    return symbols.compactMap { s in kernels.functions.first { $0.symbol == s }.map { KernelFunction($0).text } }
      .joined(separator: "\n\n")
  }

  /// The whole model's C source, byte for byte the file a compiled model with the same options
  /// compiles and keeps in the cache beside the library (no compiler is run to print it).
  public static func modelSource(_ graph: Graph, plan: FusionPlan, options: CompileOptions = .init())
    throws(GraphFuseError) -> String
  {
    ModelSource(try Scheduler.schedule(graph, plan: plan, target: options.target), split: options.sourceSplit).text
  }

  private static func check(_ group: GroupID, _ plan: FusionPlan) throws(GraphFuseError) {
    guard plan.groups.indices.contains(group.index) else {
      throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower")
    }
  }
}
