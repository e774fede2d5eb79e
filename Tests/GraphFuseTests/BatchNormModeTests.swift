import Testing

@testable import GraphFuse

/// batch_norm in inference mode (running statistics) and training mode (batch statistics),
/// on the apache/tvm#19574 case and on a batch with non-trivial statistics.
@Suite struct BatchNormModeTests {
  // The TVM reproducer: N=1, C=4, H=W=4, x = ones.
  static let gamma: [Float] = [1, 2, 0.5, 3]
  static let beta: [Float] = [0, 1, -1, 0.5]
  static let mean: [Float] = [0, 0.5, 1, -1]
  static let variance: [Float] = [1, 0.25, 4, 0.01]
  static let epsilon = 1e-5

  /// batch_norm with every operand a graph input, run on the reference executor.
  func run(_ x: Tensor, _ params: [[Float]], training: Bool, outputs: Int = 1, momentum: Double = 0.9) throws
    -> [Tensor]
  {
    let attributes: Attributes = [
      "epsilon": .float(Self.epsilon), "momentum": .float(momentum), "training": .int(training ? 1 : 0),
      "outputs": .int(outputs),
    ]
    return try runOp("batch_norm", [x] + params.map { Tensor($0) }, attributes)
  }

  @Test(arguments: 0..<4) func inferenceUsesRunningStatistics(_ channel: Int) throws {
    let x = Tensor(shape: [1, 4, 4, 4], repeating: 1)
    let y = try run(x, [Self.gamma, Self.beta, Self.mean, Self.variance], training: false)[0]
    // (x − μ) / sqrt(σ² + ε) · γ + β, in Double.
    let expected =
      (1 - Double(Self.mean[channel])) / (Double(Self.variance[channel]) + Self.epsilon).squareRoot()
      * Double(Self.gamma[channel]) + Double(Self.beta[channel])
    for h in 0..<4 {
      for w in 0..<4 {
        #expect(
          abs(Double(y[0, channel, h, w]) - expected) < 1e-4,
          "channel \(channel): \(y[0, channel, h, w]) vs \(expected)")
      }
    }
  }

  @Test func tvmCaseValueIs60_47() throws {
    let y = try run(
      Tensor(shape: [1, 4, 4, 4], repeating: 1), [Self.gamma, Self.beta, Self.mean, Self.variance], training: false)[0]
    // channel 3: (1 + 1) / sqrt(0.01001) · 3 + 0.5 = 60.4700…; TVM 0.27 LegalizeOps returns 0.5.
    #expect(abs(y[0, 3, 0, 0] - 60.47) < 1e-3)
  }

  @Test func trainingOnConstantInputCollapsesToBeta() throws {
    let y = try run(
      Tensor(shape: [1, 4, 4, 4], repeating: 1), [Self.gamma, Self.beta, Self.mean, Self.variance], training: true)[0]
    for c in 0..<4 { #expect(y[0, c, 2, 1] == Self.beta[c]) }
  }

  // A batch with real statistics: N=2, C=2, H=1, W=2.
  //   channel 0 holds 1, 3 (image 0) and 5, 7 (image 1): mean 4, biased variance (9+1+1+9)/4 = 5.
  //   channel 1 holds 2, 2 and −2, −2: mean 0, biased variance 4.
  static let batch = Tensor(shape: [2, 2, 1, 2], data: [1, 3, 2, 2, 5, 7, -2, -2])
  static let batchGamma: [Float] = [2, 0.5], batchBeta: [Float] = [1, -1]
  static let runningMean: [Float] = [0.5, -1], runningVariance: [Float] = [1, 2]

  @Test func trainingNormalizesWithBatchStatistics() throws {
    let y = try run(
      Self.batch, [Self.batchGamma, Self.batchBeta, Self.runningMean, Self.runningVariance], training: true)[0]
    let s0 = 2 / (5 + Self.epsilon).squareRoot(), s1 = 0.5 / (4 + Self.epsilon).squareRoot()
    let expected: [Double] = [
      (1 - 4) * s0 + 1, (3 - 4) * s0 + 1, 2 * s1 - 1, 2 * s1 - 1,
      (5 - 4) * s0 + 1, (7 - 4) * s0 + 1, -2 * s1 - 1, -2 * s1 - 1,
    ]
    #expect(y.shape == [2, 2, 1, 2])
    for (got, want) in zip(y.data, expected) { #expect(abs(Double(got) - want) < 1e-5, "\(y.data) vs \(expected)") }
    // channel 1 is exactly ±1 standard deviation: 0.5 · ±1 − 1.
    #expect(abs(y[0, 1, 0, 0] + 0.5) < 1e-5 && abs(y[1, 1, 0, 1] + 1.5) < 1e-5)
  }

  @Test func trainingUpdatesRunningStatisticsLikeONNX() throws {
    let outputs = try run(
      Self.batch, [Self.batchGamma, Self.batchBeta, Self.runningMean, Self.runningVariance],
      training: true, outputs: 3, momentum: 0.8)
    try #require(outputs.count == 3)
    // running = input · momentum + current · (1 − momentum)
    //   mean: 0.5·0.8 + 4·0.2 = 1.2,  −1·0.8 + 0·0.2 = −0.8
    //   var:  1·0.8 + 5·0.2 = 1.8,     2·0.8 + 4·0.2 = 2.4   (biased batch variance, as ONNX)
    #expect(outputs[1].isApproximatelyEqual(to: Tensor([1.2, -0.8]), relative: 1e-6))
    #expect(outputs[2].isApproximatelyEqual(to: Tensor([1.8, 2.4]), relative: 1e-6))
  }

  @Test func inferenceIgnoresTheBatch() throws {
    // Same batch in inference mode: each element uses the running statistics only.
    let y = try run(
      Self.batch, [Self.batchGamma, Self.batchBeta, Self.runningMean, Self.runningVariance], training: false)[0]
    let s0 = 2 / (1 + Self.epsilon).squareRoot(), s1 = 0.5 / (2 + Self.epsilon).squareRoot()
    let expected: [Double] = [
      (1 - 0.5) * s0 + 1, (3 - 0.5) * s0 + 1, 3 * s1 - 1, 3 * s1 - 1,
      (5 - 0.5) * s0 + 1, (7 - 0.5) * s0 + 1, -1 * s1 - 1, -1 * s1 - 1,
    ]
    for (got, want) in zip(y.data, expected) { #expect(abs(Double(got) - want) < 1e-5, "\(y.data) vs \(expected)") }
  }

  @Test func patternsFollowTheMode() throws {
    let definition = try OpRegistry.definition(of: "batch_norm")
    #expect(definition.pattern(["training": .int(0)]) == .broadcast)
    #expect(definition.pattern(["training": .int(1)]) == .opaque)
  }

  @Test func rankTwoInput() throws {
    // The default channel axis 1 on a [2, 3] input (a dense layer's output): per-column statistics, (x − μ) / 2.
    let y = try runOp(
      "batch_norm",
      [
        T([2, 3], [1, 2, 3, 4, 5, 6]), Tensor([1, 1, 1]), Tensor([0, 0, 0]), Tensor([1, 2, 3]), Tensor([4, 4, 4]),
      ],
      ["epsilon": .float(0)])[0]
    #expect(y.data == [0, 0, 0, 1.5, 1.5, 1.5])
  }
}
