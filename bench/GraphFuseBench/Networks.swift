import GraphFuse

/// Small graphs built with GraphBuilder for kernel benchmarks (the whole networks come from `ModelZoo`).
enum Networks {
  nonisolated(unsafe) static var seed: UInt64 = 1
  static func w(_ b: GraphBuilder, _ shape: [Int], scale: Float) -> ValueID {
    seed += 1
    return b.constant(Tensor.random(shape: shape, in: -scale...scale, seed: seed))
  }

  static func conv(_ b: GraphBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, k: Int, s: Int, p: Int, groups: Int = 1)
    throws -> ValueID
  {
    let fan = Float(cin / groups * k * k)
    return try b.conv2d(
      x, weight: w(b, [cout, cin / groups, k, k], scale: (3 / fan).squareRoot()), bias: w(b, [cout], scale: 0.1),
      stride: s, padding: p, groups: groups)
  }

  /// Two 3×3 convolutions 64→64 at 56×56 with bias and relu, then a global pool: the second
  /// group is the conv alone on blocked input (layout changes fall to the first and last groups).
  static func conv3x3() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 64, 56, 56])
    let c = try b.relu(try conv(b, try b.relu(try conv(b, x, 64, 64, k: 3, s: 1, p: 1)), 64, 64, k: 3, s: 1, p: 1))
    b.output(try b.globalAvgPool(c))
    return try b.finish()
  }
}
