import Testing

@testable import GraphFuse

/// Randomized compiled-vs-reference checks across the blocked kernel kinds: convolutions (dense,
/// 1×1, depthwise, asymmetric kernels, strides, pads, dilations), pools with and without padding
/// counted, the global average pool, the dense kernel and the layout changes between them, over
/// channel counts that are not multiples of the vector width. Seeded, so a failure reproduces.
@Suite struct RandomKernelSweepTests {
  /// SplitMix64: a small deterministic generator for the configurations.
  struct Generator {
    var state: UInt64
    mutating func next(_ range: ClosedRange<Int>) -> Int {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      return range.lowerBound + Int(z % UInt64(range.count))
    }
  }

  /// One random network: conv (+ relu) → pool → conv → global average pool → flatten → dense.
  static func network(seed: UInt64) throws -> (Graph, String) {
    var g = Generator(state: seed)
    let b = GraphBuilder()
    let cin = g.next(1...40), size = g.next(9...20)
    let x = b.input("x", shape: [g.next(1...2), cin, size, size + g.next(0...3)])
    let depthwise = g.next(0...2) == 0
    let cout = depthwise ? cin : g.next(3...40)
    let (kh, kw) = (g.next(1...5), g.next(1...5))
    let stride = g.next(1...2), dilation = g.next(1...2)
    let pads = [g.next(0...2), g.next(0...2), g.next(0...2), g.next(0...2)]
    let w = b.constant(Tensor.random(shape: [cout, depthwise ? 1 : cin, kh, kw], seed: seed &+ 1))
    let bias = b.constant(Tensor.random(shape: [cout], seed: seed &+ 2))
    var y = try b.conv2d(
      x, weight: w, bias: bias, strides: [stride, stride], pads: pads, dilations: [dilation, dilation],
      groups: depthwise ? cin : 1)
    if g.next(0...1) == 1 { y = try b.relu(y) }
    let poolKernel = g.next(2...3), poolStride = g.next(1...2), poolPad = g.next(0...1)
    let isMax = g.next(0...1) == 0, includePad = g.next(0...1) == 1
    if b.shape(of: y)[2] >= poolKernel && b.shape(of: y)[3] >= poolKernel {
      y =
        isMax
        ? try b.maxPool2d(y, kernel: poolKernel, stride: poolStride, padding: poolPad)
        : try b.avgPool2d(y, kernel: poolKernel, stride: poolStride, padding: poolPad, countIncludePad: includePad)
    }
    let c2 = g.next(5...36)
    y = try b.conv2d(y, weight: b.constant(Tensor.random(shape: [c2, cout, 1, 1], seed: seed &+ 3)))
    let features = g.next(3...37)
    y = try b.flatten(try b.globalAvgPool(y))
    b.output(try b.dense(y, weight: b.constant(Tensor.random(shape: [features, c2], seed: seed &+ 4))))
    let text =
      "seed \(seed): \(cin)→\(cout) \(kh)x\(kw) s\(stride) d\(dilation) pads \(pads)\(depthwise ? " depthwise" : ""), "
      + "\(isMax ? "max" : "avg\(includePad ? " incl. pad" : "")") pool \(poolKernel) s\(poolStride) p\(poolPad), "
      + "1x1 → \(c2), dense → \(features)"
    return (try b.finish(), text)
  }

  @Test(arguments: [UInt64](1...8))
  func compiledMatchesReference(seed: UInt64) throws {
    let (graph, text) = try Self.network(seed: seed)
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: seed &+ 99) }
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: text)
  }
}
