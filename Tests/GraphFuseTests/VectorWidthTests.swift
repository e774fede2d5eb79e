import Foundation
import Testing

@testable import GraphFuse

/// Blocked layouts at 16 floats (AVX-512), 8 (AVX2) and 4 (NEON, SSE): the same networks compile
/// and match the reference executor at every width (`CompileOptions.vectorWidth`, or
/// `GRAPHFUSE_VECTOR_WIDTH`), so a narrower CPU's layout is exercised on this one.
@Suite struct VectorWidthTests {
  static func options(_ width: Int) -> CompileOptions {
    var options = CompiledTesting.options
    options.vectorWidth = width
    return options
  }

  /// Compiles `graph` fused at `width`, checks every blocked kernel uses that width and the
  /// outputs are within 1e-4 of the reference executor.
  static func check(_ graph: Graph, width: Int, context: String) throws {
    let inputs = graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), seed: UInt64(5 + k)) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let optimized = try graph.optimized()
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options(width))
    #expect(model.program.vectorWidth == width, "\(context)")
    let layouts = model.program.schedules.flatMap { $0 }.flatMap { [$0.output] + $0.inputs }
    #expect(!layouts.contains { if case .blocked(let v) = $0 { v != width } else { false } }, "\(context)")
    #expect(layouts.contains(.blocked(width)), "\(context): no blocked kernel")
    for (k, (a, e)) in zip(try model.run(inputs), expected).enumerated() {
      let comparison = a.compared(to: e)
      #expect(comparison.isWithin(relative: 1e-4), "\(context), width \(width), output \(k): \(comparison)")
    }
  }

  @Test(arguments: [16, 8, 4])
  func zooTinyAtEveryWidth(_ width: Int) throws {
    try Self.check(try ModelZoo.build("tiny", batch: 2), width: width, context: "zoo:tiny")
  }

  @Test(arguments: [16, 8, 4], [UInt64(3), 5, 12])
  func groupedConvsAtEveryWidth(_ width: Int, _ seed: UInt64) throws {
    let (graph, text) = try GroupedConvTests.network(seed: seed)
    try Self.check(graph, width: width, context: text)
  }

  /// An inverted-residual block (1×1 expand, depthwise 3×3, 1×1 project, residual): the conv
  /// chain kernels at every width.
  @Test(arguments: [16, 8, 4])
  func depthwiseChainAtEveryWidth(_ width: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 24, 14, 14])
    let w = { (shape: [Int], seed: UInt64) in CompiledTesting.weight(b, shape, seed: seed, range: -0.3...0.3) }
    let expand = try b.clip(try b.conv2d(x, weight: w([96, 24, 1, 1], 1), bias: w([96], 2)), min: 0, max: 6)
    let depthwise = try b.clip(
      try b.conv2d(expand, weight: w([96, 1, 3, 3], 3), bias: w([96], 4), padding: 1, groups: 96), min: 0, max: 6)
    let project = try b.conv2d(depthwise, weight: w([24, 96, 1, 1], 5), bias: w([24], 6))
    b.output(try b.add(project, x))
    try Self.check(try b.finish(), width: width, context: "inverted residual")
  }

  @Test func anInvalidWidthIsRefused() throws {
    var options = CompiledTesting.options
    options.vectorWidth = 32
    #expect(throws: GraphFuseError.self) { try options.validate() }
  }
}
