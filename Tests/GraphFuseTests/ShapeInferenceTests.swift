import Testing

@testable import GraphFuse

/// An operand of a test node: a graph input of some shape, or a constant tensor.
enum Operand: Sendable {
  case input([Int])
  case constant(Tensor)
}

/// A node that shape inference must reject, and fragments its error description must contain.
struct ShapeErrorCase: Sendable, CustomTestStringConvertible {
  var name: String
  var op: String
  var operands: [Operand]
  var attributes: Attributes = [:]
  var fragments: [String]
  var testDescription: String { name }

  init(
    _ name: String, _ op: String, _ operands: [Operand], _ attributes: Attributes = [:], mentions fragments: [String]
  ) {
    self.name = name
    self.op = op
    self.operands = operands
    self.attributes = attributes
    self.fragments = fragments
  }

  func build() throws(GraphFuseError) {
    let b = GraphBuilder()
    let ids = operands.enumerated().map { k, operand in
      switch operand {
      case .input(let shape): return b.input("x\(k)", shape: shape)
      case .constant(let tensor): return b.constant(tensor, name: "c\(k)")
      }
    }
    try b.apply(op, ids, attributes, name: "bad_node")
  }
}

private let x4: Operand = .input([1, 4, 2, 2])
private let c4: Operand = .input([4])
private func bn(_ mean: [Float], _ variance: [Float]) -> [Operand] {
  [x4, c4, c4, .constant(Tensor(mean)), .constant(Tensor(variance))]
}

@Suite struct ShapeInferenceTests {
  static let cases: [ShapeErrorCase] = [
    ShapeErrorCase(
      "conv channel mismatch", "conv2d", [.input([1, 3, 8, 8]), .input([4, 2, 3, 3])],
      mentions: ["conv2d", "[4, 2, 3, 3]", "[1, 3, 8, 8]", "group=1"]),
    ShapeErrorCase(
      "conv group does not divide", "conv2d", [.input([1, 3, 8, 8]), .input([4, 1, 3, 3])], ["group": .int(2)],
      mentions: ["group=2", "3"]),
    ShapeErrorCase(
      "conv bias length", "conv2d", [.input([1, 3, 8, 8]), .input([4, 3, 3, 3]), .input([3])],
      mentions: ["bias", "[3]", "4 output channels"]),
    ShapeErrorCase(
      "conv kernel larger than input", "conv2d", [.input([1, 1, 2, 2]), .input([1, 1, 3, 3])],
      mentions: ["[3, 3]", "[1, 1, 2, 2]"]),
    ShapeErrorCase(
      "conv 3-d input", "conv2d", [.input([1, 3, 8]), .input([4, 3, 3, 3])], mentions: ["[1, 3, 8]", "4-d"]),
    ShapeErrorCase(
      "conv bad strides", "conv2d", [.input([1, 1, 4, 4]), .input([1, 1, 1, 1])], ["strides": .ints([0, 1])],
      mentions: ["strides"]),
    ShapeErrorCase(
      "conv_transpose output_padding", "conv_transpose2d", [.input([1, 2, 4, 4]), .input([2, 1, 2, 2])],
      ["output_padding": .ints([1, 1])], mentions: ["conv_transpose2d", "output_padding [1, 1]"]),
    ShapeErrorCase("broadcast mismatch", "add", [.input([2, 3]), .input([4])], mentions: ["add", "[2, 3]", "[4]"]),
    ShapeErrorCase(
      "broadcast mismatch 4-d", "mul", [.input([1, 64, 8, 8]), .input([32, 1, 1])],
      mentions: ["[1, 64, 8, 8]", "[32, 1, 1]"]),
    ShapeErrorCase(
      "gemm inner dimension", "gemm", [.input([2, 3]), .input([4, 5])], mentions: ["gemm", "[2, 3]", "[4, 5]"]),
    ShapeErrorCase(
      "dense weight width", "gemm", [.input([1, 512]), .input([1000, 256])], ["transB": .int(1)],
      mentions: ["[1, 512]", "[1000, 256]", "transB=1"]),
    ShapeErrorCase(
      "gemm C does not broadcast", "gemm", [.input([2, 3]), .input([3, 4]), .input([3])], mentions: ["[3]", "[2, 4]"]),
    ShapeErrorCase(
      "matmul mismatch", "matmul", [.input([2, 3]), .input([2, 3])], mentions: ["matmul", "[2, 3] and [2, 3]"]),
    ShapeErrorCase(
      "reshape count", "reshape", [.input([2, 3])], ["shape": .ints([4, 2])],
      mentions: ["reshape", "[2, 3]", "[4, 2]"]),
    ShapeErrorCase("reshape two -1", "reshape", [.input([2, 3])], ["shape": .ints([-1, -1])], mentions: ["[-1, -1]"]),
    ShapeErrorCase(
      "bn scale length", "batch_norm", [x4, .input([3]), c4, c4, c4],
      mentions: ["batch_norm", "scale", "[3]", "[1, 4, 2, 2]", "4 channels"]),
    ShapeErrorCase(
      "bn variance length", "batch_norm", [x4, c4, c4, c4, .input([5])], mentions: ["variance", "[5]", "[1, 4, 2, 2]"]),
    ShapeErrorCase(
      "bn negative constant variance", "batch_norm", bn([0, 0, 0, 0], [1, -1, 1, 1]), mentions: ["variance", "-1.0"]),
    ShapeErrorCase(
      "bn NaN constant variance", "batch_norm", bn([0, 0, 0, 0], [1, .nan, 1, 1]), mentions: ["variance", "nan"]),
    ShapeErrorCase(
      "bn infinite constant mean", "batch_norm", bn([0, .infinity, 0, 0], [1, 1, 1, 1]), mentions: ["mean", "inf"]),
    ShapeErrorCase(
      "bn running stats in inference", "batch_norm", [x4, c4, c4, c4, c4], ["outputs": .int(3)],
      mentions: ["training", "outputs=3"]),
    ShapeErrorCase(
      "bn too few inputs", "batch_norm", [x4, c4, c4], mentions: ["batch_norm", "takes 5...5 inputs, got 3"]),
    ShapeErrorCase("relu with two inputs", "relu", [c4, c4], mentions: ["relu", "got 2"]),
    ShapeErrorCase("unknown op", "frobnicate", [c4], mentions: ["unknown op 'frobnicate'"]),
    ShapeErrorCase(
      "concat mismatch", "concat", [.input([2, 3]), .input([3, 3])], ["axis": .int(1)],
      mentions: ["concat", "[2, 3]", "[3, 3]"]),
    ShapeErrorCase(
      "transpose bad perm", "transpose", [.input([2, 3])], ["perm": .ints([0, 0])], mentions: ["perm [0, 0]"]),
    ShapeErrorCase(
      "pool kernel too large", "max_pool2d", [.input([1, 1, 2, 2])], ["kernel_shape": .ints([3, 3])],
      mentions: ["max_pool2d", "[3, 3]", "[1, 1, 2, 2]"]),
    ShapeErrorCase(
      "pool pad not below kernel", "avg_pool2d", [.input([1, 1, 4, 4])],
      ["kernel_shape": .ints([2, 2]), "pads": .ints([2, 2, 2, 2])],
      mentions: ["pads [2, 2, 2, 2]", "[2, 2]"]),
    ShapeErrorCase(
      "slice step 0", "slice", [.input([4])],
      ["starts": .ints([0]), "ends": .ints([4]), "axes": .ints([0]), "steps": .ints([0])],
      mentions: ["slice", "[4]"]),
    ShapeErrorCase(
      "slice axis out of range", "slice", [.input([4])],
      ["starts": .ints([0]), "ends": .ints([4]), "axes": .ints([3]), "steps": .ints([1])],
      mentions: ["[4]"]),
    ShapeErrorCase(
      "pad count", "pad", [.input([2, 2])], ["pads": .ints([1, 1])], mentions: ["pad", "4 pads", "[2, 2]"]),
    ShapeErrorCase(
      "squeeze non-unit axis", "squeeze", [.input([2, 1])], ["axes": .ints([0])], mentions: ["squeeze", "[2, 1]"]),
    ShapeErrorCase(
      "unsqueeze duplicate axes", "unsqueeze", [.input([2])], ["axes": .ints([0, 0])], mentions: ["[0, 0]", "[2]"]),
    ShapeErrorCase(
      "gather index out of range", "gather", [.input([3, 2])], ["indices": .ints([3]), "axis": .int(0)],
      mentions: ["gather", "extent 3"]),
    ShapeErrorCase("flatten axis", "flatten", [.input([2, 3])], ["axis": .int(5)], mentions: ["axis 5", "[2, 3]"]),
    ShapeErrorCase("reduce axis", "reduce_sum", [.input([2, 3])], ["axes": .ints([2])], mentions: ["[2]", "[2, 3]"]),
    ShapeErrorCase("softmax axis", "softmax", [.input([2, 3])], ["axis": .int(2)], mentions: ["axis 2", "[2, 3]"]),
  ]

  @Test(arguments: cases) func rejects(_ c: ShapeErrorCase) throws {
    let error = try #require(throws: GraphFuseError.self) { try c.build() }
    let text = error.description
    #expect(text.contains("node 'bad_node'"), "\(text)")
    #expect(error.op == c.op, "\(text)")
    for fragment in c.fragments {
      #expect(text.contains(fragment), "'\(fragment)' missing from: \(text)")
    }
  }

  @Test func shapesAreInferredThroughAChain() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 3, 32, 32])
    let w = b.constant(Tensor(zeros: [8, 3, 3, 3]))
    let y = try b.conv2d(x, weight: w, strides: [2, 1], pads: [1, 0, 0, 2], dilations: [1, 2])
    // height (32 + 1 − 3) / 2 + 1 = 16, width (32 + 2 − 5) / 1 + 1 = 30
    #expect(b.shape(of: y) == [2, 8, 16, 30])
    let p = try b.maxPool2d(y, kernel: 3, stride: 2, padding: 1, ceilMode: true)
    // ceil((16 + 2 − 3) / 2) + 1 = 9 and ceil((30 + 2 − 3) / 2) + 1 = 16; both last windows start inside.
    #expect(b.shape(of: p) == [2, 8, 9, 16])
    let f = try b.flatten(try b.globalAvgPool(p))
    #expect(b.shape(of: f) == [2, 8])
    let t = try b.convTranspose2d(
      x, weight: b.constant(Tensor(zeros: [3, 2, 4, 4])), stride: 2, padding: 1, outputPadding: 1)
    // (32 − 1)·2 − 2 + 3 + 1 + 1 = 65
    #expect(b.shape(of: t) == [2, 2, 65, 65])
  }

  static let runtimeCases: [(name: String, inputs: [Tensor], fragment: String)] = [
    ("wrong input count", [Tensor(zeros: [1, 4, 2, 2])], "takes 5 inputs, got 1"),
    (
      "wrong input shape", [Tensor(zeros: [1, 4, 2, 3])] + [Tensor](repeating: Tensor(zeros: [4]), count: 4),
      "[1, 4, 2, 2], got [1, 4, 2, 3]"
    ),
    (
      "negative variance fed at run time",
      [
        Tensor(zeros: [1, 4, 2, 2]), Tensor(zeros: [4]), Tensor(zeros: [4]), Tensor(zeros: [4]), Tensor([1, 1, -2, 1]),
      ],
      "variance holds -2.0"
    ),
  ]

  /// Bad data fed to a well-formed graph is an error too, never a trap.
  @Test(arguments: runtimeCases.indices) func rejectsAtRunTime(_ k: Int) throws {
    let c = Self.runtimeCases[k]
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 2, 2])
    let p = (0..<4).map { b.input("p\($0)", shape: [4]) }
    b.output(try b.batchNorm(x, scale: p[0], bias: p[1], mean: p[2], variance: p[3], name: "bn"))
    let graph = try b.finish()
    let error = try #require(throws: GraphFuseError.self) { try ReferenceExecutor.run(graph, inputs: c.inputs) }
    #expect(error.description.contains(c.fragment), "\(c.name): \(error)")
  }
}
