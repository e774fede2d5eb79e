import Foundation
import Testing

@testable import GraphFuse

/// Real map and channel sizes through the compiled backend in the default test run: MobileNetV2
/// at 224×224 (depthwise convs, conv chains, residuals) and a RegNetY / ShuffleNetV2 stage at
/// their real sizes (grouped convs, squeeze-excitation folded into the weights, a channel split,
/// concat and shuffle as channel remaps, concats written in place), each against the reference
/// executor. Small fixtures never reach the tile edges, task splits and folds these sizes do.
@Suite struct RealSizeNetworkTests {
  static func check(_ graph: Graph, context: String) throws -> CompiledModel {
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 11) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let optimized = try graph.optimized()
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompiledTesting.options)
    #expect(model.program.offFastPath(optimized.graph, plan: optimized.plan).isEmpty, "\(context)")
    for (k, (a, e)) in zip(try model.run(inputs), expected).enumerated() {
      let comparison = a.compared(to: e)
      #expect(comparison.isWithin(relative: 1e-4), "\(context), output \(k): \(comparison)")
    }
    return model
  }

  @Test func mobileNetV2At224() throws {
    let model = try Self.check(try ModelZoo.build("mobilenet_v2"), context: "MobileNetV2")
    let kinds = Set(model.program.schedules.flatMap { $0 }.map(\.kind))
    #expect(kinds.contains(.convChain) && kinds.contains(.convDepthwise), "\(kinds)")
  }

  /// A RegNetY-400MF block at its second stage's sizes (48 → 104 channels, 56×56 → 28×28, groups
  /// of 8, SE to 12), then a ShuffleNetV2 unit at 116 channels on 28×28 (split, branch, concat,
  /// shuffle) and a DenseNet-style concat.
  static func regNetAndShuffleStage() throws -> Graph {
    let b = GraphBuilder()
    var seed: UInt64 = 100
    func w(_ shape: [Int]) -> ValueID {
      seed += 1
      let fanIn = Float(shape.dropFirst().reduce(1, *))
      return CompiledTesting.weight(b, shape, seed: seed, range: -1.5 / fanIn.squareRoot()...1.5 / fanIn.squareRoot())
    }
    let x = b.input("x", shape: [1, 48, 56, 56])
    // RegNetY block: 1×1, grouped 3×3 stride 2, SE, 1×1, projection shortcut.
    let a = try b.relu(try b.conv2d(x, weight: w([104, 48, 1, 1]), bias: w([104])))
    let g = try b.relu(
      try b.conv2d(a, weight: w([104, 8, 3, 3]), bias: w([104]), stride: 2, padding: 1, groups: 13))
    let squeeze = try b.relu(try b.conv2d(try b.globalAvgPool(g), weight: w([12, 104, 1, 1]), bias: w([12])))
    let gate = try b.sigmoid(try b.conv2d(squeeze, weight: w([104, 12, 1, 1]), bias: w([104])))
    let excited = try b.mul(g, gate)
    let c = try b.conv2d(excited, weight: w([104, 104, 1, 1]), bias: w([104]))
    let shortcut = try b.conv2d(x, weight: w([104, 48, 1, 1]), bias: w([104]), stride: 2)
    let y = try b.relu(try b.add(c, shortcut))
    // To 116 channels, then a ShuffleNetV2 unit: split in halves, one through 1×1 → depthwise → 1×1.
    let z = try b.relu(try b.conv2d(y, weight: w([116, 104, 1, 1]), bias: w([116])))
    let left = try b.slice(z, starts: [0], ends: [58], axes: [1])
    let right = try b.slice(z, starts: [58], ends: [116], axes: [1])
    let r1 = try b.relu(try b.conv2d(right, weight: w([58, 58, 1, 1]), bias: w([58])))
    let r2 = try b.conv2d(r1, weight: w([58, 1, 3, 3]), bias: w([58]), padding: 1, groups: 58)
    let r3 = try b.relu(try b.conv2d(r2, weight: w([58, 58, 1, 1]), bias: w([58])))
    let joined = try b.concat([left, r3])
    let shuffled = try b.reshape(
      try b.transpose(try b.reshape(joined, to: [1, 2, 58, 28, 28]), perm: [0, 2, 1, 3, 4]), to: [1, 116, 28, 28])
    // A DenseNet-style concat of the unit's input and a new 1×1 feature, read by a 1×1 conv.
    let grown = try b.concat([shuffled, try b.relu(try b.conv2d(shuffled, weight: w([32, 116, 1, 1])))])
    b.output(try b.conv2d(grown, weight: w([64, 148, 1, 1]), bias: w([64])))
    return try b.finish()
  }

  @Test func regNetAndShuffleStageAtRealSizes() throws {
    let model = try Self.check(try Self.regNetAndShuffleStage(), context: "RegNetY + ShuffleNetV2 stage")
    let kinds = Set(model.program.schedules.flatMap { $0 }.map(\.kind))
    #expect(kinds.contains(.convGrouped), "\(kinds)")
    #expect(kinds.contains(.scaleFolded), "the SE gate is folded into the next conv's weights: \(kinds)")
    #expect(kinds.contains(.channelRemap) || kinds.contains(.channelSliceView), "\(kinds)")
  }
}
