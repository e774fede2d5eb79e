import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Generic groups whose readers are convs write the blocked layout themselves
/// (``GroupLowering/blockedOutput``): a channels-last token tensor transposed to NCHW before a
/// depthwise conv (PVT, ConvNeXt) needs no layout change, reads a vector at a time, and matches
/// the reference; a group a conv does not read, or with channels off the vector width, stays plain.
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

  /// Channels that are not whole vectors: the group writes plain NCHW and the conv converts it.
  @Test func channelsOffTheVectorWidthStayPlain() throws {
    let v = System.vectorWidth
    let graph = try Self.graph(channels: v + 3, side: 7, elementwiseReader: false)
    let schedules = try Self.schedules(graph)
    #expect(!schedules.contains { $0.kind == .loops && $0.output == .blocked(v) }, "\(schedules)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 49, v + 3], seed: 7)], context: "\(v + 3) channels")
  }
}
