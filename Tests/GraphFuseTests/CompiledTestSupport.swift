import Foundation
import Testing

@testable import GraphFuse

/// A named graph-building case for the compiled-vs-reference tests.
struct CompiledCase: Sendable, CustomStringConvertible {
  let name: String
  let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void
  /// Node partition for a fused plan; nil means one group per node.
  var partition: (@Sendable (Graph) -> [[NodeID]])? = nil
  var description: String { name }

  init(
    _ name: String, partition: (@Sendable (Graph) -> [[NodeID]])? = nil,
    build: @escaping @Sendable (GraphBuilder) throws(GraphFuseError) -> Void
  ) {
    self.name = name
    self.partition = partition
    self.build = build
  }
}

enum CompiledTesting {
  /// A cache directory shared by test runs so reruns skip clang.
  static let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")

  /// Compiles `program` after the C prelude into an executable with this host's kernel flags and
  /// 16-float vectors, runs it and returns what it printed.
  static func runWithPrelude(
    _ program: String, name: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> String {
    let toolchain = try Toolchain.find(portable: false, cacheDirectory: nil)
    let dir = NSTemporaryDirectory() + "graphfuse-\(name)-\(ProcessInfo.processInfo.processIdentifier)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try (CRuntime.prelude + "\n" + program).write(toFile: dir + "/p.c", atomically: true, encoding: .utf8)
    let flags = toolchain.flags.filter { $0 != "-fPIC" } + ["-DGF_V=16", "-pthread", "-o", dir + "/p"]
    let (built, log) = try Subprocess.output([toolchain.compiler] + flags + [dir + "/p.c", "-lm"], timeout: 120)
    try #require(built == .exited(0), "\(log)", sourceLocation: sourceLocation)
    let (ran, output) = try Subprocess.output([dir + "/p"], timeout: 120)
    #expect(ran == .exited(0), "\(output)", sourceLocation: sourceLocation)
    return output
  }

  static func weight(_ b: GraphBuilder, _ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1...1) -> ValueID {
    b.constant(Tensor.random(shape: shape, in: range, seed: seed))
  }

  /// Optimizes `graph`, compiles it fused and unfused, runs both on `inputs` and expects every
  /// output of each within 1e-4 of the reference executor; returns the two models (by
  /// configuration name) for further checks.
  @discardableResult
  static func fusedAndUnfusedMatchReference(
    _ graph: Graph, inputs: [Tensor], context: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> [(name: String, model: CompiledModel)] {
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let optimized = try Pipeline.optimize(graph)
    var models: [(name: String, model: CompiledModel)] = []
    for (name, plan) in [("fused", optimized.plan), ("unfused", FusionPlan.unfused(optimized.graph))] {
      let model = try CompiledModel.compile(optimized.graph, plan: plan, options: options)
      let actual = try model.run(inputs)
      #expect(actual.count == expected.count, sourceLocation: sourceLocation)
      for (k, (a, e)) in zip(actual, expected).enumerated() {
        let comparison = a.compared(to: e)
        #expect(
          comparison.isWithin(relative: 1e-4), "\(name), \(context), output \(k): \(comparison)",
          sourceLocation: sourceLocation)
      }
      models.append((name, model))
    }
    return models
  }

  /// Builds the case, compiles it (unfused or with its partition) and compares with the reference.
  static func check(
    _ c: CompiledCase, fused: Bool = true, inputRange: ClosedRange<Float> = -1...1,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let b = GraphBuilder()
    try c.build(b)
    let graph = try b.finish()
    let plan =
      fused && c.partition != nil
      ? FusionPlan(groups: FusionPlan.makeGroups(graph, partition: c.partition!(graph))) : FusionPlan.unfused(graph)
    let inputs = graph.inputs.enumerated().map { k, v in
      Tensor.random(shape: graph.shape(of: v), in: inputRange, seed: UInt64(17 + k))
    }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let model = try CompiledModel.compile(graph, plan: plan, options: options)
    let actual = try model.run(inputs)
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (a, e) in zip(actual, expected) {
      let cmp = a.compared(to: e)
      #expect(cmp.isWithin(relative: 1e-4), "\(c.name): \(cmp)", sourceLocation: sourceLocation)
    }
  }
}
