import Foundation
import Testing

@testable import GraphFuse

/// Channel shuffles, slices and concats (and their compositions) run as blocked channel-remap
/// kernels (`ChannelRemap`, `BlockedKernels.channelRemap`), found from the group's index map.
@Suite struct ChannelRemapTests {
  typealias T = CompiledTesting
  typealias Generator = RandomKernelSweepTests.Generator

  /// `[n, c, h, w]` → reshape `[n, g, c/g, h, w]` → transpose → reshape: ShuffleNet's channel shuffle.
  static func shuffle(_ b: GraphBuilder, _ x: ValueID, groups: Int) throws(GraphFuseError) -> ValueID {
    let s = b.shape(of: x)
    let r = try b.reshape(x, to: [s[0], groups, s[1] / groups, s[2], s[3]])
    return try b.reshape(try b.transpose(r, perm: [0, 2, 1, 3, 4]), to: s)
  }

  static func channelSlice(_ b: GraphBuilder, _ x: ValueID, _ start: Int, _ end: Int, step: Int = 1)
    throws(GraphFuseError) -> ValueID
  {
    try b.slice(x, starts: [start], ends: [end], axes: [1], steps: [step])
  }

  /// A random network of blocked producers (convs with channel counts off the vector width)
  /// combined by concats of 2–4 inputs, channel shuffles of 2–4 groups and channel slices
  /// (some strided), read by a conv and also returned directly.
  static func network(seed: UInt64) throws -> (Graph, String) {
    var g = Generator(state: seed)
    let b = GraphBuilder()
    let (h, w) = (g.next(3...9), g.next(3...9))
    let x = b.input("x", shape: [g.next(1...2), g.next(3...20), h, w])
    var text = "seed \(seed): "
    func conv(_ input: ValueID, _ channels: Int) throws -> ValueID {
      let c = b.shape(of: input)[1]
      return try b.relu(
        try b.conv2d(
          input, weight: b.constant(Tensor.random(shape: [channels, c, 1, 1], seed: seed &+ UInt64(channels)))))
    }
    let count = g.next(2...4)
    let groups = g.next(2...4)
    var parts: [ValueID] = []
    for _ in 0..<count { parts.append(try conv(x, groups * g.next(1...9))) }
    let joined = try b.concat(parts, axis: 1)
    let c = b.shape(of: joined)[1]
    text += "concat \(parts.map { b.shape(of: $0)[1] })"
    var y = joined
    if c % groups == 0 {
      y = try shuffle(b, joined, groups: groups)
      text += ", shuffle \(groups)"
    }
    let start = g.next(0...(c / 2)), step = g.next(1...2)
    let end = g.next((start + 1)...c)
    let sliced = try channelSlice(b, y, start, end, step: step)
    text += ", slice \(start)..<\(end) step \(step)"
    let rest = try channelSlice(b, y, c / 2, c)
    // A second shuffle over a concat of a slice and a conv of the other half: a ShuffleNet unit.
    let branch = try conv(rest, c - c / 2)
    let unit = try b.concat([try channelSlice(b, y, 0, c / 2), branch], axis: 1)
    let mixed = c % 2 == 0 ? try shuffle(b, unit, groups: 2) : unit
    b.output(try conv(sliced, g.next(3...21)))
    b.output(try conv(mixed, g.next(3...21)))
    b.output(mixed)
    return (try b.finish(), text)
  }

  static func check(_ graph: Graph, plan: FusionPlan, portable: Bool, seed: UInt64) throws -> CompiledModel {
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: seed &+ 7) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    var options = T.options
    options.portable = portable
    let model = try CompiledModel.compile(graph, plan: plan, options: options)
    for (a, e) in zip(try model.run(inputs), expected) {
      let comparison = a.compared(to: e)
      #expect(comparison.isWithin(relative: 1e-5), "\(comparison)")
    }
    return model
  }

  static func kinds(_ model: CompiledModel) -> [KernelSchedule.Kind] {
    model.program.schedules.flatMap { $0.map(\.kind) }
  }

  @Test(arguments: [UInt64](1...10))
  func randomNetworksMatchTheReference(seed: UInt64) throws {
    let (graph, text) = try Self.network(seed: seed)
    let optimized = try Pipeline.optimize(graph)
    for portable in [false, true] {
      for (name, plan) in [("fused", optimized.plan), ("unfused", FusionPlan.unfused(optimized.graph))] {
        let model = try Self.check(optimized.graph, plan: plan, portable: portable, seed: seed)
        let kinds = Self.kinds(model)
        #expect(kinds.contains(.channelRemap) || kinds.contains(.channelSliceView), "\(name) \(text)")
        // Fused, every slice, concat and shuffle of blocked values stays blocked: the only layout
        // changes are of graph inputs and outputs.
        let boundary = Set((optimized.graph.inputs + optimized.graph.outputs).map { optimized.graph.values[$0].name })
        let inner = model.program.schedules.joined().filter {
          ($0.kind == .toBlocked || $0.kind == .toPlain) && !boundary.contains($0.value ?? "")
        }
        if name == "fused" { #expect(inner.isEmpty, "\(name) \(text): \(inner)") }
      }
    }
  }

  /// ShuffleNet-style units (split, branch, concat, shuffle) after a stem conv plan no layout
  /// change at all: every shuffle, split and concat is a blocked remap or a view.
  @Test(arguments: [(24, 5), (48, 3), (58, 4), (32, 6)])
  func shuffleNetUnitsPlanNoPlainRoundTrip(channels: Int, size: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 3, size, size])
    var y = try b.relu(try b.conv2d(x, weight: T.weight(b, [channels, 3, 3, 3], seed: 1), padding: 1))
    for unit in 0..<3 {
      let half = channels / 2
      let keep = try Self.channelSlice(b, y, 0, half)
      let rest = try Self.channelSlice(b, y, half, channels)
      let seed = UInt64(10 * unit)
      var branch = try b.relu(try b.conv2d(rest, weight: T.weight(b, [half, half, 1, 1], seed: seed + 2)))
      branch = try b.conv2d(branch, weight: T.weight(b, [half, 1, 3, 3], seed: seed + 3), padding: 1, groups: half)
      branch = try b.relu(try b.conv2d(branch, weight: T.weight(b, [half, half, 1, 1], seed: seed + 4)))
      y = try Self.shuffle(b, try b.concat([keep, branch], axis: 1), groups: 2)
    }
    b.output(try b.flatten(try b.globalAvgPool(y)))
    let graph = try b.finish()
    let optimized = try Pipeline.optimize(graph)
    for portable in [false, true] {
      let model = try Self.check(optimized.graph, plan: optimized.plan, portable: portable, seed: 3)
      let kinds = Self.kinds(model)
      #expect(!kinds.contains(.toPlain) && !kinds.contains(.toBlocked), "\(channels) channels: \(kinds)")
      #expect(kinds.filter { $0 == .channelRemap }.count >= 3)
    }
  }

  /// Index maps that move data across pixels or batches are not channel remaps: they keep the
  /// generic kernel (and still match the reference).
  static let notRemaps: [CompiledCase] = [
    CompiledCase("spatial transpose") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(try b.transpose(try b.relu(x), perm: [0, 1, 3, 2]))
    },
    CompiledCase("row slice") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(try b.slice(try b.relu(x), starts: [1], ends: [4], axes: [2]))
    },
    CompiledCase("concat along width") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(try b.concat([try b.relu(x), x], axis: 3))
    },
    CompiledCase("channels into rows") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(try b.reshape(try b.relu(x), to: [1, 2, 10, 6]))
    },
    CompiledCase("zero padding of channels") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 5, 6])
      b.output(try b.pad(try b.relu(x), pads: [0, 1, 0, 0, 0, 2, 0, 0]))
    },
  ]

  @Test(arguments: notRemaps)
  func otherIndexMapsAreNotChannelRemaps(_ c: CompiledCase) throws {
    let b = GraphBuilder()
    try c.build(b)
    let graph = try b.finish()
    let group = try #require(FusionPlan.unfused(graph).groups.last)
    #expect(ChannelRemap.match(graph, group: group, output: group.outputs[0]) == nil)
    try T.check(c, fused: false)
  }

  @Test func shuffleMapIsFoundFromTheIndexMap() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 6, 3, 5]), y = b.input("y", shape: [2, 3, 3, 5])
    let out = try Self.shuffle(b, try b.concat([try Self.channelSlice(b, x, 1, 4), y], axis: 1), groups: 3)
    b.output(out)
    let graph = try b.finish()
    let group = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [graph.nodes.ids])).groups[0]
    let remap = try #require(ChannelRemap.match(graph, group: group, output: out))
    #expect(remap.sources == [x, y])
    // Concat channels 0…5 = x1, x2, x3, y0, y1, y2; shuffled by 3: c' = j·3 + i reads i·2 + j.
    #expect(remap.channels.map(\.source) == [0, 0, 1, 0, 1, 1])
    #expect(remap.channels.map(\.channel) == [1, 3, 1, 2, 0, 2])
  }

  @Test func affineFormsProveDivisionsOnlyWhenTheyCannotCrossAStep() {
    let extents = ["h": 4, "w": 8]
    let flat: IndexExpr = .variable("h") * 8 + .variable("w") + .constant(3 * 32)
    #expect(AffineIndex(.div(flat, 32), extents: extents) == AffineIndex(constant: 3))
    #expect(AffineIndex(.mod(flat, 32), extents: extents) == AffineIndex(terms: ["h": 8, "w": 1]))
    #expect(AffineIndex(.div(flat, 8), extents: extents) == AffineIndex(terms: ["h": 1], constant: 12))
    // w + 4 crosses a multiple of 8 for w ≥ 4: not affine.
    #expect(AffineIndex(.div(.variable("w") + .constant(4), 8), extents: extents) == nil)
    #expect(AffineIndex(.variable("q"), extents: extents) == nil)
    #expect(AffineIndex.decide(.inRange(.variable("w"), 0, 8), extents: extents) == true)
    #expect(AffineIndex.decide(.inRange(.variable("w") + .constant(8), 0, 8), extents: extents) == false)
    #expect(AffineIndex.decide(.inRange(.variable("w"), 0, 4), extents: extents) == nil)
  }
}

extension ChannelRemapTests {
  /// Padding lanes of the last output block are written as zeros (the blocked layout's rule),
  /// taken from a zero vector by the block's last shuffle; whole source blocks in order are copies.
  @Test func paddingLanesAreZeroAndWholeBlocksAreCopies() {
    // 20 output channels of a 40-channel source: channels 16…35, vector width 8.
    let remap = ChannelRemap(
      output: 1, shape: [1, 20, 3, 3], sources: [0], channels: (0..<20).map { (0, 16 + $0) })
    let nest = BlockedKernels.channelRemap(remap, sourceChannels: [40], vector: 8)
    let c = CEmitter.function(nest, symbol: "k")
    let branches = c.components(separatedBy: "if (").dropFirst()
    #expect(branches.count == 3)
    // Blocks 0 and 1 are source blocks 2 and 3: copies of 3 pixels × 8 lanes.
    #expect(branches.prefix(2).allSatisfy { $0.contains("memcpy(") && !$0.contains("shufflevector") })
    // Block 2: lanes 0…3 are source block 4's first four, lanes 4…7 come from the zero vector.
    let last = branches.last ?? ""
    #expect(last.contains("gf_splat(0.0f), 0, 1, 2, 3, 8, 8, 8, 8)"), "\(last)")
  }
}
