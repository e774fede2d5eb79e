import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// An expand read by a broadcasting elementwise op is skipped; one read otherwise stays; results
/// match the reference.
@Suite struct ExpandIntoBroadcastTests {
  /// conv → relu → global pool → sigmoid → expand to the map → × the map (ECA's gate), and the
  /// expanded gate also to `extra` when given ("output": a graph output; "reshape": a reshape).
  static func gate(extra: String? = nil) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 7, 9])
    let w = CT.weight(b, [32, 16, 3, 3], seed: 8, range: -0.3...0.3)
    let y = try b.relu(try b.conv2d(x, weight: w, bias: CT.weight(b, [32], seed: 9), padding: 1))
    let s = try b.sigmoid(try b.globalAvgPool(y))
    let expanded = try b.apply("expand", [s], ["shape": .ints([1, 32, 7, 9])])[0]
    b.output(try b.mul(y, expanded))
    if extra == "output" { b.output(expanded) }
    if extra == "reshape" { b.output(try b.reshape(expanded, to: [32, 63])) }
    return try b.finish()
  }

  @Test func expandBeforeABroadcastingMultiplyIsSkipped() throws {
    let graph = try Self.gate()
    let optimized = try Pipeline.optimize(graph).graph
    #expect(!optimized.nodes.contains { $0.op == "expand" }, "\(optimized.nodes.map(\.op))")
    let mul = try #require(optimized.nodes.first { $0.op == "mul" })
    #expect(mul.inputs.map(optimized.shape(of:)).contains([1, 32, 1, 1]))
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 16, 7, 9], seed: 10)], context: "expanded gate")
  }

  @Test(arguments: ["output", "reshape"]) func expandReadOtherwiseStays(_ extra: String) throws {
    let graph = try Self.gate(extra: extra)
    let optimized = try Pipeline.optimize(graph).graph
    #expect(optimized.nodes.filter { $0.op == "expand" }.count == 1, "\(optimized.nodes.map(\.op))")
    let mul = try #require(optimized.nodes.first { $0.op == "mul" })
    #expect(mul.inputs.map(optimized.shape(of:)).contains([1, 32, 1, 1]), "the multiply still skips it")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 16, 7, 9], seed: 11)], context: "expanded gate and \(extra)")
  }
}
