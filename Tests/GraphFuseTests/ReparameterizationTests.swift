import Foundation
import Testing

@testable import GraphFuse

/// Structural re-parameterization: sums of parallel conv / identity branches on one input fold
/// into one conv, and the optimized model computes what the source graph computes.
@Suite struct ReparameterizationTests {
  /// One branch of a block: a conv (kernel, pads, stride, groups) + BN, an identity BN, or a "same"
  /// average pool + BN (padding counted in the mean, or not).
  enum Branch: Sendable {
    case conv(kh: Int, kw: Int, stride: Int = 1, groups: Int = 1)
    case identity
    case avgPool(k: Int, stride: Int = 1, countsPadding: Bool = true)
  }

  /// x (after a stem conv) → Σ branches (+ `residual`, another tensor) → relu, `blocks` times.
  static func graph(
    channels c: Int, size: Int, branches: [Branch], blocks: Int = 1, residual: Bool = false, batch: Int = 1
  ) throws -> Graph {
    let b = GraphBuilder()
    let input = b.input("x", shape: [batch, 3, size, size])
    var x = try b.relu(try b.conv2d(input, weight: CompiledTesting.weight(b, [c, 3, 3, 3], seed: 1), padding: 1))
    let side = residual ? try b.conv2d(input, weight: CompiledTesting.weight(b, [c, 3, 1, 1], seed: 2)) : nil
    var seed: UInt64 = 10
    func batchNorm(_ v: ValueID) throws(GraphFuseError) -> ValueID {
      seed += 4
      return try b.batchNorm(
        v, scale: CompiledTesting.weight(b, [c], seed: seed, range: 0.5...1.5),
        bias: CompiledTesting.weight(b, [c], seed: seed + 1, range: -0.2...0.2),
        mean: CompiledTesting.weight(b, [c], seed: seed + 2, range: -0.2...0.2),
        variance: CompiledTesting.weight(b, [c], seed: seed + 3, range: 0.5...1.5))
    }
    for _ in 0..<blocks {
      var terms: [ValueID] = []
      for branch in branches {
        switch branch {
        case .identity: terms.append(try batchNorm(x))
        case .avgPool(let k, let stride, let countsPadding):
          terms.append(
            try batchNorm(
              try b.avgPool2d(x, kernel: k, stride: stride, padding: k / 2, countIncludePad: countsPadding)))
        case .conv(let kh, let kw, let stride, let groups):
          seed += 1
          let w = CompiledTesting.weight(b, [c, c / groups, kh, kw], seed: seed, range: -0.2...0.2)
          let conv = try b.conv2d(
            x, weight: w, strides: [stride, stride], pads: [kh / 2, kw / 2, kh / 2, kw / 2], groups: groups)
          terms.append(try batchNorm(conv))
        }
      }
      var sum = terms[0]
      for t in terms.dropFirst() { sum = try b.add(sum, t) }
      if let side, blocks == 1 { sum = try b.add(sum, side) }
      x = try b.relu(sum)
    }
    b.output(x)
    return try b.finish()
  }

  /// The optimized graph's convs and how many sums were folded.
  static func folded(_ graph: Graph) throws -> (convs: Int, sums: Int, optimized: OptimizedGraph) {
    let optimized = try graph.optimized(OptimizeOptions(verifyEachPass: true))
    let convs = optimized.graph.nodes.filter { $0.op == "conv2d" }.count
    return (convs, optimized.reparameterized.count, optimized)
  }

  @Test func repVGGBlocksFoldToOneConvEach() throws {
    let graph = try Self.graph(
      channels: 16, size: 10, branches: [.identity, .conv(kh: 3, kw: 3), .conv(kh: 1, kw: 1)], blocks: 3)
    let (convs, sums, optimized) = try Self.folded(graph)
    #expect(sums == 3)
    #expect(convs == 4, "the stem and one conv per block")
    #expect(!optimized.graph.nodes.contains { $0.op == "add" || $0.op == "scale_shift" })
    let input = Tensor.random(shape: [1, 3, 10, 10], seed: 5)
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "RepVGG blocks")
  }

  @Test(arguments: [
    ("ACNet 3×3 + 1×3 + 3×1", [Branch.conv(kh: 3, kw: 3), .conv(kh: 1, kw: 3), .conv(kh: 3, kw: 1)]),
    ("MobileOne depthwise + identity", [.conv(kh: 3, kw: 3, groups: 24), .conv(kh: 1, kw: 1, groups: 24), .identity]),
    ("grouped 5×5 + 3×3 + identity", [.conv(kh: 5, kw: 5, groups: 4), .conv(kh: 3, kw: 3, groups: 4), .identity]),
    ("strided 3×3 + 1×1", [.conv(kh: 3, kw: 3, stride: 2), .conv(kh: 1, kw: 1, stride: 2)]),
    ("3×3 + avg-pool 3×3 + identity", [.conv(kh: 3, kw: 3), .avgPool(k: 3), .identity]),
    ("1×1 + avg-pool 5×5, strided", [.conv(kh: 1, kw: 1, stride: 2), .avgPool(k: 5, stride: 2)]),
    ("depthwise 3×3 + avg-pool 3×3", [.conv(kh: 3, kw: 3, groups: 24), .avgPool(k: 3)]),
  ])
  func branchFamiliesFold(_ name: String, _ branches: [Branch]) throws {
    let graph = try Self.graph(channels: 24, size: 9, branches: branches, batch: 2)
    let (convs, sums, _) = try Self.folded(graph)
    #expect(sums == 1, "\(name)")
    #expect(convs == 2, "\(name): the stem and the merged conv")
    let input = Tensor.random(shape: [2, 3, 9, 9], seed: 6)
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: name)
  }

  /// An average pool that leaves its padding out of the mean is no conv at the borders: left, with
  /// the reason in the report, and the model still matches.
  @Test func aPoolThatSkipsPaddingStays() throws {
    let graph = try Self.graph(
      channels: 16, size: 8, branches: [.conv(kh: 3, kw: 3), .avgPool(k: 3, countsPadding: false)])
    let (_, sums, optimized) = try Self.folded(graph)
    #expect(sums == 0)
    #expect(optimized.reparameterizationsLeft.count == 1, "\(optimized.reparameterizationsLeft)")
    try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 3, 8, 8], seed: 8)], context: "pool without its padding")
  }

  @Test func anotherSummandStaysAsOneAdd() throws {
    let graph = try Self.graph(
      channels: 16, size: 8, branches: [.conv(kh: 3, kw: 3), .conv(kh: 1, kw: 1), .identity], residual: true)
    let (convs, sums, optimized) = try Self.folded(graph)
    #expect(sums == 1)
    #expect(convs == 3, "stem, side conv, merged conv")
    #expect(optimized.graph.nodes.filter { $0.op == "add" }.count == 1)
    try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 3, 8, 8], seed: 7)], context: "with a residual")
  }

  @Test func branchesThatDoNotLineUpStay() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 6, 6])
    func conv(_ k: Int, _ seed: UInt64, dilation: Int = 1, groups: Int = 1) throws(GraphFuseError) -> ValueID {
      let w = CompiledTesting.weight(b, [8, 8 / groups, k, k], seed: seed)
      let p = k / 2 * dilation
      return try b.conv2d(
        x, weight: w, strides: [1, 1], pads: [p, p, p, p], dilations: [dilation, dilation], groups: groups)
    }
    // A dilated branch, branches of different groups, and a branch that is also a graph output.
    b.output(try b.add(try conv(3, 1, dilation: 2), try conv(3, 2)))
    b.output(try b.add(try conv(1, 3), try conv(3, 4, groups: 2)))
    let shared = try conv(1, 5)
    b.output(try b.add(try conv(3, 6), shared))
    b.output(shared)
    let graph = try b.finish()
    let (_, sums, optimized) = try Self.folded(graph)
    #expect(sums == 0)
    // The two convs of different groups are branches that do not line up: the report says so.
    // (A dilated conv and a branch read elsewhere are not branches: nothing to report.)
    #expect(optimized.reparameterizationsLeft.count == 1)
    #expect(optimized.reparameterizationsLeft.first?.contains("differ in groups") == true)
    let report = FusionReport(optimized, model: "m").description
    #expect(report.contains("sums of parallel branches left as they are: 1"), "\(report)")
    try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 6, 6], seed: 9)], context: "branches that stay")
  }

  @Test func aBareInputIsAnIdentityBranch() throws {
    // y = relu(conv3×3(x) + x + conv1×1(x)): the input itself is the delta kernel's branch.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 12, 7, 7])
    let wide = try b.conv2d(x, weight: CompiledTesting.weight(b, [12, 12, 3, 3], seed: 1), padding: 1)
    let narrow = try b.conv2d(
      x, weight: CompiledTesting.weight(b, [12, 12, 1, 1], seed: 2), bias: CompiledTesting.weight(b, [12], seed: 3))
    b.output(try b.relu(try b.add(try b.add(wide, x), narrow)))
    let graph = try b.finish()
    let (convs, sums, _) = try Self.folded(graph)
    #expect(sums == 1 && convs == 1)
    try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 12, 7, 7], seed: 4)], context: "bare identity")
  }

  /// Random multi-branch blocks: kernel sizes 1, 3, 5 (and 1×3, 3×1), stride 1 or 2, groups 1,
  /// 2 or depthwise, an identity branch or not, each branch with or without its batch norm.
  /// Every sum folds (its branches line up by construction) and matches the reference executor
  /// folded and unfolded.
  @Test(arguments: 0..<12) func randomBlocksFoldAndMatch(_ seed: Int) throws {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(n))
    }
    let c = [8, 12, 16][next(3)], stride = next(3) == 0 ? 2 : 1
    let groups = [1, 2, c][next(3)]
    let kernels = [(3, 3), (1, 1), (5, 5), (1, 3), (3, 1)]
    var shapes = [(3, 3)] + (0..<(1 + next(3))).map { _ in kernels[next(kernels.count)] }
    shapes = Array(shapes.prefix(4))
    let identity = stride == 1 && next(2) == 0
    // An average pool ("same", padding counted) of 3×3 or 5×5 beside them, half the time.
    let pool = next(2) == 0 ? [3, 5][next(2)] : nil
    let b = GraphBuilder()
    let x = b.input("x", shape: [1 + next(2), c, 9, 9])
    var terms: [ValueID] = []
    for (k, (kh, kw)) in shapes.enumerated() {
      let w = CompiledTesting.weight(b, [c, c / groups, kh, kw], seed: UInt64(seed * 10 + k), range: -0.3...0.3)
      var y = try b.conv2d(
        x, weight: w, strides: [stride, stride], pads: [kh / 2, kw / 2, kh / 2, kw / 2], groups: groups)
      if next(2) == 0 {
        let s = UInt64(seed * 100 + k * 4)
        y = try b.batchNorm(
          y, scale: CompiledTesting.weight(b, [c], seed: s, range: 0.5...1.5),
          bias: CompiledTesting.weight(b, [c], seed: s + 1), mean: CompiledTesting.weight(b, [c], seed: s + 2),
          variance: CompiledTesting.weight(b, [c], seed: s + 3, range: 0.5...1.5))
      }
      terms.append(y)
    }
    if let pool {
      terms.insert(
        try b.avgPool2d(x, kernel: pool, stride: stride, padding: pool / 2, countIncludePad: true),
        at: next(terms.count + 1))
    }
    if identity { terms.insert(x, at: next(terms.count + 1)) }
    var sum = terms[0]
    for t in terms.dropFirst() { sum = try b.add(sum, t) }
    b.output(try b.relu(sum))
    let graph = try b.finish()
    let context = "seed \(seed): \(shapes) stride \(stride) groups \(groups) identity \(identity) pool \(pool ?? 0)"
    #expect(try Self.folded(graph).sums == 1, "\(context)")
    try CompiledTesting.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: UInt64(seed))], context: context)
  }

  @Test func noFoldMeansNoReparameterization() throws {
    let graph = try Self.graph(channels: 8, size: 6, branches: [.conv(kh: 3, kw: 3), .conv(kh: 1, kw: 1)])
    #expect(try graph.optimized(.folded).reparameterized.count == 1)
    #expect(try graph.optimized(.unfused).reparameterized.isEmpty)
    var options = OptimizeOptions()
    options.reparameterize = false
    #expect(try graph.optimized(options).reparameterized.isEmpty)
  }
}
