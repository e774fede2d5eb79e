import Foundation

/// A bar chart of a `BenchReport` as standalone SVG: the three latencies with min–max
/// whiskers and the speedup, then where the fused time goes, group by group.
///
/// ```swift
/// try SVGChart(report).svg.write(toFile: "resnet18.svg", atomically: true, encoding: .utf8)
/// ```
public struct SVGChart: Sendable {
  /// The report drawn.
  public var report: BenchReport
  /// Groups drawn as their own bars; the rest are summed into one "others" bar.
  public var groupLimit = 10

  /// A chart of `report`.
  public init(_ report: BenchReport, groupLimit: Int = 10) {
    self.report = report
    self.groupLimit = groupLimit
  }

  // Geometry, in pixels.
  static let width = 1000.0
  static let margin = 24.0
  static let rightColumn = 170.0
  static let valueColumn = 100.0
  static let charWidth = 7.5
  static let maxNameLength = 32

  /// Colors, one per configuration; group bars use the fused color.
  static let colors = ["unfused": "#9ca3af", "folded": "#60a5fa", "fused": "#1d4ed8", "others": "#cbd5e1"]
  static let ink = "#111827", muted = "#6b7280", grid = "#e5e7eb"

  /// One bar of the group panel.
  struct GroupRow {
    var label: String, full: String
    var ms: Double, share: Double, gflops: Double
    var peak: Double?
    var isOthers = false
  }

  /// The top groups as rows, then one "others" row summing the rest.
  var groupRows: [GroupRow] {
    var rows = report.groups.prefix(groupLimit).map {
      GroupRow(
        label: SVGChart.truncated($0.name), full: $0.name, ms: $0.ms, share: $0.share, gflops: $0.gflops,
        peak: $0.peakFraction)
    }
    let rest = report.groups.dropFirst(groupLimit)
    if !rest.isEmpty {
      let ms = rest.reduce(0) { $0 + $1.ms }, flops = rest.reduce(0) { $0 + $1.flops }
      let gflops = ms > 0 ? Double(flops) / (ms * 1e6) : 0
      rows.append(
        GroupRow(
          label: "others (\(rest.count) groups)", full: "others", ms: ms, share: rest.reduce(0) { $0 + $1.share },
          gflops: gflops, peak: report.peakGFLOPS.flatMap { $0 > 0 ? gflops / $0 : nil }, isOthers: true))
    }
    return rows
  }

  /// The SVG document.
  public var svg: String {
    let rows = groupRows
    // Both panels share the bar start: right of the longest label (monospace estimate).
    let longest = max(12, rows.map(\.label.count).max() ?? 0)
    let x0 = SVGChart.margin + Double(longest) * SVGChart.charWidth + 12
    let x1 = SVGChart.width - SVGChart.margin - SVGChart.rightColumn - SVGChart.valueColumn
    var out = SVGWriter()

    let name = report.model.split(separator: "/").last.map(String.init) ?? report.model
    out.text(SVGChart.margin, 34, "\(name) — fused vs unfused", size: 20, weight: "bold")
    let subtitle =
      "\(report.threads) thread\(report.threads == 1 ? "" : "s") · median of \(report.runs) runs after "
      + "\(report.warmup) warm-up · \(report.date.prefix(10)) · whiskers: min–max"
    out.text(SVGChart.margin, 56, subtitle, size: 13, fill: SVGChart.muted)

    var y = latencyPanel(&out, top: 92, x0: x0, x1: x1)
    y = groupPanel(&out, rows, top: y + 62, x0: x0, x1: x1)
    // The report's warnings (a busy machine, % of peak above 100, nothing folded) travel with the chart.
    if !report.warnings.isEmpty { y += 16 }
    for warning in report.warnings {
      for (k, line) in SVGChart.wrapped("warning: " + warning, width: 128).enumerated() {
        y += 17
        out.text(SVGChart.margin + (k == 0 ? 0 : 16), y, line, size: 12, fill: SVGChart.warningInk)
      }
    }
    return out.document(width: SVGChart.width, height: y + 12)
  }

  static let warningInk = "#b45309"

  /// `text` broken at spaces into lines of at most `width` characters.
  static func wrapped(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
      if !line.isEmpty && line.count + 1 + word.count > width {
        lines.append(line)
        line = ""
      }
      line += (line.isEmpty ? "" : " ") + word
    }
    return line.isEmpty ? lines : lines + [line]
  }

  /// The three latencies with whiskers, the speedup, kernels and intermediates; returns the axis line's y.
  func latencyPanel(_ out: inout SVGWriter, top: Double, x0: Double, x1: Double) -> Double {
    var y = top
    out.open("g", ["class": "panel latency"])
    let speedup =
      "fused is " + SVGChart.comparison(report.unfusedMs, report.fusedMs, "unfused") + ", "
      + SVGChart.comparison(report.foldedMs, report.fusedMs, "folded")
    out.text(
      SVGChart.margin, y, "Latency per inference", size: 15, weight: "bold",
      spans: [(speedup, SVGChart.colors["fused"]!, "bold", 13)])
    out.text(
      SVGChart.width - SVGChart.margin, y, "kernels · intermediates", size: 11, fill: SVGChart.muted, anchor: "end")
    y += 16
    let scale = AxisScale(maximum: report.configurations.map { $0.result.latency.max }.max() ?? 0, from: x0, to: x1)
    let rowHeight = 40.0, barHeight = 24.0
    scale.gridlines(&out, top: y, bottom: y + 3 * rowHeight)
    for (name, c) in report.configurations {
      let mid = y + rowHeight / 2
      let median = "\(formatMilliseconds(c.latency.median)) ms"
      out.text(x0 - 10, mid - 2, name, size: 13, weight: name == "fused" ? "bold" : "normal", anchor: "end")
      out.text(
        x0 - 10, mid + 12, "\(formatMilliseconds(c.latency.min))–\(formatMilliseconds(c.latency.max)) ms", size: 10,
        fill: SVGChart.muted, anchor: "end")
      let end = scale.x(c.latency.median)
      out.rect(
        x0, mid - barHeight / 2, end - x0, barHeight, fill: SVGChart.colors[name]!, cls: "bar latency",
        title: "\(name): \(median)")
      var labelX = end
      if c.latency.max > c.latency.min {
        let a = scale.x(c.latency.min), b = scale.x(c.latency.max)
        out.line(a, mid, b, mid, stroke: SVGChart.ink, width: 1.2)
        out.line(a, mid - 5, a, mid + 5, stroke: SVGChart.ink, width: 1.2)
        out.line(b, mid - 5, b, mid + 5, stroke: SVGChart.ink, width: 1.2)
        labelX = max(labelX, b)
      }
      out.text(labelX + 6, mid + 4.5, median, size: 13, weight: "bold")
      out.text(
        SVGChart.width - SVGChart.margin, mid + 4.5, "\(c.kernels) · \(megabytes(c.intermediateBytes))", size: 12,
        fill: SVGChart.muted, anchor: "end")
      y += rowHeight
    }
    scale.axis(&out, y: y, title: "latency (ms)")
    if let ceiling = report.fusionCeiling {
      out.text(
        SVGChart.width - SVGChart.margin, y + 34,
        "fusion ceiling \(ratio(ceiling)): unfused with elementwise kernels free, convs unchanged", size: 11,
        fill: SVGChart.muted, anchor: "end")
    }
    out.close("g")
    return y
  }

  /// The per-group profile of the fused configuration; returns the y below the panel.
  func groupPanel(_ out: inout SVGWriter, _ rows: [GroupRow], top: Double, x0: Double, x1: Double) -> Double {
    var y = top
    out.open("g", ["class": "panel groups"])
    defer { out.close("g") }
    guard !rows.isEmpty else {
      out.text(SVGChart.margin, y, "No per-group profile in this report.", size: 13, fill: SVGChart.muted)
      return y + 10
    }
    let shown = min(groupLimit, report.groups.count)
    let heading =
      "Where the fused time goes — "
      + (shown == report.groups.count ? "all \(shown) groups" : "top \(shown) of \(report.groups.count) groups")
    out.text(SVGChart.margin, y, heading, size: 15, weight: "bold")
    out.text(
      SVGChart.width - SVGChart.margin, y,
      report.peakGFLOPS.map { String(format: "GFLOP/s · %% of the %.0f GFLOP/s peak", $0) } ?? "GFLOP/s", size: 11,
      fill: SVGChart.muted, anchor: "end")
    y += 12
    let scale = AxisScale(maximum: rows.map(\.ms).max() ?? 0, from: x0, to: x1)
    let rowHeight = 24.0, barHeight = 16.0
    scale.gridlines(&out, top: y, bottom: y + Double(rows.count) * rowHeight)
    for row in rows {
      let mid = y + rowHeight / 2
      out.text(
        x0 - 10, mid + 4, row.label, size: 12, fill: row.isOthers ? SVGChart.muted : SVGChart.ink, anchor: "end",
        family: "monospace")
      let end = scale.x(row.ms)
      out.rect(
        x0, mid - barHeight / 2, end - x0, barHeight, fill: SVGChart.colors[row.isOthers ? "others" : "fused"]!,
        cls: row.isOthers ? "bar others" : "bar group", title: "\(row.full): \(String(format: "%.3f", row.ms)) ms")
      out.text(
        end + 6, mid + 4, "\(formatMilliseconds(row.ms)) ms · " + String(format: "%.1f%%", 100 * row.share), size: 12)
      var right = String(format: row.gflops >= 99.95 ? "%.0f" : "%.1f", row.gflops)
      if let peak = row.peak { right += String(format: " · %.0f%%", 100 * peak) }
      out.text(SVGChart.width - SVGChart.margin, mid + 4, right, size: 12, fill: SVGChart.muted, anchor: "end")
      y += rowHeight
    }
    scale.axis(&out, y: y, title: "time per inference (ms), fused configuration")
    return y + 44
  }

  /// `2.31× faster than unfused`, or `1.05× slower than folded` when `fused` is the larger time.
  static func comparison(_ other: Double, _ fused: Double, _ name: String) -> String {
    guard other > 0, fused > 0 else { return "not measured against \(name)" }
    return other >= fused
      ? "\(ratio(other / fused)) faster than \(name)" : "\(ratio(fused / other)) slower than \(name)"
  }

  /// `name` in at most `limit` characters, cut only between `_`-separated words: the `fused_`
  /// prefix goes first, then words from the middle (shown as `…`), keeping the first ops and the
  /// end (the last op and the numeric suffix that tells groups apart).
  static func truncated(_ name: String, to limit: Int = maxNameLength) -> String {
    guard name.count > limit else { return name }
    let short = name.hasPrefix("fused_") ? String(name.dropFirst(6)) : name
    guard short.count > limit else { return short }
    let words = short.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
    var tailCount = words.last.map { Int($0) != nil && words.count > 2 ? 2 : 1 } ?? 1
    var headCount = 1
    func joined(_ head: Int, _ tail: Int) -> String {
      words.prefix(head).joined(separator: "_") + "…" + words.suffix(tail).joined(separator: "_")
    }
    guard headCount + tailCount < words.count, joined(headCount, tailCount).count <= limit else {
      return String(short.prefix(limit - 1)) + "…"
    }
    // Grow the kept head and tail alternately while they fit.
    var grew = true
    while grew {
      grew = false
      if headCount + tailCount < words.count - 1, joined(headCount + 1, tailCount).count <= limit {
        headCount += 1
        grew = true
      }
      if headCount + tailCount < words.count - 1, joined(headCount, tailCount + 1).count <= limit {
        tailCount += 1
        grew = true
      }
    }
    return joined(headCount, tailCount)
  }
}

/// A linear axis from zero to a "nice" maximum (1, 2, 2.5 or 5 × 10ⁿ steps).
struct AxisScale {
  let maximum: Double
  let step: Double
  let from: Double, to: Double

  init(maximum value: Double, from: Double, to: Double) {
    let target = value > 0 ? value : 1
    let raw = target / 6
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    self.step = step
    self.maximum = ceil(target / step - 1e-9) * step
    self.from = from
    self.to = to
  }

  /// The x position of `value`.
  func x(_ value: Double) -> Double { from + (to - from) * Swift.min(Swift.max(value, 0), maximum) / maximum }

  var ticks: [Double] { stride(from: 0, through: maximum + step / 2, by: step).map { $0 } }

  func label(_ value: Double) -> String {
    let decimals =
      [0, 1, 2, 3].first { d in
        let scaled = step * pow(10, Double(d))
        return abs(scaled - scaled.rounded()) < 1e-6
      } ?? 3
    return String(format: "%.\(decimals)f", value)
  }

  func gridlines(_ out: inout SVGWriter, top: Double, bottom: Double) {
    for t in ticks { out.line(x(t), top, x(t), bottom, stroke: SVGChart.grid, width: 1) }
  }

  func axis(_ out: inout SVGWriter, y: Double, title: String) {
    out.line(from, y, to, y, stroke: SVGChart.muted, width: 1)
    for t in ticks {
      out.line(x(t), y, x(t), y + 4, stroke: SVGChart.muted, width: 1)
      out.text(x(t), y + 17, label(t), size: 11, fill: SVGChart.muted, anchor: "middle")
    }
    out.text((from + to) / 2, y + 34, title, size: 12, fill: SVGChart.ink, anchor: "middle")
  }
}
