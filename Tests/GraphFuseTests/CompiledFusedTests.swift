import Foundation
import Testing

@testable import GraphFuse

/// Fused groups (anchor + epilogue, elementwise-only, injective members) and concurrent runs.
@Suite struct CompiledFusedTests {
  typealias T = CompiledTesting

  /// Groups consecutive node indices: `[[0, 1, 2], [3]]` from sizes `[3, 1]`.
  static func runs(_ sizes: [Int]) -> @Sendable (Graph) -> [[NodeID]] {
    { graph in
      var groups: [[NodeID]] = [], start = 0
      for s in sizes { groups.append((start..<(start + s)).map(NodeID.init)); start += s }
      if start < graph.nodes.count { groups += (start..<graph.nodes.count).map { [NodeID($0)] } }
      return groups
    }
  }

  static let cases: [CompiledCase] = [
    CompiledCase("conv+bias+residual add+relu", partition: runs([1, 3])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 10, 10])
      let c1 = try b.relu(try b.conv2d(x, weight: T.weight(b, [16, 16, 3, 3], seed: 1), padding: 1))
      _ = c1
      let c2 = try b.conv2d(
        x, weight: T.weight(b, [16, 16, 3, 3], seed: 2), bias: T.weight(b, [16], seed: 3), padding: 1)
      b.output(try b.relu(try b.add(c2, x)))
    },
    CompiledCase("conv+relu6 odd channels", partition: runs([2])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 13, 11])
      b.output(try b.relu6(try b.conv2d(x, weight: T.weight(b, [21, 3, 3, 3], seed: 4), stride: 2, padding: 1)))
    },
    CompiledCase("conv+scale_shift+relu", partition: runs([3])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 8, 9, 9])
      let c = try b.conv2d(x, weight: T.weight(b, [20, 8, 3, 3], seed: 5), padding: 1)
      let s = try b.apply("scale_shift", [c, T.weight(b, [20, 1, 1], seed: 6), T.weight(b, [20, 1, 1], seed: 7)])[0]
      b.output(try b.relu(s))
    },
    CompiledCase("conv+kept batch_norm+relu", partition: runs([3])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 8, 8])
      let c = try b.conv2d(x, weight: T.weight(b, [32, 16, 1, 1], seed: 8))
      let p = (0..<4).map { T.weight(b, [32], seed: 9 + UInt64($0), range: 0.5...1.5) }
      b.output(try b.relu(try b.batchNorm(c, scale: p[0], bias: p[1], mean: p[2], variance: p[3])))
    },
    CompiledCase("depthwise+add constant+relu6", partition: runs([3])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 24, 12, 12])
      let c = try b.conv2d(x, weight: T.weight(b, [24, 1, 3, 3], seed: 13), padding: 1, groups: 24)
      b.output(try b.relu6(try b.add(c, T.weight(b, [24, 1, 1], seed: 14))))
    },
    CompiledCase("conv intermediate also an output", partition: runs([2])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 4, 6, 6])
      let c = try b.conv2d(x, weight: T.weight(b, [5, 4, 3, 3], seed: 15), padding: 1)
      b.output(try b.sigmoid(c))
      b.output(c)
    },
    CompiledCase("dense+bias+relu then softmax+scale", partition: runs([2, 2])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [3, 40])
      let d = try b.relu(try b.dense(x, weight: T.weight(b, [24, 40], seed: 16), bias: T.weight(b, [24], seed: 17)))
      b.output(try b.mul(try b.softmax(d, axis: 1), T.weight(b, [24], seed: 18)))
    },
    CompiledCase("dense template: whole vectors, odd K, clip; gemm with a runtime C falls back", partition: runs([2])) {
      b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 7])
      b.output(
        try b.clip(
          try b.dense(x, weight: T.weight(b, [32, 7], seed: 20), bias: T.weight(b, [32], seed: 21)), min: -0.5, max: 0.5
        ))
      b.output(try b.gemm(x, T.weight(b, [7, 3], seed: 22), b.input("c", shape: [2, 3]), alpha: 2, beta: 0.5))
    },
    CompiledCase("max pool+relu, global pool+flatten", partition: runs([2, 2])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 18, 9, 9])
      let p = try b.relu(try b.maxPool2d(x, kernel: 3, stride: 2, padding: 1))
      b.output(try b.flatten(try b.globalAvgPool(p)))
    },
    CompiledCase("elementwise-only group", partition: runs([4])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 5, 7, 3])
      let y = b.input("y", shape: [5, 1, 3])
      b.output(try b.clip(try b.exp(try b.neg(try b.add(x, y))), min: 0.1, max: 2))
    },
    CompiledCase("transpose+reshape into matmul", partition: runs([3])) { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 3, 4])
      let t = try b.reshape(try b.transpose(x, perm: [0, 2, 1]), to: [8, 3])
      b.output(try b.matmul(t, T.weight(b, [3, 5], seed: 19)))
    },
  ]

  /// Unfused chains keep blocked layout across template groups (conv, pool, elementwise).
  static let blockedChains: [CompiledCase] = [
    CompiledCase("conv, relu, max pool, avg pool, add, depthwise, conv 1x1") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 20, 18])
      let c = try b.relu(
        try b.conv2d(x, weight: T.weight(b, [40, 3, 3, 3], seed: 1), bias: T.weight(b, [40], seed: 2), padding: 1))
      let p = try b.maxPool2d(c, kernel: 3, stride: 2, padding: 1, ceilMode: true)
      let q = try b.avgPool2d(p, kernel: 3, stride: 1, padding: 1)
      let s = try b.add(try b.mul(p, q), T.weight(b, [40, 1, 1], seed: 3))
      let d = try b.conv2d(
        s, weight: T.weight(b, [40, 1, 3, 3], seed: 4), strides: [2, 1], pads: [0, 1, 2, 1], groups: 40)
      let o = try b.conv2d(d, weight: T.weight(b, [64, 40, 1, 1], seed: 5), bias: T.weight(b, [64], seed: 6))
      b.output(try b.clip(o, min: -1, max: 1))
      b.output(d)
    },
    CompiledCase("two-vector tile with dilation and residual") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 32, 30, 29])
      let c = try b.conv2d(
        x, weight: T.weight(b, [32, 32, 3, 3], seed: 7), bias: T.weight(b, [32], seed: 8), padding: 2, dilation: 2)
      b.output(try b.relu(try b.add(c, x)))
    },
    CompiledCase("wide rows, one-vector tile, 5x5 asymmetric pads") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 3, 17, 45])
      let c = try b.conv2d(x, weight: T.weight(b, [16, 3, 3, 3], seed: 9), padding: 1)
      let d = try b.conv2d(c, weight: T.weight(b, [24, 16, 5, 5], seed: 10), strides: [1, 1], pads: [2, 1, 0, 3])
      b.output(try b.relu(d))
    },
    CompiledCase("fire module: squeeze conv, two expand convs, blocked concat") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 24, 9, 9])
      let s = try b.relu(try b.conv2d(x, weight: T.weight(b, [16, 24, 1, 1], seed: 11)))
      let e1 = try b.relu(try b.conv2d(s, weight: T.weight(b, [32, 16, 1, 1], seed: 12)))
      let e3 = try b.relu(try b.conv2d(s, weight: T.weight(b, [16, 16, 3, 3], seed: 13), padding: 1))
      b.output(try b.maxPool2d(try b.concat([e1, e3], axis: 1), kernel: 3, stride: 2, ceilMode: true))
    },
    CompiledCase("batch 3: conv, depthwise, pool, residual", partition: { _ in [[0], [1, 2], [3], [4, 5, 6, 7]] }) {
      b throws(GraphFuseError) in
      let x = b.input("x", shape: [3, 16, 11, 12])
      let c = try b.conv2d(
        x, weight: T.weight(b, [32, 16, 3, 3], seed: 14), bias: T.weight(b, [32], seed: 15), padding: 1)
      let d = try b.relu6(try b.conv2d(c, weight: T.weight(b, [32, 1, 3, 3], seed: 16), padding: 1, groups: 32))
      let p = try b.avgPool2d(d, kernel: 2, stride: 1, padding: 1, countIncludePad: true)
      let e = try b.conv2d(p, weight: T.weight(b, [32, 32, 2, 2], seed: 17), bias: T.weight(b, [32], seed: 18))
      b.output(try b.relu(try b.add(try b.mul(e, T.weight(b, [1], seed: 19)), c)))
    },
    CompiledCase("conv plus a constant tensor of the output's shape", partition: { _ in [[0, 1]] }) {
      b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 8, 6, 6])
      let c = try b.conv2d(x, weight: T.weight(b, [20, 8, 3, 3], seed: 23), padding: 1)
      b.output(try b.add(c, T.weight(b, [1, 20, 6, 6], seed: 24)))
    },
  ]

  @Test(arguments: blockedChains) func blockedChain(_ c: CompiledCase) throws { try T.check(c) }

  /// With batch 2 a concat input is not one contiguous run of the output, so the blocks are copied.
  @Test func channelConcatOfBlockedValuesCopiesBlocks() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 16, 5, 5])
    let c = try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 1))
    b.output(try b.concat([c, try b.relu(c)], axis: 1))
    let graph = try b.finish()
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    #expect(model.source.contains("memcpy(out + task*400"))
    let input = Tensor.random(shape: [2, 16, 5, 5], seed: 3)
    #expect(
      try model.run([input])[0].compared(to: ReferenceExecutor.run(graph, inputs: [input])[0]).isWithin(relative: 1e-5))
  }

  /// A global average pool over a blocked conv output (20 channels: a padded last block) runs
  /// the blocked template, writes plain output, and feeds a 1×1 conv and a flatten.
  @Test func globalAveragePoolOfBlockedInput() throws {
    let c = CompiledCase("conv+relu, global average pool, 1×1 conv and flatten", partition: Self.runs([2, 1])) {
      b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, 8, 7, 5])
      let g = try b.globalAvgPool(
        try b.relu(try b.conv2d(x, weight: T.weight(b, [20, 8, 3, 3], seed: 30), padding: 1)))
      b.output(try b.conv2d(g, weight: T.weight(b, [12, 20, 1, 1], seed: 31)))
      b.output(try b.flatten(g))
    }
    try T.check(c)
    let b = GraphBuilder()
    try c.build(b)
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: c.partition!(graph)))
    #expect(try Scheduler.schedule(graph, plan: plan, vectorWidth: 16).schedules[1].map(\.kind) == [.globalAveragePool])
  }

  @Test func convUsesBlockedSchedule() throws {
    let b = GraphBuilder()
    // 16 input channels: one vector, too few for Winograd, so the direct schedule runs.
    let x = b.input("x", shape: [1, 16, 8, 8])
    b.output(try b.relu(try b.conv2d(x, weight: T.weight(b, [32, 16, 3, 3], seed: 1), padding: 1)))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1]]))
    let c = try Lowering.cSource(graph, plan: plan, group: 0)
    // The register tile: 10 or 11 pixels × 2 vectors of accumulators, the epilogue on each before its store.
    #expect(c.contains("acc1_9 += (w1 * x9);"))
    #expect(c.contains("gf_vmax(acc1_9, gf_splat(0.0f))"))
  }

  @Test(arguments: cases) func fusedGroup(_ c: CompiledCase) throws { try T.check(c) }

  @Test func concurrentRunsAgree() async throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 12, 12])
    let c = try b.conv2d(x, weight: T.weight(b, [16, 16, 3, 3], seed: 1), bias: T.weight(b, [16], seed: 2), padding: 1)
    b.output(try b.relu(try b.add(c, x)))
    let graph = try b.finish()
    let model = try CompiledModel.compile(
      graph, plan: FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1, 2]])), options: T.options)
    let input = Tensor.random(shape: [1, 16, 12, 12], seed: 3)
    let expected = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let results = try await withThrowingTaskGroup(of: [Tensor].self) { group in
      for _ in 0..<4 {
        group.addTask {
          var last: [Tensor] = []
          for _ in 0..<20 { last = try model.run([input]) }
          return last
        }
      }
      var all: [[Tensor]] = []
      for try await r in group { all.append(r) }
      return all
    }
    #expect(results.count == 4)
    for r in results {
      #expect(r[0] == results[0][0])
      #expect(r[0].compared(to: expected).isWithin(relative: 1e-4))
    }
  }

  @Test func planMissingANodeThrows() throws {
    let b = GraphBuilder()
    b.output(try b.relu(try b.exp(b.input("x", shape: [2, 3]))))
    let graph = try b.finish()
    let partial = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0]]))
    #expect(throws: GraphFuseError.self) { try CompiledModel.compile(graph, plan: partial, options: T.options) }
    let twice = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1], [1]]))
    #expect(throws: GraphFuseError.self) { try CompiledModel.compile(graph, plan: twice, options: T.options) }
  }

  @Test func groupsRunInDependencyOrder() throws {
    // A residual block whose add group is listed before the downsample conv it reads.
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 6, 6])
    let c = try b.conv2d(x, weight: T.weight(b, [16, 16, 3, 3], seed: 1), padding: 1)
    let d = try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 2))
    b.output(try b.relu(try b.add(c, d)))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 2, 3], [1]]))
    let model = try CompiledModel.compile(graph, plan: plan, options: T.options)
    let input = Tensor.random(shape: [1, 16, 6, 6], seed: 3)
    #expect(
      try model.run([input])[0].compared(to: ReferenceExecutor.run(graph, inputs: [input])[0]).isWithin(relative: 1e-4))
    #expect(try model.profile([input], runs: 3).map(\.name) == plan.groups.map(\.name))
  }

  @Test func emptyTensorsAreHandled() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 5])
    let empty = try b.slice(x, starts: [3], ends: [3], axes: [1])
    b.output(try b.concat([try b.relu(empty), x], axis: 1))
    b.output(try b.exp(empty))
    let graph = try b.finish()
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    let input = Tensor.random(shape: [2, 5], seed: 1)
    let out = try model.run([input])
    #expect(out[0] == input)
    #expect(out[0].compared(to: try ReferenceExecutor.run(graph, inputs: [input])[0]).isWithin(relative: 0))
    #expect(out[1].shape == [2, 0])
  }

  @Test func badInputShapeThrows() throws {
    let b = GraphBuilder()
    b.output(try b.relu(b.input("x", shape: [2, 3])))
    let graph = try b.finish()
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    #expect(throws: GraphFuseError.self) { try model.run([Tensor(zeros: [3, 2])]) }
  }

  @Test func intermediateBytesCountsGroupOutputs() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 5, 5])
    b.output(try b.relu(try b.conv2d(x, weight: T.weight(b, [4, 4, 3, 3], seed: 1), padding: 1)))
    let graph = try b.finish()
    let unfused = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    let fused = try CompiledModel.compile(
      graph, plan: FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1]])), options: T.options)
    #expect(unfused.intermediateBytes == 1 * 4 * 5 * 5 * 4)
    #expect(fused.intermediateBytes == 0)
  }
}
