import Testing

@testable import GraphFuse

/// Fusion outcomes pinned against TVM's FuseOps behavior.
@Suite struct FusionTests {
  func plan(_ build: (GraphBuilder) throws -> Void, options: OptimizeOptions = .init()) throws -> (Graph, FusionPlan) {
    let b = GraphBuilder()
    try build(b)
    let graph = try b.finish()
    return (graph, Fusion.plan(graph, options: options))
  }

  @Test func convBiasReluIsOneGroup() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let c = try TestNets.conv(b, x, out: 8, seed: 1)
      let bias = b.constant(Tensor.random(shape: [8, 1, 1], seed: 2))
      b.output(try b.relu(b.add(c, bias)))
    }
    #expect(plan.opLists(graph) == ["conv2d add relu"])
    #expect(plan.groups[0].name == "fused_conv2d_add_relu")
    #expect(graph.nodes[plan.groups[0].anchor].op == "conv2d")
    #expect(plan.groups[0].pattern == .outEWiseFusable)
  }

  @Test func addBeforeConvIsNotFusedIntoIt() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let shifted = try b.add(x, b.constant(Tensor(shape: [4, 1, 1], repeating: 0.5)))
      b.output(try TestNets.conv(b, shifted, out: 8, seed: 1))
    }
    #expect(plan.opLists(graph) == ["add", "conv2d"])
  }

  @Test func onlyOneOfTwoConvsJoinsTheAdd() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let a = try TestNets.conv(b, x, out: 8, seed: 1)
      let c = try TestNets.conv(b, x, out: 8, seed: 2)
      b.output(try b.relu(b.add(a, c)))
    }
    #expect(
      plan.opLists(graph) == ["conv2d add relu", "conv2d"] || plan.opLists(graph) == ["conv2d", "conv2d add relu"])
    #expect(plan.groups.allSatisfy { g in g.nodes.filter { graph.nodes[$0].op == "conv2d" }.count == 1 })
  }

  @Test func branchesThatRejoinAreOneGroup() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let c = try TestNets.conv(b, x, out: 8, seed: 1)
      let r = try b.relu(c), s = try b.sigmoid(c), t = try b.tanh(c)
      b.output(try b.add(b.add(r, s), t))
    }
    #expect(plan.groups.count == 1)
    #expect(plan.opLists(graph) == ["conv2d relu sigmoid tanh add add"])
  }

  @Test func reshapeAfterConvStaysOut() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let c = try TestNets.conv(b, x, out: 8, seed: 1)
      b.output(try b.relu(b.reshape(c, to: [1, 512])))
    }
    #expect(plan.opLists(graph) == ["conv2d", "reshape relu"])
  }

  @Test func opaqueOpStaysAlone() throws {
    let (graph, plan) = try plan(
      { b in
        let x = b.input("x", shape: [1, 4, 8, 8])
        let c = try TestNets.conv(b, x, out: 8, seed: 1)
        b.output(try b.relu(b.sigmoid(c)))
      }, options: OptimizeOptions(opaque: ["sigmoid"]))
    #expect(plan.opLists(graph) == ["conv2d", "sigmoid", "relu"])
  }

  @Test func trainingBatchNormIsOpaque() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [2, 4, 8, 8])
      let c = try TestNets.conv(b, x, out: 8, seed: 1)
      b.output(try b.relu(TestNets.batchNorm(b, c, seed: 5, training: true)))
    }
    #expect(plan.opLists(graph) == ["conv2d", "batch_norm", "relu"])
  }

  @Test func concatOfInjectiveProducersFuses() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let y = b.input("y", shape: [1, 4, 8, 8])
      let a = try b.transpose(x, perm: [0, 1, 3, 2])
      let s = try b.slice(y, starts: [0], ends: [8], axes: [2])
      b.output(try b.concat([a, s], axis: 1))
    }
    #expect(plan.opLists(graph) == ["transpose slice concat"])
  }

  @Test func keptBatchNormFusesWithConvAndRelu() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 8, 8])
    let c = try TestNets.conv(b, x, out: 8, seed: 1)
    b.output(try b.relu(TestNets.batchNorm(b, c, seed: 3)))
    let optimized = try b.finish().optimized(OptimizeOptions(keep: ["batch_norm"], verifyEachPass: true))
    #expect(optimized.plan.groups.map(\.name) == ["fused_conv2d_batch_norm_relu"])
    #expect(optimized.batchNorms.map { $0.reason } == [.keptWhole])
  }

  @Test func noFuseGivesOneGroupPerOp() throws {
    let (graph, plan) = try plan(
      { b in
        let x = b.input("x", shape: [1, 4, 8, 8])
        b.output(try b.relu(TestNets.conv(b, x, out: 8, seed: 1)))
      }, options: OptimizeOptions(fuse: false))
    #expect(plan.opLists(graph) == ["conv2d", "relu"])
  }

  @Test func maxGroupSizeCapsGroups() throws {
    let (_, plan) = try plan(
      { b in
        var v = b.input("x", shape: [1, 4, 4, 4])
        for _ in 0..<10 { v = try b.relu(v) }
        b.output(v)
      }, options: OptimizeOptions(maxGroupSize: 4))
    #expect(plan.groups.allSatisfy { $0.nodes.count <= 4 })
    #expect(plan.groups.count >= 3)
  }

  @Test func groupNamesAreDeduplicated() throws {
    let (_, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let a = try b.relu(TestNets.conv(b, x, out: 4, seed: 1))
      b.output(try b.relu(TestNets.conv(b, a, out: 4, seed: 2)))
    }
    #expect(plan.groups.map(\.name) == ["fused_conv2d_relu", "fused_conv2d_relu_1"])
  }

  @Test func groupInputsAndOutputsCrossBoundaries() throws {
    let (graph, plan) = try plan { b in
      let x = b.input("x", shape: [1, 4, 8, 8])
      let a = try b.relu(TestNets.conv(b, x, out: 4, seed: 1))
      b.output(try b.relu(b.add(TestNets.conv(b, a, out: 4, seed: 2), a)))
    }
    #expect(plan.groups.count == 2)
    let first = plan.groups[0], second = plan.groups[1]
    #expect(first.outputs.count == 1)
    #expect(second.inputs.contains(first.outputs[0]))
    #expect(second.outputs == graph.outputs)
  }
}
