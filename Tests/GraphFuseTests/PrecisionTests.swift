import Foundation
import Testing

@testable import GraphFuse

/// Where float error grows with the length of a sum: matrix-vector convs (squeeze-excitation
/// gates) sum with compensation in the compiled kernels, the reference executor sums in double,
/// and a deep stack of split → depthwise convs of several kernel sizes → concat with
/// squeeze-excitation gates (the MixNet pattern, which amplifies error) stays near the reference.
@Suite struct PrecisionTests {
  typealias T = CompiledTesting

  /// Integers drawn from a fixed seed in `-bound...bound`, as floats (exact products and sums in double).
  static func integers(_ count: Int, bound: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int(state >> 33) % (2 * bound + 1) - bound)
    }
  }

  /// A 1×1 conv on a 1×1 map over 1,024 channels with integer data: every product is exact in
  /// float and every sum exact in double, so the only error allowed is the final rounding. A
  /// float sum in input-channel order loses about 2e-6 of the result here; the compensated sum
  /// and the reference's double sum are within two units in the last place.
  /// With 1000 outputs (63 blocks: tiles of 7 vectors of 16) the tile's sums stay compensated.
  @Test(arguments: [48, 1000]) func matrixVectorConvIsCorrectlyRounded(outputs: Int) throws {
    let channels = 1024
    let x = Self.integers(2 * channels, bound: 2047, seed: 3)
    let w = Self.integers(outputs * channels, bound: 1023, seed: 5)
    let b = GraphBuilder()
    let input = b.input("x", shape: [2, channels, 1, 1])
    let weight = b.constant(Tensor(shape: [outputs, channels, 1, 1], data: w))
    b.output(try b.conv2d(input, weight: weight))
    let graph = try b.finish()
    let inputs = [Tensor(shape: [2, channels, 1, 1], data: x)]
    let model = try CompiledModel.compile(graph, plan: FusionPlan.unfused(graph), options: T.options)
    let conv = try #require(model.program.schedules.joined().first { $0.tile?.reason.contains("compensated") == true })
    if outputs == 1000, System.vectorWidth == 16 { #expect(conv.tile?.vectors == 7, "\(conv)") }
    let compiled = try model.run(inputs)[0], reference = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    for n in 0..<2 {
      for o in 0..<outputs {
        var exact = 0.0
        for c in 0..<channels { exact += Double(w[o * channels + c]) * Double(x[n * channels + c]) }
        let ulp = Double(Float(exact).ulp)
        let got = Double(compiled.data[n * outputs + o]), truth = Double(reference.data[n * outputs + o])
        #expect(abs(got - exact) <= 2 * ulp, "compiled [\(n), \(o)]: \(got), exact \(exact)")
        #expect(abs(truth - exact) <= ulp / 2, "reference [\(n), \(o)]: \(truth), exact \(exact)")
      }
    }
  }

  /// The same for a matrix-vector matmul (a classifier's one row: `MatmulKernel/compensated`). A
  /// float sum over ResNet-50-D's 2048 features put its logits 1.8e-6 from PyTorch's (ONNX Runtime:
  /// 5.7e-7); compensated, 6.7e-7.
  @Test(arguments: [40, 1000]) func matrixVectorMatmulIsCorrectlyRounded(outputs: Int) throws {
    let depth = 2048
    let x = Self.integers(depth, bound: 2047, seed: 7)
    let w = Self.integers(depth * outputs, bound: 1023, seed: 11)
    let b = GraphBuilder()
    let input = b.input("x", shape: [1, depth])
    b.output(try b.matmul(input, b.constant(Tensor(shape: [depth, outputs], data: w))))
    let graph = try b.finish()
    let model = try CompiledModel.compile(graph, plan: FusionPlan.unfused(graph), options: T.options)
    let matmul = try #require(model.program.schedules.joined().first { $0.kind == .matmul })
    // A classifier's 1000 outputs: tiles of 7 vectors (independent compensated sums), 9 tiles.
    if outputs == 1000, System.vectorWidth == 16 { #expect(matmul.tile?.vectors == 7, "\(matmul)") }
    let compiled = try model.run([Tensor(shape: [1, depth], data: x)])[0]
    for o in 0..<outputs {
      var exact = 0.0
      for p in 0..<depth { exact += Double(x[p]) * Double(w[p * outputs + o]) }
      let got = Double(compiled.data[o])
      #expect(abs(got - exact) <= 2 * Double(Float(exact).ulp), "compiled [\(o)]: \(got), exact \(exact)")
    }
  }

  /// Blocks of: 1×1 expand + SiLU, split into three channel runs, depthwise 3×3 / 5×5 / 7×7 convs,
  /// concat, batch norm + SiLU, a squeeze-excitation gate, 1×1 project, residual add.
  static func mixedKernelStack(blocks: Int) throws -> Graph {
    let b = GraphBuilder()
    let c = 24, e = 72, run = e / 3, squeezed = 8
    var seed: UInt64 = 100
    func weight(_ shape: [Int], _ range: ClosedRange<Float>) -> ValueID {
      seed += 1
      return T.weight(b, shape, seed: seed, range: range)
    }
    var h = b.input("x", shape: [1, c, 16, 16])
    for _ in 0..<blocks {
      let expanded = try b.conv2d(h, weight: weight([e, c, 1, 1], -0.8...0.8), bias: weight([e], -1...1))
      let a = try b.mul(expanded, try b.sigmoid(expanded))
      var parts: [ValueID] = []
      for (k, kernel) in [3, 5, 7].enumerated() {
        let part = try b.slice(a, starts: [k * run], ends: [(k + 1) * run], axes: [1])
        parts.append(
          try b.conv2d(
            part, weight: weight([run, 1, kernel, kernel], -0.4...0.4), padding: kernel / 2, groups: run))
      }
      let bn = try b.batchNorm(
        try b.concat(parts), scale: weight([e], 0.5...1.5), bias: weight([e], -1...1), mean: weight([e], -1...1),
        variance: weight([e], 0.5...2))
      let activated = try b.mul(bn, try b.sigmoid(bn))
      let pooled = try b.globalAvgPool(activated)
      let reduced = try b.conv2d(
        pooled, weight: weight([squeezed, e, 1, 1], -0.5...0.5), bias: weight([squeezed], -1...1))
      let gate = try b.sigmoid(
        try b.conv2d(
          try b.mul(reduced, try b.sigmoid(reduced)), weight: weight([e, squeezed, 1, 1], -0.5...0.5),
          bias: weight([e], -1...1)))
      let projected = try b.conv2d(try b.mul(activated, gate), weight: weight([c, e, 1, 1], -0.6...0.6))
      h = try b.add(h, projected)
    }
    b.output(h)
    return try b.finish()
  }

  /// Six blocks with activations growing past a thousand: the compiled model, fused and unfused,
  /// stays within 2e-6 of the largest output of the reference executor (whose conv sums run in
  /// double); measured 9e-7 fused, 6e-7 unfused. (These weights do not make the stack as
  /// ill-conditioned as timm's MixNet-S: it stays within bounds without the compensated sums too;
  /// ``matrixVectorConvIsCorrectlyRounded()`` checks those on their own.)
  @Test func mixedKernelDepthwiseStackStaysNearTheReference() throws {
    let graph = try Self.mixedKernelStack(blocks: 6)
    let inputs = [Tensor.random(shape: [1, 24, 16, 16], in: -3...3, seed: 9)]
    let reference = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    let magnitude = reference.data.map(abs).max() ?? 0
    #expect(magnitude > 100, "the stack should amplify: max |output| \(magnitude)")
    let optimized = try Pipeline.optimize(graph)
    for (name, plan) in [("fused", optimized.plan), ("unfused", FusionPlan.unfused(optimized.graph))] {
      let model = try CompiledModel.compile(optimized.graph, plan: plan, options: T.options)
      let comparison = try model.run(inputs)[0].compared(to: reference)
      #expect(comparison.isWithin(relative: 2e-6), "\(name): \(comparison)")
    }
  }
}
