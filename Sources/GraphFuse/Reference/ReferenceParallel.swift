import Dispatch
import Foundation

/// Spreads the independent pieces of a reference kernel over the cores.
enum ReferenceParallel {
  /// Below this many multiply-adds a kernel runs on the calling thread alone.
  static let threshold = 1 << 16

  /// Runs `body(i)` for every `i` in `0..<count`: on the calling thread when `work` (multiply-adds)
  /// is below ``threshold``, else in one contiguous run of `i` per core. `body` must only write
  /// memory no other `i` touches.
  static func forEach(_ count: Int, work: Int, _ body: (Int) -> Void) {
    let threads = work < threshold ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, count)
    guard threads > 1 else {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { body in
      // The pieces write disjoint memory, which the compiler cannot see through the raw pointers.
      nonisolated(unsafe) let body = body
      DispatchQueue.concurrentPerform(iterations: threads) { t in
        for i in (count * t / threads)..<(count * (t + 1) / threads) { body(i) }
      }
    }
  }
}
