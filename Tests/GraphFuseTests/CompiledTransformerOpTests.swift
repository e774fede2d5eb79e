import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A tiny deterministic generator for the random shapes.
private struct ShapeRandom {
  var state: UInt64
  mutating func next(_ range: ClosedRange<Int>) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return range.lowerBound + Int((state >> 33) % UInt64(range.count))
  }
}

/// Randomized compiled-vs-reference checks of the transformer ops: random shapes and axes,
/// numpy broadcasting of the operands, unfused and fused with an elementwise consumer.
@Suite("Compiled transformer ops")
struct CompiledTransformerOpTests {
  @Test(arguments: 0..<8) func layerNormRandomShapes(_ seed: Int) throws {
    var r = ShapeRandom(state: UInt64(seed) &+ 101)
    let shape = (0..<r.next(2...4)).map { _ in r.next(1...7) }
    let axis = r.next(0...(shape.count - 1))
    // scale drops some leading normalized axes and turns some extents into 1 (broadcast).
    let normalized = Array(shape[axis...])
    let scaleShape = Array(normalized.dropFirst(r.next(0...(normalized.count - 1)))).map { r.next(0...2) == 0 ? 1 : $0 }
    let withBias = r.next(0...1) == 1
    let negativeAxis = r.next(0...1) == 1
    let name = "layer_norm \(shape) axis \(axis) scale \(scaleShape) bias \(withBias)"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      var inputs = [b.input("x", shape: shape), CT.weight(b, scaleShape, seed: 7, range: 0.5...1.5)]
      if withBias { inputs.append(CT.weight(b, [normalized.last ?? 1], seed: 8)) }
      let attributes: Attributes = ["axis": .int(negativeAxis ? axis - shape.count : axis), "epsilon": .float(1e-5)]
      let y = try b.apply("layer_norm", inputs, attributes)[0]
      b.output(try b.apply("relu", [y])[0])
    }
    try CT.check(CompiledCase(name, build: build), fused: false, inputRange: -3...3)
    try CT.check(CompiledCase(name + " fused", partition: { _ in [[0, 1]] }, build: build), inputRange: -3...3)
  }

  struct EinsumCase: Sendable, CustomStringConvertible {
    let equation: String
    let shapes: [[Int]]
    var description: String { equation }
  }

  @Test(arguments: [
    EinsumCase(equation: "bhid,bhjd->bhij", shapes: [[2, 3, 5, 4], [2, 3, 6, 4]]),
    EinsumCase(equation: "bhij,bhjd->bhid", shapes: [[1, 2, 5, 6], [1, 2, 6, 3]]),
    EinsumCase(equation: "ij,jk->ik", shapes: [[7, 9], [9, 5]]),
    EinsumCase(equation: "bij->bji", shapes: [[2, 3, 4]]),
    EinsumCase(equation: "abc,c->ab", shapes: [[3, 4, 5], [5]]),
    EinsumCase(equation: "ab,ab->ab", shapes: [[4, 6], [4, 6]]),
    EinsumCase(equation: "ijk->i", shapes: [[3, 4, 5]]),
    EinsumCase(equation: "ij,kj", shapes: [[3, 4], [5, 4]]),
  ])
  func einsumContractions(_ c: EinsumCase) throws {
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let first = b.input("x", shape: c.shapes[0])
      let rest = c.shapes.dropFirst().enumerated().map { CT.weight(b, $0.element, seed: UInt64(20 + $0.offset)) }
      let equation = try EinsumEquation(c.equation).text
      let y = try b.apply("einsum", [first] + rest, ["equation": .string(equation)])[0]
      b.output(try b.apply("tanh", [y])[0])
    }
    try CT.check(CompiledCase("einsum \(c.equation)", build: build), fused: false)
    try CT.check(CompiledCase("einsum \(c.equation) fused", partition: { _ in [[0, 1]] }, build: build))
  }

  @Test func einsumEquationsAreParsedAndChecked() throws {
    #expect(try EinsumEquation("B G H I D, B G H J D -> B G H I J").text == "BGHID,BGHJD->BGHIJ")
    #expect(try EinsumEquation("ij,jk").text == "ij,jk->ik", "implicit output: labels used once, sorted")
    #expect(try EinsumEquation("ij,jk->ik").contracted == ["j"])
    for bad in ["...ij,jk->ik", "ii->i", "ij->k", "i->j->k"] {
      #expect(throws: GraphFuseError.self, "\(bad)") { _ = try EinsumEquation(bad) }
    }
    #expect(throws: GraphFuseError.self) { _ = try EinsumEquation("ij,jk->ik").extents([[2, 3], [4, 5]]) }
  }

  @Test(arguments: 0..<6) func whereEqualNotWithBroadcasting(_ seed: Int) throws {
    var r = ShapeRandom(state: UInt64(seed) &+ 7)
    let out = (0..<r.next(1...4)).map { _ in r.next(2...5) }
    func operand(_ r: inout ShapeRandom) -> [Int] {
      Array(out.dropFirst(r.next(0...(out.count - 1)))).map { r.next(0...2) == 0 ? 1 : $0 }
    }
    let (c, x, y) = (operand(&r), operand(&r), operand(&r))
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let source = b.input("c", shape: c)
      let zero = b.constant(Tensor(shape: [], data: [0]))
      // A runtime 0/1 mask: relu(c) == 0, negated.
      let mask = try b.apply("not", [try b.apply("equal", [try b.apply("relu", [source])[0], zero])[0]])[0]
      let big = b.constant(Tensor(shape: [1], data: [-.infinity]))
      let picked = try b.apply("where", [mask, b.input("x", shape: x), CT.weight(b, y, seed: 9)])[0]
      // -inf in the unselected branch must not leak into the selected one.
      let guarded = try b.apply("where", [mask, picked, big])[0]
      b.output(try b.apply("exp", [guarded])[0])
    }
    try CT.check(CompiledCase("where c\(c) x\(x) y\(y)", build: build), fused: false)
    try CT.check(CompiledCase("where fused", partition: { g in [g.nodes.ids] }, build: build))
  }

  @Test(arguments: 0..<6) func expandRandomShapes(_ seed: Int) throws {
    var r = ShapeRandom(state: UInt64(seed) &+ 33)
    let out = (0..<r.next(1...4)).map { _ in r.next(1...5) }
    let x = Array(out.dropFirst(r.next(0...(out.count - 1)))).map { r.next(0...1) == 0 ? 1 : $0 }
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let e = try b.apply("expand", [b.input("x", shape: x)], ["shape": .ints(out)])[0]
      b.output(try b.apply("add", [e, CT.weight(b, out, seed: 2)])[0])
    }
    try CT.check(CompiledCase("expand \(x) to \(out)", build: build), fused: false)
    try CT.check(CompiledCase("expand fused", partition: { _ in [[0, 1]] }, build: build))
  }

  @Test(arguments: [0, 1]) func geluApproximationsAndMod(_ approximate: Int) throws {
    try CT.check(
      CompiledCase("gelu \(approximate) and mod") { b throws(GraphFuseError) in
        let x = b.input("x", shape: [3, 17])
        let g = try b.apply("gelu", [x], ["approximate": .int(approximate)])[0]
        let divisor = CT.weight(b, [17], seed: 4, range: 0.3...0.9)
        b.output(try b.apply("mod", [g, divisor], ["fmod": .int(approximate)])[0])
      }, fused: false, inputRange: -4...4)
  }

  @Test func referenceValuesOfTheScalarMath() throws {
    let x = Tensor(shape: [4], data: [-7, -1, 0.5, 7])
    func run(_ op: String, _ inputs: [Tensor], _ a: Attributes = [:]) throws -> [Float] {
      let b = GraphBuilder()
      let ids = inputs.enumerated().map { b.constant($0.element, name: "c\($0.offset)") }
      b.output(try b.apply(op, ids, a)[0])
      return try ReferenceExecutor.run(try b.finish(), inputs: [])[0].data
    }
    let three = Tensor(shape: [1], data: [3])
    #expect(try run("mod", [x, three]) == [2, 2, 0.5, 1], "fmod=0 takes the divisor's sign")
    #expect(try run("mod", [x, three], ["fmod": .int(1)]) == [-1, -1, 0.5, 1], "fmod=1 the dividend's")
    #expect(try run("equal", [x, Tensor(shape: [], data: [0.5])]) == [0, 0, 1, 0])
    #expect(try run("not", [Tensor(shape: [3], data: [0, 1, 1])]) == [1, 0, 0])
    let gelu = try run("gelu", [Tensor(shape: [2], data: [1, -1])])
    #expect(abs(gelu[0] - 0.841_344_7) < 1e-6 && abs(gelu[1] + 0.158_655_3) < 1e-6)
    let cond = Tensor(shape: [4], data: [1, 0, 1, 0])
    #expect(try run("where", [cond, x, Tensor(shape: [1], data: [-.infinity])]) == [-7, -.infinity, 0.5, -.infinity])
  }
}
