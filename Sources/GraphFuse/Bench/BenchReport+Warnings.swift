import Foundation

extension BenchReport {
  /// The median may sit this much above the fastest run before the machine counts as busy.
  public static let busyMedianOverMin = 1.15
  /// The slowest run may take this many times the fastest before the machine counts as busy.
  public static let busyMaxOverMin = 2.0
  /// The slowest repeat of the peak measurement may reach this fraction of the fastest.
  public static let busyPeakSpread = 0.85

  /// Reasons to distrust the numbers, each with advice: a wide spread of run times, a peak
  /// measurement that moved between repeats, more threads than cores.
  public var warnings: [String] {
    var found: [String] = []
    let noisy = configurations.filter { _, c in
      c.latency.min > 0
        && (c.latency.median > BenchReport.busyMedianOverMin * c.latency.min
          || c.latency.max > BenchReport.busyMaxOverMin * c.latency.min)
    }
    if !noisy.isEmpty {
      let detail = noisy.map { name, c in
        String(
          format: "%@: median %.0f%% above the fastest run, slowest %.1f× the fastest", name,
          100 * (c.latency.median / c.latency.min - 1), c.latency.max / c.latency.min)
      }
      found.append(
        "the run times spread widely (\(detail.joined(separator: "; "))): the machine was probably busy."
          + " Close other programs, use fewer --threads than cores, try --interleave, or raise --runs;"
          + " compare ratios taken in one run rather than times from different runs")
    }
    if let spread = peakSpread, spread < BenchReport.busyPeakSpread {
      found.append(
        String(
          format: "the FMA peak moved by %.0f%% between three 0.1 s measurements: other work was competing for the"
            + " cores, so the %% of peak figures are uncertain; run again on a quieter machine or give --peak GFLOPS",
          100 * (1 - spread)))
    }
    // A Winograd conv is counted at the direct conv's FLOPs: above 100 % is its normal state.
    let above = groups.filter { ($0.peakFraction ?? 0) > 1 && $0.winograd != true }
    if let top = above.map({ $0.peakFraction ?? 0 }).max() {
      found.append(
        String(
          format: "%d group%@ ran above 100%% of the FMA peak (up to %.0f%%), which no kernel can: the peak was"
            + " measured while other work held the cores (or --peak is too low), so every %% of peak here is too"
            + " high; run again on a quiet machine or give --peak GFLOPS",
          above.count, above.count == 1 ? "" : "s", 100 * top))
    }
    if foldedEqualsUnfused {
      found.append(
        "nothing was folded (no batch norm, parallel branches or pad before a conv), so the unfused and folded"
          + " rows run the same graph; the exporter may have folded the batch norms already (torch.onnx.export"
          + " does unless given optimize=False, or do_constant_folding=False with dynamo=False)")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    if threads > cores {
      found.append(
        "\(threads) threads on \(cores) cores: threads share cores and the times measure the contention;"
          + " use --threads \(cores) or fewer")
    }
    return found
  }
}

extension OpPattern {
  /// The pattern in plain words, with TVM's name where it is not obvious.
  public var plainName: String {
    switch self {
    case .elemwise: return "elementwise (relu, clip…)"
    case .broadcast: return "broadcast (add, mul, batch norm…)"
    case .injective: return "data movement (reshape, concat, pad…)"
    case .commReduce: return "reductions (pooling, mean…)"
    case .outEWiseFusable: return "conv/dense (TVM: outEWiseFusable)"
    case .tuple: return "tuple"
    case .opaque: return "opaque (never fused)"
    }
  }

  /// The pattern named `description` (`outEWiseFusable`), if any.
  public init?(name: String) {
    guard
      let match = [OpPattern.elemwise, .broadcast, .injective, .commReduce, .outEWiseFusable, .tuple, .opaque]
        .first(where: { $0.description == name })
    else { return nil }
    self = match
  }
}
