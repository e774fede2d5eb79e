import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// DPN's dual-path join: slices of two blocked conv outputs, the sum of their first channels and
/// the rest of each side by side (`slice … add concat`) before a conv, fused as one generic group
/// in the blocked layout. With every piece at whole vectors each select is decided once per vector
/// (``InnerVectorize/laneUniform(_:_:_:ranges:)``) and the loop runs on vectors; at 24 channels a vector
/// straddles two pieces and the loop stays lane by lane. Both match the reference executor.
@Suite("Dual-path joins")
struct DualPathJoinTests {
  /// (channels of the first conv, of the second, channels summed)
  @Test(arguments: [(96, 80, 64), (48, 40, 24), (64, 48, 32)])
  func slicesAddedAndConcatenated(_ first: Int, _ second: Int, _ summed: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 9, 9])
    let a = try b.conv2d(x, weight: CT.weight(b, [first, 16, 3, 3], seed: 71), padding: 1)
    let c = try b.conv2d(x, weight: CT.weight(b, [second, 16, 3, 3], seed: 72), padding: 1)
    func part(_ v: ValueID, _ range: Range<Int>) throws(GraphFuseError) -> ValueID {
      try b.slice(v, starts: [range.lowerBound], ends: [range.upperBound], axes: [1])
    }
    let sum = try b.add(part(a, 0..<summed), part(c, 0..<summed))
    let join = try b.concat([sum, part(a, summed..<first), part(c, summed..<second)])
    let channels = summed + (first - summed) + (second - summed)
    b.output(try b.conv2d(join, weight: CT.weight(b, [16, channels, 1, 1], seed: 74)))
    let graph = try b.finish()
    let input = Tensor.random(shape: [1, 16, 9, 9], in: -1...1, seed: 73)
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "join \(first), \(second)")
    let optimized = try Pipeline.optimize(graph)
    let group = try #require(
      optimized.plan.groups.firstIndex { $0.name.hasSuffix("_concat") }, "\(optimized.plan.groups.map(\.name))")
    let source = try Lowering.cSource(optimized.graph, plan: optimized.plan, group: GroupID(group), threads: 2)
    let whole = [first, second, summed].allSatisfy { $0 % System.vectorWidth == 0 }
    #expect(source.contains("gf_storeu(") == whole, "\(source)")
  }
}
