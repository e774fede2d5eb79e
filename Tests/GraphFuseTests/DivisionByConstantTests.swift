import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A float division by a constant becomes a multiplication by the reciprocal; divisions that a
/// rounding op reads, by a zero, by a computed value, or unfused stay; the results match the reference.
@Suite struct DivisionByConstantTests {
  /// GELU's `x / √2` as exporters write it (a scalar divisor; the chain scaled by 0.4, not ½, so
  /// that ``geluFusionPass`` leaves it) and two divisions by one per-channel constant become
  /// multiplications, the two sharing one reciprocal.
  @Test func divisionsByConstantsBecomeMultiplications() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 6, 6])
    let root2 = b.constant(Tensor(scalar: 1.4142135), name: "sqrt2")
    let erf = try b.apply("erf", [try b.div(x, root2)])[0]
    let gelu = try b.mul(try b.mul(x, try b.add(erf, b.constant(Tensor(scalar: 1)))), b.constant(Tensor(scalar: 0.4)))
    let divisor = b.constant(Tensor(shape: [1, 4, 1, 1], data: [3, -0.7, 0.25, 1e-3]), name: "s")
    b.output(try b.add(try b.div(gelu, divisor), try b.div(try b.exp(x), divisor)))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph).graph
    #expect(!optimized.nodes.contains { $0.op == "div" }, "\(optimized.nodes.map(\.op))")
    let multipliers = optimized.nodes.filter { $0.op == "mul" }.compactMap { optimized.constant($0.inputs[1]) }
    #expect(multipliers.contains(Tensor(scalar: Float(1 / Double(Float(1.4142135))))))
    let reciprocal = Tensor(shape: [1, 4, 1, 1], data: [3, -0.7, 0.25, 1e-3].map { Float(1 / Double(Float($0))) })
    #expect(multipliers.filter { $0 == reciprocal }.count == 2)
    #expect(optimized.constants.values.filter { $0 == reciprocal }.count == 1, "one reciprocal for the shared divisor")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 4, 6, 6], in: -3...3, seed: 5)], context: "division by constant")
  }

  /// A quotient read by `floor` or `trunc` (an integer `Div` imports as `trunc(a / b)`), a divisor
  /// with a zero, and a divisor computed at run time keep their divisions.
  @Test func divisionsThatMustStay() throws {
    func optimizedOps(_ body: (GraphBuilder, ValueID) throws -> ValueID) throws -> [String] {
      let b = GraphBuilder()
      let x = b.input("x", shape: [1, 4, 3, 3])
      b.output(try body(b, x))
      return try Pipeline.optimize(try b.finish()).graph.nodes.map(\.op)
    }
    let seven = { (b: GraphBuilder) in b.constant(Tensor(scalar: 7)) }
    #expect(try optimizedOps { b, x in try b.apply("floor", [try b.div(x, seven(b))])[0] }.contains("div"))
    #expect(try optimizedOps { b, x in try b.apply("trunc", [try b.div(x, seven(b))])[0] }.contains("div"))
    #expect(
      try optimizedOps { b, x in try b.div(x, b.constant(Tensor(shape: [1, 4, 1, 1], data: [1, 2, 0, 4]))) }
        .contains("div"))
    #expect(try optimizedOps { b, x in try b.div(x, try b.exp(x)) }.contains("div"))
    // The rewrite itself: without a rounding reader the same division goes, except unfused.
    #expect(!(try optimizedOps { b, x in try b.relu(try b.div(x, seven(b))) }.contains("div")))
    let b = GraphBuilder()
    b.output(try b.div(b.input("x", shape: [2, 3]), b.constant(Tensor(scalar: 7))))
    #expect(try Pipeline.optimize(try b.finish(), options: .unfused).graph.nodes.map(\.op) == ["div"])
  }
}
