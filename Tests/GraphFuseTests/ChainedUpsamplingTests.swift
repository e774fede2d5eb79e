import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// GLPN's decoder: a gated sum resized bilinearly ×2 and again ×2, each resize two gathers per
/// axis. Fused whole, every output read the gated sum 16 times, through four levels of gathers
/// (1.06 of GLPN's 1.7 ms). Upsampling gathers whose reads per element multiply to 8 or more are a
/// group boundary (``IndexedForwardGraph/recomputes(_:operand:producerPattern:producerTaps:_:)``):
/// the first resize keeps its producer and both axes fused, the second starts a group of its own.
@Suite struct ChainedUpsamplingTests {
  /// Bilinear ×2 along `axis` of `x`: `x[i0] · w0 + x[i1] · w1`, with half-pixel source indices.
  static func upsample(_ b: GraphBuilder, _ x: ValueID, axis: Int, extent: Int) throws -> ValueID {
    var low: [Int] = [], high: [Int] = [], w0: [Float] = [], w1: [Float] = []
    for o in 0..<(2 * extent) {
      let source = max(0, (Float(o) + 0.5) / 2 - 0.5)
      let i = min(Int(source), extent - 1)
      low.append(i)
      high.append(min(i + 1, extent - 1))
      w1.append(source - Float(i))
      w0.append(1 - (source - Float(i)))
    }
    var shape = [1, 1, 1, 1]
    shape[axis] = 2 * extent
    func gather(_ indices: [Int]) throws -> ValueID {
      try b.apply("gather", [x], ["indices": .ints(indices), "axis": .int(axis)])[0]
    }
    let first = try b.mul(try gather(low), b.constant(Tensor(shape: shape, data: w0)))
    return try b.add(first, try b.mul(try gather(high), b.constant(Tensor(shape: shape, data: w1))))
  }

  static func graph() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 8, 8])
    let y = b.input("y", shape: [1, 16, 8, 8])
    let gated = try b.add(try b.mul(x, y), x)
    var z = gated
    for size in [8, 16] {
      z = try upsample(b, try upsample(b, z, axis: 2, extent: size), axis: 3, extent: size)
    }
    b.output(z)
    return try b.finish()
  }

  @Test func secondResizeStartsAGroup() throws {
    let graph = try Self.graph()
    let optimized = try Pipeline.optimize(graph)
    let gathersPerGroup = optimized.plan.groups.map {
      $0.nodes.filter { optimized.graph.nodes[$0].op == "gather" }.count
    }
    .filter { $0 > 0 }
    #expect(gathersPerGroup == [4, 4], "\(gathersPerGroup)")
    let gatedWithFirstResize = optimized.plan.groups.contains { group in
      let ops = group.nodes.map { optimized.graph.nodes[$0].op }
      return ops.contains("gather") && ops.filter { $0 == "mul" }.count == 5
    }
    #expect(gatedWithFirstResize, "the gated sum stays inlined into the first resize")
    try CT.fusedAndUnfusedMatchReference(
      graph,
      inputs: [Tensor.random(shape: [1, 16, 8, 8], seed: 41), Tensor.random(shape: [1, 16, 8, 8], seed: 42)],
      context: "two chained resizes")
  }
}
