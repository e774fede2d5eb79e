import Foundation

extension BenchReport {
  /// How many groups the text table lists before summing the rest into "others".
  public static let tableGroupLimit = 15

  /// A readable table: the three configurations, the speedup, then the per-group profile.
  public var description: String {
    var lines = [
      "\(model) — \(threads) thread\(threads == 1 ? "" : "s"), median of \(runs) runs after \(warmup) warm-up "
        + "(\(date))",
      "",
    ]
    let rows = configurations.map { name, c in
      [
        name, formatMilliseconds(c.latency.median), formatMilliseconds(c.latency.min),
        formatMilliseconds(c.latency.max),
        String(c.kernels), String(format: "%.1f", Double(c.intermediateBytes) / 1e6),
        String(format: "%.0f", c.prepareMs) + (c.cached == true ? " (cached)" : ""),
        c.referenceRelError.map { String(format: "%.1e", $0) } ?? "",
      ]
    }
    lines += table(
      header: [
        "configuration", "median ms", "min ms", "max ms", "kernels", "intermediate MB", "prepare ms", "vs reference",
      ],
      rows: rows, rightAligned: [1, 2, 3, 4, 5, 6, 7])
    if configurations.contains(where: { $0.result.cached == true }) {
      lines.append("(cached: the compiled kernels came from the cache, so prepare ms is no compile time)")
    }
    lines.append("")
    lines.append(
      "speedup (unfused / fused): \(ratio(speedup))   folded / fused: \(ratio(fusedMs > 0 ? foldedMs / fusedMs : 0))")
    if let ceiling = fusionCeiling {
      let total = unfusedByPattern.values.reduce(0, +)
      let parts = unfusedByPattern.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
        name, ms in
        String(format: "%@ %.2f ms (%.0f%%)", OpPattern(name: name)?.plainName ?? name, ms, 100 * ms / total)
      }
      lines.append("unfused kernel time by kind of op: " + parts.joined(separator: ", "))
      lines.append(
        "fusion ceiling \(ratio(ceiling)): the speedup if fusion only removed kernels — every elementwise, broadcast"
          + " and data-movement kernel free, convs and the rest unchanged")
      if speedup > 1.02 * ceiling {
        lines.append(
          "the speedup beats the ceiling: fused kernels are themselves faster than their unfused parts"
            + " (batch norms folded into conv weights, conv chains, blocked layouts, fewer passes over memory)")
      }
    }
    if flops > 0, fusedMs > 0 {
      var line = String(
        format: "fused: %.2f GFLOP per inference at %.1f GFLOP/s", Double(flops) / 1e9, Double(flops) / (fusedMs * 1e6))
      if let peak = peakGFLOPS, peak > 0 {
        let source = peakMeasured ? "measured on \(threads) thread\(threads == 1 ? "" : "s")" : "given"
        line += String(
          format: " (%.0f%% of the %.0f GFLOP/s peak, %@)", 100 * Double(flops) / (fusedMs * 1e6) / peak, peak, source)
      }
      lines.append(line)
    }
    if let batch, let samples = samplesPerSecond {
      lines.append(
        String(
          format: "throughput at batch %d: %.1f samples/s fused (%.2f ms per sample), unfused %.1f samples/s", batch,
          samples, fusedMs / Double(batch), unfusedMs > 0 ? Double(batch) * 1000 / unfusedMs : 0))
    }
    if !groups.isEmpty {
      lines.append("")
      lines.append("per-group profile (fused), slowest first:")
      lines += groupTable()
    }
    for warning in warnings { lines += ["", "warning: " + warning] }
    return lines.joined(separator: "\n")
  }

  /// The top groups, an "others" row for the rest and a total row.
  func groupTable() -> [String] {
    let top = groups.prefix(BenchReport.tableGroupLimit)
    let rest = groups.dropFirst(BenchReport.tableGroupLimit)
    let hasPeak = peakGFLOPS != nil
    let hasBest = hasPeak && groups.contains { $0.bestPeakFraction != nil }
    func row(
      _ index: String, _ name: String, ms: Double, share: Double, flops: Int, peakFraction: Double?,
      best: Double? = nil
    ) -> [String] {
      let gflops = ms > 0 ? Double(flops) / (ms * 1e6) : 0
      var cells = [
        index, name, String(format: "%.3f", ms), String(format: "%.1f%%", 100 * share), String(format: "%.1f", gflops),
      ]
      if hasPeak { cells.append(peakFraction.map { String(format: "%.0f%%", 100 * $0) } ?? "") }
      if hasBest { cells.append(best.map { String(format: "%.0f%%", 100 * $0) } ?? "") }
      return cells
    }
    var rows = top.enumerated().map { i, g in
      row(
        String(i + 1), g.name + (g.winograd == true ? " (W)" : ""), ms: g.ms, share: g.share, flops: g.flops,
        peakFraction: g.peakFraction, best: g.bestPeakFraction)
    }
    let peakOf: (Double, Int) -> Double? = { ms, flops in
      guard let peak = self.peakGFLOPS, peak > 0, ms > 0 else { return nil }
      return Double(flops) / (ms * 1e6) / peak
    }
    if !rest.isEmpty {
      let ms = rest.reduce(0) { $0 + $1.ms }, f = rest.reduce(0) { $0 + $1.flops }
      rows.append(
        row(
          "", "others (\(rest.count) groups)", ms: ms, share: rest.reduce(0) { $0 + $1.share }, flops: f,
          peakFraction: peakOf(ms, f)))
    }
    let ms = groups.reduce(0) { $0 + $1.ms }, f = groups.reduce(0) { $0 + $1.flops }
    rows.append(row("", "total (\(groups.count) groups)", ms: ms, share: 1, flops: f, peakFraction: peakOf(ms, f)))
    var header = ["#", "group", "ms", "share", "GFLOP/s"]
    if hasPeak { header.append("% peak") }
    if hasBest { header.append("fastest run") }
    let note = "(W): a Winograd conv; its GFLOP/s and % of peak count the direct conv's FLOPs, so they may pass 100%"
    return table(header: header, rows: rows, rightAligned: [0, 2, 3, 4, 5, 6])
      + (groups.contains { $0.winograd == true } ? [note] : [])
  }
}

/// `2.31×`.
func ratio(_ value: Double) -> String { String(format: "%.2f×", value) }
