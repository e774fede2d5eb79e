/// A run of indices of one axis per task, for a generic loop nest whose parallel tasks would
/// otherwise hold a few elements each: the last of the flattened parallel axes is long and the
/// axes inside it are short. CoaT's split of `[3137, 192]` into heads of 8 channels (`[3, 8, 3137,
/// 8]`) made 75,288 tasks of 8 floats, each paying the task's index divisions for one half-vector
/// copy: 2.4 MB moved at 7 GB/s. A task takes `length` indices of the axis instead, a serial loop
/// around the inner ones, enough for ``elementsPerTask`` elements. Loops of fewer than
/// ``manyTasks`` tasks keep one index per task.
struct TaskRun: Equatable {
  /// The axis split: the last of the parallel loop's axes.
  var axis: Int
  /// Its extent, the indices a task takes, and the runs that cover it (the last may be short).
  var extent: Int, length: Int, blocks: Int

  /// Elements below which a task counts as small.
  static let smallTask = 256
  /// Elements a task of runs aims at.
  static let elementsPerTask = 1024

  /// Tasks from which a loop of small ones is worth regrouping (a few hundred small tasks cost
  /// less than a microsecond of dispatch in all).
  static let manyTasks = 1024

  /// The run for an output of `shape` whose first `lead` axes make the parallel loop; nil when
  /// its tasks are not small, or not many (or there is no axis to split).
  init?(shape: [Int], lead: Int) {
    guard lead > 0, lead <= shape.count else { return nil }
    let axis = lead - 1
    let inner = shape[lead...].reduce(1, *)
    let tasks = shape[..<lead].reduce(1, *)
    guard inner < Self.smallTask, tasks >= Self.manyTasks, shape[axis] > 1 else { return nil }
    let length = min(shape[axis], (Self.elementsPerTask + inner - 1) / inner)
    guard length > 1 else { return nil }
    self.axis = axis
    self.extent = shape[axis]
    self.length = length
    self.blocks = (extent + length - 1) / length
  }

  /// The serial loop over task `task`'s run: `variable` = run · length + `j`, the body guarded when
  /// the last run is short.
  func loop(_ variable: String, task: IndexExpr, fresh j: String, body: [Stmt]) -> [Stmt] {
    let index = (task % blocks) * length + .variable(j)
    var inside: [Stmt] = [.let_(variable, index)]
    if extent % length != 0 {
      inside.append(.when([.inRange(.variable(variable), 0, extent)], body))
    } else {
      inside += body
    }
    return [.loop(variable: j, extent: length, kind: .serial, body: inside)]
  }
}
