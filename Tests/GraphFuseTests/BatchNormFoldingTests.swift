import Testing

@testable import GraphFuse

/// Batch-norm folding: legality, reasons and numerical equality with the unfolded graph.
@Suite struct BatchNormFoldingTests {
  /// Optimizes with the verifier after every pass and checks the folded graph computes what the source did.
  func foldAndCompare(_ graph: Graph, options: OptimizeOptions = OptimizeOptions(verifyEachPass: true)) throws
    -> OptimizedGraph
  {
    let optimized = try graph.optimized(options)
    let inputs = TestNets.input(graph)
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let actual = try ReferenceExecutor.run(optimized.graph, inputs: inputs)
    for (a, e) in zip(actual, expected) {
      let comparison = a.compared(to: e)
      #expect(comparison.isWithin(relative: 1e-4), "\(comparison)")
    }
    return optimized
  }

  func build(_ body: (GraphBuilder) throws -> ValueID) throws -> Graph {
    let b = GraphBuilder()
    b.output(try body(b))
    return try b.finish()
  }

  struct ConvCase: CustomTestStringConvertible, Sendable {
    var name: String, inChannels: Int, out: Int, k: Int, stride: Int, groups: Int, bias: Bool
    var testDescription: String { name }
  }

  @Test(arguments: [
    ConvCase(name: "3x3 no bias", inChannels: 4, out: 8, k: 3, stride: 1, groups: 1, bias: false),
    ConvCase(name: "3x3 with bias", inChannels: 4, out: 6, k: 3, stride: 2, groups: 1, bias: true),
    ConvCase(name: "grouped", inChannels: 6, out: 9, k: 3, stride: 1, groups: 3, bias: false),
    ConvCase(name: "depthwise", inChannels: 12, out: 12, k: 3, stride: 1, groups: 12, bias: true),
    ConvCase(name: "1x1", inChannels: 5, out: 7, k: 1, stride: 1, groups: 1, bias: false),
  ])
  func convFolds(_ c: ConvCase) throws {
    let graph = try build { b in
      let x = b.input("x", shape: [2, c.inChannels, 9, 7])
      let y = try TestNets.conv(b, x, out: c.out, k: c.k, stride: c.stride, groups: c.groups, bias: c.bias, seed: 7)
      return try b.relu(TestNets.batchNorm(b, y, seed: 11))
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms.count == 1)
    #expect(optimized.batchNorms[0].foldedInto == "conv2d_0")
    #expect(!optimized.graph.nodes.contains { $0.op == "batch_norm" || $0.op == "scale_shift" })
    #expect(optimized.plan.groups.map(\.name) == ["fused_conv2d_relu"])
  }

  @Test(arguments: [1, 2])
  func groupedConvTransposeFolds(groups: Int) throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 4, 5, 5])
      let w = b.constant(TestNets.weight([4, 6 / groups, 3, 3], seed: 3))
      let y = try b.convTranspose2d(x, weight: w, stride: 2, padding: 1, outputPadding: 1, groups: groups)
      return try TestNets.batchNorm(b, y, seed: 21)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].foldedInto == "conv_transpose2d_0")
  }

  @Test(arguments: [true, false])
  func denseFolds(transB: Bool) throws {
    let graph = try build { b in
      let x = b.input("x", shape: [3, 10])
      let w = b.constant(TestNets.weight(transB ? [7, 10] : [10, 7], seed: 4))
      let c = b.constant(TestNets.weight([7], seed: 5))
      let y = try b.gemm(x, w, c, alpha: 0.5, beta: 2, transB: transB)
      return try TestNets.batchNorm(b, y, seed: 31)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].foldedInto == "gemm_0")
    #expect(optimized.graph.nodes.map(\.op) == ["gemm"])
  }

  @Test func twoBatchNormsInARowBothFold() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 3, 6, 6])
      let y = try TestNets.conv(b, x, out: 5, seed: 1)
      return try TestNets.batchNorm(b, TestNets.batchNorm(b, y, seed: 40), seed: 50)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms.map(\.foldedInto) == ["conv2d_0", "conv2d_0"])
    #expect(optimized.graph.nodes.map(\.op) == ["conv2d"])
  }

  @Test func affineFreeBatchNormWithLargeEpsilon() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 3, 6, 6])
      let y = try TestNets.conv(b, x, out: 4, seed: 1)
      let ones = b.constant(Tensor(shape: [4], repeating: 1)), zeros = b.constant(Tensor(zeros: [4]))
      let mean = b.constant(Tensor([0.1, -0.2, 0.3, 0])), variance = b.constant(Tensor([0.5, 1.5, 0.001, 2]))
      return try b.batchNorm(y, scale: ones, bias: zeros, mean: mean, variance: variance, epsilon: 1e-3)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].foldedInto != nil)
  }

  @Test func sharedWeightIsNotChangedUnderTheOtherConv() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 6, 6])
    let w = b.constant(TestNets.weight([4, 4, 3, 3], seed: 9), name: "shared")
    let folded = try TestNets.batchNorm(b, b.conv2d(x, weight: w, padding: 1), seed: 60)
    let plain = try b.conv2d(x, weight: w, padding: 1)
    b.output(try b.add(folded, plain))
    let graph = try b.finish()
    // The sum of the two convs would re-parameterize into one; this test is about folding alone.
    var options = OptimizeOptions(verifyEachPass: true)
    options.reparameterize = false
    let optimized = try foldAndCompare(graph, options: options)
    #expect(optimized.batchNorms[0].foldedInto == "conv2d_0")
    let convs = optimized.graph.nodes.filter { $0.op == "conv2d" }
    try #require(convs.count == 2)
    #expect(optimized.graph.constant(convs[1].inputs[1]) == graph.constant(w))
    #expect(optimized.graph.constant(convs[0].inputs[1]) != graph.constant(w))
  }

  @Test func convWithTwoConsumersDoesNotFold() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let y = try TestNets.conv(b, x, out: 4, seed: 1)
      return try b.add(TestNets.batchNorm(b, y, seed: 70), b.reduceMean(y, axes: [2, 3]))
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].reason == .producerConsumers(2))
    #expect(optimized.batchNorms[0].reason?.description == "producer has 2 consumers")
    #expect(optimized.graph.nodes.contains { $0.op == "scale_shift" })
  }

  @Test func trainingModeDoesNotFold() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [4, 3, 5, 5])
      return try b.relu(TestNets.batchNorm(b, TestNets.conv(b, x, out: 5, seed: 1), seed: 80, training: true))
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].reason == .trainingMode)
    #expect(optimized.graph.nodes.contains { $0.op == "batch_norm" })
  }

  @Test func batchStatisticsDoNotFold() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [2, 3, 5, 5])
      let y = try TestNets.conv(b, x, out: 4, seed: 1)
      let mean = try b.reduceMean(y, axes: [0, 2, 3], keepDims: false)
      let centered = try b.sub(y, b.reshape(mean, to: [1, 4, 1, 1]))
      let variance = try b.reduceMean(b.mul(centered, centered), axes: [0, 2, 3], keepDims: false)
      let (g, be, _, _) = TestNets.batchNormParameters(b, channels: 4, seed: 3)
      return try b.batchNorm(y, scale: g, bias: be, mean: mean, variance: variance)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].reason == .batchStatistics)
  }

  @Test func nonConstantParametersDoNotFold() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 4, 5, 5])
      let gamma = b.input("gamma", shape: [4])
      let (_, be, m, v) = TestNets.batchNormParameters(b, channels: 4, seed: 3)
      return try b.batchNorm(TestNets.conv(b, x, out: 4, seed: 1), scale: gamma, bias: be, mean: m, variance: v)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms[0].reason == .nonConstantParameters)
  }

  @Test func preActivationBatchNormHasNoProducer() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 6, 5, 5])
      let first = try b.relu(TestNets.batchNorm(b, x, seed: 90))
      return try TestNets.batchNorm(b, b.relu(TestNets.conv(b, first, out: 6, seed: 1)), seed: 95)
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.batchNorms.map(\.reason) == [.noProducer(follows: nil), .noProducer(follows: "relu")])
    #expect(
      optimized.batchNorms.map { $0.reason?.description } == [
        "no conv/dense producer (is first)", "no conv/dense producer (follows relu)",
      ])
    // The unfolded batch norms become scale-shifts that fuse like any broadcast op.
    #expect(optimized.graph.nodes.filter { $0.op == "scale_shift" }.count == 2)
  }

  @Test func keepWholeLeavesBatchNorm() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 4, 6, 6])
      return try b.relu(TestNets.batchNorm(b, TestNets.conv(b, x, out: 8, seed: 1), seed: 3))
    }
    let optimized = try foldAndCompare(graph, options: OptimizeOptions(keep: ["batch_norm"], verifyEachPass: true))
    #expect(optimized.batchNorms[0].reason == .keptWhole)
    #expect(optimized.graph.nodes.map(\.op) == ["conv2d", "batch_norm", "relu"])
  }

  @Test func noFoldKeepsBatchNormAsScaleShift() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 4, 6, 6])
      return try TestNets.batchNorm(b, TestNets.conv(b, x, out: 8, seed: 1), seed: 3)
    }
    let optimized = try foldAndCompare(graph, options: OptimizeOptions(fold: false, verifyEachPass: true))
    #expect(optimized.batchNorms[0].reason == .foldingDisabled)
    #expect(optimized.graph.nodes.map(\.op) == ["conv2d", "scale_shift"])
  }

  @Test func perChannelMulAndAddFoldIntoConv() throws {
    let graph = try build { b in
      let x = b.input("x", shape: [1, 3, 6, 6])
      let y = try TestNets.conv(b, x, out: 4, seed: 1)
      let scaled = try b.mul(y, b.constant(Tensor.random(shape: [4, 1, 1], in: 0.5...2, seed: 2)))
      return try b.relu(b.add(b.constant(Tensor.random(shape: [1, 4, 1, 1], seed: 3)), scaled))
    }
    let optimized = try foldAndCompare(graph)
    #expect(optimized.graph.nodes.map(\.op) == ["conv2d", "relu"])
  }

  @Test func negativeVarianceIsAnErrorNamingTheNode() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 2, 4, 4])
    let y = try TestNets.conv(b, x, out: 2, seed: 1)
    let one = b.constant(Tensor([1, 1])), zero = b.constant(Tensor([0, 0]))
    let variance = b.input("variance", shape: [2])
    b.output(try b.batchNorm(y, scale: one, bias: zero, mean: zero, variance: variance, name: "bn_bad"))
    let graph = try b.finish()
    #expect(throws: GraphFuseError.self) {
      _ = try ReferenceExecutor.run(graph, inputs: [Tensor(zeros: [1, 2, 4, 4]), Tensor([1, -1])])
    }
    do {
      _ = try ReferenceExecutor.run(graph, inputs: [Tensor(zeros: [1, 2, 4, 4]), Tensor([1, -1])])
    } catch {
      #expect(error.description.contains("bn_bad"))
      #expect(error.description.contains("batch_norm"))
    }
    let constantBad = GraphBuilder()
    let cx = constantBad.input("x", shape: [1, 2, 4, 4])
    let c1 = constantBad.constant(Tensor([1, 1])), c0 = constantBad.constant(Tensor([0, 0]))
    #expect(throws: GraphFuseError.self) {
      _ = try constantBad.batchNorm(
        cx, scale: c1, bias: c0, mean: c0, variance: constantBad.constant(Tensor([1, -.nan])), name: "bn_nan")
    }
  }
}
