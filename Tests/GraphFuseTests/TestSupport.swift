import GraphFuse

/// Small graph-building helpers shared by the tests.
enum TestNets {
  static func weight(_ shape: [Int], seed: UInt64) -> Tensor { Tensor.random(shape: shape, in: -0.5...0.5, seed: seed) }

  /// A conv weight `[out, in/groups, k, k]` as a constant.
  static func conv(
    _ b: GraphBuilder, _ x: ValueID, out: Int, k: Int = 3, stride: Int = 1, groups: Int = 1, bias: Bool = false,
    seed: UInt64
  )
    throws(GraphFuseError) -> ValueID
  {
    let c = b.shape(of: x)[1]
    let w = b.constant(weight([out, c / groups, k, k], seed: seed))
    let bv = bias ? b.constant(weight([out], seed: seed + 1)) : nil
    return try b.conv2d(x, weight: w, bias: bv, stride: stride, padding: k / 2, groups: groups)
  }

  /// Inference batch-norm parameters with non-trivial statistics.
  static func batchNormParameters(_ b: GraphBuilder, channels c: Int, seed: UInt64) -> (
    ValueID, ValueID, ValueID, ValueID
  ) {
    (
      b.constant(Tensor.random(shape: [c], in: 0.5...1.5, seed: seed)),
      b.constant(Tensor.random(shape: [c], in: -0.2...0.2, seed: seed + 1)),
      b.constant(Tensor.random(shape: [c], in: -0.2...0.2, seed: seed + 2)),
      b.constant(Tensor.random(shape: [c], in: 0.5...2.0, seed: seed + 3))
    )
  }

  static func batchNorm(_ b: GraphBuilder, _ x: ValueID, seed: UInt64, epsilon: Double = 1e-5, training: Bool = false)
    throws(GraphFuseError) -> ValueID
  {
    let (g, be, m, v) = batchNormParameters(b, channels: b.shape(of: x)[1], seed: seed)
    return try b.batchNorm(x, scale: g, bias: be, mean: m, variance: v, epsilon: epsilon, training: training)
  }

  static func input(_ graph: Graph, seed: UInt64 = 99) -> [Tensor] {
    graph.inputs.enumerated().map { Tensor.random(shape: graph.shape(of: $1), seed: seed + UInt64($0)) }
  }
}

extension FusionPlan {
  /// Each group as its op names joined by spaces, for compact assertions.
  func opLists(_ graph: Graph) -> [String] {
    groups.map { $0.nodes.map { graph.nodes[$0].op }.joined(separator: " ") }
  }
}
