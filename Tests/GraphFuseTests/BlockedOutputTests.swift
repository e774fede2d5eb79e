import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Generic groups whose readers are convs write the blocked layout themselves
/// (``GroupLowering/blockedOutput``): a channels-last token tensor transposed to NCHW before a
/// depthwise conv (PVT, ConvNeXt) needs no layout change, reads a vector at a time, and matches
/// the reference, with channels off the vector width too (zeros in the last block's extra lanes).
@Suite("Generic groups written in blocked layout")
struct BlockedOutputTests {
  /// `[1, h·w, c]` tokens → transpose → `[1, c, h, w]` (+ a residual `extra` when given) → depthwise
  /// 3×3 conv, and the transposed map also added to the conv's output (a second, elementwise reader).
  static func graph(channels c: Int, side: Int, elementwiseReader: Bool) throws -> Graph {
    let b = GraphBuilder()
    let tokens = b.input("tokens", shape: [1, side * side, c])
    let map = try b.reshape(try b.transpose(tokens, perm: [0, 2, 1]), to: [1, c, side, side])
    let scaled = try b.mul(map, CT.weight(b, [c, 1, 1], seed: 3))
    let conv = try b.conv2d(
      scaled, weight: CT.weight(b, [c, 1, 3, 3], seed: 4), bias: CT.weight(b, [c], seed: 5), padding: 1, groups: c)
    b.output(elementwiseReader ? try b.add(conv, scaled) : conv)
    return try b.finish()
  }

  static func schedules(_ graph: Graph) throws -> [KernelSchedule] {
    let optimized = try Pipeline.optimize(graph)
    let target = ScheduleTarget(vectorWidth: System.vectorWidth, threads: 2)
    return try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target).schedules.flatMap { $0 }
  }

  @Test(arguments: [false, true]) func channelsLastTokensFeedAConvWithoutALayoutChange(_ elementwise: Bool) throws {
    let v = System.vectorWidth
    let graph = try Self.graph(channels: 2 * v, side: 9, elementwiseReader: elementwise)
    let schedules = try Self.schedules(graph)
    // No layout change into the conv (only the graph output is converted back to plain).
    #expect(
      !schedules.contains { $0.kind == .toBlocked || $0.kind == .channelRemap }, "\(schedules)")
    #expect(schedules.contains { $0.kind == .loops && $0.output == .blocked(v) }, "\(schedules)")
    let input = Tensor.random(shape: [1, 81, 2 * v], seed: 6)
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "elementwise reader \(elementwise)")
  }

  /// Channels that are not whole vectors: the group still writes the blocked layout, the lanes
  /// past the last channel as zeros (a NaN or garbage there would reach the conv's sums through its
  /// zero weights), and the conv reads it without a layout change.
  @Test(arguments: [3, 9]) func channelsOffTheVectorWidthPadTheLastBlock(_ extra: Int) throws {
    let v = System.vectorWidth
    let graph = try Self.graph(channels: v + extra, side: 7, elementwiseReader: extra == 9)
    let schedules = try Self.schedules(graph)
    #expect(!schedules.contains { $0.kind == .toBlocked || $0.kind == .channelRemap }, "\(schedules)")
    #expect(schedules.contains { $0.kind == .loops && $0.output == .blocked(v) }, "\(schedules)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 49, v + extra], seed: 7)], context: "\(v + extra) channels")
  }

  /// DPN's dual path: slices of two conv outputs, a sum and a concat, read by a pre-activation
  /// scale and relu before the next conv and by the next block's slices: the group writes the
  /// blocked layout, so neither reader needs a layout change.
  @Test func groupReadThroughElementwiseOpsAndSlicesWritesBlocked() throws {
    let v = System.vectorWidth
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 6, 6])
    func conv(_ seed: UInt64, _ input: ValueID, _ out: Int) throws -> ValueID {
      try b.conv2d(input, weight: CT.weight(b, [out, b.shape(of: input)[1], 1, 1], seed: seed))
    }
    let a = try conv(11, x, 3 * v), c = try conv(12, x, 3 * v)
    let residual = try b.add(
      try b.slice(a, starts: [0], ends: [2 * v], axes: [1]), try b.slice(c, starts: [0], ends: [2 * v], axes: [1]))
    let dense = try b.concat(
      [
        try b.slice(a, starts: [2 * v], ends: [3 * v], axes: [1]),
        try b.slice(c, starts: [2 * v], ends: [3 * v], axes: [1]),
      ],
      axis: 1)
    let joined = try b.concat([residual, dense], axis: 1)
    let activated = try b.relu(try b.mul(joined, CT.weight(b, [4 * v, 1, 1], seed: 13, range: 0.5...1.5)))
    b.output(try conv(14, activated, 8))
    b.output(try conv(15, try b.slice(joined, starts: [v], ends: [3 * v], axes: [1]), 8))
    let graph = try b.finish()
    let schedules = try Self.schedules(graph)
    #expect(!schedules.contains { $0.kind == .toBlocked }, "\(schedules.map(\.kind))")
    #expect(schedules.contains { $0.kind == .loops && $0.output == .blocked(v) }, "\(schedules.map(\.kind))")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 8, 6, 6], seed: 16)], context: "dual path")
  }

  /// The extra lanes hold zeros, not a copy of the last channel: +∞ in the last channel reaches a
  /// dense 1×1 conv with positive weights as +∞ (a copy in a lane with a zero weight would make
  /// ∞ · 0 = NaN there).
  @Test func extraLanesAreZero() throws {
    let v = System.vectorWidth, c = v + 3
    let b = GraphBuilder()
    let tokens = b.input("tokens", shape: [1, 25, c])
    let map = try b.reshape(try b.transpose(tokens, perm: [0, 2, 1]), to: [1, c, 5, 5])
    let scaled = try b.mul(map, CT.weight(b, [c, 1, 1], seed: 3, range: 0.5...1))
    b.output(try b.conv2d(scaled, weight: CT.weight(b, [8, c, 1, 1], seed: 4, range: 0.1...1)))
    let graph = try b.finish()
    #expect(try Self.schedules(graph).contains { $0.kind == .loops && $0.output == .blocked(v) })
    var input = Tensor.random(shape: [1, 25, c], seed: 8)
    input.data[7 * c + c - 1] = .infinity
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "+inf in the last channel")
  }
}
