import Foundation
import Testing

@testable import GraphFuse

/// The pool deals tasks from one counter or in contiguous shares with stealing
/// (``KernelSchedule/Kind/dealsContiguousShares``): either way every task runs exactly once, for
/// any task count and thread count; attention and matmul kernels take shares, convolutions the
/// counter, and the report says which.
@Suite struct ThreadPoolSharesTests {
  /// A C program on the runtime's pool: each task adds one to its slot; the program prints the
  /// number of slots not hit exactly once over every (threads, tasks, mode) it runs.
  static let program = """

    #include <stdio.h>
    static atomic_int hits[5000];
    static void count(float *const *bufs, long begin, long end) {
      (void)bufs;
      for (long i = begin; i < end; i++) {
        atomic_fetch_add(&hits[i], 1);
        for (volatile int spin = 0; spin < (int)(i % 7) * 200; spin++) {}  /* uneven tasks */
      }
    }
    int main(void) {
      long totals[] = {1, 2, 3, 5, 7, 16, 17, 100, 1001, 4999};
      int wrong = 0;
      for (int threads = 1; threads <= 5; threads++) {
        void *pool = gf_pool_create(threads);
        for (int shares = 0; shares < 2; shares++)
          for (int rep = 0; rep < 20; rep++)
            for (unsigned t = 0; t < sizeof totals / sizeof *totals; t++) {
              for (long i = 0; i < 5000; i++) atomic_store(&hits[i], 0);
              gf_parallel(pool, count, NULL, totals[t] | (shares ? GF_SHARES : 0));
              for (long i = 0; i < 5000; i++) wrong += atomic_load(&hits[i]) != (i < totals[t]);
            }
        gf_pool_destroy(pool);
      }
      printf("%d\\n", wrong);
      return 0;
    }

    """

  @Test func everyTaskRunsOnceInSharesAndFromTheCounter() throws {
    let output = try CompiledTesting.runWithPrelude(Self.program, name: "pool")
    #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "slots not run exactly once: \(output)")
  }

  /// The launch carries the choice: a bit of the task count `gf_parallel` reads.
  @Test func attentionAndMatmulsTakeSharesConvolutionsTheCounter() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 20, 20])
    let conv = try b.conv2d(x, weight: b.constant(Tensor.random(shape: [32, 16, 3, 3], seed: 3)), padding: 1)
    let rows = try b.reshape(conv, to: [32, 400])
    b.output(try b.matmul(rows, b.constant(Tensor.random(shape: [400, 96], seed: 4))))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let plan = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let kernels = plan.schedules.flatMap { $0 }.filter { $0.symbol != nil && !$0.onCaller }
    let convs = kernels.filter { $0.kind.rawValue.hasPrefix("conv") }
    let matmuls = kernels.filter { $0.kind == .matmul || $0.kind == .dense }
    #expect(!convs.isEmpty && !matmuls.isEmpty, "\(kernels)")
    #expect(convs.allSatisfy { !$0.contiguousShares && !$0.description.contains("shares") }, "\(convs)")
    #expect(matmuls.allSatisfy { $0.contiguousShares && $0.description.contains("in contiguous shares") })
    for step in plan.steps where !step.onCaller {
      #expect((step.launchTasks & StepPlan.sharesBit != 0) == step.contiguousShares)
      #expect(step.launchTasks & (StepPlan.sharesBit - 1) == step.tasks)
    }
    #expect(KernelSchedule.Kind.attention.dealsContiguousShares)
    _ = try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 16, 20, 20], seed: 5)], context: "conv then matmul")
  }
}
