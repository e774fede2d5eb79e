import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// `reshape → gemm → reshape` on the rows of a rank-3 tensor becomes `matmul + bias` with the
/// following elementwise tail in its epilogue; alpha, beta and transB fold into the constants.
@Suite struct DenseAsMatmulTests {
  static func dense(transB: Bool, alpha: Double, beta: Double, bias: Bool) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 5, 8])
    let w = CT.weight(b, transB ? [6, 8] : [8, 6], seed: 3)
    var inputs: [ValueID] = [try b.apply("reshape", [x], ["shape": .ints([10, 8])])[0], w]
    if bias { inputs.append(CT.weight(b, [6], seed: 4)) }
    let attributes: Attributes = [
      "transB": .int(transB ? 1 : 0), "alpha": .float(alpha), "beta": .float(beta),
    ]
    let y = try b.apply("gemm", inputs, attributes)[0]
    let back = try b.apply("reshape", [y], ["shape": .ints([2, 5, 6])])[0]
    b.output(try b.apply("tanh", [back])[0])
    return try b.finish()
  }

  @Test(arguments: [(false, 1.0, 1.0, true), (true, 0.5, 2.0, true), (true, 1.0, 1.0, false)])
  func gemmOnRowsBecomesAMatmulWithItsTailFused(_ c: (Bool, Double, Double, Bool)) throws {
    let graph = try Self.dense(transB: c.0, alpha: c.1, beta: c.2, bias: c.3)
    let optimized = try Pipeline.optimize(graph)
    let ops = optimized.graph.nodes.map(\.op)
    #expect(!ops.contains("gemm") && !ops.contains("reshape"), "\(ops)")
    #expect(ops.contains("matmul"))
    #expect(optimized.plan.groups.count == 1, "the bias and tanh fuse into the matmul's group")
    let x = Tensor.random(shape: [2, 5, 8], seed: 11)
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [x], context: "transB \(c.0) alpha \(c.1) beta \(c.2)")
  }

  /// Rows merged from another shape (attention heads `[1, 5, 2, 4]` into rows of 8): the first
  /// reshape now makes the rows' shape `[1, 5, 8]`, and the residual add fuses too.
  @Test func rowsFromAnotherShapeAreReshapedToTheOutputRows() throws {
    let b = GraphBuilder()
    let heads = b.input("heads", shape: [1, 5, 2, 4])
    let residual = b.input("residual", shape: [1, 5, 6])
    let flat = try b.apply("reshape", [heads], ["shape": .ints([5, 8])])[0]
    let y = try b.apply("gemm", [flat, CT.weight(b, [8, 6], seed: 3), CT.weight(b, [6], seed: 4)])[0]
    let back = try b.apply("reshape", [y], ["shape": .ints([1, 5, 6])])[0]
    b.output(try b.apply("add", [back, residual])[0])
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    #expect(
      optimized.graph.nodes.map(\.op) == ["reshape", "matmul", "add", "add"], "\(optimized.graph.nodes.map(\.op))")
    #expect(optimized.graph.shape(of: optimized.graph.nodes[0].outputs[0]) == [1, 5, 8])
    let inputs = [Tensor.random(shape: [1, 5, 2, 4], seed: 5), Tensor.random(shape: [1, 5, 6], seed: 6)]
    try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "rows from heads")
  }

  @Test func aGemmWhoseOutputIsUsedTwiceStays() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 5, 8])
    let flat = try b.apply("reshape", [x], ["shape": .ints([10, 8])])[0]
    let y = try b.apply("gemm", [flat, CT.weight(b, [8, 6], seed: 3)])[0]
    b.output(try b.apply("reshape", [y], ["shape": .ints([2, 5, 6])])[0])
    b.output(try b.apply("relu", [y])[0])
    let graph = try b.finish()
    #expect(try Pipeline.optimize(graph).graph.nodes.contains { $0.op == "gemm" })
  }
}
