import Foundation
import Testing

@testable import GraphFuse

/// Winograd F(2×2, 3×3) and F(4×4, 3×3) convs (``WinogradConv``) against the reference executor and against the
/// same model compiled with the direct schedule, over a sweep of channels (whole and partial
/// blocks, odd block counts), map sizes (odd, smaller than a tile, wider than a chunk), paddings
/// and batches, with a bias and a residual → relu epilogue.
@Suite struct WinogradConvTests {
  typealias T = CompiledTesting

  struct Case: Sendable, CustomStringConvertible {
    var batch = 1
    var cin: Int, cout: Int, h: Int, w: Int
    var pads = [1, 1, 1, 1]
    /// The output tile side the cost model picks (``WinogradTransform/cheapest(cin:cout:oh:ow:vector:)``).
    var tile = 2
    var description: String { "\(batch)×\(cin)→\(cout) at \(h)×\(w) pads \(pads), F(\(tile)x\(tile))" }
  }

  static let cases: [Case] = [
    Case(cin: 32, cout: 32, h: 8, w: 8),
    Case(cin: 48, cout: 80, h: 7, w: 7),
    Case(batch: 2, cin: 40, cout: 100, h: 9, w: 5),
    Case(cin: 32, cout: 48, h: 3, w: 4, pads: [0, 0, 0, 0]),
    Case(cin: 64, cout: 32, h: 13, w: 11, pads: [2, 1, 0, 2]),
    // Smaller than a tile across (a 1×1 map would be a 1×1 conv: `cropDeadConvTaps`).
    Case(cin: 32, cout: 64, h: 2, w: 3),
    Case(cin: 96, cout: 64, h: 30, w: 40, tile: 4),
    Case(batch: 2, cin: 40, cout: 80, h: 29, w: 27, pads: [0, 1, 2, 1], tile: 4),
  ]

  static func graph(_ c: Case) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [c.batch, c.cin, c.h, c.w])
    let oh = c.h + c.pads[0] + c.pads[2] - 2, ow = c.w + c.pads[1] + c.pads[3] - 2
    let r = b.input("r", shape: [c.batch, c.cout, oh, ow])
    let weight = T.weight(b, [c.cout, c.cin, 3, 3], seed: 1, range: -0.2...0.2)
    let y = try b.add(
      try b.conv2d(x, weight: weight, bias: T.weight(b, [c.cout], seed: 2), strides: [1, 1], pads: c.pads), r)
    b.output(try b.relu(y))
    return try b.finish()
  }

  @Test(arguments: cases) func winogradMatchesTheReferenceAndTheDirectConv(_ c: Case) throws {
    let graph = try Self.graph(c)
    let inputs = graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), seed: 7 + UInt64(k)) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    let optimized = try Pipeline.optimize(graph)
    // The sweep tests the transforms on small maps too, where the cost model would run direct.
    var everywhere = T.options
    everywhere.winogradEverywhere = true
    var direct = T.options
    direct.winograd = false
    var outputs: [Tensor] = []
    for options in [everywhere, direct] {
      let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options)
      let schedules = model.program.schedules.joined()
      let winograd = schedules.first { $0.kind == .convWinograd }
      #expect((winograd != nil) == options.winograd, "\(c): \(schedules.map(\.kind))")
      if let winograd { #expect(winograd.tile?.reason.contains("F(\(c.tile)x\(c.tile),3x3)") == true, "\(winograd)") }
      let out = try model.run(inputs)[0]
      #expect(out.compared(to: expected).isWithin(relative: 1e-5), "\(c): \(out.compared(to: expected))")
      outputs.append(out)
    }
    #expect(outputs[0].compared(to: outputs[1]).isWithin(relative: 1e-5), "\(c)")
  }

  /// A padded 3×3 conv `channels → channels` on a `size`² map, + relu, optimized.
  static func squareConv(channels: Int, size: Int) throws -> OptimizedGraph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, channels, size, size])
    b.output(try b.relu(try b.conv2d(x, weight: T.weight(b, [channels, channels, 3, 3], seed: 1), padding: 1)))
    return try Pipeline.optimize(try b.finish())
  }

  /// Schedules as data, with 2 threads: 512 channels on 7×7 (16 tiles, one chunk) split their 16
  /// output groups into 4 chunks (F(2×2)); 64 channels on 56×56 (F(4×4): 196 tiles of 4×4) take
  /// the 4 chunks of 49 tiles the scratch budget needs; 64 channels on 14×14 (F(2×2), 49 tiles in
  /// one chunk) split their 2 groups in 2, and the 2 tasks split evenly.
  @Test(arguments: [(512, 7, 4), (64, 56, 4), (64, 14, 2)]) func tasksSplitEvenlyOverTheThreads(
    _ channels: Int, _ size: Int, _ tasks: Int
  ) throws {
    let optimized = try Self.squareConv(channels: channels, size: size)
    let program = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winogradEverywhere: true)
    let conv = try #require(program.schedules.joined().first { $0.kind == .convWinograd })
    #expect(conv.tasks == tasks && conv.tile?.vectors == 2, "\(conv)")
    #expect(conv.epilogue == ["relu"])
  }

  /// Winograd runs where its estimate is below the direct conv's (``WinogradTransform/directCost``):
  /// ResNet's 3×3 convs on 56×56 × 64 (F(4×4)), 14×14 × 256 (F(2×2)), but not 7×7 × 512, whose
  /// transformed weights (16/9 of the direct conv's, streamed from L3 at batch 1) outweigh the
  /// multiplies saved; `report` names the Winograd convs.
  @Test(arguments: [(64, 56, true), (256, 14, true), (512, 7, false)]) func winogradWhereCheaperThanDirect(
    _ channels: Int, _ size: Int, _ winograd: Bool
  ) throws {
    let optimized = try Self.squareConv(channels: channels, size: size)
    let kinds = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
      .schedules.joined().map(\.kind)
    #expect(kinds.contains(.convWinograd) == winograd && kinds.contains(.convDense) == !winograd, "\(kinds)")
    let everywhere = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winogradEverywhere: true)
    #expect(everywhere.schedules.joined().contains { $0.kind == .convWinograd })
    let report = FusionReport(optimized, model: "m")
    #expect((report.layouts?.winograd != nil) == winograd)
    #expect(report.description.contains("Winograd: 1 conv (") == winograd)
  }

  /// The filter transform and the input and output transforms compose to the direct 3×3
  /// correlation on one channel, for both tile sizes, in double.
  @Test(arguments: [WinogradTransform.f2, WinogradTransform.f4]) func transformsComposeToTheCorrelation(
    _ t: WinogradTransform
  ) {
    let a = t.alpha
    let d = (0..<(a * a)).map { Double(($0 * 37) % 11) - 5 }
    let k = (0..<9).map { Double(($0 * 5) % 7) - 3 }
    let u = t.filter(k)
    // V = Bᵀ d B, then M = U ⊙ V, then Y = Aᵀ M A.
    func sandwich(_ mt: [[Double]], _ x: [Double], _ n: Int) -> [Double] {
      let rows = mt.count
      var tmp = [Double](repeating: 0, count: rows * n)
      for i in 0..<rows { for j in 0..<n { tmp[i * n + j] = (0..<n).reduce(0) { $0 + mt[i][$1] * x[$1 * n + j] } } }
      var out = [Double](repeating: 0, count: rows * rows)
      for i in 0..<rows {
        for j in 0..<rows { out[i * rows + j] = (0..<n).reduce(0) { $0 + tmp[i * n + $1] * mt[j][$1] } }
      }
      return out
    }
    let v = sandwich(t.bt, d, a)
    let y = sandwich(t.at, zip(u, v).map(*), a)
    for r in 0..<t.m {
      for c in 0..<t.m {
        let direct = (0..<3).reduce(0.0) { s, i in
          s + (0..<3).reduce(0.0) { $0 + d[(r + i) * a + c + $1] * k[i * 3 + $1] }
        }
        #expect(abs(y[r * t.m + c] - direct) < 1e-9, "F(\(t.m)): (\(r), \(c)) \(y[r * t.m + c]) vs \(direct)")
      }
    }
  }
}
