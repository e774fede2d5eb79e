import Foundation
import Testing

@testable import GraphFuse

/// DenseNet-style blocks: every layer concats all earlier feature maps, then batch norm (which
/// cannot fold backward into a concat) → relu → 1×1 conv. The concats grow in place in one shared
/// buffer, and the batch norm and relu run as the 1×1 conv's input prologue: no kernel writes the
/// concat or the normalized tensor, and nothing changes layout.
@Suite struct DenseBlockTests {
  typealias T = CompiledTesting

  /// A batch norm with random statistics (variance in 0.5…1.5).
  static func batchNorm(_ b: GraphBuilder, _ x: ValueID, seed: UInt64) throws(GraphFuseError) -> ValueID {
    let c = b.shape(of: x)[1]
    return try b.batchNorm(
      x, scale: T.weight(b, [c], seed: seed), bias: T.weight(b, [c], seed: seed + 1),
      mean: T.weight(b, [c], seed: seed + 2), variance: T.weight(b, [c], seed: seed + 3, range: 0.5...1.5))
  }

  /// A stem conv, `layers` dense layers (concat → bn → relu → 1×1 conv → bn → relu → 3×3 conv)
  /// and a transition (concat → bn → relu → 1×1 conv with `transitionStride` → average pool).
  static func denseBlock(
    channels: Int, growth: Int, layers: Int, height: Int, width: Int, transitionStride: Int = 1, batch: Int = 1
  ) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [batch, 3, height, width])
    var features = [try b.relu(try b.conv2d(x, weight: T.weight(b, [channels, 3, 3, 3], seed: 1), padding: 1))]
    var seed: UInt64 = 10
    for _ in 0..<layers {
      let normalized = try b.relu(try batchNorm(b, try b.concat(features, axis: 1), seed: seed))
      let cin = b.shape(of: normalized)[1]
      let bottleneck = try b.conv2d(normalized, weight: T.weight(b, [2 * growth, cin, 1, 1], seed: seed + 4))
      let mid = try b.relu(try batchNorm(b, bottleneck, seed: seed + 5))
      features.append(try b.conv2d(mid, weight: T.weight(b, [growth, 2 * growth, 3, 3], seed: seed + 9), padding: 1))
      seed += 10
    }
    let normalized = try b.relu(try batchNorm(b, try b.concat(features, axis: 1), seed: seed))
    let cin = b.shape(of: normalized)[1]
    let transition = try b.conv2d(
      normalized, weight: T.weight(b, [cin / 2, cin, 1, 1], seed: seed + 4), stride: transitionStride)
    b.output(try b.avgPool2d(transition, kernel: 2, stride: 2))
    return try b.finish()
  }

  static func kinds(_ model: CompiledModel) -> [KernelSchedule.Kind] {
    model.program.schedules.joined().map(\.kind)
  }

  struct Block: Sendable, CustomStringConvertible {
    var channels, growth, layers, height, width: Int
    var transitionStride = 1
    var description: String { "\(channels)+\(layers)×\(growth) at \(height)×\(width) / \(transitionStride)" }
  }

  /// Maps wide enough for row tiles, 7×7 (few pixel tiles: channel groups split into chunks),
  /// odd sizes, a strided transition, an odd number of output channel blocks.
  static let blocks: [Block] = [
    Block(channels: 32, growth: 16, layers: 4, height: 12, width: 30),
    Block(channels: 64, growth: 32, layers: 3, height: 7, width: 7),
    Block(channels: 16, growth: 16, layers: 3, height: 9, width: 11, transitionStride: 2),
    Block(channels: 48, growth: 24, layers: 2, height: 2, width: 3),
  ]

  @Test(arguments: blocks) func concatsInPlaceAndProloguesMatchTheReference(_ block: Block) throws {
    let graph = try Self.denseBlock(
      channels: block.channels, growth: block.growth, layers: block.layers, height: block.height, width: block.width,
      transitionStride: block.transitionStride)
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 3)
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(block)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let kinds = Self.kinds(fused)
    // Channels that are not whole vectors keep the copying path (checked against the reference above).
    guard [block.channels, block.growth].allSatisfy({ $0 % fused.program.vectorWidth == 0 }) else { return }
    // Every concat in place, every batch norm → relu folded into the 1×1 conv after it, no
    // generic loops and no layout change but the one for the graph output.
    #expect(kinds.filter { $0 == .concatInPlace }.count == block.layers + 1, "\(kinds)")
    #expect(kinds.filter { $0 == .prologueFolded }.count == block.layers + 1, "\(kinds)")
    #expect(!kinds.contains(.loops) && !kinds.contains(.concat) && !kinds.contains(.toBlocked), "\(kinds)")
    let prologueConvs = fused.program.schedules.joined().filter { !$0.prologue.isEmpty }
    #expect(prologueConvs.count == block.layers + 1)
    #expect(prologueConvs.allSatisfy { $0.kind == .convPointwise && $0.prologue == ["scale_shift", "relu"] })
    // The whole block shares one buffer: every feature map is a view into the last concat.
    let roots = Set(
      fused.program.buffers.indices.filter { fused.program.buffers[$0].view != nil }.map {
        fused.program.root(of: BufferID($0)).0
      })
    #expect(roots.count == 1)
  }

  /// Batch 2: the concats copy (in place needs batch 1), the prologue still folds, and its tasks
  /// cover both images.
  @Test func batchOfTwo() throws {
    let graph = try Self.denseBlock(channels: 32, growth: 16, layers: 2, height: 6, width: 9, batch: 2)
    let input = Tensor.random(shape: [2, 3, 6, 9], seed: 8)
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "batch 2")
    let kinds = Self.kinds(try #require(models.first).model)
    #expect(kinds.filter { $0 == .concat }.count == 3 && !kinds.contains(.concatInPlace), "\(kinds)")
    #expect(kinds.filter { $0 == .prologueFolded }.count == 3, "\(kinds)")
  }

  /// A prologue over channels that are not whole vectors (20: the padding lanes must stay zero
  /// even where the function does not map zero to zero: `sigmoid(0) = 0.5`; the division by the constant `s`
  /// is a multiplication by `1 / s` after `divisionByConstant`), read by a 1×1 conv and a strided 1×1 conv
  /// (both fold); a value read by a 1×1 conv and a padded 3×3 conv stays a kernel (a pad of `f(x)` is zero,
  /// not `f(0)`).
  @Test func prologueFunctionsAndReaders() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, 10, 10])
    let a = try b.conv2d(x, weight: T.weight(b, [20, 8, 3, 3], seed: 1), padding: 1)
    b.output(a)  // read twice: the elementwise stage after it is a group of its own
    let divided = try b.div(try b.sigmoid(a), T.weight(b, [1, 20, 1, 1], seed: 2, range: 0.5...2))
    let s = try b.add(T.weight(b, [1, 20, 1, 1], seed: 3), divided)  // a per-channel operand first
    let c1 = try b.conv2d(s, weight: T.weight(b, [32, 20, 1, 1], seed: 4))
    b.output(try b.relu(try b.conv2d(s, weight: T.weight(b, [16, 20, 1, 1], seed: 5), stride: 2)))
    let other = try b.conv2d(x, weight: T.weight(b, [16, 8, 1, 1], seed: 6))
    let shared = try b.relu(try Self.batchNorm(b, try b.concat([c1, other], axis: 1), seed: 7))
    let p1 = try b.conv2d(shared, weight: T.weight(b, [16, 48, 1, 1], seed: 11))
    let p3 = try b.conv2d(shared, weight: T.weight(b, [16, 48, 3, 3], seed: 12), padding: 1)
    b.output(try b.add(p1, p3))
    let graph = try b.finish()
    let input = Tensor.random(shape: [1, 8, 10, 10], seed: 4)
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "prologues")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let schedules = Array(fused.program.schedules.joined())
    // sigmoid → mul → add folds into both 1×1 readers; the stage read by the 3×3 conv does not.
    let withPrologue = schedules.filter { !$0.prologue.isEmpty }
    #expect(withPrologue.map(\.prologue) == [["sigmoid", "mul", "add"], ["sigmoid", "mul", "add"]], "\(schedules)")
    #expect(schedules.filter { $0.kind == .prologueFolded }.count == 1)
    #expect(schedules.contains { $0.kind == .elementwise && $0.epilogue == ["scale_shift", "relu"] }, "\(schedules)")
    #expect(!schedules.contains { $0.kind == .loops || $0.kind == .toBlocked })
  }
}
