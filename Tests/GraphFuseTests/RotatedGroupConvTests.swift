import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// One grouped conv behind a 1×1 conv (so its input is blocked, as inside a network) and its tail.
struct RotatedGroupCase: Sendable, CustomStringConvertible {
  var channels: Int, groupWidth: Int, h: Int, w: Int, kernel: Int
  var stride = 1, padding = 0, dilation = 1
  var batch = 1
  var bias = true
  /// 0: none, 1: relu, 2: plus the block's input (a residual, a full-tensor operand).
  var tail = 0

  var description: String {
    "\(batch)x\(channels)/\(groupWidth) \(h)x\(w) k\(kernel) s\(stride) p\(padding) d\(dilation)"
      + (bias ? " bias" : "") + " tail \(tail)"
  }

  func graph() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 8, h, w])
    let expand = b.constant(Tensor.random(shape: [channels, 8, 1, 1], in: -0.5...0.5, seed: 3))
    let hidden = try b.relu(try b.conv2d(x, weight: expand))
    let weight = b.constant(
      Tensor.random(shape: [channels, groupWidth, kernel, kernel], in: -0.3...0.3, seed: 5))
    let biasValue = bias ? b.constant(Tensor.random(shape: [channels], in: -1...1, seed: 7)) : nil
    var y = try b.conv2d(
      hidden, weight: weight, bias: biasValue, stride: stride, padding: padding, dilation: dilation,
      groups: channels / groupWidth)
    switch tail {
    case 1: y = try b.relu(y)
    case 2: y = try b.add(y, hidden)
    default: break
    }
    b.output(y)
    return try b.finish()
  }
}

/// Grouped convs whose groups are narrower than a vector run with their partial sums rotated within
/// each group's lanes (``RotatedGroupConv``): the result matches the reference executor over group widths
/// 2, 4 and 8, channels off the vector width, kernel sizes, strides, paddings, dilations, rows split
/// into several tiles with border checks, batches and epilogues.
@Suite struct RotatedGroupConvTests {
  static let cases: [RotatedGroupCase] = [
    RotatedGroupCase(channels: 64, groupWidth: 8, h: 14, w: 14, kernel: 3, padding: 1, tail: 1),
    RotatedGroupCase(channels: 40, groupWidth: 8, h: 17, w: 33, kernel: 3, stride: 2, padding: 1, tail: 1),
    RotatedGroupCase(channels: 128, groupWidth: 4, h: 9, w: 30, kernel: 3, padding: 1, tail: 2),
    RotatedGroupCase(channels: 24, groupWidth: 2, h: 7, w: 7, kernel: 5, padding: 2, bias: false),
    RotatedGroupCase(channels: 32, groupWidth: 4, h: 12, w: 20, kernel: 3, padding: 2, dilation: 2),
    RotatedGroupCase(channels: 48, groupWidth: 8, h: 6, w: 6, kernel: 1, stride: 2),
    RotatedGroupCase(channels: 56, groupWidth: 8, h: 11, w: 29, kernel: 3, stride: 2, padding: 1, batch: 2, tail: 1),
    RotatedGroupCase(channels: 16, groupWidth: 4, h: 5, w: 40, kernel: 7, padding: 3, batch: 3),
  ]

  static func schedules(_ graph: Graph, vector: Int = System.vectorWidth) throws -> [KernelSchedule] {
    let optimized = try Pipeline.optimize(graph)
    let target = ScheduleTarget(vectorWidth: vector, threads: 2)
    return try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target).schedules.flatMap { $0 }
  }

  @Test(arguments: cases) func matchesTheReference(_ c: RotatedGroupCase) throws {
    let graph = try c.graph()
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), in: -1...1, seed: 13)
    let v = System.vectorWidth
    if RotatedGroupConv.applies(cin: c.channels, cout: c.channels, groups: c.channels / c.groupWidth, vector: v) {
      let grouped = try #require(try Self.schedules(graph).first { $0.kind == .convGrouped }, "\(c)")
      #expect(grouped.tile?.reason.contains("rotated") == true, "\(c)")
    }
    _ = try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(c)")
  }

  /// Groups of a whole vector or more, of unequal widths in and out, or not dividing the vector keep
  /// the block-diagonal kernel; groups of one are depthwise.
  @Test func appliesToNarrowEqualGroupsOnly() {
    #expect(RotatedGroupConv.applies(cin: 64, cout: 64, groups: 8, vector: 16))
    #expect(RotatedGroupConv.applies(cin: 64, cout: 64, groups: 16, vector: 8))
    #expect(!RotatedGroupConv.applies(cin: 64, cout: 64, groups: 4, vector: 16))
    #expect(!RotatedGroupConv.applies(cin: 64, cout: 128, groups: 16, vector: 16))
    #expect(!RotatedGroupConv.applies(cin: 72, cout: 72, groups: 3, vector: 16))
    #expect(!RotatedGroupConv.applies(cin: 48, cout: 48, groups: 8, vector: 16))
    #expect(!RotatedGroupConv.applies(cin: 64, cout: 64, groups: 64, vector: 16))
  }

  /// Rotation `s` keeps every lane inside its group's segment and, over the `g` rotations, brings
  /// each lane of the segment to each lane once; the packed weights put, in lane `m` of rotation
  /// `s`, input `m`'s weight for the output channel whose lane that rotation brings lane `m` to.
  @Test func rotationsAndWeightsAgree() {
    let (c, g, v) = (32, 4, 16)
    let conv = RotatedGroupConv(
      n: 1, c: c, h: 4, w: 4, oh: 4, ow: 4, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, g: g, v: v,
      epilogue: Epilogue(expr: .local("acc"), operands: [], output: ValueID(0), vectorWidth: v))
    for l in 0..<v {
      let seen = (0..<g).map { conv.rotation($0)[l] }
      #expect(Set(seen) == Set((0..<g).map { l / g * g + $0 }))
    }
    let weight = Tensor(shape: [c, g, 1, 1], data: (0..<(c * g)).map { Float($0) })
    let packed = WeightPacking.rotatedGroup(weight, vector: v, groupWidth: g)
    for oc in 0..<c {
      for s in 0..<g {
        let lane = conv.rotation(s)[oc % v]
        #expect(packed[((oc / v) * g + s) * v + lane] == weight.data[oc * g + lane % g])
      }
    }
  }

  /// The tile is as wide as `g` accumulators per pixel leave room for.
  @Test func tileFitsTheRegisters() {
    func conv(g: Int, v: Int) -> RotatedGroupConv {
      RotatedGroupConv(
        n: 1, c: 64, h: 28, w: 28, oh: 28, ow: 28, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, dh: 1, dw: 1, g: g,
        v: v, epilogue: Epilogue(expr: .local("acc"), operands: [], output: ValueID(0), vectorWidth: v))
    }
    #expect([8, 4, 2].map { conv(g: $0, v: 16).maxTile } == [3, 5, 9])
    #expect([4, 2].map { conv(g: $0, v: 8).maxTile } == [2, 4])
    #expect(conv(g: 8, v: 16).rowSchedule.map(\.width).reduce(0, +) == 28)
  }
}
