import Testing

@testable import GraphFuse

/// The verifier accepts what the builder makes and rejects each kind of broken graph.
@Suite struct VerifierTests {
  /// x → add(x, c) → relu → output.
  static func valid() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 3])
    let c = b.constant(Tensor([1, 2, 3]), name: "c")
    let y = try b.add(x, c, name: "add")
    b.output(try b.relu(y, name: "relu"))
    return try b.finish()
  }

  @Test func acceptsBuilderGraphs() throws {
    try Self.valid().verify()
    try PrinterTests.stem().verify()
    try ModelZoo.build("tiny").verify()
  }

  /// A way to break the valid graph, and a fragment of the error it must cause.
  struct Breakage: Sendable, CustomTestStringConvertible {
    var name: String
    var fragment: String
    var breakGraph: @Sendable (inout Graph) -> Void
    var testDescription: String { name }
  }

  static let breakages: [Breakage] = [
    // values: %0 x, %w1 c, %2 = add(%0, %w1), %3 = relu(%2)
    Breakage(name: "use before definition", fragment: "node 'relu' (relu): reads %2 before it is defined") { g in
      g.nodes.swapAt(0, 1)
      // keep each output pointing back at its (moved) node so only the order is wrong
      g.values[2].source = .node(1, output: 0)
      g.values[3].source = .node(0, output: 0)
    },
    Breakage(name: "wrong declared shape", fragment: "declared [2, 4], inferred [2, 3]") { g in
      g.values[3].shape = [2, 4]
    },
    Breakage(name: "duplicate node name", fragment: "node 'add' (relu): node name is not unique") { g in
      g.nodes[1].name = "add"
    },
    Breakage(name: "missing constant tensor", fragment: "constant %w1 has no tensor") { g in g.constants[1] = nil },
    Breakage(name: "constant of the wrong shape", fragment: "constant %w1 is [4], declared [3]") { g in
      g.constants[1] = Tensor([1, 2, 3, 4])
    },
    Breakage(name: "undefined graph output", fragment: "graph output %9 is never defined") { g in g.outputs = [9] },
    Breakage(name: "input out of range", fragment: "reads %42 before it is defined") { g in g.nodes[1].inputs = [42] },
    Breakage(name: "wrong arity", fragment: "takes 2...2 inputs, has 1") { g in g.nodes[0].inputs = [0] },
    Breakage(name: "unknown op", fragment: "unknown op 'swishy'") { g in g.nodes[1].op = "swishy" },
    Breakage(name: "value defined twice", fragment: "redefines %2") { g in g.nodes[1].outputs = [2] },
    Breakage(name: "output does not point back", fragment: "does not point back") { g in
      g.values[3].source = .node(0, output: 0)
    },
    Breakage(name: "duplicate graph input", fragment: "input %0 is not a unique graph input") { g in g.inputs = [0, 0]
    },
  ]

  @Test(arguments: breakages) func rejects(_ breakage: Breakage) throws {
    var graph = try Self.valid()
    breakage.breakGraph(&graph)
    let error = try #require(throws: GraphFuseError.self) { try graph.verify() }
    #expect(error.description.contains(breakage.fragment), "\(error)")
  }
}
