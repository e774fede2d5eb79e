import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Group norms, written as PyTorch exports them (a reshape to `[N, G, R]`, a norm over each row, a
/// reshape back, a per-channel scale and shift), become one `group_norm` on the blocked layout;
/// the compiled kernel matches the reference executor for groups inside, across and equal to the
/// 16-lane channel blocks.
@Suite struct GroupNormTests {
  /// `conv → reshape [N, G, R] → layer_norm → reshape back → · scale + shift → relu`.
  static func exported(n: Int, c: Int, groups: Int, map: [Int]) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [n, 8] + map)
    let w = CT.weight(b, [c, 8, 3, 3], seed: 21, range: -0.3...0.3)
    let y = try b.conv2d(x, weight: w, bias: CT.weight(b, [c], seed: 22), strides: [1, 1], pads: [1, 1, 1, 1])
    let row = c / groups * map.reduce(1, *)
    let rows = try b.reshape(y, to: [n, groups, row])
    let ones = b.constant(Tensor(shape: [row], data: [Float](repeating: 1, count: row)))
    let normalized = try b.apply("layer_norm", [rows, ones], ["axis": .int(2), "epsilon": .float(1e-5)])[0]
    let back = try b.reshape(normalized, to: [n, c] + map)
    let scaled = try b.mul(back, CT.weight(b, [c, 1, 1], seed: 23, range: 0.5...1.5))
    b.output(try b.relu(try b.add(scaled, CT.weight(b, [c, 1, 1], seed: 24))))
    return try b.finish()
  }

  @Test(arguments: [
    (1, 64, 1, [14, 14]),  // PoolFormer's GroupNorm with one group
    (2, 24, 8, [7, 9]),  // 3 channels a group: groups inside a block
    (1, 48, 2, [5, 5]),  // 24 channels a group: a group across two blocks
    (1, 20, 20, [3, 3]),  // a group per channel, a partial last block
    (1, 32, 4, [40, 40]),  // enough pixels for several chunks, the last one shorter
    (1, 16, 2, [1, 1]),  // one pixel
  ])
  func exportedGroupNormRunsAsOneKernel(n: Int, c: Int, groups: Int, map: [Int]) throws {
    let graph = try Self.exported(n: n, c: c, groups: groups, map: map)
    let optimized = try Pipeline.optimize(graph)
    let norms = optimized.graph.nodes.filter { $0.op == "group_norm" }
    #expect(norms.count == 1 && norms.first?.attributes.int("groups", default: 0) == groups)
    #expect(!optimized.graph.nodes.contains { $0.op == "layer_norm" || $0.op == "reshape" })
    let group = try #require(optimized.plan.groups.first { optimized.graph.nodes[$0.anchor].op == "group_norm" })
    #expect(GroupKind.of(group, in: optimized.graph) == .groupNorm)
    #expect(group.nodes.map { optimized.graph.nodes[$0].op } == ["group_norm", "mul", "add", "relu"])
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [n, 8] + map, seed: 25)], context: "\(c) channels in \(groups) groups")
  }

  @Test func opMatchesTheNormOverReshapedRows() throws {
    // The op's own reference, with its scale and bias, against the layer-norm form it replaces.
    let (n, c, groups, map) = (2, 12, 3, [4, 5])
    let gamma = Tensor.random(shape: [c], in: 0.5...1.5, seed: 31), beta = Tensor.random(shape: [c], seed: 32)
    let b = GraphBuilder()
    let x = b.input("x", shape: [n, c] + map)
    let direct = try b.apply(
      "group_norm", [x, b.constant(gamma), b.constant(beta)], ["groups": .int(groups), "epsilon": .float(1e-5)])[0]
    b.output(direct)
    let graph = try b.finish()
    let input = Tensor.random(shape: [n, c] + map, in: 3...5, seed: 33)
    let composed = try Self.composed(n: n, c: c, groups: groups, map: map, gamma: gamma, beta: beta)
    let expected = try ReferenceExecutor.run(composed, inputs: [input])[0]
    let actual = try ReferenceExecutor.run(graph, inputs: [input])[0]
    #expect(actual.compared(to: expected).isWithin(relative: 1e-6), "\(actual.compared(to: expected))")
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "group_norm with scale and bias")
  }

  static func composed(n: Int, c: Int, groups: Int, map: [Int], gamma: Tensor, beta: Tensor) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [n, c] + map)
    let row = c / groups * map.reduce(1, *)
    let ones = b.constant(Tensor(shape: [row], data: [Float](repeating: 1, count: row)))
    let normalized = try b.apply("layer_norm", [try b.reshape(x, to: [n, groups, row]), ones], ["axis": .int(2)])[0]
    let back = try b.reshape(normalized, to: [n, c] + map)
    let scaled = try b.mul(back, b.constant(Tensor(shape: [c, 1, 1], data: gamma.data)))
    b.output(try b.add(scaled, b.constant(Tensor(shape: [c, 1, 1], data: beta.data))))
    return try b.finish()
  }

  @Test func varianceStaysExactFarFromZero() throws {
    // Values 1000 ± 1: a single pass of sums and squares would lose the variance to cancellation.
    let graph = try Self.composed(
      n: 1, c: 32, groups: 2, map: [9, 9], gamma: Tensor(shape: [32], data: [Float](repeating: 1, count: 32)),
      beta: Tensor(shape: [32], data: [Float](repeating: 0, count: 32)))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 32, 9, 9], in: 999...1001, seed: 41)], context: "mean 1000")
  }

  @Test func channelsLastLayerNormAndScaledNormsStay() throws {
    // A norm over the last axis of a rank-4 tensor (channels last) and a norm with a scale that is
    // not ones are no group norms.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 6, 6, 32])
    let gamma = CT.weight(b, [32], seed: 51)
    let ones = b.constant(Tensor(shape: [32], data: [Float](repeating: 1, count: 32)))
    b.output(try b.apply("layer_norm", [x, ones], ["axis": .int(3)])[0])
    b.output(try b.apply("layer_norm", [try b.reshape(x, to: [1, 36, 32]), gamma], ["axis": .int(2)])[0])
    let optimized = try Pipeline.optimize(try b.finish()).graph
    #expect(!optimized.nodes.contains { $0.op == "group_norm" })
    #expect(optimized.nodes.filter { $0.op == "layer_norm" }.count == 2)
  }
}
