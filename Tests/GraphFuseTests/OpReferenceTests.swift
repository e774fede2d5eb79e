import Foundation
import Testing

@testable import GraphFuse

// MARK: Helpers shared by the test files

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
      #expect(
        comparison.isWithin(relative: tolerance, absolute: tolerance),
        "\(name): \(comparison)\n got \(actual.data)\n want \(wanted.data)")
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

// MARK: Cases

/// Hand-checked cases for every op's reference kernel; the arithmetic is in the comments.
@Suite struct OpReferenceTests {
  static let convolutionCases: [OpCase] = [
    // x = 4i+j on 4×4, w = [[1,2],[3,4]], stride 2: e.g. (0,0) = 0·1 + 1·2 + 4·3 + 5·4 = 34, + bias 10.
    OpCase(
      "conv2d stride 2 with bias", "conv2d", [iota([1, 1, 4, 4]), T([1, 1, 2, 2], [1, 2, 3, 4]), T([1], [10])],
      ["strides": .ints([2, 2])], expect: T([1, 1, 2, 2], [44, 64, 124, 144])),
    // pads [top 1, left 0, bottom 0, right 1] around [[1,2],[3,4]]: rows (0,0,0) (1,2,0) (3,4,0), 2×2 box sums.
    OpCase(
      "conv2d asymmetric pads", "conv2d", [T([1, 1, 2, 2], [1, 2, 3, 4]), T([1, 1, 2, 2], [1, 1, 1, 1])],
      ["pads": .ints([1, 0, 0, 1])], expect: T([1, 1, 2, 2], [3, 2, 10, 6])),
    // 1×1 weight 2 with pads [1, 0, 0, 2]: a zero row on top, two zero columns on the right.
    OpCase(
      "conv2d 1x1 four-sided pads", "conv2d", [T([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]), T([1, 1, 1, 1], [2])],
      ["pads": .ints([1, 0, 0, 2])], expect: T([1, 1, 3, 5], [0, 0, 0, 0, 0, 2, 4, 6, 0, 0, 8, 10, 12, 0, 0])),
    // dilation 2 on 1…9: taps at corners 1, 3, 7, 9 → 1·1 + 3·10 + 7·100 + 9·1000.
    OpCase(
      "conv2d dilation 2", "conv2d",
      [T([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), T([1, 1, 2, 2], [1, 10, 100, 1000])],
      ["dilations": .ints([2, 2])], expect: T([1, 1, 1, 1], [9731])),
    // group 2: out0 = 1·1 + 1·2, out1 = 1·3 − 1·4.
    OpCase(
      "conv2d groups 2", "conv2d", [T([1, 4, 1, 1], [1, 2, 3, 4]), T([2, 2, 1, 1], [1, 1, 1, -1])],
      ["group": .int(2)], expect: T([1, 2, 1, 1], [3, -1])),
    // depthwise: channel 0 box sum 1+2+3+4, channel 1 = 5 − 8; bias [0.5, −0.5].
    OpCase(
      "conv2d depthwise with bias", "conv2d",
      [
        T([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), T([2, 1, 2, 2], [1, 1, 1, 1, 1, 0, 0, -1]), T([2], [0.5, -0.5]),
      ],
      ["group": .int(2)], expect: T([1, 2, 1, 1], [10.5, -3.5])),
    // depthwise 3×3 with padding 1 on a 2×2 of ones: every output sees all four pixels.
    OpCase(
      "conv2d depthwise padded", "conv2d",
      [T([1, 2, 2, 2], [Float](repeating: 1, count: 8)), T([2, 1, 3, 3], (0..<18).map { $0 < 9 ? 1 : 2 })],
      ["group": .int(2), "pads": .ints([1, 1, 1, 1])], expect: T([1, 2, 2, 2], [4, 4, 4, 4, 8, 8, 8, 8])),
    // batch of 2: the second image is the first times −1.
    OpCase(
      "conv2d batch", "conv2d", [T([2, 1, 1, 2], [1, 2, -1, -2]), T([1, 1, 1, 2], [3, 4])],
      expect: T([2, 1, 1, 1], [11, -11])),
    // transposed, stride 1, 2×2 ones: overlapping windows add up ([[1,3,2],[4,10,6],[3,7,4]]).
    OpCase(
      "conv_transpose2d overlap", "conv_transpose2d",
      [T([1, 1, 2, 2], [1, 2, 3, 4]), T([1, 1, 2, 2], [1, 1, 1, 1])],
      expect: T([1, 1, 3, 3], [1, 3, 2, 4, 10, 6, 3, 7, 4])),
    // transposed, stride 2, group 2, output_padding 1, bias: out[2i+ky, 2j+kx] = x[i,j]·w[ky,kx] + b, row/col 4 = b.
    OpCase(
      "conv_transpose2d stride 2 groups 2 output_padding", "conv_transpose2d",
      [
        T([1, 2, 2, 2], [1, 2, 3, 4, 1, -1, 2, 0]), T([2, 1, 2, 2], [1, 2, 3, 4, 1, 1, 1, 1]), T([2], [0.5, -0.5]),
      ],
      ["strides": .ints([2, 2]), "output_padding": .ints([1, 1]), "group": .int(2)],
      expect: T(
        [1, 2, 5, 5],
        [
          1, 2, 2, 4, 0, 3, 4, 6, 8, 0, 3, 6, 4, 8, 0, 9, 12, 12, 16, 0, 0, 0, 0, 0, 0,
          1, 1, -1, -1, 0, 1, 1, -1, -1, 0, 2, 2, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0,
        ].enumerated().map { $0.offset < 25 ? $0.element + 0.5 : $0.element - 0.5 })),
    // transposed with pads 1 crops the 3×3 overlap result to its centre.
    OpCase(
      "conv_transpose2d pads", "conv_transpose2d", [T([1, 1, 2, 2], [1, 2, 3, 4]), T([1, 1, 2, 2], [1, 1, 1, 1])],
      ["pads": .ints([1, 1, 0, 0])], expect: T([1, 1, 2, 2], [10, 6, 7, 4])),
  ]

  @Test(arguments: convolutionCases) func convolution(_ c: OpCase) throws { try c.check() }

  static let matrixCases: [OpCase] = [
    // A·B = [[4,5],[10,11]]; 2·AB + 0.5·[10,20] (C broadcast along rows).
    OpCase(
      "gemm alpha beta row C", "gemm",
      [T([2, 3], [1, 2, 3, 4, 5, 6]), T([3, 2], [1, 0, 0, 1, 1, 1]), T([2], [10, 20])],
      ["alpha": .float(2), "beta": .float(0.5)], expect: T([2, 2], [13, 20, 25, 32])),
    // the same product from Aᵀ and Bᵀ, C [[1],[2]] broadcast along columns.
    OpCase(
      "gemm transA transB column C", "gemm",
      [T([3, 2], [1, 4, 2, 5, 3, 6]), T([2, 3], [1, 0, 1, 0, 1, 1]), T([2, 1], [1, 2])],
      ["transA": .int(1), "transB": .int(1)], expect: T([2, 2], [5, 6, 12, 13])),
    // dense: x·Wᵀ + b with W [out 3, in 2].
    OpCase(
      "gemm as dense", "gemm", [T([1, 2], [1, 2]), T([3, 2], [1, 0, 0, 1, 1, 1]), T([3], [0, 10, 100])],
      ["transB": .int(1)], expect: T([1, 3], [1, 12, 103])),
    // [2,2,2] · [2,2] broadcast over the batch.
    OpCase(
      "matmul batched", "matmul", [T([2, 2, 2], [1, 2, 3, 4, 0, 1, 1, 0]), T([2, 2], [1, 1, 0, 1])],
      expect: T([2, 2, 2], [1, 3, 3, 7, 0, 1, 1, 1])),
    // [2,1,1,2] · [3,2,1]: both batch axes broadcast; out[i][j] = (i+1)·j + 1.
    OpCase(
      "matmul broadcast both", "matmul", [T([2, 1, 1, 2], [1, 1, 2, 1]), T([3, 2, 1], [0, 1, 1, 1, 2, 1])],
      expect: T([2, 3, 1, 1], [1, 2, 3, 1, 3, 5])),
    OpCase("matmul vectors", "matmul", [T([3], [1, 2, 3]), T([3], [4, 5, 6])], expect: T([], [32])),
    OpCase(
      "matmul matrix vector", "matmul", [T([2, 3], [1, 2, 3, 4, 5, 6]), T([3], [1, 0, -1])], expect: T([2], [-2, -2])),
  ]

  @Test(arguments: matrixCases) func matrix(_ c: OpCase) throws { try c.check() }

  /// Unary ops against an independent Double formula.
  static let unaryCases: [(op: String, attributes: Attributes, formula: @Sendable (Double) -> Double)] = [
    ("relu", [:], { max($0, 0) }),
    ("leaky_relu", ["alpha": .float(0.1)], { $0 < 0 ? 0.1 * $0 : $0 }),
    ("clip", ["min": .float(-1), "max": .float(1)], { min(max($0, -1), 1) }),
    ("sigmoid", [:], { 1 / (1 + Foundation.exp(-$0)) }),
    ("tanh", [:], { Foundation.tanh($0) }),
    ("exp", [:], { Foundation.exp($0) }),
    ("neg", [:], { -$0 }),
    ("silu", [:], { $0 / (1 + Foundation.exp(-$0)) }),
    ("hard_sigmoid", ["alpha": .float(0.2), "beta": .float(0.5)], { min(1, max(0, 0.2 * $0 + 0.5)) }),
    ("hard_swish", [:], { $0 * min(max($0 + 3, 0), 6) / 6 }),
    ("identity", [:], { $0 }),
    ("cast", [:], { $0 }),
  ]

  @Test(arguments: unaryCases.indices) func unary(_ k: Int) throws {
    let (op, attributes, formula) = Self.unaryCases[k]
    let x: [Float] = [-4, -2, -0.5, 0, 0.5, 2, 4]
    try OpCase(op, op, [T([7], x)], attributes, expect: T([7], x.map { Float(formula(Double($0))) })).check()
  }

  static let spotValues: [OpCase] = [
    // Written out: relu6 via clip, hard_swish at −3/0/3, sigmoid(0), log and sqrt of exact values.
    OpCase(
      "clip to [0,6]", "clip", [T([4], [-1, 3, 6, 7])], ["min": .float(0), "max": .float(6)],
      expect: T([4], [0, 3, 6, 6])),
    OpCase("hard_swish", "hard_swish", [T([3], [-3, 0, 3])], expect: T([3], [0, 0, 3])),
    OpCase("sigmoid 0", "sigmoid", [T([1], [0])], expect: T([1], [0.5])),
    OpCase("log", "log", [T([3], [1, Float(M_E), 0.5])], expect: T([3], [0, 1, -0.6931472])),
    OpCase("sqrt", "sqrt", [T([3], [0, 4, 2.25])], expect: T([3], [0, 2, 1.5])),
    OpCase("leaky_relu default alpha", "leaky_relu", [T([2], [-10, 10])], expect: T([2], [-0.1, 10])),
  ]

  @Test(arguments: spotValues) func spot(_ c: OpCase) throws { try c.check() }

  static let a = T([2, 2], [1, -2, 3, 4]), b = T([2], [2, 0.5])
  static let binaryCases: [OpCase] = [
    OpCase("add", "add", [a, b], expect: T([2, 2], [3, -1.5, 5, 4.5])),
    OpCase("sub", "sub", [a, b], expect: T([2, 2], [-1, -2.5, 1, 3.5])),
    OpCase("mul", "mul", [a, b], expect: T([2, 2], [2, -1, 6, 2])),
    OpCase("div", "div", [a, b], expect: T([2, 2], [0.5, -4, 1.5, 8])),
    OpCase("max", "max", [a, b], expect: T([2, 2], [2, 0.5, 3, 4])),
    OpCase("min", "min", [a, b], expect: T([2, 2], [1, -2, 2, 0.5])),
    OpCase("pow", "pow", [T([2, 2], [1, 2, 3, 4]), b], expect: T([2, 2], [1, 1.4142135, 9, 2])),
    // [C,1,1] onto [N,C,H,W] = [2,2,1,2]: channel 0 gets +10, channel 1 gets +20.
    OpCase(
      "add [C,1,1] to [N,C,H,W]", "add", [iota([2, 2, 1, 2]), T([2, 1, 1], [10, 20])],
      expect: T([2, 2, 1, 2], [10, 11, 22, 23, 14, 15, 26, 27])),
    // both operands broadcast: [2,1] + [3] → [2,3].
    OpCase(
      "add outer broadcast", "add", [T([2, 1], [0, 10]), T([3], [1, 2, 3])], expect: T([2, 3], [1, 2, 3, 11, 12, 13])),
    OpCase(
      "scale_shift", "scale_shift", [iota([1, 2, 1, 2]), T([2, 1, 1], [2, 3]), T([2, 1, 1], [1, -1])],
      expect: T([1, 2, 1, 2], [1, 3, 5, 8])),
  ]

  @Test(arguments: binaryCases) func binary(_ c: OpCase) throws { try c.check() }

  static let pool = ["kernel_shape": Attribute.ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]
  static let ceilPool: Attributes = [
    "kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]), "ceil_mode": .int(1),
  ]
  static let poolingCases: [OpCase] = [
    // 1…9 in 3×3, 2×2 windows at stride 2 starting at −1: {1}, {2,3}, {4,7}, {5,6,8,9}.
    OpCase(
      "max_pool2d pads", "max_pool2d", [T([1, 1, 3, 3], (1...9).map(Float.init))], Attributes(pool),
      expect: T([1, 1, 2, 2], [1, 3, 7, 9])),
    OpCase(
      "avg_pool2d pads exclude", "avg_pool2d", [T([1, 1, 3, 3], (1...9).map(Float.init))], Attributes(pool),
      expect: T([1, 1, 2, 2], [1, 2.5, 5.5, 7])),
    OpCase(
      "avg_pool2d pads include", "avg_pool2d", [T([1, 1, 3, 3], (1...9).map(Float.init))],
      Attributes(pool).setting("count_include_pad", .int(1)),
      expect: T([1, 1, 2, 2], [0.25, 1.25, 2.75, 7])),
    // x = 4i+j on 4×4, 3×3/2 pad 1 ceil_mode → 3×3; window rows {0,1}, {1,2,3}, {3} (and likewise columns).
    OpCase(
      "max_pool2d ceil_mode", "max_pool2d", [iota([1, 1, 4, 4])], ceilPool,
      expect: T([1, 1, 3, 3], [5, 7, 7, 13, 15, 15, 13, 15, 15])),
    OpCase(
      "avg_pool2d ceil_mode exclude pad", "avg_pool2d", [iota([1, 1, 4, 4])], ceilPool,
      expect: T([1, 1, 3, 3], [2.5, 4, 5, 8.5, 10, 11, 12.5, 14, 15])),
    // include pad: divisors 9 9 6 / 9 9 6 / 6 6 4 (the ceil-mode overhang beyond the pad is not counted).
    OpCase(
      "avg_pool2d ceil_mode include pad", "avg_pool2d", [iota([1, 1, 4, 4])],
      ceilPool.setting("count_include_pad", .int(1)),
      expect: T([1, 1, 3, 3], [10.0 / 9, 24.0 / 9, 10.0 / 6, 51.0 / 9, 10, 5.5, 25.0 / 6, 7, 3.75])),
    // floor mode on the same input: only the first two windows per axis.
    OpCase(
      "max_pool2d floor mode", "max_pool2d", [iota([1, 1, 4, 4])], ceilPool.setting("ceil_mode", .int(0)),
      expect: T([1, 1, 2, 2], [5, 7, 13, 15])),
    OpCase(
      "global_avg_pool", "global_avg_pool", [T([1, 2, 2, 2], [1, 2, 3, 4, -1, -1, -1, 7])],
      expect: T([1, 2, 1, 1], [2.5, 1])),
  ]

  @Test(arguments: poolingCases) func pooling(_ c: OpCase) throws { try c.check() }

  static let layoutCases: [OpCase] = [
    OpCase("flatten axis 2", "flatten", [iota([2, 3, 4])], ["axis": .int(2)], expect: iota([6, 4])),
    OpCase("flatten axis 0", "flatten", [iota([2, 3])], ["axis": .int(0)], expect: iota([1, 6])),
    OpCase("reshape 0 and -1", "reshape", [iota([2, 3, 4])], ["shape": .ints([0, -1])], expect: iota([2, 12])),
    OpCase("reshape -1 first", "reshape", [iota([2, 3, 4])], ["shape": .ints([-1, 4, 1])], expect: iota([6, 4, 1])),
    OpCase(
      "transpose 2-d", "transpose", [T([2, 3], [1, 2, 3, 4, 5, 6])], ["perm": .ints([1, 0])],
      expect: T([3, 2], [1, 4, 2, 5, 3, 6])),
    // [2,1,3] with perm [2,0,1]: out[k][i][0] = x[i][0][k].
    OpCase(
      "transpose 3-d", "transpose", [iota([2, 1, 3])], ["perm": .ints([2, 0, 1])],
      expect: T([3, 2, 1], [0, 3, 1, 4, 2, 5])),
    OpCase(
      "concat axis 1", "concat", [T([2, 1], [1, 2]), T([2, 2], [3, 4, 5, 6])], ["axis": .int(1)],
      expect: T([2, 3], [1, 3, 4, 2, 5, 6])),
    OpCase(
      "concat axis 0 three inputs", "concat", [T([1, 2], [1, 2]), T([1, 2], [3, 4]), T([2, 2], [5, 6, 7, 8])],
      ["axis": .int(0)],
      expect: T([4, 2], [1, 2, 3, 4, 5, 6, 7, 8])),
    OpCase(
      "slice columns", "slice", [iota([3, 4])],
      ["starts": .ints([1]), "ends": .ints([3]), "axes": .ints([1]), "steps": .ints([1])],
      expect: T([3, 2], [1, 2, 5, 6, 9, 10])),
    OpCase(
      "slice reverse", "slice", [iota([10])],
      ["starts": .ints([-1]), "ends": .ints([-100]), "axes": .ints([0]), "steps": .ints([-1])],
      expect: T([10], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])),
    OpCase(
      "slice step -3", "slice", [iota([10])],
      ["starts": .ints([8]), "ends": .ints([1]), "axes": .ints([0]), "steps": .ints([-3])],
      expect: T([3], [8, 5, 2])),
    // rows 2, 1, 0 and columns 3, 1 of 0…11 in 3×4.
    OpCase(
      "slice two axes negative steps", "slice", [iota([3, 4])],
      ["starts": .ints([-1, 3]), "ends": .ints([-4, 0]), "axes": .ints([0, 1]), "steps": .ints([-1, -2])],
      expect: T([3, 2], [11, 9, 7, 5, 3, 1])),
    OpCase(
      "slice clamps ends", "slice", [iota([4])],
      ["starts": .ints([2]), "ends": .ints([1000]), "axes": .ints([0]), "steps": .ints([1])],
      expect: T([2], [2, 3])),
    // pads [begin0 1, begin1 0, end0 0, end1 2] with value 9.
    OpCase(
      "pad", "pad", [T([2, 2], [1, 2, 3, 4])], ["pads": .ints([1, 0, 0, 2]), "value": .float(9)],
      expect: T([3, 4], [9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9])),
    OpCase("squeeze axis", "squeeze", [iota([1, 3, 1])], ["axes": .ints([0])], expect: iota([3, 1])),
    OpCase("squeeze all", "squeeze", [iota([1, 3, 1])], expect: iota([3])),
    OpCase("unsqueeze", "unsqueeze", [iota([3])], ["axes": .ints([0, 2])], expect: iota([1, 3, 1])),
    OpCase("unsqueeze negative", "unsqueeze", [iota([2, 3])], ["axes": .ints([-1])], expect: iota([2, 3, 1])),
    OpCase(
      "gather rows", "gather", [T([3, 2], [1, 2, 3, 4, 5, 6])], ["indices": .ints([2, 0, -1]), "axis": .int(0)],
      expect: T([3, 2], [5, 6, 1, 2, 5, 6])),
    OpCase(
      "gather 2-d indices axis 1", "gather", [T([2, 3], [1, 2, 3, 4, 5, 6])],
      ["indices": .ints([1, 1, 0, 2]), "indices_shape": .ints([2, 2]), "axis": .int(1)],
      expect: T([2, 2, 2], [2, 2, 1, 3, 5, 5, 4, 6])),
  ]

  @Test(arguments: layoutCases) func layout(_ c: OpCase) throws { try c.check() }

  static let m = T([2, 3], [1, 2, 3, 4, 5, 6])
  static let reductionCases: [OpCase] = [
    OpCase(
      "reduce_sum keepdims", "reduce_sum", [m], ["axes": .ints([1]), "keepdims": .int(1)], expect: T([2, 1], [6, 15])),
    OpCase("reduce_sum drop", "reduce_sum", [m], ["axes": .ints([1]), "keepdims": .int(0)], expect: T([2], [6, 15])),
    OpCase("reduce_sum all", "reduce_sum", [m], expect: T([1, 1], [21])),
    OpCase(
      "reduce_mean keepdims", "reduce_mean", [m], ["axes": .ints([0]), "keepdims": .int(1)],
      expect: T([1, 3], [2.5, 3.5, 4.5])),
    OpCase(
      "reduce_mean drop", "reduce_mean", [m], ["axes": .ints([0]), "keepdims": .int(0)],
      expect: T([3], [2.5, 3.5, 4.5])),
    // axes 0 and 2 of 0…7 in [2,2,2]: {0,1,4,5} and {2,3,6,7}.
    OpCase(
      "reduce_mean two axes", "reduce_mean", [iota([2, 2, 2])], ["axes": .ints([0, 2]), "keepdims": .int(0)],
      expect: T([2], [2.5, 4.5])),
    OpCase(
      "reduce_max keepdims", "reduce_max", [T([2, 3], [1, 9, 3, -4, -5, -6])],
      ["axes": .ints([-1]), "keepdims": .int(1)], expect: T([2, 1], [9, -4])),
    OpCase(
      "reduce_max drop", "reduce_max", [T([2, 3], [1, 9, 3, -4, -5, -6])], ["axes": .ints([0]), "keepdims": .int(0)],
      expect: T([3], [1, 9, 3])),
  ]

  @Test(arguments: reductionCases) func reduction(_ c: OpCase) throws { try c.check() }

  @Test func softmaxLastAxis() throws {
    let e = [1.0, 2, 3].map { Foundation.exp($0) }
    let s = e.reduce(0, +)
    try OpCase(
      "softmax -1", "softmax", [T([2, 3], [1, 2, 3, 0, 0, 0])], ["axis": .int(-1)],
      expect: T([2, 3], e.map { Float($0 / s) } + [1.0 / 3, 1.0 / 3, 1.0 / 3])
    ).check()
  }

  @Test func softmaxFirstAxis() throws {
    // column 1 holds 2 and 0: e²/(e²+1) and 1/(e²+1); equal entries give 1/2.
    let e2 = Foundation.exp(2.0)
    try OpCase(
      "softmax 0", "softmax", [T([2, 3], [1, 2, 3, 1, 0, 3])], ["axis": .int(0)],
      expect: T([2, 3], [0.5, Float(e2 / (e2 + 1)), 0.5, 0.5, Float(1 / (e2 + 1)), 0.5])
    ).check()
  }

  @Test func softmaxIsStableForLargeInputs() throws {
    let y = try runOp("softmax", [T([2], [1000, 1000])], ["axis": .int(0)])[0]
    #expect(y.data == [0.5, 0.5])
  }

  /// conv2d against a direct transcription of its definition, over stride, 4-sided pads,
  /// dilation and groups, on random data (the hand-checked cases above pin single features).
  @Test(arguments: [
    (strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1),
    (strides: [2, 3], pads: [1, 0, 2, 3], dilations: [1, 1], groups: 1),
    (strides: [1, 2], pads: [2, 1, 0, 1], dilations: [2, 3], groups: 2),
    (strides: [3, 1], pads: [0, 2, 1, 0], dilations: [1, 2], groups: 4),
  ])
  func convolutionMatchesDefinition(strides: [Int], pads: [Int], dilations: [Int], groups: Int) throws {
    let (n, c, h, w, o, k) = (2, 4, 7, 9, 8, 3)
    let x = Tensor.random(shape: [n, c, h, w], seed: 1)
    let weight = Tensor.random(shape: [o, c / groups, k, k], seed: 2)
    let bias = Tensor.random(shape: [o], seed: 3)
    let y = try runOp(
      "conv2d", [x, weight, bias],
      ["strides": .ints(strides), "pads": .ints(pads), "dilations": .ints(dilations), "group": .int(groups)])[0]
    let oh = (h + pads[0] + pads[2] - dilations[0] * (k - 1) - 1) / strides[0] + 1
    let ow = (w + pads[1] + pads[3] - dilations[1] * (k - 1) - 1) / strides[1] + 1
    var expected = Tensor(zeros: [n, o, oh, ow])
    for b in 0..<n {
      for oc in 0..<o {
        for i in 0..<oh {
          for j in 0..<ow {
            var sum = Double(bias[oc])
            for ic in 0..<(c / groups) {
              for ky in 0..<k {
                for kx in 0..<k {
                  let iy = i * strides[0] - pads[0] + ky * dilations[0],
                    ix = j * strides[1] - pads[1] + kx * dilations[1]
                  if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    sum += Double(x[b, oc / (o / groups) * (c / groups) + ic, iy, ix]) * Double(weight[oc, ic, ky, kx])
                  }
                }
              }
            }
            expected[b, oc, i, j] = Float(sum)
          }
        }
      }
    }
    #expect(y.isApproximatelyEqual(to: expected, relative: 1e-6), "\(y.compared(to: expected))")
  }
}
