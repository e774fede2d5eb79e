extension LoopNest {
  /// What the function a nest renders to depends on: its parameters' names and roles, in order,
  /// and its statements. Not the nest's name, its parameters' sizes or graph values, the
  /// schedule note, nor the extent of the loop split into tasks (the launch passes the task
  /// range, so kernels that differ only in their task count share a function). Two nests with
  /// equal keys render to the same C up to the symbol, so a kernel plan emits one function for
  /// both (found by hashing the key, not by comparing C text).
  /// Float literals compare as numbers: a nest with a NaN literal never matches another.
  struct StructuralKey: Hashable, Sendable {
    var parameters: [Parameter]
    var body: [Stmt]

    /// A parameter as the function sees it.
    struct Parameter: Hashable, Sendable {
      var name: String
      var isOutput: Bool
    }
  }

  /// The nest's ``StructuralKey``.
  var structuralKey: StructuralKey {
    var split = false
    // The first parallel loop in statement order is the one the renderer runs over the tasks.
    func blankingTaskExtent(_ stmts: [Stmt]) -> [Stmt] {
      stmts.map { s in
        guard !split else { return s }
        switch s {
        case .loop(let v, _, .parallel, let body):
          split = true
          return .loop(variable: v, extent: 0, kind: .parallel, body: body)
        case .loop(let v, let extent, let kind, let body):
          return .loop(variable: v, extent: extent, kind: kind, body: blankingTaskExtent(body))
        case .when(let cs, let body): return .when(cs, blankingTaskExtent(body))
        default: return s
        }
      }
    }
    return StructuralKey(
      parameters: buffers.map { .init(name: $0.name, isOutput: $0.isOutput) }, body: blankingTaskExtent(body))
  }
}
