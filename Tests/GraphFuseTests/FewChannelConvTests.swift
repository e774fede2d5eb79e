import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// One conv with few output channels behind a 1×1 conv (so its input is blocked, as in a network's
/// head), and its epilogue.
struct FewChannelCase: Sendable, CustomStringConvertible {
  var cin: Int, cout: Int, h: Int, w: Int, kernel: Int
  var stride = 1, padding = 0, dilation = 1
  var batch = 1
  var bias = true
  /// 0: none, 1: relu, 2: sigmoid times a scalar (GLPN's head), 3: times a per-channel constant, plus 1.
  var tail = 0
  /// A 3×3 conv to 8 channels reads the result, which the kernel then writes in blocked layout.
  var convAfter = false

  var description: String {
    "\(batch)x\(cin)->\(cout) \(h)x\(w) k\(kernel) s\(stride) p\(padding) d\(dilation)" + (bias ? " bias" : "")
      + " tail \(tail)" + (convAfter ? " conv after" : "")
  }

  func graph() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 8, h, w])
    let expand = b.constant(Tensor.random(shape: [cin, 8, 1, 1], in: -0.5...0.5, seed: 3))
    let hidden = try b.relu(try b.conv2d(x, weight: expand))
    let weight = b.constant(Tensor.random(shape: [cout, cin, kernel, kernel], in: -0.3...0.3, seed: 5))
    let biasValue = bias ? b.constant(Tensor.random(shape: [cout], in: -1...1, seed: 7)) : nil
    var y = try b.conv2d(
      hidden, weight: weight, bias: biasValue, stride: stride, padding: padding, dilation: dilation)
    switch tail {
    case 1: y = try b.relu(y)
    case 2: y = try b.mul(try b.sigmoid(y), b.constant(Tensor(shape: [1], data: [10])))
    case 3:
      let scale = b.constant(Tensor.random(shape: [1, cout, 1, 1], in: 0.5...2, seed: 11))
      y = try b.add(try b.mul(y, scale), b.constant(Tensor(shape: [1], data: [1])))
    default: break
    }
    if convAfter {
      let next = b.constant(Tensor.random(shape: [8, cout, 3, 3], in: -0.5...0.5, seed: 17))
      y = try b.relu(try b.conv2d(y, weight: next, padding: 1))
    }
    b.output(y)
    return try b.finish()
  }
}

/// Convs with at most a quarter vector of output channels run with the output pixels in the lanes
/// (``FewChannelConv``): the result matches the reference executor over kernel sizes, strides,
/// paddings that reach past a whole run, dilations, rows that end in a partial run, input channels
/// off the vector width, batches, epilogues with per-channel and scalar operands, and a conv reading
/// the result.
@Suite struct FewChannelConvTests {
  static let cases: [FewChannelCase] = [
    FewChannelCase(cin: 32, cout: 1, h: 64, w: 64, kernel: 3, padding: 1, tail: 2),
    FewChannelCase(cin: 5, cout: 3, h: 17, w: 33, kernel: 3, stride: 2, padding: 1, tail: 1),
    FewChannelCase(cin: 40, cout: 4, h: 9, w: 23, kernel: 5, padding: 2, tail: 3),
    FewChannelCase(cin: 16, cout: 2, h: 20, w: 20, kernel: 3, padding: 2, dilation: 2),
    FewChannelCase(cin: 24, cout: 1, h: 7, w: 7, kernel: 1, bias: false),
    FewChannelCase(cin: 48, cout: 3, h: 30, w: 45, kernel: 3, stride: 2, bias: false, tail: 1),
    FewChannelCase(cin: 16, cout: 1, h: 6, w: 40, kernel: 7, padding: 20),
    FewChannelCase(cin: 32, cout: 2, h: 11, w: 37, kernel: 3, padding: 1, tail: 1, convAfter: true),
    FewChannelCase(cin: 20, cout: 3, h: 13, w: 35, kernel: 3, padding: 1, batch: 3, tail: 3),
    FewChannelCase(cin: 16, cout: 1, h: 9, w: 18, kernel: 3, stride: 2, padding: 1, batch: 2, convAfter: true),
  ]

  static func schedules(_ graph: Graph) throws -> [KernelSchedule] {
    let optimized = try Pipeline.optimize(graph)
    let target = ScheduleTarget(vectorWidth: System.vectorWidth, threads: 2)
    return try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target).schedules.flatMap { $0 }
  }

  static func kinds(_ graph: Graph) throws -> [KernelSchedule.Kind] { try schedules(graph).map(\.kind) }

  /// The output is plain where the network's output takes it, blocked where a conv reads it, and a
  /// conv reading it then needs no layout change.
  @Test(arguments: cases) func matchesTheReference(_ c: FewChannelCase) throws {
    let graph = try c.graph()
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), in: -1...1, seed: 13)
    if System.vectorWidth == 16 {
      let schedules = try Self.schedules(graph)
      let few = try #require(schedules.first { $0.kind == .convFewChannels }, "\(c)")
      #expect(few.output == (c.convAfter ? .blocked(16) : .plain), "\(c)")
      #expect(schedules.filter { $0.kind == .toBlocked }.isEmpty, "\(c)")
    }
    _ = try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(c)")
  }

  /// The blocked kernel keeps convs whose channels fill a quarter vector or more, and rows too short
  /// for the pixels to fill more of the lanes than the channels would.
  @Test func wideOrShortConvsStayBlocked() throws {
    let wide = FewChannelCase(cin: 16, cout: 8, h: 12, w: 12, kernel: 3, padding: 1)
    let short = FewChannelCase(cin: 16, cout: 4, h: 12, w: 3, kernel: 1)
    for c in [wide, short] { #expect(!(try Self.kinds(c.graph()).contains(.convFewChannels)), "\(c)") }
  }

  /// The sum across lanes puts accumulator `t`'s total in lane `t`: sixteen vectors of distinct
  /// powers of two sum exactly, so each lane's value names where it came from.
  @Test func laneSumsLandInOrder() throws {
    let names = (0..<16).map { "a\($0)" }
    let (stmts, result) = FewChannelConv.reduceAcrossLanes(names, prefix: "s")
    #expect(stmts.count == 15)
    var values: [String: [Double]] = [:]
    for (t, name) in names.enumerated() { values[name] = (0..<16).map { Double(t) * 1000 + Double(1 << $0) } }
    func evaluate(_ e: ValueExpr) -> [Double] {
      switch e {
      case .local(let n): return values[n]!
      case .binary(.add, let a, let b): return zip(evaluate(a), evaluate(b)).map { $0 + $1 }
      case .shuffle(let a, let b, let mask):
        let both = evaluate(a) + evaluate(b)
        return mask.map { both[$0] }
      default: Issue.record("unexpected \(e)"); return []
      }
    }
    for s in stmts {
      guard case .declareVector(let name, let value) = s else { Issue.record("unexpected \(s)"); continue }
      values[name] = evaluate(value)
    }
    let sums = try #require(values[result])
    #expect(sums == (0..<16).map { Double($0) * 16000 + 65535 })
  }
}
