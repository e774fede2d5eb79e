import Testing

@testable import GraphFuse

/// ``NormalizedInput``: a layer norm read only by a matmul joins the matmul's group, and the matmul
/// normalizes its rows as it reads them, per task or in a first copy into panels, with or without
/// K blocks; a norm read elsewhere too keeps its own group.
@Suite struct NormalizedInputTests {
  typealias T = CompiledTesting

  /// `[images, rows, k]` → layer norm (with or without bias) → matmul `[k, n]` + bias → GELU-free
  /// tail (tanh), optionally also the norm itself as a second output.
  static func graph(images: Int, rows: Int, k: Int, n: Int, bias: Bool = true, normRead: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [images, rows, k])
    let norm = try b.apply(
      "layer_norm", [x, T.weight(b, [k], seed: 2)] + (bias ? [T.weight(b, [k], seed: 3)] : []),
      ["axis": .int(-1), "epsilon": .float(1e-5)])[0]
    let y = try b.add(try b.matmul(norm, T.weight(b, [k, n], seed: 4, range: -0.2...0.2)), T.weight(b, [n], seed: 5))
    b.output(try b.tanh(y))
    if normRead { b.output(norm) }
    return try b.finish()
  }

  /// With 2 threads and 16-float vectors: 40 features over 400 rows run per task (34 row tiles);
  /// over 30 rows (3 tiles) in panels; 256 features (K blocks of 128) in panels with K blocks;
  /// 17 features (not whole vectors) and a norm without bias per task.
  @Test(arguments: [
    (2, 200, 40, 48, true, false), (1, 30, 40, 48, true, true), (1, 200, 256, 64, true, true),
    (1, 300, 17, 20, false, false),
  ])
  func normalizedRowsMatchTheReference(
    _ images: Int, _ rows: Int, _ k: Int, _ n: Int, _ bias: Bool, _ panels: Bool
  ) throws {
    let graph = try Self.graph(images: images, rows: rows, k: k, n: n, bias: bias)
    let plan = Fusion.plan(graph)
    let g = try #require(plan.groups.firstIndex { $0.normalizedInput != nil })
    #expect(plan.groups.count == 1)
    #expect(plan.groups[g].nodes.map { graph.nodes[$0].op } == ["layer_norm", "matmul", "add", "tanh"])
    let program = try Scheduler.schedule(graph, plan: plan, vectorWidth: 16, threads: 2, winograd: false)
    #expect(program.schedules[g].map(\.kind) == (panels ? [.packPanels, .matmul] : [.matmul]))
    // Per task, a task is a row tile, all its columns.
    if !panels { #expect(program.schedules[g][0].parallel == [.row]) }
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "k \(k) rows \(rows)")
  }

  @Test func normReadElsewhereKeepsItsGroup() throws {
    let graph = try Self.graph(images: 1, rows: 50, k: 32, n: 32, normRead: true)
    let plan = Fusion.plan(graph)
    #expect(!plan.groups.contains { $0.normalizedInput != nil })
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "norm read elsewhere")
  }

  /// `[1, 50, 32]` → layer norm → transpose → matmul: the transposes that move only axes of extent
  /// 1 (TorchScript ViT's `[1, S, C] → [S, 1, C]`) are row views and join the matmul's group; one
  /// that moves rows (`[2, S, C] → [S, 2, C]`) or the features does not.
  @Test(arguments: [
    ([1, 50, 32], [1, 0, 2], true), ([2, 25, 32], [1, 0, 2], false), ([1, 32, 32], [0, 2, 1], false),
  ])
  func rowViewsJoinTheNormalizedMatmul(_ shape: [Int], _ perm: [Int], _ joins: Bool) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: shape)
    let norm = try b.apply(
      "layer_norm", [x, T.weight(b, [32], seed: 2), T.weight(b, [32], seed: 3)],
      ["axis": .int(-1), "epsilon": .float(1e-5)])[0]
    let view = try b.transpose(norm, perm: perm)
    let y = try b.add(
      try b.matmul(view, T.weight(b, [32, 24], seed: 4, range: -0.2...0.2)), T.weight(b, [24], seed: 5))
    b.output(try b.tanh(y))
    let graph = try b.finish()
    let plan = Fusion.plan(graph)
    let normalized = plan.groups.filter { $0.normalizedInput != nil }
    #expect(normalized.count == (joins ? 1 : 0))
    if joins {
      #expect(plan.groups.count == 1)
      #expect(normalized[0].nodes.map { graph.nodes[$0].op } == ["layer_norm", "transpose", "matmul", "add", "tanh"])
    }
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "row view \(shape) \(perm)")
  }

  /// Rows away from zero: the mean matters.
  static func inputs(_ graph: Graph) -> [Tensor] {
    [Tensor.random(shape: graph.shape(of: graph.inputs[0]), in: 1...4, seed: 7)]
  }
}
