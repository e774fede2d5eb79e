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

  /// `[tokens, 3·heads·d]` split into `[3, heads, tokens, d]` with d = 8: 75 tasks of 128 tokens
  /// (the last run short) instead of 2,400 tasks of 8 floats.
  @Test func headSplitRunsTokensInsideATask() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [100, 96])
    b.output(try b.transpose(try b.reshape(x, to: [100, 3, 4, 8]), perm: [1, 2, 0, 3]))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16)
    let nest = try #require(plan.functions.first?.nest)
    #expect(nest.taskCount == 3 * 4 * 1, "\(nest)")
    let text = CEmitter.function(nest, symbol: "f")
    #expect(text.contains("for (long j"), "\(text)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [100, 96], seed: 91)], context: "head split")
  }

  /// The same split with 1,000 tokens: runs of 128, the last one 104 long and guarded.
  @Test func lastShortRunIsGuarded() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1000, 48])
    b.output(try b.transpose(try b.reshape(x, to: [1000, 3, 2, 8]), perm: [1, 2, 0, 3]))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16)
    let nest = try #require(plan.functions.first?.nest)
    #expect(nest.taskCount == 3 * 2 * 8)
    #expect(CEmitter.function(nest, symbol: "f").contains("< 1000ul"))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1000, 48], seed: 92)], context: "short last run")
  }
}
