import Testing

@testable import GraphFuse

/// Randomized compiled-vs-reference checks across the blocked kernel kinds: convolutions (dense,
/// 1×1, depthwise, asymmetric kernels, strides, pads, dilations), pools with and without padding
/// counted, the global average pool, the dense kernel and the layout changes between them, over
/// channel counts that are not multiples of the vector width; and concats with an elementwise
/// tail folded into 1×1 convs as an input prologue. Seeded, so a failure reproduces.
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
      "seed \(seed): \(cin)→\(cout) \(kh)x\(kw) s\(stride) d\(dilation) pads \(pads)"
      + "\(depthwise ? " depthwise" : ""), "
      + "\(isMax ? "max" : "avg\(includePad ? " incl. pad" : "")") pool \(poolKernel) s\(poolStride) p\(poolPad), "
      + "1x1 → \(c2), dense → \(features)"
    return (try b.finish(), text)
  }

  /// One random network for the concat and input-prologue schedules: two convs → channel concat
  /// (in place when batch 1 and whole vectors, else copies or generic loops) → batch norm → relu,
  /// sigmoid or nothing → one or two 1×1 convs (random strides) that fold the elementwise stage
  /// into their input tiles.
  static func prologueNetwork(seed: UInt64) throws -> (Graph, String) {
    var g = Generator(state: seed)
    let b = GraphBuilder()
    let batch = g.next(1...2), cin = g.next(1...12), h = g.next(3...15), w = g.next(3...15)
    let x = b.input("x", shape: [batch, cin, h, w])
    // Whole vectors half of the time, so the in-place concat and the folded prologue both run.
    let vectors = g.next(0...1) == 0
    let (c1, c2) = vectors ? (16 * g.next(1...3), 16 * g.next(1...2)) : (g.next(3...40), g.next(3...40))
    let a = try b.conv2d(x, weight: b.constant(Tensor.random(shape: [c1, cin, 3, 3], seed: seed &+ 1)), padding: 1)
    let d = try b.conv2d(x, weight: b.constant(Tensor.random(shape: [c2, cin, 1, 1], seed: seed &+ 2)))
    let c = c1 + c2
    let concat = try b.concat([a, d], axis: 1)
    var y = try b.batchNorm(
      concat, scale: b.constant(Tensor.random(shape: [c], seed: seed &+ 3)),
      bias: b.constant(Tensor.random(shape: [c], seed: seed &+ 4)),
      mean: b.constant(Tensor.random(shape: [c], seed: seed &+ 5)),
      variance: b.constant(Tensor.random(shape: [c], in: 0.5...1.5, seed: seed &+ 6)))
    let activation = g.next(0...2)
    if activation == 0 { y = try b.relu(y) } else if activation == 1 { y = try b.sigmoid(y) }
    let readers = g.next(1...2)
    var text =
      "seed \(seed): batch \(batch), \(cin)→\(c1)+\(c2) at \(h)x\(w), "
      + "bn \(["relu", "sigmoid", "alone"][activation]), "
    for r in 0..<readers {
      let stride = g.next(1...2), out = g.next(3...40)
      let weight = b.constant(Tensor.random(shape: [out, c, 1, 1], seed: seed &+ 7 &+ UInt64(r)))
      b.output(try b.conv2d(y, weight: weight, stride: stride))
      text += "1x1 s\(stride) → \(out)\(r + 1 < readers ? ", " : "")"
    }
    return (try b.finish(), text)
  }

  @Test(arguments: [UInt64](1...10))
  func prologueAndConcatMatchReference(seed: UInt64) throws {
    let (graph, text) = try Self.prologueNetwork(seed: seed)
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: seed &+ 98) }
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: text)
    // With whole vectors the batch norm (and activation) runs as the readers' input prologue.
    let concat = try #require(graph.nodes.first { $0.op == "concat" })
    let fused = try #require(models.first).model
    let width = fused.program.vectorWidth
    if concat.inputs.allSatisfy({ graph.shape(of: $0)[1] % width == 0 }) {
      let kinds = fused.program.schedules.joined().map(\.kind)
      #expect(kinds.contains(.prologueFolded), "\(text): \(kinds)")
    }
  }

  @Test(arguments: [UInt64](1...8))
  func compiledMatchesReference(seed: UInt64) throws {
    let (graph, text) = try Self.network(seed: seed)
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: seed &+ 99) }
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: text)
  }
}
