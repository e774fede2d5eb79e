import Foundation
import Testing

@testable import GraphFuse

/// The conv chain phase (`[1×1 →] depthwise → 1×1` in one group) and its compiled schedule.
@Suite struct ConvChainTests {
  /// One chain's shape: channels, spatial size, depthwise window, and what surrounds it.
  struct Shape: Sendable, CustomStringConvertible {
    var batch = 1, cin = 24, mid = 144, cout = 24, size = 12, kernel = 3, stride = 1
    var expand = true, residual = false
    var description: String {
      "\(batch)x\(cin)x\(size)² →\(expand ? " 1×1 \(mid) →" : "") dw\(kernel) s\(stride) → 1×1 \(cout)"
        + (residual ? " + x" : "")
    }
  }

  /// A conv → relu6 → depthwise → relu6 → conv (→ add x) graph with biases.
  static func graph(_ s: Shape) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [s.batch, s.cin, s.size, s.size])
    var y = x
    if s.expand {
      let w = CompiledTesting.weight(b, [s.mid, s.cin, 1, 1], seed: 1, range: -0.5...0.5)
      y = try b.clip(try b.conv2d(y, weight: w, bias: CompiledTesting.weight(b, [s.mid], seed: 2)), min: 0, max: 6)
    }
    let c = s.expand ? s.mid : s.cin
    let dw = CompiledTesting.weight(b, [c, 1, s.kernel, s.kernel], seed: 3, range: -0.5...0.5)
    y = try b.conv2d(
      y, weight: dw, bias: CompiledTesting.weight(b, [c], seed: 4), stride: s.stride, padding: s.kernel / 2, groups: c)
    y = try b.clip(y, min: 0, max: 6)
    let pw = CompiledTesting.weight(b, [s.cout, c, 1, 1], seed: 5, range: -0.3...0.3)
    y = try b.conv2d(y, weight: pw, bias: CompiledTesting.weight(b, [s.cout], seed: 6))
    if s.residual { y = try b.add(y, x) }
    b.output(y)
    return try b.finish()
  }

  /// `lower --emit loops` shows the chain nest that runs: the ring of expanded rows (a row is
  /// computed when it is past the last one held), per-thread scratch, the three register tiles.
  @Test(arguments: [true, false])
  func chainLoopsAreTheRunningNest(_ expand: Bool) throws {
    let graph = try Self.graph(Shape(expand: expand))
    let optimized = try graph.optimized()
    let nests = try Lowering.runningLoops(optimized.graph, plan: optimized.plan, group: 0, options: .init(threads: 2))
    let text = nests.map(\.description).joined(separator: "\n")
    #expect(!text.contains("reference loop nest"))
    #expect(text.contains("schedule: conv chain"))
    #expect(text.contains("sbase = (long)gf_thread_index*"))
    #expect(text.contains("if (0 <= iy < 12 && held[0] < iy) {") == expand)
    #expect(text.contains("pointer px0 = 0 <= ox - 1 + kx < 12 ? &rp[(ox - 1 + kx)*"))
    // The depthwise row goes to the row buffer after the ring (3 rows × 144 channels × 12 pixels).
    #expect(text.contains("scratch[sbase + \(expand ? "5184 + " : "")(cb*12 + ox"))
  }

  @Test func mobileNetV2BlocksBecomeChains() throws {
    let optimized = try ModelZoo.build("mobilenet_v2").optimized()
    let graph = optimized.graph
    let chains = optimized.plan.groups.compactMap { ConvChain.match(graph, nodes: $0.nodes, outputs: $0.outputs) }
    #expect(chains.count == 17)
    #expect(chains.filter { $0.expand == nil }.count == 1)
    // Every depthwise conv is in a chain; residual adds stay in the projection's stage.
    let depthwise = graph.nodes.ids.filter {
      graph.nodes[$0].op == "conv2d" && graph.nodes[$0].attributes.int("group", default: 1) > 1
    }
    #expect(Set(chains.map { $0.depthwise[0] }) == Set(depthwise))
    #expect(chains.filter { c in c.project.contains { graph.nodes[$0].op == "add" } }.count == 10)
    // TVM's rules alone never put two convs in one group.
    let tvm = try ModelZoo.build("mobilenet_v2").optimized(OptimizeOptions(chainConvs: false))
    #expect(tvm.plan.groups.allSatisfy { g in g.nodes.filter { tvm.graph.nodes[$0].op == "conv2d" }.count <= 1 })
    #expect(tvm.plan.groups.count == optimized.plan.groups.count + 2 * 16 + 1)
  }

  @Test func chainsNeedSoleConsumersConstantTailsAndNoOpaqueOps() throws {
    func groups(_ options: OptimizeOptions = .init(), _ edit: (GraphBuilder, ValueID) throws(GraphFuseError) -> ValueID)
      throws -> [FusedGroup]
    {
      let b = GraphBuilder()
      let x = b.input("x", shape: [1, 16, 8, 8])
      let e = try b.relu(try b.conv2d(x, weight: CompiledTesting.weight(b, [32, 16, 1, 1], seed: 1)))
      let d = try edit(
        b, try b.conv2d(e, weight: CompiledTesting.weight(b, [32, 1, 3, 3], seed: 2), padding: 1, groups: 32))
      b.output(try b.conv2d(d, weight: CompiledTesting.weight(b, [16, 32, 1, 1], seed: 3)))
      let graph = try b.finish()
      return try graph.optimized(options).plan.groups
    }
    #expect(try groups { _, d in d }.count == 1)
    #expect(try groups(OptimizeOptions(chainConvs: false)) { _, d in d }.count == 3)
    #expect(try groups(OptimizeOptions(opaque: ["conv2d"])) { _, d in d }.allSatisfy { $0.nodes.count == 1 })
    // The depthwise output is also a graph output: it must be written, so no chain.
    #expect(
      try groups { b, d in
        b.output(d); return d
      }.count == 3)
    // The depthwise tail reads a tensor from memory: the stage cannot stay in registers.
    #expect(try groups { b, d throws(GraphFuseError) in try b.mul(d, b.input("s", shape: [1, 32, 8, 8])) }.count == 3)
  }

  static let shapes: [Shape] = [
    Shape(),
    Shape(cin: 16, mid: 96, cout: 24, size: 15, stride: 2),
    Shape(batch: 2, cin: 20, mid: 52, cout: 12, size: 9, kernel: 5, stride: 2),
    Shape(cin: 32, mid: 96, cout: 32, size: 7, residual: true),
    Shape(cin: 40, mid: 40, cout: 16, size: 11, expand: false),
    Shape(cin: 8, mid: 8, cout: 8, size: 3, kernel: 3),
  ]

  /// The chain kernel matches the reference, for odd channel counts, strides, 5×5 windows,
  /// batches, no expansion, a residual add, and with 1, 2 and 3 threads (per-thread scratch).
  @Test(arguments: shapes)
  func compiledChainMatchesReference(_ shape: Shape) throws {
    let graph = try Self.graph(shape)
    let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 17) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    let out = graph.shape(of: graph.outputs[0])
    for threads in [1, 2, 3] {
      // Fusion decides for the thread count the model will run with.
      let optimized = try graph.optimized(OptimizeOptions(threads: threads))
      try #require(optimized.plan.groups.count == 1, "\(optimized.plan.groups.map(\.name))")
      let options = CompileOptions(threads: threads, cacheDirectory: CompiledTesting.options.cacheDirectory)
      let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options)
      let kinds = model.program.schedules[0].map(\.kind)
      let bands = ConvChain.bands(rows: out[2], threads: threads)
      if ConvChain.isBalanced(rows: out[2], bands: bands, images: out[0], threads: threads) {
        #expect(kinds.contains(.convChain), "\(model.program.schedules[0])")
        #expect(model.intermediateBytes == 0)
        #expect(optimized.plan.groups[0].chain?.asStages == nil)
      } else {
        #expect(optimized.plan.groups[0].chain?.asStages != nil)
        // Uneven bands: the stages run as kernels of their own, the depthwise one among them.
        #expect(!kinds.contains(.convChain) && kinds.contains(.convDepthwise), "\(shape), \(threads): \(kinds)")
      }
      let cmp = try model.run(inputs)[0].compared(to: expected)
      #expect(cmp.isWithin(relative: 1e-4), "\(shape), \(threads) threads: \(cmp)")
    }
  }

  /// Bands of equal height (or enough tasks to even out) keep the chain; 7 rows on 2 threads do not.
  @Test func unevenBandsAreNotBalanced() {
    #expect(!ConvChain.isBalanced(rows: 7, bands: 2, images: 1, threads: 2))
    #expect(!ConvChain.isBalanced(rows: 15, bands: 2, images: 1, threads: 2))
    #expect(ConvChain.isBalanced(rows: 7, bands: 1, images: 1, threads: 1))
    #expect(ConvChain.isBalanced(rows: 14, bands: 2, images: 1, threads: 2))
    #expect(ConvChain.isBalanced(rows: 56, bands: 4, images: 1, threads: 2))
    #expect(ConvChain.isBalanced(rows: 7, bands: 1, images: 2, threads: 2))
    #expect(!ConvChain.isBalanced(rows: 7, bands: 2, images: 2, threads: 2))  // 3+3 against 4+4
  }

  @Test func bandsAreAMultipleOfTheThreadsAndNeverExceedTheRows() {
    for rows in [1, 2, 3, 7, 14, 28, 56, 112] {
      for threads in [1, 2, 3, 8] {
        let bands = ConvChain.bands(rows: rows, threads: threads)
        #expect(bands >= 1 && bands <= rows)
        if rows >= threads { #expect(bands % threads == 0, "rows \(rows), threads \(threads): \(bands)") }
      }
    }
  }

  /// A group that merely holds a 1×1, a depthwise and a 1×1 conv side by side is not a chain:
  /// it compiles stage by stage (generic schedule) and still computes the right thing.
  @Test func unlinkedConvsInOneGroupAreNotAChain() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 6, 6])
    let e = try b.conv2d(x, weight: CompiledTesting.weight(b, [16, 16, 1, 1], seed: 1))
    let d = try b.conv2d(x, weight: CompiledTesting.weight(b, [16, 1, 3, 3], seed: 2), padding: 1, groups: 16)
    let p = try b.conv2d(d, weight: CompiledTesting.weight(b, [16, 16, 1, 1], seed: 3))
    b.output(try b.add(p, e))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1, 2, 3]]))
    #expect(ConvChain.match(graph, nodes: plan.groups[0].nodes, outputs: plan.groups[0].outputs) == nil)
    let inputs = [Tensor.random(shape: [1, 16, 6, 6], seed: 5)]
    let model = try CompiledModel.compile(graph, plan: plan, options: CompiledTesting.options)
    #expect(!model.program.schedules[0].map(\.kind).contains(.convChain))
    #expect(
      try model.run(inputs)[0].compared(to: try ReferenceExecutor.run(graph, inputs: inputs)[0]).isWithin(
        relative: 1e-4))
  }

  @Test func chainGroupSplitsIntoItsStagesForLowering() throws {
    let graph = try Self.graph(Shape(residual: false))
    let plan = try graph.optimized().plan
    let stages = plan.groups[0].stages(in: graph)
    #expect(stages.map(\.nodes.count) == [2, 2, 1])
    #expect(stages.map { graph.nodes[$0.anchor].op } == ["conv2d", "conv2d", "conv2d"])
    let nest = try Lowering.loops(graph, plan: plan, group: 0)
    #expect(nest.schedule?.hasPrefix("conv chain") == true)
  }

  /// Runs that overlap use separate arenas, so their per-thread scratch slices never collide.
  @Test func concurrentChainRunsAgree() async throws {
    let graph = try Self.graph(Shape(cin: 16, mid: 64, cout: 16, size: 20, residual: true))
    let optimized = try graph.optimized()
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompiledTesting.options)
    let inputs = (0..<4).map { Tensor.random(shape: [1, 16, 20, 20], seed: UInt64(40 + $0)) }
    let expected = try inputs.map { try ReferenceExecutor.run(graph, inputs: [$0])[0] }
    let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
      for k in 0..<4 {
        group.addTask {
          var wrong = 0
          for _ in 0..<25 where !(try model.run([inputs[k]])[0].compared(to: expected[k]).isWithin(relative: 1e-4)) {
            wrong += 1
          }
          return wrong
        }
      }
      var total = 0
      for try await w in group { total += w }
      return total
    }
    #expect(wrong == 0)
  }
}
