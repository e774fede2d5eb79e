import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A gather's constant indices become arithmetic when they step evenly (``GroupLowering/lookup(_:_:)``):
/// the identity gather a text model's mask goes through, a strided slice, a repeated index; any
/// other list stays a table. Each compiled against the reference executor.
@Suite("Gather lookups")
struct GatherLookupTests {
  @Test func evenStepsAreArithmetic() {
    let p = IndexExpr.variable("p")
    #expect(GroupLowering.lookup(Array(0..<128), p) == p)
    #expect(GroupLowering.lookup([3, 5, 7, 9], p) == p * 2 + .constant(3))
    #expect(GroupLowering.lookup([4, 4, 4], p) == .constant(4))
    #expect(GroupLowering.lookup([9, 6, 3], p) == p * -3 + .constant(9))
    #expect(GroupLowering.lookup([7], p) == .constant(7))
    #expect(GroupLowering.lookup([0, 1, 3], p) == .table([0, 1, 3], p))
  }

  /// `gather(x, indices)` along the last axis, then a multiply (one generic group): no table in the
  /// C when the indices step evenly, and the same values as the reference either way.
  @Test(arguments: [Array(0..<40), Array(stride(from: 2, to: 40, by: 3)), [5, 1, 30, 2, 2, 17]])
  func gathersMatchTheReference(_ indices: [Int]) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [3, 40])
    let g = try b.apply("gather", [x], ["axis": .int(1), "indices": .ints(indices)])[0]
    b.output(try b.mul(g, CT.weight(b, [indices.count], seed: 91)))
    let graph = try b.finish()
    let input = Tensor.random(shape: [3, 40], in: -1...1, seed: 92)
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "gather \(indices)")
    let optimized = try Pipeline.optimize(graph)
    let source = try Lowering.cSource(optimized.graph, plan: optimized.plan, group: GroupID(0), threads: 2)
    let even = indices.count < 2 || zip(indices, indices.dropFirst()).allSatisfy { $1 - $0 == indices[1] - indices[0] }
    #expect(source.contains("static const long tab") == !even, "\(source)")
  }
}
