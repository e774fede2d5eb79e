import Testing
@testable import GraphFuse

/// Runs one op on the reference executor: every operand is a graph input, every result a graph output.
func runOp(_ op: String, _ inputs: [Tensor], _ attributes: Attributes = [:]) throws -> [Tensor] {
  let b = GraphBuilder()
  let ids = inputs.enumerated().map { b.input("x\($0.offset)", shape: $0.element.shape) }
  for y in try b.apply(op, ids, attributes, name: "node") { b.output(y) }
  return try ReferenceExecutor.run(try b.finish(), inputs: inputs)
}

/// A tensor from a shape and its elements (shorter to write than `Tensor(shape:data:)`).
func T(_ shape: [Int], _ data: [Float]) -> Tensor { Tensor(shape: shape, data: data) }

/// `[0, 1, 2, …]` in `shape`.
func iota(_ shape: [Int]) -> Tensor { T(shape, (0..<shape.reduce(1, *)).map(Float.init)) }

/// One op applied to inputs, with the expected outputs written out.
struct OpCase: Sendable, CustomTestStringConvertible {
  var name: String
  var op: String
  var inputs: [Tensor]
  var attributes: Attributes = [:]
  var expected: [Tensor]
  var testDescription: String { name }

  init(_ name: String, _ op: String, _ inputs: [Tensor], _ attributes: Attributes = [:], expect expected: Tensor...) {
    self.name = name
    self.op = op
    self.inputs = inputs
    self.attributes = attributes
    self.expected = expected
  }

  /// Runs the case and checks every output's shape and values.
  func check(tolerance: Float = 1e-5) throws {
    let outputs = try runOp(op, inputs, attributes)
    try #require(outputs.count == expected.count, "\(name): \(outputs.count) outputs, expected \(expected.count)")
    for (actual, wanted) in zip(outputs, expected) {
      #expect(actual.shape == wanted.shape, "\(name): shape \(actual.shape), expected \(wanted.shape)")
      let comparison = actual.compared(to: wanted)
      #expect(comparison.isWithin(relative: tolerance, absolute: tolerance), "\(name): \(comparison)\n got \(actual.data)\n want \(wanted.data)")
    }
  }
}

extension Attributes {
  /// A copy with one attribute set.
  func setting(_ name: String, _ value: Attribute) -> Attributes {
    var copy = self
    copy[name] = value
    return copy
  }
}
