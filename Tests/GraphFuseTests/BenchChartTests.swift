import Foundation
import Testing

@testable import GraphFuse

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Collects the elements of an XML document: names, attributes and text of `<text>` elements.
final class SVGInspector: NSObject, XMLParserDelegate {
  var elements: [(name: String, attributes: [String: String])] = []
  var texts: [String] = []
  private var textDepth = 0
  private var current = ""

  /// Parses `svg`; false when it is not well-formed XML.
  func parse(_ svg: String) -> Bool {
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = self
    return parser.parse()
  }

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String] = [:]
  ) {
    elements.append((name, attributes))
    if name == "text" { textDepth += 1; if textDepth == 1 { current = "" } }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if textDepth > 0 { current += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    if name == "text" { textDepth -= 1; if textDepth == 0 { texts.append(current) } }
  }

  func count(class cls: String) -> Int { elements.filter { $0.attributes["class"] == cls }.count }
}

@Suite("SVGChart")
struct SVGChartTests {
  struct Case: Sendable, CustomStringConvertible {
    var groups: Int
    var groupBars: Int
    var others: Int
    var description: String { "\(groups) groups" }
  }

  @Test(arguments: [
    Case(groups: 24, groupBars: 10, others: 1), Case(groups: 10, groupBars: 10, others: 0),
    Case(groups: 3, groupBars: 3, others: 0),
    Case(groups: 0, groupBars: 0, others: 0),
  ])
  func wellFormedWithExpectedBars(_ c: Case) throws {
    let report = BenchSamples.report(groups: c.groups)
    let svg = SVGChart(report).svg
    let inspector = SVGInspector()
    #expect(inspector.parse(svg), "SVG is not well-formed XML")
    #expect(inspector.elements.first?.name == "svg")
    #expect(inspector.count(class: "bar latency") == 3)
    #expect(inspector.count(class: "bar group") == c.groupBars)
    #expect(inspector.count(class: "bar others") == c.others)
    #expect(inspector.texts.contains { $0.contains("resnet18") && $0.contains("fused vs unfused") })
    #expect(inspector.texts.contains { $0.contains("2 threads") && $0.contains("2026-") })
    for name in ["unfused", "folded", "fused"] { #expect(inspector.texts.contains(name)) }
    #expect(inspector.texts.contains { $0.contains("fused is 2.31× faster than unfused, 1.78× faster than folded") })
    #expect(inspector.texts.contains("31.4 ms"))
    #expect(inspector.texts.contains("13.6 ms"))
    #expect(inspector.texts.contains("latency (ms)"))
    #expect(inspector.texts.contains("fusion ceiling 1.15×: unfused with elementwise kernels free, convs unchanged"))
    if c.groups > 0 {
      #expect(inspector.texts.contains("fused_conv2d_add_relu_0"))
      #expect(inspector.texts.contains { $0.hasPrefix("2.00 ms · ") })
      #expect(inspector.texts.contains { $0.hasPrefix("time per inference (ms)") })
      #expect(inspector.texts.contains("GFLOP/s · % of the 353 GFLOP/s peak"))
    }
    if c.others > 0 { #expect(inspector.texts.contains("others (14 groups)")) }
    // Bars stay inside the drawing.
    let width = try #require(Double(inspector.elements[0].attributes["width"] ?? ""))
    for e in inspector.elements where e.name == "rect" && e.attributes["class"]?.hasPrefix("bar") == true {
      let x = try #require(Double(e.attributes["x"] ?? "")), w = try #require(Double(e.attributes["width"] ?? ""))
      #expect(x >= 0 && x + w <= width)
    }
  }

  /// A group above 100 % of the peak (a busy machine) and a model with nothing to fold are
  /// warned about in the text, the JSON and the chart.
  @Test func warningsTravelWithTheChart() throws {
    var report = BenchSamples.report(groups: 3)
    #expect(!report.warnings.contains { $0.contains("above 100%") || $0.contains("nothing was folded") })
    report.groups[0].peakFraction = 1.04
    report.foldedEqualsUnfused = true
    #expect(report.warnings.contains { $0.contains("1 group ran above 100% of the FMA peak (up to 104%)") })
    #expect(report.warnings.contains { $0.contains("nothing was folded") && $0.contains("optimize=False") })
    #expect(report.description.contains("warning: 1 group ran above 100%"))
    #expect(report.json.contains("\"folded_equals_unfused\" : true"))
    let inspector = SVGInspector()
    #expect(inspector.parse(SVGChart(report).svg))
    #expect(inspector.texts.contains { $0.hasPrefix("warning: 1 group ran above 100% of the FMA peak") })
    #expect(inspector.texts.contains { $0.hasPrefix("warning: nothing was folded") })
  }

  /// A Winograd conv is counted at the direct conv's FLOPs: above 100 % of the peak is no sign
  /// of a busy machine, and the profile says why its figure passes 100 %.
  @Test func winogradGroupsAboveThePeakAreNoWarning() throws {
    var report = BenchSamples.report(groups: 3)
    report.groups[0].peakFraction = 1.6
    report.groups[0].winograd = true
    #expect(!report.warnings.contains { $0.contains("above 100%") }, "\(report.warnings)")
    #expect(report.description.contains(report.groups[0].name + " (W)"))
    #expect(report.description.contains("(W): a Winograd conv"))
    #expect(report.json.contains("\"winograd\" : true"))
    report.groups[1].peakFraction = 1.04
    #expect(report.warnings.contains { $0.contains("1 group ran above 100% of the FMA peak (up to 104%)") })
  }

  /// `bench` on a network with Winograd convs (the compiled backend marks them).
  @Test func compiledBackendMarksWinogradGroups() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 32, 14, 14])
    b.output(try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [32, 32, 3, 3], seed: 4), padding: 1)))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    let compiled = try CompiledModel.compile(
      optimized.graph, plan: optimized.plan, options: CompiledTesting.options)
    #expect(compiled.winogradGroups == Set(optimized.plan.groups.map(\.name)), "\(compiled.winogradGroups)")
  }

  @Test(arguments: [
    (31.4, 13.6, "2.31× faster than unfused"), (10.0, 10.5, "1.05× slower than folded"),
    (0.0, 1.0, "not measured against folded"),
  ])
  func speedupPhrasing(_ other: Double, _ fused: Double, _ expected: String) {
    #expect(SVGChart.comparison(other, fused, expected.hasSuffix("unfused") ? "unfused" : "folded") == expected)
  }

  @Test func escapesNamesAndTruncatesLongOnes() {
    var report = BenchSamples.report(groups: 2)
    report.groups[0].name = "fused_<odd>&\"name\""
    report.model = "/models/a&b.onnx"
    let inspector = SVGInspector()
    #expect(inspector.parse(SVGChart(report).svg))
    #expect(inspector.texts.contains("fused_<odd>&\"name\""))
    #expect(inspector.texts.contains { $0.hasPrefix("a&b.onnx") })
    #expect(SVGChart.truncated("fused_conv2d_relu_3") == "fused_conv2d_relu_3")
    let names = [
      "fused_conv2d_batch_norm_relu_max_pool2d_transpose_reshape_17",
      "fused_conv2d_clip_conv2d_clip_conv2d_add_clip_conv2d_clip_conv2d_12",
      "fused_conv2d_clip_conv2d_clip_conv2d_add_1",
    ]
    for long in names {
      let cut = SVGChart.truncated(long)
      #expect(cut.count <= SVGChart.maxNameLength, "\(cut)")
      // Cut only between words: every kept word is a whole word of the name.
      let words = Set(long.split(separator: "_").map(String.init))
      for part in cut.split(whereSeparator: { $0 == "_" || $0 == "…" }) {
        #expect(words.contains(String(part)), "\(cut)")
      }
      #expect(cut.hasPrefix("conv2d_"))
      #expect(cut.hasSuffix("_" + (long.split(separator: "_").last.map(String.init) ?? "")))
    }
    #expect(SVGChart.truncated(names[0]) == "conv2d_batch_norm…reshape_17")
  }

  @Test(arguments: [
    (0.0, 1.0, 0.2), (13.6, 15.0, 2.5), (31.4 * 1.2, 40.0, 10.0), (2.0, 2.0, 0.5), (0.07, 0.08, 0.02), (230, 250, 50),
  ])
  func axisUsesNiceSteps(_ value: Double, _ maximum: Double, _ step: Double) {
    let scale = AxisScale(maximum: value, from: 0, to: 100)
    #expect(
      scale.label(step)
        == String(format: step == 2.5 ? "%.1f" : step >= 1 ? "%.0f" : step >= 0.1 ? "%.1f" : "%.2f", step))
    #expect(abs(scale.maximum - maximum) < 1e-9)
    #expect(abs(scale.step - step) < 1e-9)
    #expect(scale.x(scale.maximum) == 100)
  }

  /// Writes the sample chart to `$GRAPHFUSE_SAMPLE_SVG` for a look with `rsvg-convert`.
  @Test(
    .enabled(
      if: ProcessInfo.processInfo.environment["GRAPHFUSE_SAMPLE_SVG"] != nil,
      "skipped: set GRAPHFUSE_SAMPLE_SVG=PATH to write the sample chart"))
  func writesSampleWhenAsked() throws {
    let path = try #require(ProcessInfo.processInfo.environment["GRAPHFUSE_SAMPLE_SVG"])
    try SVGChart(BenchSamples.report()).svg.write(toFile: path, atomically: true, encoding: .utf8)
    #expect(FileManager.default.fileExists(atPath: path))
  }
}
