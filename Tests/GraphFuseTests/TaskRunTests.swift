import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Generic loop nests whose tasks would hold a few elements take a run of the last parallel axis
/// per task (``TaskRun``); the others keep one index per task; results match the reference.
@Suite struct TaskRunTests {
  @Test func smallTasksTakeARunOfTheLastParallelAxis() throws {
    // CoaT's heads of 8: `[3, 8, 3137, 8]`, the first three axes parallel, 8 elements inside.
    let run = try #require(TaskRun(shape: [3, 8, 3137, 8], lead: 3))
    #expect(run.axis == 2 && run.extent == 3137 && run.length == 128 && run.blocks == 25)
    #expect(TaskRun(shape: [3137, 8], lead: 1)?.blocks == 25)
    // 768 elements a task, or nothing parallel: unchanged.
    #expect(TaskRun(shape: [1, 197, 768], lead: 2) == nil)
    #expect(TaskRun(shape: [8], lead: 0) == nil)
    // Few tasks, however small: unchanged.
    #expect(TaskRun(shape: [4, 3, 5], lead: 2) == nil)
  }

  struct Split: Sendable, CustomStringConvertible {
    var tokens, heads, tasks: Int
    var guarded: Bool
    var description: String { "\(tokens) tokens, \(heads) heads" }
  }

  /// `[tokens, 3·heads·8]` split into `[3, heads, tokens, 8]` (heads of 8 channels): one run of
  /// all 100 tokens per head (12 tasks, where 1,200 tasks of 8 floats were), or runs of 128 of
  /// 1,000 tokens, the last one 104 long and guarded (48 tasks).
  @Test(arguments: [
    Split(tokens: 100, heads: 4, tasks: 3 * 4, guarded: false),
    Split(tokens: 1000, heads: 2, tasks: 3 * 2 * 8, guarded: true),
  ])
  func headSplitRunsTokensInsideATask(_ split: Split) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [split.tokens, 3 * split.heads * 8])
    b.output(try b.transpose(try b.reshape(x, to: [split.tokens, 3, split.heads, 8]), perm: [1, 2, 0, 3]))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16)
    let nest = try #require(plan.functions.first?.nest)
    #expect(nest.taskCount == split.tasks, "\(nest)")
    let text = CEmitter.function(nest, symbol: "f")
    #expect(text.contains("for (long j"), "\(text)")
    #expect(text.contains("< \(split.tokens)ul") == split.guarded)
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [split.tokens, 3 * split.heads * 8], seed: 91)], context: "\(split)")
  }
}
