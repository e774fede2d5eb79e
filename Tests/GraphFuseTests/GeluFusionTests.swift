import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// GELU written out as `x · ½ · (1 + erf(x / √2))` becomes one `gelu` node in each order exporters
/// write it; chains that differ (another reader, another constant, unfused) keep their ops; the
/// results match the reference.
@Suite struct GeluFusionTests {
  /// The chain in one of four orders over `x`: `(x · a) · ½` with `x / √2` (PyTorch's exporter),
  /// `(x · ½) · a` with `x · (1/√2)` (Hugging Face's), `x · (a · ½)` and `½ · (a · x)`, where
  /// `a = 1 + erf(…)` (or `erf(…) + 1`).
  static func chain(_ b: GraphBuilder, _ x: ValueID, order: Int) throws -> ValueID {
    let half = b.constant(Tensor(scalar: 0.5)), one = b.constant(Tensor(scalar: 1))
    let scaled =
      order == 0
      ? try b.div(x, b.constant(Tensor(scalar: 1.4142135))) : try b.mul(b.constant(Tensor(scalar: 0.70710677)), x)
    let erf = try b.apply("erf", [scaled])[0]
    let a = order % 2 == 0 ? try b.add(erf, one) : try b.add(one, erf)
    switch order {
    case 0: return try b.mul(try b.mul(x, a), half)
    case 1: return try b.mul(try b.mul(x, half), a)
    case 2: return try b.mul(x, try b.mul(a, half))
    default: return try b.mul(half, try b.mul(a, x))
    }
  }

  @Test(arguments: 0..<4) func exportersGeluBecomesOneNode(order: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 3, 37])
    b.output(try Self.chain(b, try b.relu(x), order: order))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph).graph
    #expect(optimized.nodes.map(\.op) == ["relu", "gelu"], "order \(order)")
    var input = Tensor.random(shape: [2, 3, 37], in: -8...8, seed: UInt64(order))
    for (i, v) in [Float(-0.0), 1e-20, 6, 12, 100, -12, -100].enumerated() { input.data[i] = v }
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "gelu order \(order)")
  }

  /// A chain whose erf is also a graph output, whose scale is not 1/√2, whose add is not by 1, whose
  /// last factor is not ½, or that runs unfused keeps its ops.
  @Test func chainsThatStay() throws {
    func ops(options: OptimizeOptions = .init(), _ body: (GraphBuilder, ValueID) throws -> ValueID) throws -> [String] {
      let b = GraphBuilder()
      b.output(try body(b, b.input("x", shape: [4, 8])))
      return try Pipeline.optimize(try b.finish(), options: options).graph.nodes.map(\.op)
    }
    func spelled(scale: Float, one: Float, half: Float, alsoOutput: Bool = false) -> (GraphBuilder, ValueID) throws
      -> ValueID
    {
      { b, x in
        let erf = try b.apply("erf", [try b.mul(x, b.constant(Tensor(scalar: scale)))])[0]
        if alsoOutput { b.output(erf) }
        let a = try b.add(erf, b.constant(Tensor(scalar: one)))
        return try b.mul(try b.mul(x, a), b.constant(Tensor(scalar: half)))
      }
    }
    #expect(try ops(spelled(scale: 0.70710677, one: 1, half: 0.5)) == ["gelu"])
    #expect(!(try ops(spelled(scale: 0.6, one: 1, half: 0.5)).contains("gelu")))
    #expect(!(try ops(spelled(scale: 0.70710677, one: 2, half: 0.5)).contains("gelu")))
    #expect(!(try ops(spelled(scale: 0.70710677, one: 1, half: 0.25)).contains("gelu")))
    #expect(!(try ops(spelled(scale: 0.70710677, one: 1, half: 0.5, alsoOutput: true)).contains("gelu")))
    #expect(!(try ops(options: .unfused, spelled(scale: 0.70710677, one: 1, half: 0.5)).contains("gelu")))
  }

  /// A transformer MLP (matmul, bias, GELU as exported) fuses into one matmul group whose epilogue
  /// calls the vector GELU, and matches the reference.
  @Test func mlpEpilogueCallsTheVectorGelu() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 29, 48])
    let w = b.constant(Tensor.random(shape: [48, 80], in: -0.3...0.3, seed: 3))
    let bias = b.constant(Tensor.random(shape: [80], in: -1...1, seed: 4))
    b.output(try Self.chain(b, try b.add(try b.matmul(x, w), bias), order: 1))
    let graph = try b.finish()
    #expect(try Pipeline.optimize(graph).plan.groups.count == 1)
    let models = try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 29, 48], in: -2...2, seed: 6)], context: "gelu MLP")
    #expect(models.first?.model.source.contains("gf_vgelu(") == true)
  }
}
