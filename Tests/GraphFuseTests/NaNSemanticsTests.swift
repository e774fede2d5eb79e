import Foundation
import Testing

@testable import GraphFuse

/// NaN and ±Inf as in PyTorch on both backends: relu, clamp, maximum/minimum and max pooling propagate
/// NaN; the compiled backend puts NaN and ±Inf at exactly the reference's positions.
@Suite struct NaNSemanticsTests {
  typealias T = CompiledTesting

  /// Values in [-1, 1] with NaN, +Inf and −Inf sprinkled at fixed positions.
  static func special(_ shape: [Int], seed: UInt64) -> Tensor {
    var t = Tensor.random(shape: shape, seed: seed)
    for i in t.data.indices {
      switch (i * 7 + Int(seed)) % 11 {
      case 0: t.data[i] = .nan
      case 4: t.data[i] = .infinity
      case 8: t.data[i] = -.infinity
      default: break
      }
    }
    return t
  }

  /// NaN positions equal, ±Inf equal bit for bit, finite values within 1e-4 of the largest finite magnitude.
  static func agree(
    _ actual: Tensor, _ expected: Tensor, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(actual.shape == expected.shape, "\(name)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let scale = expected.data.filter(\.isFinite).map(abs).max() ?? 1
    var mismatches: [String] = []
    for (i, (a, e)) in zip(actual.data, expected.data).enumerated() {
      let ok =
        a.isNaN || e.isNaN
        ? a.isNaN && e.isNaN : (a.isFinite && e.isFinite ? abs(a - e) <= 1e-4 * max(scale, 1) : a == e)
      if !ok { mismatches.append("[\(i)] \(a) vs \(e)") }
    }
    #expect(
      mismatches.isEmpty, "\(name): \(mismatches.prefix(4).joined(separator: ", "))", sourceLocation: sourceLocation)
  }

  static func compare(_ name: String, fused: Bool, _ build: (GraphBuilder) throws(GraphFuseError) -> Void) throws
    -> [Tensor]
  {
    let b = GraphBuilder()
    try build(b)
    let graph = try b.finish()
    let inputs = graph.inputs.enumerated().map { k, v in special(graph.shape(of: v), seed: UInt64(3 + k)) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let (g, plan) = fused ? try graph.optimized().pair : (graph, FusionPlan.unfused(graph))
    let actual = try CompiledModel.compile(g, plan: plan, options: T.options).run(inputs)
    for (a, e) in zip(actual, expected) { agree(a, e, "\(name) \(fused ? "fused" : "unfused")") }
    return expected
  }

  static let unary: [(String, @Sendable (GraphBuilder, ValueID) throws(GraphFuseError) -> ValueID)] = [
    ("relu", { b, x throws(GraphFuseError) in try b.relu(x) }),
    ("leaky_relu", { b, x throws(GraphFuseError) in try b.leakyRelu(x) }),
    ("clip", { b, x throws(GraphFuseError) in try b.clip(x, min: -0.5, max: 0.5) }),
    ("relu6", { b, x throws(GraphFuseError) in try b.relu6(x) }),
    ("sigmoid", { b, x throws(GraphFuseError) in try b.sigmoid(x) }),
    ("tanh", { b, x throws(GraphFuseError) in try b.tanh(x) }),
    ("exp", { b, x throws(GraphFuseError) in try b.exp(x) }),
    ("log", { b, x throws(GraphFuseError) in try b.log(x) }),
    ("sqrt", { b, x throws(GraphFuseError) in try b.sqrt(x) }),
    ("neg", { b, x throws(GraphFuseError) in try b.neg(x) }),
    ("silu", { b, x throws(GraphFuseError) in try b.apply("silu", [x])[0] }),
    ("hard_sigmoid", { b, x throws(GraphFuseError) in try b.hardSigmoid(x) }),
    ("hard_swish", { b, x throws(GraphFuseError) in try b.hardSwish(x) }),
    ("identity", { b, x throws(GraphFuseError) in try b.identity(x) }),
    ("max_pool2d", { b, x throws(GraphFuseError) in try b.maxPool2d(x, kernel: 3, stride: 2, padding: 1) }),
    ("avg_pool2d", { b, x throws(GraphFuseError) in try b.avgPool2d(x, kernel: 2, stride: 2) }),
    ("global_avg_pool", { b, x throws(GraphFuseError) in try b.globalAvgPool(x) }),
    ("reduce_sum", { b, x throws(GraphFuseError) in try b.reduceSum(x, axes: [2, 3]) }),
    ("reduce_mean", { b, x throws(GraphFuseError) in try b.reduceMean(x, axes: [1]) }),
    ("reduce_max", { b, x throws(GraphFuseError) in try b.reduceMax(x, axes: [3]) }),
    ("softmax", { b, x throws(GraphFuseError) in try b.softmax(x, axis: -1) }),
  ]

  @Test(arguments: unary.indices, [false, true])
  func unaryOpsAgreeOnSpecialValues(index: Int, fused: Bool) throws {
    let (name, op) = Self.unary[index]
    _ = try Self.compare(name, fused: fused) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 6, 6])
      b.output(try op(b, try b.add(x, b.constant(Tensor(shape: [1], data: [0.25])))))
    }
  }

  @Test(arguments: ["add", "sub", "mul", "div", "max", "min", "pow"], [false, true])
  func binaryOpsAgreeOnSpecialValues(op: String, fused: Bool) throws {
    _ = try Self.compare(op, fused: fused) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 5, 5]), y = b.input("y", shape: [1, 16, 5, 5])
      b.output(try b.apply(op, [x, y])[0])
    }
  }

  /// The issue's reproducer: a NaN weight makes a conv output NaN; relu and max pooling keep it.
  @Test(arguments: [false, true])
  func nanThroughConvReluAndMaxPool(fused: Bool) throws {
    let outputs = try Self.compare("conv relu pool", fused: fused) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 8, 8])
      var w = Tensor.random(shape: [16, 16, 3, 3], seed: 9)
      w.data[5 * 16 * 9] = .nan  // output channel 5
      let y = try b.conv2d(x, weight: b.constant(w), bias: b.constant(Tensor(shape: [16], repeating: 0)), padding: 1)
      b.output(try b.maxPool2d(try b.relu(y), kernel: 2, stride: 2))
    }
    #expect(outputs[0].data[(5 * 4 * 4)..<(6 * 4 * 4)].allSatisfy { $0.isNaN })
  }

  @Test func referenceFollowsPyTorch() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 1, 2, 2])
    b.output(try b.relu(x))
    b.output(try b.clip(x, min: 0, max: 6))
    b.output(try b.maxPool2d(x, kernel: 2, stride: 2))
    b.output(try b.maximum(x, b.constant(Tensor(shape: [1], data: [0]))))
    b.output(try b.reduceMax(x, axes: [2, 3]))
    let graph = try b.finish()
    let input = Tensor(shape: [1, 1, 2, 2], data: [1, .nan, -.infinity, .infinity])
    let out = try ReferenceExecutor.run(graph, inputs: [input])
    #expect(out[0].data[1].isNaN && out[0].data[2] == 0 && out[0].data[3] == .infinity)
    #expect(out[1].data[1].isNaN && out[1].data[3] == 6)
    #expect(out[2].data[0].isNaN)
    #expect(out[3].data[1].isNaN)
    #expect(out[4].data[0].isNaN)
  }
}

extension OptimizedGraph {
  fileprivate var pair: (Graph, FusionPlan) { (graph, plan) }
}
