import Foundation
import Testing

@testable import GraphFuse

/// ``NormalizationPrologue``: an embedding sum (row gathers and adds) read only by a layer norm
/// joins the norm's group and runs in its row loop; a sum read elsewhere too, or reshaped on the
/// way, keeps its own group.
@Suite struct NormalizationPrologueTests {
  typealias T = CompiledTesting

  /// Token rows + type rows + positions, then (optionally) a transpose pair, a layer norm and
  /// (optionally) a second reader of the sum.
  static func embeddings(transposed: Bool = false, residual: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let ids = b.input("ids", shape: [2, 8])
    let types = b.input("types", shape: [2, 8])
    let words = try b.apply("take", [T.weight(b, [20, 16], seed: 1), ids], ["axis": .int(0)])[0]
    let kinds = try b.apply("take", [T.weight(b, [2, 16], seed: 2), types], ["axis": .int(0)])[0]
    var sum = try b.add(try b.add(words, kinds), T.weight(b, [1, 8, 16], seed: 3))
    if transposed { sum = try b.transpose(try b.transpose(sum, perm: [0, 2, 1]), perm: [0, 2, 1]) }
    let norm = try b.apply(
      "layer_norm", [sum, T.weight(b, [16], seed: 4), T.weight(b, [16], seed: 5)],
      ["axis": .int(-1), "epsilon": .float(1e-5)])[0]
    b.output(residual ? try b.add(norm, sum) : norm)
    return try b.finish()
  }

  static func inputs(_ graph: Graph) -> [Tensor] {
    [
      Tensor(shape: [2, 8], data: (0..<16).map { Float(($0 * 7) % 20) }),
      Tensor(shape: [2, 8], data: (0..<16).map { Float($0 % 2) }),
    ]
  }

  @Test func embeddingSumRunsInTheLayerNormsGroup() throws {
    let graph = try Self.embeddings()
    let plan = Fusion.plan(graph)
    let norm = try #require(plan.groups.first { $0.nodes.contains { graph.nodes[$0].op == "layer_norm" } })
    #expect(norm.nodes.map { graph.nodes[$0].op } == ["take", "take", "add", "add", "layer_norm"])
    #expect(plan.groups.count == 1)
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "embedding layer norm")
    // A token id past the table is still an error from inside the fused row loop.
    var bad = Self.inputs(graph)
    bad[0].data[5] = 20
    let model = try CompiledModel.compile(graph, plan: plan, options: T.options)
    #expect(throws: GraphFuseError.self) { _ = try model.run(bad) }
  }

  @Test(arguments: [(true, false), (false, true)])
  func sumReshapedOrReadElsewhereKeepsItsGroup(_ transposed: Bool, _ residual: Bool) throws {
    let graph = try Self.embeddings(transposed: transposed, residual: residual)
    let plan = Fusion.plan(graph)
    let norm = try #require(plan.groups.first { $0.nodes.contains { graph.nodes[$0].op == "layer_norm" } })
    // Neither the gathers nor a layout change joins the norm (only its own elementwise tail may).
    let ops = norm.nodes.map { graph.nodes[$0].op }
    #expect(!ops.contains("take") && !ops.contains("transpose"), "\(ops)")
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "kept apart")
  }
}
