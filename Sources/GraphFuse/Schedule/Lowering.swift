/// Lowering of single groups for inspection: the loop nest and the C it becomes.
public enum Lowering {
  /// The generic loop nest of group `group` (all its outputs in one printable nest).
  public static func loops(_ graph: Graph, plan: FusionPlan, group: Int) throws(GraphFuseError) -> LoopNest {
    guard plan.groups.indices.contains(group) else { throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower") }
    var lowering = GroupLowering(graph: graph, group: plan.groups[group])
    let nests = try lowering.lower()
    return LoopNest(name: plan.groups[group].name, buffers: nests[0].buffers, body: nests.flatMap(\.body))
  }

  /// The C source of group `group` as the compiled model runs it (template or generic schedule).
  public static func cSource(_ graph: Graph, plan: FusionPlan, group: Int) throws(GraphFuseError) -> String {
    guard plan.groups.indices.contains(group) else { throw GraphFuseError("no group \(group) in a plan of \(plan.groups.count)", op: "lower") }
    let toolchain = try? Toolchain.find(portable: false, cacheDirectory: nil)
    let program = try ModelProgram.build(graph, plan: plan, vectorWidth: toolchain?.hasAVX512 == false ? 8 : 16)
    return zip(program.steps, program.functions).filter { $0.0.group == group }.map(\.1).joined(separator: "\n\n")
  }
}
