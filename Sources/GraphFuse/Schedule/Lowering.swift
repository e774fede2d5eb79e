/// Lowering of single groups for inspection: the loop nest and the C it becomes.
public enum Lowering {
  /// The generic loop nest of group `group` (all its outputs in one printable nest).
  public static func loops(_ graph: Graph, plan: FusionPlan, group: GroupID) throws(GraphFuseError) -> LoopNest {
    guard plan.groups.indices.contains(group.index) else {
      throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower")
    }
    return try referenceNest(
      graph, plan: plan, group: group, program: ModelProgram.build(graph, plan: plan, vectorWidth: vectorWidth))
  }

  /// The generic nest of `group`, headed by the schedules `program` gave the group's blocked kernels.
  private static func referenceNest(_ graph: Graph, plan: FusionPlan, group: GroupID, program: ModelProgram)
    throws(GraphFuseError) -> LoopNest
  {
    var nests: [LoopNest] = []
    for stage in plan.groups[group].stages(in: graph) {
      var lowering = GroupLowering(graph: graph, group: stage)
      nests += try lowering.lower()
    }
    let templates = program.schedules[group.index].filter { ![.loops, .toBlocked, .toPlain].contains($0.kind) }
    let schedule = templates.isEmpty ? nil : templates.map(\.description).joined(separator: "; ")
    var seen = Set<String>()
    let buffers = nests.flatMap(\.buffers).filter { seen.insert($0.name).inserted }
    return LoopNest(name: plan.groups[group].name, buffers: buffers, body: nests.flatMap(\.body), schedule: schedule)
  }

  /// The blocked-layout vector width of this machine (16 with AVX-512, else 8), read from the CPU
  /// flags: printing a group needs no compiler.
  private static var vectorWidth: Int { System.vectorWidth }

  /// The loop nests that run for group `group`, in launch order: each kernel appears as the loop
  /// nest its C was rendered from, headed by its kernel symbol and schedule.
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
    guard plan.groups.indices.contains(group.index) else {
      throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower")
    }
    let program = try ModelProgram.build(graph, plan: plan, vectorWidth: vectorWidth, threads: options.threads)
    var nests: [LoopNest] = []
    var seen = Set<String>()
    for step in program.steps where step.group == group && seen.insert(step.symbol).inserted {
      guard var nest = program.functions.first(where: { $0.symbol == step.symbol })?.nest else { continue }
      let schedule = program.schedules[group.index].first { $0.symbol == step.symbol }
      nest.name = "\(plan.groups[group].name) as \(step.symbol)\n// schedule: \(schedule?.description ?? "")"
      nests.append(nest)
    }
    return (nests, program.schedules[group.index].filter { $0.symbol == nil })
  }

  /// The C of group `group` as the compiled model runs it: the kernels its steps launch.
  public static func cSource(_ graph: Graph, plan: FusionPlan, group: GroupID, threads: Int? = nil)
    throws(GraphFuseError)
    -> String
  {
    guard plan.groups.indices.contains(group.index) else {
      throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower")
    }
    let program = try ModelProgram.build(
      graph, plan: plan, vectorWidth: vectorWidth, threads: CompileOptions(threads: threads).threads)
    var symbols: [String] = []
    for step in program.steps where step.group == group && !symbols.contains(step.symbol) {
      symbols.append(step.symbol)
    }
    return symbols.compactMap { s in program.functions.first { $0.symbol == s }?.text }.joined(separator: "\n\n")
  }

  /// The whole model's C source, byte for byte the file `CompiledModel.compile` with the same
  /// options compiles and keeps in the cache beside the library.
  public static func modelSource(_ graph: Graph, plan: FusionPlan, options: CompileOptions = .init())
    throws(GraphFuseError) -> String
  {
    let toolchain = try Toolchain.find(portable: options.portable, cacheDirectory: options.cacheDirectory)
    let program = try ModelProgram.build(
      graph, plan: plan, vectorWidth: toolchain.hasAVX512 ? 16 : 8, threads: options.threads)
    return program.source(options.sourceSplit).text
  }
}
