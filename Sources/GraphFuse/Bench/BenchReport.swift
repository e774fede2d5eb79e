import Foundation

/// Timing of unfused, folded and fused execution of one model, with a per-group profile;
/// prints as a table and encodes as the `bench --json` document (Docs/Benchmarks.md lists its keys).
public struct BenchReport: Codable, Sendable, CustomStringConvertible {
  /// One configuration's measurements.
  public struct Configuration: Codable, Sendable, Equatable {
    /// Latency over the timed runs.
    public var latency: LatencyStats
    /// Bytes of intermediate tensors written to memory per inference.
    public var intermediateBytes: Int
    /// Kernels (groups) launched per inference.
    public var kernels: Int
    /// Time to optimize and prepare (compile) this configuration, once, untimed by the runs.
    public var prepareMs: Double
    /// Whether preparing found the compiled code in the cache (then `prepareMs` is no compile time).
    public var cached: Bool?
    /// Max |error| of the outputs against the reference executor on the unoptimized graph,
    /// relative to the reference's largest magnitude; nil when not checked.
    public var referenceRelError: Double?

    enum CodingKeys: String, CodingKey {
      case latency, kernels, cached
      case intermediateBytes = "intermediate_bytes"
      case prepareMs = "prepare_ms"
      case referenceRelError = "reference_rel_error"
    }

    /// A configuration's measurements.
    public init(
      latency: LatencyStats, intermediateBytes: Int, kernels: Int, prepareMs: Double = 0, cached: Bool? = nil,
      referenceRelError: Double? = nil
    ) {
      self.latency = latency
      self.intermediateBytes = intermediateBytes
      self.kernels = kernels
      self.prepareMs = prepareMs
      self.cached = cached
      self.referenceRelError = referenceRelError
    }
  }

  /// One fused group of the profile.
  public struct Group: Codable, Sendable, Equatable {
    public var name: String
    /// Time per inference, in milliseconds (the median run).
    public var ms: Double
    /// The fastest run's time, in milliseconds, when the profile kept it.
    public var bestMs: Double?
    /// Fraction of the summed group time, 0…1.
    public var share: Double
    /// Floating-point operations per inference.
    public var flops: Int
    /// Achieved GFLOP/s (`flops / ms`).
    public var gflops: Double
    /// `gflops / peak_gflops`, when the peak is known.
    public var peakFraction: Double?
    /// `flops / bestMs / peak_gflops`, when both are known: the kernel's rate in its fastest run.
    public var bestPeakFraction: Double?
    /// True when the group's conv runs as Winograd: `flops` counts the direct conv's, so
    /// `peakFraction` may pass 1 on a quiet machine (nil otherwise).
    public var winograd: Bool?

    enum CodingKeys: String, CodingKey {
      case name, ms, share, flops, gflops, winograd
      case bestMs = "best_ms"
      case peakFraction = "peak_fraction"
      case bestPeakFraction = "best_peak_fraction"
    }

    /// A group's timing; `share`, `peakFraction` and `bestPeakFraction` are filled by `BenchReport.profile`.
    public init(
      name: String, ms: Double, bestMs: Double? = nil, share: Double = 0, flops: Int, gflops: Double? = nil,
      peakFraction: Double? = nil, winograd: Bool? = nil
    ) {
      self.name = name
      self.ms = ms
      self.bestMs = bestMs
      self.share = share
      self.flops = flops
      self.gflops = gflops ?? (ms > 0 ? Double(flops) / (ms * 1e6) : 0)
      self.peakFraction = peakFraction
      self.winograd = winograd
    }
  }

  /// The model as named on the command line (`zoo:resnet18`, a file path).
  public var model: String
  public var threads: Int
  /// Timed runs per configuration.
  public var runs: Int
  /// Untimed warm-up runs per configuration.
  public var warmup: Int
  /// When the measurement was taken, ISO 8601.
  public var date: String
  /// Floating-point operations of one inference of the source graph.
  public var flops: Int
  /// The machine's float32 FMA peak for `threads` threads, when known (`MachinePeak`).
  public var peakGFLOPS: Double?
  /// Whether the peak was measured on this host in the same process (`MachinePeak`) rather than given.
  public var peakMeasured: Bool
  /// The slowest repeat of the peak measurement over the fastest (1 on a quiet machine), when measured.
  public var peakSpread: Double?
  public var unfused: Configuration
  public var folded: Configuration
  public var fused: Configuration
  /// The fused configuration's per-group profile, slowest first.
  public var groups: [Group]
  /// The unfused configuration's kernel time per inference in milliseconds, summed by the
  /// op pattern of each kernel's op (`elemwise`, `broadcast`, `outEWiseFusable`, …).
  public var unfusedByPattern: [String: Double]
  /// True when folding changed nothing in a network with convolutions (no batch norm, branch sum
  /// or pad to fold: the exporter may have folded them already), so the unfused and folded rows
  /// time the same graph.
  public var foldedEqualsUnfused = false
  /// Samples per inference (axis 0 of the inputs) when more than one: the report adds throughput.
  public var batch: Int?
  /// Fused samples per second: `batch / fused_ms`, when ``batch`` is set.
  public var samplesPerSecond: Double? {
    guard let batch, fusedMs > 0 else { return nil }
    return Double(batch) * 1000 / fusedMs
  }

  /// The most `unfused / fused` can reach by removing kernels alone: the speedup if every
  /// elementwise, broadcast and injective kernel of the unfused configuration cost nothing
  /// and every other kernel (conv, dense, pooling, reductions, opaque ops) kept its time.
  /// Fusion beats it only by making those other kernels faster (a conv chain does). Nil
  /// without an unfused profile.
  public var fusionCeiling: Double? {
    let total = unfusedByPattern.values.reduce(0, +)
    let removable = BenchReport.removablePatterns.reduce(0) { $0 + (unfusedByPattern[$1.description] ?? 0) }
    guard total > 0, total > removable else { return nil }
    return total / (total - removable)
  }

  /// The patterns whose kernels fusion can absorb into another kernel's loop.
  public static let removablePatterns: [OpPattern] = [.elemwise, .broadcast, .injective]

  /// Median latency without folding or fusion.
  public var unfusedMs: Double { unfused.latency.median }
  /// Median latency with batch norms folded, no fusion.
  public var foldedMs: Double { folded.latency.median }
  /// Median latency of the full pipeline.
  public var fusedMs: Double { fused.latency.median }
  /// `unfused_ms / fused_ms`.
  public var speedup: Double { fusedMs > 0 ? unfusedMs / fusedMs : 0 }

  enum CodingKeys: String, CodingKey {
    case model, threads, runs, warmup, date, flops, unfused, folded, fused, groups, speedup
    case peakGFLOPS = "peak_gflops"
    case peakMeasured = "peak_measured"
    case peakSpread = "peak_spread"
    case warnings
    case unfusedByPattern = "unfused_by_pattern"
    case foldedEqualsUnfused = "folded_equals_unfused"
    case batch
    case samplesPerSecond = "samples_per_second"
    case fusionCeiling = "fusion_ceiling"
    case unfusedMs = "unfused_ms"
    case foldedMs = "folded_ms"
    case fusedMs = "fused_ms"
  }

  /// A report; `groups` are sorted slowest first and get their share and peak fraction.
  public init(
    model: String, threads: Int, runs: Int, warmup: Int, date: Date = Date(), flops: Int, peakGFLOPS: Double? = nil,
    peakMeasured: Bool = false,
    peakSpread: Double? = nil,
    unfused: Configuration, folded: Configuration, fused: Configuration, groups: [Group] = [],
    unfusedByPattern: [String: Double] = [:]
  ) {
    self.model = model
    self.threads = threads
    self.runs = runs
    self.warmup = warmup
    self.date = ISO8601DateFormatter().string(from: date)
    self.flops = flops
    self.peakGFLOPS = peakGFLOPS
    self.peakMeasured = peakMeasured
    self.peakSpread = peakSpread
    self.unfused = unfused
    self.folded = folded
    self.fused = fused
    self.groups = BenchReport.profile(groups, peakGFLOPS: peakGFLOPS)
    self.unfusedByPattern = unfusedByPattern
  }

  /// Sorts `groups` slowest first and fills in `share`, `peakFraction` and `bestPeakFraction`.
  static func profile(_ groups: [Group], peakGFLOPS: Double?) -> [Group] {
    let total = groups.reduce(0) { $0 + $1.ms }
    return groups.map { g in
      var g = g
      g.share = total > 0 ? g.ms / total : 0
      g.peakFraction = peakGFLOPS.flatMap { $0 > 0 ? g.gflops / $0 : nil }
      if let peak = peakGFLOPS, peak > 0, let best = g.bestMs, best > 0 {
        g.bestPeakFraction = Double(g.flops) / (best * 1e6) / peak
      }
      return g
    }.sorted { $0.ms != $1.ms ? $0.ms > $1.ms : $0.name < $1.name }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    model = try c.decode(String.self, forKey: .model)
    threads = try c.decode(Int.self, forKey: .threads)
    runs = try c.decode(Int.self, forKey: .runs)
    warmup = try c.decode(Int.self, forKey: .warmup)
    date = try c.decode(String.self, forKey: .date)
    flops = try c.decode(Int.self, forKey: .flops)
    peakGFLOPS = try c.decodeIfPresent(Double.self, forKey: .peakGFLOPS)
    peakMeasured = try c.decodeIfPresent(Bool.self, forKey: .peakMeasured) ?? false
    peakSpread = try c.decodeIfPresent(Double.self, forKey: .peakSpread)
    unfused = try c.decode(Configuration.self, forKey: .unfused)
    folded = try c.decode(Configuration.self, forKey: .folded)
    fused = try c.decode(Configuration.self, forKey: .fused)
    groups = try c.decode([Group].self, forKey: .groups)
    unfusedByPattern = try c.decodeIfPresent([String: Double].self, forKey: .unfusedByPattern) ?? [:]
    foldedEqualsUnfused = try c.decodeIfPresent(Bool.self, forKey: .foldedEqualsUnfused) ?? false
    batch = try c.decodeIfPresent(Int.self, forKey: .batch)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(model, forKey: .model)
    try c.encode(threads, forKey: .threads)
    try c.encode(runs, forKey: .runs)
    try c.encode(warmup, forKey: .warmup)
    try c.encode(date, forKey: .date)
    try c.encode(flops, forKey: .flops)
    try c.encodeIfPresent(peakGFLOPS, forKey: .peakGFLOPS)
    if peakGFLOPS != nil { try c.encode(peakMeasured, forKey: .peakMeasured) }
    try c.encodeIfPresent(peakSpread, forKey: .peakSpread)
    try c.encode(unfusedMs, forKey: .unfusedMs)
    try c.encode(foldedMs, forKey: .foldedMs)
    try c.encode(fusedMs, forKey: .fusedMs)
    try c.encode(speedup, forKey: .speedup)
    try c.encode(unfused, forKey: .unfused)
    try c.encode(folded, forKey: .folded)
    try c.encode(fused, forKey: .fused)
    try c.encode(groups, forKey: .groups)
    if !unfusedByPattern.isEmpty { try c.encode(unfusedByPattern, forKey: .unfusedByPattern) }
    if foldedEqualsUnfused { try c.encode(true, forKey: .foldedEqualsUnfused) }
    try c.encodeIfPresent(batch, forKey: .batch)
    try c.encodeIfPresent(samplesPerSecond, forKey: .samplesPerSecond)
    try c.encodeIfPresent(fusionCeiling, forKey: .fusionCeiling)
    if !warnings.isEmpty { try c.encode(warnings, forKey: .warnings) }
  }

  /// The report as pretty-printed JSON with sorted keys.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(self) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }

  /// The three configurations in order, with their display names.
  public var configurations: [(name: String, result: Configuration)] {
    [("unfused", unfused), ("folded", folded), ("fused", fused)]
  }
}
