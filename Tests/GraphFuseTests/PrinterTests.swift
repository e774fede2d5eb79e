import Testing

@testable import GraphFuse

/// The SSA printer, pinned as whole texts.
@Suite struct PrinterTests {
  /// conv 7×7/2 → batch_norm → relu → max_pool, ResNet's stem.
  static func stem() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 3, 224, 224])
    let w = b.constant(Tensor(zeros: [64, 3, 7, 7]), name: "w")
    let p = (0..<4).map { b.constant(Tensor(shape: [64], repeating: 1), name: "bn\($0)") }
    var y = try b.conv2d(x, weight: w, stride: 2, padding: 3)
    y = try b.batchNorm(y, scale: p[0], bias: p[1], mean: p[2], variance: p[3])
    y = try b.relu(y)
    y = try b.maxPool2d(y, kernel: 3, stride: 2, padding: 1)
    b.output(y)
    return try b.finish()
  }

  @Test func printsResNetStem() throws {
    #expect(
      try Self.stem().description == """
        graph(%0: [1, 3, 224, 224]) {
          %6 = conv2d(%0, %w1) {dilations=[1,1], group=1, pads=[3,3,3,3], strides=[2,2]} : [1, 64, 112, 112]
          %7 = batch_norm(%6, %w2, %w3, %w4, %w5) {axis=1, epsilon=1e-05, momentum=0.9, training=0} : [1, 64, 112, 112]
          %8 = relu(%7) : [1, 64, 112, 112]
          %9 = max_pool2d(%8) {ceil_mode=0, dilations=[1,1], kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]} : [1, 64, 56, 56]
          return %9
        }
        """)
  }

  @Test func printsMultipleOutputsAndInputs() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 2])
    let p = (0..<4).map { b.input("p\($0)", shape: [2]) }
    let attributes: Attributes = [
      "training": .int(1), "outputs": .int(3), "momentum": .float(0.9), "epsilon": .float(1e-3),
    ]
    for y in try b.apply("batch_norm", [x] + p, attributes) { b.output(y) }
    #expect(
      try b.finish().description == """
        graph(%0: [2, 2], %1: [2], %2: [2], %3: [2], %4: [2]) {
          %5, %6, %7 = batch_norm(%0, %1, %2, %3, %4) {epsilon=0.001, momentum=0.9, outputs=3, training=1} : [2, 2], [2], [2]
          return %5, %6, %7
        }
        """)
  }

  @Test func printsAttributesOfEveryKind() throws {
    let attributes: Attributes = [
      "b": .ints([1, -2]), "a": .float(2.5), "c": .floats([1, 0.25]), "d": .string("x"), "e": .int(3),
    ]
    #expect(attributes.description == #"{a=2.5, b=[1,-2], c=[1,0.25], d="x", e=3}"#)
    #expect(Attributes().description == "")
  }

  @Test func printsAnAddWithTwoGraphInputs() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4])
    let bias = b.constant(Tensor([1, 2, 3, 4]))
    b.output(try b.relu(try b.add(x, bias)))
    #expect(
      try b.finish().description == """
        graph(%0: [1, 4]) {
          %2 = add(%0, %w1) : [1, 4]
          %3 = relu(%2) : [1, 4]
          return %3
        }
        """)
  }
}
