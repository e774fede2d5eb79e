import Foundation

/// One of the three configurations `graphfuse bench` compares.
public enum BenchConfiguration: String, CaseIterable, Sendable {
  /// No folding, no fusion: every op its own kernel.
  case unfused
  /// Batch norms folded, no fusion.
  case folded
  /// The full pipeline.
  case fused

  /// The optimizer options of this configuration; `keep` and `opaque` come from `base`.
  public func options(base: OptimizeOptions = .init()) -> OptimizeOptions {
    var options = base
    switch self {
    case .unfused: options.fold = false; options.fuse = false
    case .folded: options.fold = true; options.fuse = false
    case .fused: options.fold = true; options.fuse = true
    }
    return options
  }
}

/// What a backend provides to the bench harness for one optimized graph: the seam that lets
/// any executor (the compiled backend, the reference executor) be timed without the harness
/// knowing its types.
public struct BenchRunnable {
  /// One inference on fixed inputs; timed. It should not allocate what it can reuse.
  public var run: () throws(GraphFuseError) -> Void
  /// The outputs of one inference, called once after warm-up to check the configurations agree.
  public var outputs: (() throws(GraphFuseError) -> [Tensor])?
  /// Per-group time in milliseconds per inference, the median run and (when kept) the fastest
  /// (called for the unfused and fused configurations).
  public var profile: (() throws(GraphFuseError) -> [(name: String, ms: Double, bestMs: Double?)])?
  /// Intermediate bytes written per inference as the backend counts them; when nil the
  /// harness counts group outputs that other groups read back.
  public var intermediateBytes: Int?
  /// Plan groups that launch at least one kernel per inference, as the backend counts them
  /// (an in-place concat launches none); when nil, every plan group counts.
  public var kernels: Int?
  /// Whether preparing found the compiled code in a cache (so its prepare time is not a compile time).
  public var cached: Bool?
  /// Groups that do fewer multiplications than their ops' FLOP count (Winograd convs): the
  /// profile marks them, and their % of peak above 100 % is no sign of a busy machine.
  public var winogradGroups: Set<String> = []

  /// A runnable; only `run` is required.
  public init(
    run: @escaping () throws(GraphFuseError) -> Void,
    outputs: (() throws(GraphFuseError) -> [Tensor])? = nil,
    profile: (() throws(GraphFuseError) -> [(name: String, ms: Double, bestMs: Double?)])? = nil,
    intermediateBytes: Int? = nil,
    kernels: Int? = nil,
    cached: Bool? = nil,
    winogradGroups: Set<String> = []
  ) {
    self.run = run
    self.outputs = outputs
    self.profile = profile
    self.intermediateBytes = intermediateBytes
    self.kernels = kernels
    self.cached = cached
    self.winogradGroups = winogradGroups
  }
}

/// How to benchmark.
public struct BenchOptions: Sendable {
  /// Timed runs per configuration.
  public var runs = 50
  /// Untimed runs per configuration before timing.
  public var warmup = 5
  /// Worker threads, as passed to the backend (recorded in the report).
  public var threads = 1
  /// The machine's FMA peak for `threads` threads in GFLOP/s (`MachinePeak`), if known.
  public var peakGFLOPS: Double?
  /// Whether `peakGFLOPS` was measured in this process (`MachinePeak`) rather than given.
  public var peakMeasured = false
  /// The slowest of the peak measurement's repeats over the fastest (1 on a quiet machine), when measured.
  public var peakSpread: Double?
  /// Optimizer options of the fused configuration; `keep` and `opaque` apply to all three.
  public var optimize = OptimizeOptions()
  /// Round-robin the configurations run by run instead of timing each in one block, so
  /// slow drift of a shared machine affects all three alike (costs cache warmth).
  public var interleaved = false
  /// Relative tolerance (of the largest magnitude) when checking outputs agree.
  public var tolerance: Float = 1e-3
  /// The largest accepted error against the reference outputs, relative to their largest magnitude.
  public var referenceTolerance: Float = 1e-4

  /// Options with the given counts.
  public init(
    runs: Int = 50, warmup: Int = 5, threads: Int = 1, peakGFLOPS: Double? = nil, optimize: OptimizeOptions = .init(),
    interleaved: Bool = false
  ) {
    self.runs = runs
    self.warmup = warmup
    self.threads = threads
    self.peakGFLOPS = peakGFLOPS
    self.optimize = optimize
    self.interleaved = interleaved
  }
}

/// Times unfused, folded and fused execution of a graph and builds a `BenchReport`.
///
/// ```swift
/// let options = BenchOptions(threads: 2)
/// let report = try BenchRunner.run(graph: graph, model: "zoo:resnet18", options: options) { config, optimized in
///   let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: .init(threads: 2))
///   return BenchRunnable(run: { _ = try model.run(inputs) }, outputs: { try model.run(inputs) },
///                        profile: { try model.profile(inputs, runs: 20).map {
///                          ($0.name, $0.seconds * 1e3, $0.bestSeconds * 1e3) } },
///                        intermediateBytes: model.intermediateBytes)
/// }
/// print(report)
/// ```
public enum BenchRunner {
  /// Optimizes `graph` three ways, asks `prepare` for a runnable of each, times them and
  /// profiles the unfused and fused ones. Throws when a configuration's outputs differ from unfused,
  /// or from `reference` (the reference executor's outputs on the same inputs) by more than
  /// `options.referenceTolerance`.
  public static func run(
    graph: Graph, model: String, options: BenchOptions = .init(), progress: ProgressLine? = nil,
    reference: [Tensor]? = nil,
    prepare: (BenchConfiguration, OptimizedGraph) throws(GraphFuseError) -> BenchRunnable
  ) throws(GraphFuseError) -> BenchReport {
    guard options.runs > 0 else { throw GraphFuseError("--runs must be positive, got \(options.runs)") }
    var results: [BenchConfiguration: BenchReport.Configuration] = [:]
    var unfusedOutputs: [Tensor]?
    var groups: [BenchReport.Group] = []
    var unfusedByPattern: [String: Double] = [:]
    var prepared: [(BenchConfiguration, OptimizedGraph, BenchRunnable)] = []
    var prepareMs: [BenchConfiguration: Double] = [:]
    var referenceErrors: [BenchConfiguration: Double] = [:]
    var opsOf: [BenchConfiguration: [String]] = [:]

    for config in BenchConfiguration.allCases {
      progress?.update("optimizing \(config.rawValue)…")
      let start = Timing.now()
      var optimize = config.options(base: options.optimize)
      optimize.threads = options.threads
      let optimized = try graph.optimized(optimize)
      opsOf[config] = optimized.graph.nodes.map(\.op)
      progress?.update("preparing \(config.rawValue) (\(optimized.plan.groups.count) kernels)…")
      let runnable = try prepare(config, optimized)
      prepareMs[config] = Double(Timing.now() - start) / 1e6
      progress?.update("warming up \(config.rawValue)…")
      for _ in 0..<options.warmup { try runnable.run() }
      if let outputs = runnable.outputs {
        let got = try outputs()
        if let golden = reference {
          referenceErrors[config] = try checkReference(
            got, against: golden, config: config, tolerance: options.referenceTolerance)
        }
        if let expected = unfusedOutputs {
          try check(got, against: expected, config: config, tolerance: options.tolerance)
        } else {
          unfusedOutputs = got
        }
      }
      if options.interleaved {
        prepared.append((config, optimized, runnable))
      } else {
        let latency = try Timing.measure(runs: options.runs, warmup: 0, runnable.run) { done in
          progress?.update("timing \(config.rawValue) \(done)/\(options.runs)")
        }
        results[config] = configuration(optimized, runnable, latency, prepareMs: prepareMs[config] ?? 0)
        results[config]?.referenceRelError = referenceErrors[config]
        try profile(config, optimized, runnable, progress: progress, groups: &groups, byPattern: &unfusedByPattern)
      }
    }
    if options.interleaved {
      var samples = prepared.map { _ in [UInt64](repeating: 0, count: options.runs) }
      for i in 0..<options.runs {
        for (k, entry) in prepared.enumerated() { samples[k][i] = try Timing.time(entry.2.run) }
        progress?.update("timing all three \(i + 1)/\(options.runs)")
      }
      for (k, (config, optimized, runnable)) in prepared.enumerated() {
        results[config] = configuration(
          optimized, runnable, LatencyStats(nanoseconds: samples[k]), prepareMs: prepareMs[config] ?? 0)
        results[config]?.referenceRelError = referenceErrors[config]
        try profile(config, optimized, runnable, progress: progress, groups: &groups, byPattern: &unfusedByPattern)
      }
    }
    progress?.finish()
    let flops = graph.nodes.reduce(0) { $0 + OpRegistry.flops(of: $1, in: graph) }
    var report = BenchReport(
      model: model, threads: options.threads, runs: options.runs, warmup: options.warmup, flops: flops,
      peakGFLOPS: options.peakGFLOPS, peakMeasured: options.peakMeasured, peakSpread: options.peakSpread,
      unfused: results[.unfused]!,
      folded: results[.folded]!, fused: results[.fused]!,
      groups: groups, unfusedByPattern: unfusedByPattern)
    // Worth saying only where a fold was to be expected: a network with convolutions.
    report.foldedEqualsUnfused = opsOf[.folded] == opsOf[.unfused] && opsOf[.unfused]?.contains("conv2d") == true
    return report
  }

  /// The measurements of one configuration.
  static func configuration(
    _ optimized: OptimizedGraph, _ runnable: BenchRunnable, _ latency: LatencyStats, prepareMs: Double
  ) -> BenchReport.Configuration {
    let bytes = runnable.intermediateBytes ?? FusionReport.intermediates(optimized.graph, plan: optimized.plan).bytes
    return BenchReport.Configuration(
      latency: latency, intermediateBytes: bytes, kernels: runnable.kernels ?? optimized.plan.groups.count,
      prepareMs: prepareMs,
      cached: runnable.cached)
  }

  /// Profiles the fused configuration group by group (joined with each group's FLOP count)
  /// and sums the unfused configuration's kernel time by op pattern; `folded` is not profiled.
  static func profile(
    _ config: BenchConfiguration, _ optimized: OptimizedGraph, _ runnable: BenchRunnable, progress: ProgressLine?,
    groups: inout [BenchReport.Group], byPattern: inout [String: Double]
  ) throws(GraphFuseError) {
    guard config != .folded, let profile = runnable.profile else { return }
    progress?.update("profiling \(config.rawValue) kernels…")
    let graph = optimized.graph
    let timings = try profile()
    if config == .unfused {
      let pattern = Dictionary(
        optimized.plan.groups.map { ($0.name, $0.pattern.description) }, uniquingKeysWith: { a, _ in a })
      for t in timings { byPattern[pattern[t.name] ?? "unknown", default: 0] += t.ms }
      return
    }
    var flops: [String: Int] = [:]
    for g in optimized.plan.groups {
      flops[g.name] = g.nodes.reduce(0) { $0 + OpRegistry.flops(of: graph.nodes[$1], in: graph) }
    }
    groups = timings.map { t in
      BenchReport.Group(
        name: t.name, ms: t.ms, bestMs: t.bestMs, flops: flops[t.name] ?? 0,
        winograd: runnable.winogradGroups.contains(t.name) ? true : nil)
    }
  }

  /// The largest relative error of `got` against the reference outputs; throws above `tolerance`.
  static func checkReference(
    _ got: [Tensor], against golden: [Tensor], config: BenchConfiguration, tolerance: Float
  ) throws(GraphFuseError) -> Double {
    guard got.count == golden.count else {
      throw GraphFuseError("\(config.rawValue) produced \(got.count) outputs, the reference executor \(golden.count)")
    }
    var worst = 0.0
    for (k, (g, e)) in zip(got, golden).enumerated() {
      let c = g.compared(to: e)
      guard c.isWithin(relative: tolerance) else {
        throw GraphFuseError(
          "\(config.rawValue) output \(k) differs from the reference executor: \(c), above the \(tolerance) bench "
            + "accepts"
        )
      }
      worst = max(worst, Double(c.relativeError))
    }
    return worst
  }

  /// Throws unless `got` matches `expected` within `tolerance` of the largest magnitude.
  static func check(_ got: [Tensor], against expected: [Tensor], config: BenchConfiguration, tolerance: Float)
    throws(GraphFuseError)
  {
    guard got.count == expected.count else {
      throw GraphFuseError("\(config.rawValue) produced \(got.count) outputs, unfused \(expected.count)")
    }
    for (k, (g, e)) in zip(got, expected).enumerated() {
      let c = g.compared(to: e)
      guard c.isWithin(relative: tolerance, absolute: tolerance) else {
        throw GraphFuseError("\(config.rawValue) output \(k) differs from unfused: \(c)")
      }
    }
  }
}
