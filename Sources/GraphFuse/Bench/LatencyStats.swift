import Dispatch
import Foundation

/// Summary of repeated latency measurements, in milliseconds.
public struct LatencyStats: Codable, Sendable, Equatable {
  /// The median (mean of the two middle samples for an even count).
  public var median: Double
  /// The fastest run.
  public var min: Double
  /// The slowest run.
  public var max: Double
  /// The arithmetic mean.
  public var mean: Double
  /// The number of timed runs.
  public var runs: Int

  enum CodingKeys: String, CodingKey {
    case runs
    case median = "median_ms"
    case min = "min_ms"
    case max = "max_ms"
    case mean = "mean_ms"
  }

  /// Stats with the given values (milliseconds).
  public init(median: Double, min: Double, max: Double, mean: Double, runs: Int) {
    self.median = median
    self.min = min
    self.max = max
    self.mean = mean
    self.runs = runs
  }

  /// The stats of `samples` (milliseconds, any order); all zero when empty.
  public init(milliseconds samples: [Double]) {
    guard !samples.isEmpty else {
      self.init(median: 0, min: 0, max: 0, mean: 0, runs: 0)
      return
    }
    let sorted = samples.sorted()
    let n = sorted.count
    let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    self.init(
      median: median, min: sorted[0], max: sorted[n - 1],
      mean: sorted.reduce(0, +) / Double(n), runs: n)
  }

  /// The stats of durations in nanoseconds.
  init(nanoseconds samples: [UInt64]) {
    self.init(milliseconds: samples.map { Double($0) / 1e6 })
  }

  /// `12.34 ms (min 12.01, max 13.50, n=50)`.
  public var summary: String {
    "\(formatMilliseconds(median)) ms (min \(formatMilliseconds(min)), max \(formatMilliseconds(max)), n=\(runs))"
  }
}

/// Wall-clock timing on the monotonic clock.
///
/// ```swift
/// let stats = try Timing.measure(runs: 50, warmup: 5) { try model.run(inputs) }
/// print(stats.median)   // milliseconds
/// ```
public enum Timing {
  /// Runs `body` `warmup` times untimed, then `runs` times timed one by one.
  ///
  /// The sample buffer is allocated before the first timed run; the loop itself only reads
  /// the monotonic clock and stores one integer per run.
  public static func measure<E: Error>(runs: Int, warmup: Int, _ body: () throws(E) -> Void) throws(E) -> LatencyStats {
    try measure(runs: runs, warmup: warmup, body, afterEach: nil)
  }

  /// `measure`, calling `afterEach(run)` after each timed run, outside the timed interval.
  static func measure<E: Error>(
    runs: Int, warmup: Int, _ body: () throws(E) -> Void, afterEach: ((Int) -> Void)?
  ) throws(E) -> LatencyStats {
    for _ in 0..<Swift.max(0, warmup) { try body() }
    let count = Swift.max(0, runs)
    let samples = UnsafeMutablePointer<UInt64>.allocate(capacity: Swift.max(1, count))
    defer { samples.deallocate() }
    for i in 0..<count {
      let start = now()
      try body()
      samples[i] = now() &- start
      afterEach?(i + 1)
    }
    return LatencyStats(nanoseconds: Array(UnsafeBufferPointer(start: samples, count: count)))
  }

  /// Times one call of `body`, in nanoseconds.
  @inline(__always)
  static func time<E: Error>(_ body: () throws(E) -> Void) throws(E) -> UInt64 {
    let start = now()
    try body()
    return now() &- start
  }

  /// The monotonic clock in nanoseconds (`CLOCK_MONOTONIC` through Dispatch).
  @inline(__always)
  static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// Milliseconds with three significant-ish digits: `0.123`, `1.23`, `12.3`, `123`.
func formatMilliseconds(_ ms: Double) -> String {
  switch abs(ms) {
  case ..<1: return String(format: "%.3f", ms)
  case ..<10: return String(format: "%.2f", ms)
  case ..<100: return String(format: "%.1f", ms)
  default: return String(format: "%.0f", ms)
  }
}
