import Foundation
import Testing

@testable import GraphFuse

@Suite("BenchRunner")
struct BenchRunnerTests {
  /// The reference executor as the stand-in backend; the "profile" times each group's nodes
  /// as a node count so the result is deterministic.
  static func reference(_ inputs: [Tensor], prepared: Recorder) -> (BenchConfiguration, OptimizedGraph)
    throws(GraphFuseError) -> BenchRunnable
  {
    { config, optimized in
      prepared.configs.append(config)
      let graph = optimized.graph
      return BenchRunnable(
        run: { () throws(GraphFuseError) in _ = try ReferenceExecutor.run(graph, inputs: inputs) },
        outputs: { () throws(GraphFuseError) in try ReferenceExecutor.run(graph, inputs: inputs) },
        profile: { optimized.plan.groups.map { ($0.name, 0.01 * Double($0.nodes.count), nil) } })
    }
  }

  final class Recorder: @unchecked Sendable { var configs: [BenchConfiguration] = [] }

  @Test(arguments: [false, true])
  func tinyEndToEnd(interleaved: Bool) throws {
    let graph = try ModelZoo.build("tiny")
    let inputs = TestNets.input(graph)
    let recorder = Recorder()
    var lines = ""
    let progress = ProgressLine(isTerminal: false) { lines += $0 }
    let report = try BenchRunner.run(
      graph: graph, model: "zoo:tiny",
      options: BenchOptions(runs: 3, warmup: 1, threads: 1, peakGFLOPS: 100, interleaved: interleaved),
      progress: progress, prepare: BenchRunnerTests.reference(inputs, prepared: recorder))
    #expect(recorder.configs == [.unfused, .folded, .fused])
    #expect(report.model == "zoo:tiny")
    #expect(report.runs == 3 && report.warmup == 1)
    for (_, c) in report.configurations {
      #expect(c.latency.runs == 3)
      #expect(c.latency.median > 0)
      #expect(c.prepareMs > 0)
    }
    #expect(report.unfused.kernels > report.folded.kernels)
    #expect(report.folded.kernels > report.fused.kernels)
    #expect(report.unfused.intermediateBytes > report.fused.intermediateBytes)
    let fused = try graph.optimized()
    #expect(report.fused.kernels == fused.plan.groups.count)
    #expect(report.groups.count == fused.plan.groups.count)
    #expect(report.groups.contains { $0.flops > 0 && $0.peakFraction != nil })
    #expect(report.flops > 0)
    // The stand-in profile gives every unfused kernel 0.01 ms, so the ceiling is a count ratio.
    let unfused = try graph.optimized(BenchConfiguration.unfused.options())
    let kept = unfused.plan.groups.filter { !BenchReport.removablePatterns.contains($0.pattern) }.count
    #expect(kept > 0 && kept < unfused.plan.groups.count)
    let kernels = Double(unfused.plan.groups.count)
    let profiled: Double = report.unfusedByPattern.values.reduce(0, +)
    let ceiling: Double = report.fusionCeiling ?? 0
    #expect(abs(profiled - 0.01 * kernels) < 1e-9)
    #expect(abs(ceiling - kernels / Double(kept)) < 1e-9)
    #expect(report.description.contains("fusion ceiling"))
    #expect(lines.contains("profiling unfused"))
    #expect(lines.contains("preparing fused"))
    #expect(lines.contains("timing"))
    let inspector = SVGInspector()
    #expect(inspector.parse(SVGChart(report).svg))
    if let path = ProcessInfo.processInfo.environment["GRAPHFUSE_SAMPLE_TINY"], !interleaved {
      try (report.description + "\n" + report.json).write(toFile: path + ".txt", atomically: true, encoding: .utf8)
      try SVGChart(report).svg.write(toFile: path + ".svg", atomically: true, encoding: .utf8)
    }
    #expect(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) is [String: Any])
  }

  @Test func differingOutputsAreAnError() throws {
    let graph = try ModelZoo.build("tiny")
    let inputs = TestNets.input(graph)
    let error = #expect(throws: GraphFuseError.self) {
      try BenchRunner.run(graph: graph, model: "zoo:tiny", options: BenchOptions(runs: 1, warmup: 0)) {
        config, optimized throws(GraphFuseError) in
        let graph = optimized.graph
        return BenchRunnable(
          run: {},
          outputs: { () throws(GraphFuseError) in
            var out = try ReferenceExecutor.run(graph, inputs: inputs)
            if config == .fused { out[0].data[0] += 1 }
            return out
          })
      }
    }
    #expect(error?.message.hasPrefix("fused output 0 differs from unfused") == true)
  }

  /// A bug shared by all three configurations passes their mutual check but not the reference's.
  @Test func everyConfigurationIsCheckedAgainstTheReference() throws {
    let graph = try ModelZoo.build("tiny")
    let inputs = TestNets.input(graph)
    let golden = try ReferenceExecutor.run(graph, inputs: inputs)
    func prepare(offset: Float) -> (BenchConfiguration, OptimizedGraph) throws(GraphFuseError) -> BenchRunnable {
      { _, optimized in
        let graph = optimized.graph
        return BenchRunnable(
          run: {},
          outputs: { () throws(GraphFuseError) in
            var out = try ReferenceExecutor.run(graph, inputs: inputs)
            out[0].data[0] += offset
            return out
          }, cached: true)
      }
    }
    let options = BenchOptions(runs: 1, warmup: 0)
    _ = try BenchRunner.run(graph: graph, model: "zoo:tiny", options: options, prepare: prepare(offset: 1))
    let error = #expect(throws: GraphFuseError.self) {
      try BenchRunner.run(
        graph: graph, model: "zoo:tiny", options: options, reference: golden, prepare: prepare(offset: 1))
    }
    #expect(
      error?.message.hasPrefix("unfused output 0 differs from the reference executor") == true,
      "\(String(describing: error))")
    let report = try BenchRunner.run(
      graph: graph, model: "zoo:tiny", options: options, reference: golden, prepare: prepare(offset: 0))
    for (_, c) in report.configurations {
      #expect(try #require(c.referenceRelError) < 1e-5)
      #expect(c.cached == true)
    }
  }

  @Test func zeroRunsIsAnError() throws {
    let graph = try ModelZoo.build("tiny")
    #expect(throws: GraphFuseError.self) {
      try BenchRunner.run(graph: graph, model: "zoo:tiny", options: BenchOptions(runs: 0)) { _, _ in
        BenchRunnable(run: {})
      }
    }
  }
}
