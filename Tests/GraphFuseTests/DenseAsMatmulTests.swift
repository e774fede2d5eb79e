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
