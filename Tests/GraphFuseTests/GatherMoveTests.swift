import Foundation
import Testing

@testable import GraphFuse

/// ``moveGathersBeforeLayoutOpsPass``: the split of a fused QKV projection into Q, K and V reads
/// the projection directly (a slice, reshape and transpose each) instead of writing the permuted
/// `[3, …]` tensor; results stay exactly the reference's.
@Suite struct GatherMoveTests {
  static func gather(_ b: GraphBuilder, _ x: ValueID, axis: Int, index: Int) throws -> ValueID {
    try b.apply("gather", [x], ["axis": .int(axis), "indices": .ints([index]), "indices_shape": .ints([])])[0]
  }

  /// Swin's form: `[B, N, 3·H·d] → [B, N, 3, H, d] → permute(2, 0, 3, 1, 4)`, then `qkv[i]`; with
  /// `extraReader`, a transpose also reads the permuted tensor whole.
  static func swinSplit(extraReader: Bool = false) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 5, 3 * 4 * 6])
    let r = try b.apply("reshape", [x], ["shape": .ints([2, 5, 3, 4, 6])])[0]
    let t = try b.apply("transpose", [r], ["perm": .ints([2, 0, 3, 1, 4])])[0]
    for i in 0..<3 { b.output(try gather(b, t, axis: 0, index: i)) }
    if extraReader { b.output(try b.apply("transpose", [t], ["perm": .ints([1, 0, 2, 3, 4])])[0]) }
    return try b.finish()
  }

  /// ViT's form (`nn.MultiheadAttention`): `[N, B, 3·E] → [N, B, 3, E]`, unsqueeze, transpose,
  /// squeeze, then `[i]` along the leading axis (index -1 for the last one).
  static func vitSplit() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [7, 1, 3 * 8])
    let r = try b.apply("reshape", [x], ["shape": .ints([7, 1, 3, 8])])[0]
    let u = try b.apply("unsqueeze", [r], ["axes": .ints([0])])[0]
    let t = try b.apply("transpose", [u], ["perm": .ints([3, 1, 2, 0, 4])])[0]
    let s = try b.apply("squeeze", [t], ["axes": .ints([-2])])[0]
    for i in [0, 1, -1] { b.output(try gather(b, s, axis: 0, index: i)) }
    return try b.finish()
  }

  static func check(_ graph: Graph, expectMoved: Bool) throws {
    let optimized = try Pipeline.optimize(graph).graph
    let ops = optimized.nodes.map(\.op)
    #expect(ops.contains("gather") != expectMoved, "\(ops)")
    #expect(ops.filter { $0 == "slice" }.count == (expectMoved ? 3 : 0), "\(ops)")
    let x = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 3)
    let expected = try ReferenceExecutor.run(graph, inputs: [x]),
      actual = try ReferenceExecutor.run(optimized, inputs: [x])
    #expect(expected.map(\.shape) == actual.map(\.shape))
    #expect(expected.map(\.data) == actual.map(\.data), "moved gathers read the same elements")
    let plan = try Pipeline.optimize(graph).plan
    let compiled = try CompiledModel.compile(optimized, plan: plan, options: CompiledTesting.options).run([x])
    #expect(compiled.map(\.data) == expected.map(\.data), "compiled")
  }

  @Test func swinSplitReadsTheProjection() throws { try Self.check(try Self.swinSplit(), expectMoved: true) }

  @Test func vitSplitReadsTheProjection() throws { try Self.check(try Self.vitSplit(), expectMoved: true) }

  /// The moved ops keep the gathered tensor's element type and the gathers' value names (an int64
  /// split stays int64; a graph output keeps its ONNX name).
  @Test func elementTypeAndNamesStay() throws {
    var graph = Graph()
    let x = graph.addInput(name: "ids", shape: [2, 12], dataType: .int64)
    let r = try graph.addNode(op: "reshape", inputs: [x], attributes: ["shape": .ints([2, 3, 4])])[0]
    let t = try graph.addNode(op: "transpose", inputs: [r], attributes: ["perm": .ints([1, 0, 2])])[0]
    for v in [r, t] { graph.values[v].dataType = .int64 }
    for i in 0..<3 {
      let attributes: Attributes = ["axis": .int(0), "indices": .ints([i]), "indices_shape": .ints([])]
      let part = try graph.addNode(op: "gather", inputs: [t], attributes: attributes, outputNames: ["part\(i)"])[0]
      graph.values[part].dataType = .int64
      graph.outputs.append(part)
    }
    let optimized = try Pipeline.optimize(graph).graph
    #expect(!optimized.nodes.contains { $0.op == "gather" })
    #expect(optimized.outputs.map { optimized.values[$0].name } == ["part0", "part1", "part2"])
    #expect(optimized.outputs.allSatisfy { optimized.dataType(of: $0) == .int64 })
  }

  /// When something else reads the permuted tensor whole, it is written anyway: nothing moves.
  @Test func sharedLayoutOpStays() throws {
    try Self.check(try Self.swinSplit(extraReader: true), expectMoved: false)
  }
}
