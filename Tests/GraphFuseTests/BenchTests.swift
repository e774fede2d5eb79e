import Foundation
import Testing

@testable import GraphFuse

/// A report with made-up but plausible numbers, shared by the bench tests.
enum BenchSamples {
  static func report(groups count: Int = 24, peak: Double? = 353) -> BenchReport {
    let names = [
      "fused_conv2d_add_relu", "fused_conv2d_relu", "fused_conv2d", "fused_max_pool2d", "fused_dense_add",
      "fused_conv2d_batch_norm_relu_max_pool2d_transpose_reshape",
    ]
    let groups = (0..<count).map { i in
      BenchReport.Group(
        name: "\(names[i % names.count])_\(i)", ms: 2.0 / Double(i + 1), flops: 200_000_000 / (i + 1) / (i % 3 + 1))
    }
    func config(_ median: Double, kernels: Int, bytes: Int) -> BenchReport.Configuration {
      .init(
        latency: LatencyStats(median: median, min: median * 0.95, max: median * 1.2, mean: median * 1.02, runs: 50),
        intermediateBytes: bytes, kernels: kernels)
    }
    return BenchReport(
      model: "zoo:resnet18", threads: 2, runs: 50, warmup: 5, date: Date(timeIntervalSince1970: 1_790_000_000),
      flops: 3_630_000_000, peakGFLOPS: peak,
      unfused: config(31.4, kernels: 69, bytes: 24_100_000), folded: config(24.2, kernels: 49, bytes: 16_900_000),
      fused: config(13.6, kernels: 24, bytes: 6_400_000), groups: groups,
      unfusedByPattern: ["outEWiseFusable": 27.0, "broadcast": 2.5, "elemwise": 1.5, "injective": 0.0])
  }
}

@Suite("LatencyStats and Timing")
struct LatencyStatsTests {
  struct Case: Sendable, CustomStringConvertible {
    var samples: [Double]
    var median, min, max, mean: Double
    var description: String { "\(samples)" }
  }

  @Test(arguments: [
    Case(samples: [5, 1, 3, 2, 4], median: 3, min: 1, max: 5, mean: 3),
    Case(samples: [4, 1, 3, 2], median: 2.5, min: 1, max: 4, mean: 2.5),
    Case(samples: [7], median: 7, min: 7, max: 7, mean: 7),
    Case(samples: [10, 10, 1, 10], median: 10, min: 1, max: 10, mean: 7.75),
  ])
  func statsOfKnownSamples(_ c: Case) {
    let stats = LatencyStats(milliseconds: c.samples)
    #expect(stats.median == c.median)
    #expect(stats.min == c.min)
    #expect(stats.max == c.max)
    #expect(stats.mean == c.mean)
    #expect(stats.runs == c.samples.count)
  }

  @Test func nanosecondsBecomeMilliseconds() {
    let stats = LatencyStats(nanoseconds: [3_000_000, 1_000_000, 2_000_000])
    #expect(stats.median == 2)
    #expect(stats.min == 1)
    #expect(stats.max == 3)
  }

  @Test func emptySamplesAreZero() {
    #expect(LatencyStats(milliseconds: []) == LatencyStats(median: 0, min: 0, max: 0, mean: 0, runs: 0))
  }

  @Test func measureRunsWarmupPlusTimedRuns() {
    var calls = 0
    var afterEach: [Int] = []
    let stats = Timing.measure(runs: 7, warmup: 3, { calls += 1 }, afterEach: { afterEach.append($0) })
    #expect(calls == 10)
    #expect(stats.runs == 7)
    #expect(afterEach == Array(1...7))
    #expect(stats.min <= stats.median && stats.median <= stats.max)
    #expect(stats.min >= 0)
  }

  @Test func measureRethrows() {
    #expect(throws: GraphFuseError.self) {
      try Timing.measure(runs: 3, warmup: 0) { () throws(GraphFuseError) in throw GraphFuseError("boom") }
    }
  }

  @Test func statsEncodeWithMillisecondKeys() throws {
    let data = try JSONEncoder().encode(LatencyStats(milliseconds: [1, 2, 3]))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(Set(object.keys) == ["median_ms", "min_ms", "max_ms", "mean_ms", "runs"])
  }
}

@Suite("BenchReport")
struct BenchReportTests {
  @Test func jsonCarriesTheContractKeys() throws {
    let report = BenchSamples.report()
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    for key in [
      "model", "threads", "runs", "warmup", "date", "flops", "unfused_ms", "folded_ms", "fused_ms", "speedup",
      "peak_gflops", "unfused", "folded", "fused", "groups",
    ] {
      #expect(object[key] != nil, "missing key \(key)")
    }
    #expect(object["unfused_ms"] as? Double == 31.4)
    #expect(object["fused_ms"] as? Double == 13.6)
    let speedup = try #require(object["speedup"] as? Double)
    #expect(abs(speedup - 31.4 / 13.6) < 1e-12)
    let fused = try #require(object["fused"] as? [String: Any])
    #expect(Set(fused.keys) == ["latency", "intermediate_bytes", "kernels", "prepare_ms"])
    let groups = try #require(object["groups"] as? [[String: Any]])
    #expect(groups.count == 24)
    #expect(Set(groups[0].keys) == ["name", "ms", "share", "flops", "gflops", "peak_fraction"])
  }

  @Test func fusionCeilingCountsOnlyRemovableKernels() throws {
    let report = BenchSamples.report()
    let ceiling: Double = report.fusionCeiling ?? 0
    #expect(abs(ceiling - 31.0 / 27.0) < 1e-12)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    let encoded: Double = object["fusion_ceiling"] as? Double ?? 0
    #expect(abs(encoded - 31.0 / 27.0) < 1e-12)
    #expect((object["unfused_by_pattern"] as? [String: Double])?["broadcast"] == 2.5)
    #expect(
      report.description.contains(
        "conv/dense (TVM: outEWiseFusable) 27.00 ms (87%), broadcast (add, mul, batch norm…) 2.50 ms (8%)"))
    #expect(report.description.contains("fusion ceiling 1.15×: the speedup if fusion only removed kernels"))
    // 31.4 / 13.6 = 2.31× beats the 1.15× ceiling, and the report says why that is possible.
    #expect(report.description.contains("the speedup beats the ceiling: fused kernels are themselves faster"))
    var bare = report
    bare.unfusedByPattern = [:]
    #expect(bare.fusionCeiling == nil)
    #expect(!bare.json.contains("fusion_ceiling"))
    #expect(!bare.description.contains("fusion ceiling"))
  }

  @Test func peakFieldsAreAbsentWhenPeakIsUnknown() throws {
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(BenchSamples.report(peak: nil).json.utf8)) as? [String: Any])
    #expect(object["peak_gflops"] == nil)
    let groups = try #require(object["groups"] as? [[String: Any]])
    #expect(groups[0]["peak_fraction"] == nil)
  }

  /// A group's fastest run (kept by the compiled profile) gives `best_ms` and `best_peak_fraction`
  /// and a "fastest run" column beside the median's % of peak; the samples without it have neither.
  @Test func fastestRunIsReportedBesideTheMedian() throws {
    var report = BenchSamples.report(groups: 2, peak: 353)
    report.groups = BenchReport.profile(
      [
        BenchReport.Group(name: "fused_matmul", ms: 2, bestMs: 1, flops: 353_000_000),
        BenchReport.Group(name: "fused_add", ms: 0.5, flops: 0),
      ], peakGFLOPS: 353)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    let groups = try #require(object["groups"] as? [[String: Any]])
    #expect(groups[0]["best_ms"] as? Double == 1)
    #expect(abs((groups[0]["peak_fraction"] as? Double ?? 0) - 0.5) < 1e-12)
    #expect(abs((groups[0]["best_peak_fraction"] as? Double ?? 0) - 1) < 1e-12)
    #expect(groups[1]["best_ms"] == nil && groups[1]["best_peak_fraction"] == nil)
    let table = report.groupTable()
    #expect(table[0].hasSuffix("fastest run"), "\(table)")
    #expect(table.contains { $0.contains("fused_matmul") && $0.contains(" 50% ") && $0.hasSuffix(" 100%") }, "\(table)")
    #expect(!BenchSamples.report().groupTable()[0].contains("fastest run"))
  }

  @Test func jsonRoundTrips() throws {
    var report = BenchSamples.report()
    report.model = "../shared/models/resnet18.onnx"
    #expect(report.json.contains("\"model\" : \"../shared/models/resnet18.onnx\""))
    let decoded = try JSONDecoder().decode(BenchReport.self, from: Data(report.json.utf8))
    #expect(decoded.json == report.json)
  }

  @Test func groupsAreSortedWithSharesAndPeakFractions() throws {
    let report = BenchSamples.report()
    #expect(report.groups.map(\.ms) == report.groups.map(\.ms).sorted(by: >))
    #expect(abs(report.groups.reduce(0) { $0 + $1.share } - 1) < 1e-9)
    let first = report.groups[0]
    #expect(first.name == "fused_conv2d_add_relu_0")
    #expect(abs(first.gflops - 100) < 1e-9)  // 200 MFLOP in 2 ms
    #expect(abs(try #require(first.peakFraction) - 100.0 / 353) < 1e-9)
  }

  @Test func tableListsConfigurationsSpeedupAndTopGroups() {
    let text = BenchSamples.report().description
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines[0].hasPrefix("zoo:resnet18 — 2 threads, median of 50 runs after 5 warm-up"))
    #expect(lines.contains { $0.hasPrefix("unfused") && $0.contains("31.4") && $0.contains("24.1") })
    #expect(lines.contains { $0.hasPrefix("fused") && $0.contains("13.6") && $0.contains("6.4") })
    #expect(text.contains("speedup (unfused / fused): 2.31×"))
    #expect(text.contains("% of the 353 GFLOP/s peak"))
    #expect(lines.contains { $0.contains("others (9 groups)") })
    #expect(lines.contains { $0.contains("total (24 groups)") && $0.contains("100.0%") })
    #expect(
      lines.contains { $0.hasPrefix(" 1  fused_conv2d_add_relu_0") && $0.contains("2.000") && $0.contains("100.0") })
    #expect(!lines.contains { $0.contains("_15 ") || $0.hasSuffix("_15") })
  }

  @Test func tableWithoutGroupsOrPeak() {
    let text = BenchSamples.report(groups: 0, peak: nil).description
    #expect(!text.contains("per-group profile"))
    #expect(!text.contains("peak"))
    #expect(text.contains("speedup (unfused / fused): 2.31×"))
  }
}

@Suite("ProgressLine")
struct ProgressLineTests {
  final class Sink: @unchecked Sendable {
    var text = ""
  }

  @Test func terminalRedrawsInPlace() {
    let sink = Sink()
    let progress = ProgressLine(isTerminal: true, width: 40) { sink.text += $0 }
    progress.update("compiling fused (23 groups)…")
    progress.update("timing fused 1/50 " + String(repeating: "x", count: 80))
    progress.finish()
    #expect(!sink.text.contains("\n"))
    let parts = sink.text.components(separatedBy: "\r\u{1B}[2K")
    #expect(parts.count == 4)  // "", two updates, the clear on finish
    #expect(parts[1].hasSuffix("compiling fused (23 groups)…"))
    #expect(parts[2].count == 39)  // cut to the width so it never wraps
    #expect(parts[3] == "")
  }

  @Test func terminalCountersAreThrottled() {
    let sink = Sink()
    let progress = ProgressLine(isTerminal: true) { sink.text += $0 }
    for i in 1...100 { progress.update("timing fused \(i)/100") }
    progress.update("profiling fused groups…")
    let draws = sink.text.components(separatedBy: "\r\u{1B}[2K").dropFirst()
    #expect(draws.count < 100)
    #expect(draws.first?.hasSuffix("timing fused 1/100") == true)
    #expect(draws.last?.hasSuffix("profiling fused groups…") == true)
  }

  @Test func plainLinesWhenNotATerminal() {
    let sink = Sink()
    let progress = ProgressLine(isTerminal: false) { sink.text += $0 }
    progress.update("compiling fused…")
    progress.update("timing fused 1/50")
    progress.update("timing fused 2/50")  // same counter within a second: skipped
    progress.finish("done")
    let lines = sink.text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 4)
    #expect(lines[0].hasSuffix("] compiling fused…"))
    #expect(lines[1].hasSuffix("] timing fused 1/50"))
    #expect(lines[2].hasSuffix("] done"))
    #expect(!sink.text.contains("\u{1B}"))
  }

  @Test func cacheHitsAndReferenceErrorsAreReported() throws {
    var report = BenchSamples.report()
    #expect(!report.description.contains("(cached)"))
    report.fused.cached = true
    report.fused.referenceRelError = 2.5e-7
    #expect(report.description.contains(" (cached)"))
    #expect(report.description.contains("2.5e-07"))
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    let fused = try #require(object["fused"] as? [String: Any])
    #expect(fused["cached"] as? Bool == true)
    #expect(fused["reference_rel_error"] as? Double == 2.5e-7)
    #expect((object["unfused"] as? [String: Any])?["reference_rel_error"] == nil)
  }

  struct Noise: Sendable, CustomTestStringConvertible {
    var min, median, max: Double
    var peakSpread: Double?
    var warns: [String]
    var testDescription: String { "\(min)/\(median)/\(max) peak \(peakSpread ?? 1)" }
  }

  static let noises: [Noise] = [
    Noise(min: 10, median: 10.5, max: 12, peakSpread: 0.97, warns: []),
    Noise(min: 10, median: 12, max: 13, peakSpread: nil, warns: ["machine was probably busy", "median 20% above"]),
    Noise(min: 10, median: 10.2, max: 25, peakSpread: nil, warns: ["slowest 2.5× the fastest", "--interleave"]),
    Noise(min: 10, median: 10.2, max: 11, peakSpread: 0.6, warns: ["FMA peak moved by 40%", "--peak GFLOPS"]),
  ]

  @Test(arguments: noises) func busyMachinesGetAWarning(_ noise: Noise) throws {
    var report = BenchSamples.report()
    report.fused.latency = LatencyStats(
      median: noise.median, min: noise.min, max: noise.max, mean: noise.median, runs: 50)
    report.unfused.latency = LatencyStats(median: 31, min: 30, max: 33, mean: 31, runs: 50)
    report.folded.latency = LatencyStats(median: 24, min: 23.5, max: 25, mean: 24, runs: 50)
    report.peakSpread = noise.peakSpread
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    let warnings = object["warnings"] as? [String] ?? []
    #expect(warnings.isEmpty == noise.warns.isEmpty)
    for text in noise.warns {
      #expect(warnings.contains { $0.contains(text) }, "\(warnings)")
      #expect(report.description.contains(text))
    }
  }
}
