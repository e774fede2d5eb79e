import Testing

@testable import GraphFuse

/// Every op kind compiled on its own (one group per node) against the reference executor.
@Suite struct CompiledOpTests {
  typealias T = CompiledTesting

  static let convCases: [CompiledCase] = [
    CompiledCase("conv 3x3 pad1") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 5, 9, 9])
      b.output(
        try b.conv2d(x, weight: T.weight(b, [7, 5, 3, 3], seed: 1), bias: T.weight(b, [7], seed: 2), padding: 1))
    },
    CompiledCase("conv stride2 4-sided pads dilation") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 3, 11, 10])
      b.output(
        try b.conv2d(
          x, weight: T.weight(b, [4, 3, 3, 2], seed: 3), strides: [2, 1], pads: [1, 0, 2, 1], dilations: [2, 1]))
    },
    CompiledCase("conv groups 2") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 6, 8, 8])
      b.output(
        try b.conv2d(
          x, weight: T.weight(b, [4, 3, 3, 3], seed: 4), bias: T.weight(b, [4], seed: 5), padding: 1, groups: 2))
    },
    CompiledCase("depthwise conv") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 19, 10, 10])
      b.output(
        try b.conv2d(
          x, weight: T.weight(b, [19, 1, 3, 3], seed: 6), bias: T.weight(b, [19], seed: 7), stride: 2, padding: 1,
          groups: 19))
    },
    CompiledCase("conv 1x1 odd channels") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 17, 7, 7])
      b.output(try b.conv2d(x, weight: T.weight(b, [33, 17, 1, 1], seed: 8), bias: T.weight(b, [33], seed: 9)))
    },
    CompiledCase("conv 7x7 stride 2") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 32, 32])
      b.output(try b.conv2d(x, weight: T.weight(b, [16, 3, 7, 7], seed: 10), stride: 2, padding: 3))
    },
    CompiledCase("conv_transpose groups output_padding") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(
        try b.convTranspose2d(
          x, weight: T.weight(b, [4, 3, 3, 3], seed: 11), bias: T.weight(b, [6], seed: 12),
          stride: 2, padding: 1, outputPadding: 1, groups: 2))
    },
    CompiledCase("conv_transpose dilation") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 4, 4])
      b.output(
        try b.convTranspose2d(x, weight: T.weight(b, [3, 5, 2, 3], seed: 13), stride: 1, padding: 0, dilation: 2))
    },
  ]

  static let otherCases: [CompiledCase] = [
    CompiledCase("max pool ceil") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 5, 10, 10])
      b.output(try b.maxPool2d(x, kernel: 3, stride: 2, padding: 1, ceilMode: true))
    },
    CompiledCase("avg pool ceil exclude pad") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 9, 9])
      b.output(try b.avgPool2d(x, kernel: 3, stride: 2, padding: 1, ceilMode: true))
    },
    CompiledCase("avg pool include pad") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 8, 8])
      b.output(try b.avgPool2d(x, kernel: 2, stride: 2, padding: 1, countIncludePad: true))
    },
    CompiledCase("global avg pool, flatten, dense, softmax") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 20, 5, 5])
      let g = try b.flatten(try b.globalAvgPool(x))
      let d = try b.dense(g, weight: T.weight(b, [10, 20], seed: 14), bias: T.weight(b, [10], seed: 15))
      b.output(try b.softmax(d, axis: 1))
    },
    CompiledCase("gemm transA alpha beta") { b throws(GraphFuseError) in
      let a = b.input("a", shape: [6, 4])
      b.output(
        try b.gemm(a, T.weight(b, [6, 5], seed: 16), T.weight(b, [5], seed: 17), alpha: 0.5, beta: 2, transA: true))
    },
    CompiledCase("matmul batch broadcast and 1-d") { b throws(GraphFuseError) in
      let a = b.input("a", shape: [2, 3, 4, 5])
      let m = try b.matmul(a, T.weight(b, [3, 5, 6], seed: 18))
      b.output(try b.matmul(m, T.weight(b, [6], seed: 19)))
    },
    CompiledCase("reductions") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 3, 4, 5])
      b.output(try b.reduceMean(x, axes: [2, 3]))
      b.output(try b.reduceSum(x, axes: [1], keepDims: false))
      b.output(try b.reduceMax(x, axes: [0, 3]))
      b.output(try b.softmax(x, axis: 1))
    },
    CompiledCase("elementwise and broadcast") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 3, 4, 5])
      let y = b.input("y", shape: [3, 1, 5])
      let s = try b.add(try b.mul(x, y), try b.sigmoid(x))
      let t = try b.hardSwish(try b.leakyRelu(try b.sub(s, try b.tanh(y)), alpha: 0.1))
      b.output(
        try b.div(
          try b.exp(try b.neg(t)),
          try b.add(try b.sqrt(try b.relu6(try b.relu(x))), T.weight(b, [1], seed: 20, range: 1...2))))
      b.output(try b.pow(try b.maximum(x, y), T.weight(b, [5], seed: 21, range: 1...2)))
    },
    CompiledCase("injective ops") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 3, 4, 5])
      let t = try b.transpose(x, perm: [0, 2, 3, 1])
      let s = try b.slice(t, starts: [1, -1], ends: [4, 0], axes: [1, 2], steps: [2, -2])
      let p = try b.pad(s, pads: [0, 1, 0, 2, 0, 0, 1, 1], value: 0.5)
      let c = try b.concat([p, p], axis: 3)
      let r = try b.reshape(try b.unsqueeze(c, axes: [0]), to: [2, -1])
      b.output(try b.squeeze(try b.unsqueeze(r, axes: [1]), axes: [1]))
      b.output(try b.apply("gather", [x], ["indices": .ints([2, 0, -1]), "axis": .int(2)])[0])
    },
    CompiledCase("batch norm inference and training") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 4, 3, 3])
      let p = (0..<4).map { T.weight(b, [4], seed: 30 + UInt64($0), range: 0.5...1.5) }
      b.output(try b.batchNorm(x, scale: p[0], bias: p[1], mean: p[2], variance: p[3]))
      let outs = try b.apply("batch_norm", [x, p[0], p[1], p[2], p[3]], ["training": .int(1), "outputs": .int(3)])
      for o in outs { b.output(o) }
    },
  ]

  /// Long sums accumulate in double: over 8,192 channels, one of 10,000 and the rest near 1e-4,
  /// the small terms survive (a float accumulator at 10,000 has a half-ulp of 4.9e-4 and drops
  /// each of them: 2.9e-7 relative here), within 1e-7 of the reference (its output rounding).
  @Test func longSumsKeepTheirPrecision() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8192, 2, 3])
    b.output(try b.reduceMean(x, axes: [1]))
    b.output(try b.reduceSum(x, axes: [1]))
    let graph = try b.finish()
    let input = Tensor(
      shape: [1, 8192, 2, 3], data: (0..<8192 * 6).map { i in i < 6 ? 10_000 : 1e-4 * Float(1 + i % 7) })
    let expected = try ReferenceExecutor.run(graph, inputs: [input])
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    for (a, e) in zip(try model.run([input]), expected) {
      let comparison = a.compared(to: e)
      #expect(comparison.isWithin(relative: 1e-7), "\(comparison)")
    }
  }

  @Test(arguments: convCases) func convolution(_ c: CompiledCase) throws { try T.check(c) }
  @Test(arguments: otherCases) func otherOps(_ c: CompiledCase) throws { try T.check(c) }
}

/// Every elementwise and broadcast op of the registry, on plain tensors (generic loops) and fused
/// into a convolution's epilogue (blocked vector code).
@Suite struct CompiledElementwiseTests {
  typealias T = CompiledTesting

  static let unaryOps: [String] = OpRegistry.definitions.values
    .filter { $0.scalar != nil && $0.arity == 1...1 && $0.pattern([:]) <= .broadcast }.map(\.name).sorted()
  static let binaryOps: [String] = OpRegistry.definitions.values
    .filter { $0.scalar != nil && $0.arity == 2...2 }.map(\.name).sorted()

  @Test func registryHasTheExpectedOps() {
    #expect(Self.unaryOps.count >= 14, "\(Self.unaryOps)")
    #expect(
      Set(Self.binaryOps) == [
        "add", "sub", "mul", "div", "max", "min", "pow", "equal", "mod", "less", "less_equal", "greater",
        "greater_equal", "and", "or", "xor",
      ])
  }

  @Test(arguments: unaryOps) func unaryPlainAndInEpilogue(_ op: String) throws {
    let positive = ["log", "sqrt", "pow"].contains(op)
    try T.check(
      CompiledCase("\(op) plain") { b throws(GraphFuseError) in
        b.output(try b.apply(op, [b.input("x", shape: [3, 7])])[0])
      }, inputRange: positive ? 0.1...2 : -2...2)
    try T.check(
      CompiledCase("\(op) after conv", partition: { _ in [[0, 1]] }) { b throws(GraphFuseError) in
        let x = b.input("x", shape: [1, 16, 5, 5])
        let w = T.weight(b, [24, 16, 1, 1], seed: 3, range: positive ? 0.01...0.2 : -0.3...0.3)
        b.output(try b.apply(op, [try b.conv2d(x, weight: w)])[0])
      }, inputRange: positive ? 0.1...2 : -2...2)
  }

  @Test(arguments: binaryOps) func binaryWithChannelConstantInEpilogue(_ op: String) throws {
    try T.check(
      CompiledCase("\(op) after conv", partition: { _ in [[0, 1]] }) { b throws(GraphFuseError) in
        let x = b.input("x", shape: [1, 16, 5, 5])
        let c = try b.conv2d(x, weight: T.weight(b, [20, 16, 1, 1], seed: 4, range: 0.01...0.2))
        b.output(try b.apply(op, [c, T.weight(b, [20, 1, 1], seed: 5, range: 0.5...1.5)])[0])
      }, inputRange: 0.1...2)
  }
}
