import Foundation
import Testing

@testable import GraphFuse

/// Squeeze-excitation blocks (conv + SiLU → global average pool → 1×1 conv → activation → 1×1 conv
/// → sigmoid or hard-sigmoid → channel multiply → conv): compiled against the reference, with the
/// multiply folded into the reading conv's weights where that is cheaper, else into a 1×1 reader's
/// input prologue, else as one blocked pass.
@Suite struct SqueezeExcitationTests {
  struct Block: Sendable, CustomStringConvertible {
    var channels: Int, squeezed: Int, outputs: Int, size: Int, kernel: Int, pad: Int
    var stride = 1
    var hardSigmoid = false
    /// Two convs read the scaled activation.
    var twoReaders = false
    /// Σ Cout·k² ≤ H·W: the multiply folds into the weights.
    var folds: Bool { outputs * kernel * kernel * (twoReaders ? 2 : 1) <= size * size }
    var description: String {
      "C\(channels)→\(squeezed)→\(channels), conv \(kernel)x\(kernel) pad \(pad) stride \(stride) → \(outputs)"
        + " at \(size)x\(size)\(hardSigmoid ? ", hard-sigmoid" : "")\(twoReaders ? ", two readers" : "")"
    }
  }

  static let blocks: [Block] = [
    Block(channels: 24, squeezed: 6, outputs: 20, size: 12, kernel: 1, pad: 0),
    Block(channels: 19, squeezed: 5, outputs: 13, size: 16, kernel: 3, pad: 1),
    Block(channels: 40, squeezed: 10, outputs: 33, size: 14, kernel: 3, pad: 0, hardSigmoid: true),
    Block(channels: 32, squeezed: 8, outputs: 16, size: 11, kernel: 3, pad: 1, stride: 2),
    Block(channels: 17, squeezed: 4, outputs: 24, size: 9, kernel: 1, pad: 0, twoReaders: true),
    // Cout·k² > H·W: the multiply runs as one blocked pass (a run-time per-channel operand).
    Block(channels: 48, squeezed: 12, outputs: 64, size: 5, kernel: 3, pad: 1, hardSigmoid: true),
    Block(channels: 20, squeezed: 5, outputs: 40, size: 4, kernel: 1, pad: 0),
  ]

  static func graph(_ k: Block, seed: UInt64) throws -> Graph {
    typealias T = CompiledTesting
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, k.channels, k.size, k.size])
    let c = try b.conv2d(
      x, weight: T.weight(b, [k.channels, k.channels, 3, 3], seed: seed, range: -0.3...0.3),
      bias: T.weight(b, [k.channels], seed: seed + 1), padding: 1)
    let a = try b.mul(c, try b.sigmoid(c))
    let p = try b.globalAvgPool(a)
    let f1 = try b.relu(
      try b.conv2d(
        p, weight: T.weight(b, [k.squeezed, k.channels, 1, 1], seed: seed + 2),
        bias: T.weight(b, [k.squeezed], seed: seed + 3)))
    let f2 = try b.conv2d(
      f1, weight: T.weight(b, [k.channels, k.squeezed, 1, 1], seed: seed + 4),
      bias: T.weight(b, [k.channels], seed: seed + 5))
    let s = k.hardSigmoid ? try b.hardSigmoid(f2, alpha: 1.0 / 6, beta: 0.5) : try b.sigmoid(f2)
    let m = try b.mul(a, s)
    for r in 0..<(k.twoReaders ? 2 : 1) {
      let y = try b.conv2d(
        m, weight: T.weight(b, [k.outputs, k.channels, k.kernel, k.kernel], seed: seed + 6 + UInt64(r)),
        bias: T.weight(b, [k.outputs], seed: seed + 8), stride: k.stride, padding: k.pad)
      b.output(try b.add(y, b.constant(Tensor(shape: [1], data: [0.5]))))
    }
    return try b.finish()
  }

  @Test(arguments: blocks.indices)
  func squeezeExcitationMatchesTheReference(index: Int) throws {
    let k = Self.blocks[index]
    let graph = try Self.graph(k, seed: UInt64(10 * index + 1))
    let optimized = try graph.optimized()
    let (g, plan) = (optimized.graph, optimized.plan)
    let program = try Scheduler.schedule(g, plan: plan, vectorWidth: 16, threads: 2)
    let kinds = program.schedules.flatMap { $0.map(\.kind) }
    let mulGroups = plan.groups.indices.filter {
      plan.groups[$0].nodes.count == 1 && g.nodes[plan.groups[$0].anchor].op == "mul"
    }
    if k.folds {
      // The multiply is no kernel: its group launches nothing, the readers scale their weights.
      #expect(kinds.contains(.scaleFolded), "\(k)")
      #expect(kinds.filter { $0 == .scaleWeights }.count == (k.twoReaders ? 2 : 1), "\(k)")
      for m in mulGroups {
        #expect(!program.steps.contains { $0.group.index == m }, "\(k): the multiply runs as a kernel")
      }
    } else {
      #expect(!kinds.contains(.scaleFolded), "\(k)")
      if k.kernel == 1 && k.pad == 0 {
        #expect(kinds.contains(.prologueFolded), "\(k): the 1×1 conv multiplies its input tiles")
      } else {
        #expect(kinds.contains(.elementwise), "\(k): the multiply is one blocked pass")
      }
    }
    // The 1×1-map convs of the squeeze are tiny: they run on the calling thread.
    let squeeze = program.schedules.flatMap { $0 }.filter { $0.kind == .convPointwise && $0.onCaller }
    #expect(squeeze.count >= 2, "\(k): \(squeeze.count) squeeze convs on the caller")
    // Layout changes only for the pooled vector: never a round trip of the activation through plain layout.
    // The activation and the product never go through plain layout.
    let multiplied = Set(g.nodes.filter { $0.op == "mul" }.flatMap { $0.inputs + $0.outputs }.map { g.values[$0].name })
    let big = k.channels * k.size * k.size
    for schedule in program.schedules.flatMap({ $0 }) where schedule.kind == .toPlain || schedule.kind == .toBlocked {
      guard let value = schedule.value, multiplied.contains(value),
        let id = g.values.ids.first(where: { g.values[$0].name == value })
      else { continue }
      #expect(g.shape(of: id).reduce(1, *) < big, "\(k): \(schedule)")
    }
    let inputs = [Tensor.random(shape: [1, k.channels, k.size, k.size], seed: 3)]
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let model = try CompiledModel.compile(g, plan: plan, options: CompiledTesting.options)
    for (a, e) in zip(try model.run(inputs), expected) {
      #expect(a.compared(to: e).isWithin(relative: 1e-4), "\(k): \(a.compared(to: e))")
    }
  }

  /// Scaling the packed weights is exact for any packing: a conv of `x · s` against a conv of `x`
  /// with the weights scaled by hand, both compiled; zero padding stays zero.
  @Test(arguments: [(1, 0), (3, 1), (3, 0), (5, 2)])
  func scaledWeightsEqualScaledInput(kernel: Int, pad: Int) throws {
    let (c, o, size) = (21, 18, 24)
    let scale = Tensor.random(shape: [1, c, 1, 1], in: 0...2, seed: 4)
    let weight = Tensor.random(shape: [o, c, kernel, kernel], seed: 5)
    var scaledWeight = weight
    for i in scaledWeight.data.indices { scaledWeight.data[i] *= scale.data[(i / (kernel * kernel)) % c] }
    func build(_ folded: Bool) throws -> Graph {
      let b = GraphBuilder()
      let x = b.input("x", shape: [1, c, size, size]), s = b.input("s", shape: [1, c, 1, 1])
      let a = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [c, c, 1, 1], seed: 6)))
      let input = folded ? try b.mul(a, s) : a
      b.output(try b.conv2d(input, weight: b.constant(folded ? weight : scaledWeight), padding: pad))
      return try b.finish()
    }
    let inputs = [Tensor.random(shape: [1, c, size, size], seed: 7), scale]
    // One group per node, so the multiply is not fused into the relu conv's epilogue.
    let folded = try build(true), direct = try build(false)
    let plan = FusionPlan.unfused(folded)
    let program = try Scheduler.schedule(folded, plan: plan, vectorWidth: 16, threads: 2)
    #expect(program.schedules.flatMap { $0 }.contains { $0.kind == .scaleWeights })
    let a = try CompiledModel.compile(folded, plan: plan, options: CompiledTesting.options).run(inputs)[0]
    let e = try ReferenceExecutor.run(direct, inputs: inputs)[0]
    #expect(a.compared(to: e).isWithin(relative: 1e-5), "\(a.compared(to: e))")
  }
}
