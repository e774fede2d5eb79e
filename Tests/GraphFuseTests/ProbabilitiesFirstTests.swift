import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Attention written values-first, `V · softmax(S)ᵀ` (LeViT's convolutional blocks), becomes
/// `transpose(softmax(S) · Vᵀ)` and runs as one fused attention kernel; the results match the
/// reference. Other forms, and the configurations without attention fusion, keep the graph.
@Suite struct ProbabilitiesFirstTests {
  /// Q `[b, h, m, d]`, Kᵀ `[b, h, d, n]`, V `[b, h, dv, n]`: `out = V · softmax(Q·Kᵀ · 0.25)ᵀ`,
  /// `[b, h, dv, m]`, then a relu. `secondReader`: the probabilities are also a graph output.
  static func graph(m: Int, n: Int, d: Int, dv: Int, secondReader: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let q = b.input("q", shape: [2, 3, m, d]), k = b.input("k", shape: [2, 3, d, n])
    let v = b.input("v", shape: [2, 3, dv, n])
    let scores = try b.mul(try b.apply("matmul", [q, k])[0], b.constant(Tensor(shape: [], data: [0.25])))
    let probabilities = try b.softmax(scores, axis: -1)
    let product = try b.apply("matmul", [v, try b.transpose(probabilities, perm: [0, 1, 3, 2])])[0]
    b.output(try b.relu(product))
    if secondReader { b.output(probabilities) }
    return try b.finish()
  }

  static func inputs(_ graph: Graph) -> [Tensor] {
    graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), in: -1...1, seed: UInt64(81 + k)) }
  }

  @Test(arguments: [(20, 20, 8, 16), (49, 196, 16, 64), (7, 33, 5, 17)])
  func valuesFirstRunsAsOneAttentionKernel(_ c: (Int, Int, Int, Int)) throws {
    let graph = try Self.graph(m: c.0, n: c.1, d: c.2, dv: c.3)
    let optimized = try Pipeline.optimize(graph)
    // The probabilities' transpose is gone; V's and the output's took its place.
    let transposes = optimized.graph.nodes.filter { $0.op == "transpose" }.map {
      optimized.graph.shape(of: $0.inputs[0])
    }
    #expect(transposes == [[2, 3, c.3, c.1], [2, 3, c.0, c.3]], "\(transposes)")
    let models = try CT.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "values first \(c)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = fused.program.schedules.joined().map(\.kind)
    #expect(kinds.filter { $0 == .attention }.count == 1, "\(kinds)")
  }

  /// Probabilities read elsewhere too, or attention fusion off (`--no-attention`, and the unfused
  /// and folded configurations): the graph keeps `V · Pᵀ`.
  @Test func otherFormsStay() throws {
    func transposedProbabilities(_ graph: Graph, _ options: OptimizeOptions = .init()) throws -> Bool {
      let optimized = try Pipeline.optimize(graph, options: options)
      return optimized.graph.nodes.contains { node in
        node.op == "transpose"
          && optimized.graph.producer(of: node.inputs[0]).map { optimized.graph.nodes[$0].op }
            == "softmax"
      }
    }
    let shared = try Self.graph(m: 9, n: 9, d: 4, dv: 8, secondReader: true)
    #expect(try transposedProbabilities(shared))
    try CT.fusedAndUnfusedMatchReference(shared, inputs: Self.inputs(shared), context: "shared probabilities")
    let plain = try Self.graph(m: 9, n: 9, d: 4, dv: 8)
    var noAttention = OptimizeOptions()
    noAttention.fuseAttention = false
    for options in [noAttention, .unfused, .folded] { #expect(try transposedProbabilities(plain, options)) }
  }
}
