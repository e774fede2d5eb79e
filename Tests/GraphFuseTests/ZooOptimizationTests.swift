import Foundation
import Testing

@testable import GraphFuse

/// The optimizer on the built-in models: fold counts, group structure, the pinned ResNet-18 report.
@Suite struct ZooOptimizationTests {
  @Test(arguments: [("tiny", 4), ("resnet18", 20), ("resnet50", 53), ("mobilenet_v2", 52)])
  func everyBatchNormFolds(name: String, count: Int) throws {
    let optimized = try ModelZoo.build(name).optimized(OptimizeOptions(verifyEachPass: true))
    #expect(optimized.batchNorms.count == count)
    #expect(optimized.batchNorms.allSatisfy { $0.foldedInto != nil })
    #expect(!optimized.graph.nodes.contains { $0.op == "batch_norm" || $0.op == "scale_shift" })
  }

  /// Every relu / clip and every residual add sits in the group of the conv that feeds it.
  @Test(arguments: ["resnet18", "mobilenet_v2", "resnet50"])
  func activationsAndResidualAddsJoinTheirConv(name: String) throws {
    let optimized = try ModelZoo.build(name).optimized()
    let graph = optimized.graph, plan = optimized.plan
    let groupOf = plan.groupOfNode
    var checked = 0
    for (n, node) in graph.nodes.enumerated() where ["relu", "clip", "add"].contains(node.op) {
      let group = plan.groups[groupOf[n]]
      #expect(graph.nodes[group.anchor].op == "conv2d", "\(node.name) is in \(group.name)")
      let fedFromGroup = node.inputs.contains {
        graph.producer(of: $0).map { groupOf[$0.index] == groupOf[n] } ?? false
      }
      #expect(fedFromGroup, "\(node.name) is not fed from inside \(group.name)")
      checked += 1
    }
    #expect(checked > 10)
    // One conv per group, except the conv chains GraphFuse adds to TVM's rules.
    #expect(
      plan.groups.allSatisfy { g in
        g.nodes.filter { OpRegistry.pattern(of: graph.nodes[$0]) == .outEWiseFusable }.count <= 1
          || ConvChain.match(graph, nodes: g.nodes, outputs: g.outputs) != nil
      })
  }

  @Test func tinyFoldedMatchesUnfolded() throws {
    let graph = try ModelZoo.build("tiny")
    let input = TestNets.input(graph)
    let expected = try ReferenceExecutor.run(graph, inputs: input)[0]
    for options in [OptimizeOptions(), OptimizeOptions(keep: ["batch_norm"]), .unfused] {
      let actual = try ReferenceExecutor.run(try graph.optimized(options).graph, inputs: input)[0]
      #expect(actual.compared(to: expected).isWithin(relative: 1e-4), "\(actual.compared(to: expected))")
    }
  }

  @Test func reportJSONCarriesTheContractKeys() throws {
    let report = try ModelZoo.build("tiny").optimized().report(model: "zoo:tiny")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
    #expect(object["model"] as? String == "zoo:tiny")
    let bn = try #require(object["batch_norm"] as? [String: Any])
    #expect(bn["total"] as? Int == 4)
    #expect(bn["folded"] as? Int == 4)
    #expect((bn["unfolded"] as? [Any])?.isEmpty == true)
    let groups = try #require(object["groups"] as? [[String: Any]])
    #expect(groups.count == report.groups.count)
    #expect(
      groups.allSatisfy {
        $0["name"] is String && $0["anchor"] is String && $0["pattern"] is String && $0["ops"] is [String]
      })
  }

  @Test func dotHasOneClusterPerGroup() throws {
    let optimized = try ModelZoo.build("tiny").optimized()
    let dot = GraphvizWriter.dot(optimized, model: "zoo:tiny")
    #expect(dot.hasPrefix("digraph"))
    #expect(dot.components(separatedBy: "subgraph cluster_").count - 1 == optimized.plan.groups.count)
    #expect(dot.hasSuffix("}"))
  }

  @Test func resnet18ReportIsPinned() throws {
    let report = try ModelZoo.build("resnet18").optimized().report(model: "zoo:resnet18")
    #expect(
      report.description == """
        zoo:resnet18: 69 ops → 49 after folding → 24 fused groups
        batch norms: 20 of 20 folded
        intermediates written: 68 tensors (32.9 MB) unfused → 23 (10.7 MB) fused; 45 tensors, 22.2 MB no longer written
        convolutions: 20 — 3 1×1, 17 dense k×k

         #  group                    anchor                 ops              shapes                                       MFLOP
         0  fused_conv2d_relu        conv1                  conv2d relu      [1,3,224,224] → [1,64,112,112]               236.8
         1  fused_max_pool2d         maxpool                max_pool2d       [1,64,112,112] → [1,64,56,56]                  1.8
         2  fused_conv2d_relu_1      layer1.0.conv1         conv2d relu      [1,64,56,56] → [1,64,56,56]                  231.4
         3  fused_conv2d_add_relu    layer1.0.conv2         conv2d add relu  [1,64,56,56] [1,64,56,56] → [1,64,56,56]     231.6
         4  fused_conv2d_relu_2      layer1.1.conv1         conv2d relu      [1,64,56,56] → [1,64,56,56]                  231.4
         5  fused_conv2d_add_relu_1  layer1.1.conv2         conv2d add relu  [1,64,56,56] [1,64,56,56] → [1,64,56,56]     231.6
         6  fused_conv2d_relu_3      layer2.0.conv1         conv2d relu      [1,64,56,56] → [1,128,28,28]                 115.7
         7  fused_conv2d             layer2.0.downsample.0  conv2d(1x1)      [1,64,56,56] → [1,128,28,28]                  12.8
         8  fused_conv2d_add_relu_2  layer2.0.conv2         conv2d add relu  [1,128,28,28] [1,128,28,28] → [1,128,28,28]  231.4
         9  fused_conv2d_relu_4      layer2.1.conv1         conv2d relu      [1,128,28,28] → [1,128,28,28]                231.3
        10  fused_conv2d_add_relu_3  layer2.1.conv2         conv2d add relu  [1,128,28,28] [1,128,28,28] → [1,128,28,28]  231.4
        11  fused_conv2d_relu_5      layer3.0.conv1         conv2d relu      [1,128,28,28] → [1,256,14,14]                115.7
        12  fused_conv2d_1           layer3.0.downsample.0  conv2d(1x1)      [1,128,28,28] → [1,256,14,14]                 12.8
        13  fused_conv2d_add_relu_4  layer3.0.conv2         conv2d add relu  [1,256,14,14] [1,256,14,14] → [1,256,14,14]  231.3
        14  fused_conv2d_relu_6      layer3.1.conv1         conv2d relu      [1,256,14,14] → [1,256,14,14]                231.3
        15  fused_conv2d_add_relu_5  layer3.1.conv2         conv2d add relu  [1,256,14,14] [1,256,14,14] → [1,256,14,14]  231.3
        16  fused_conv2d_relu_7      layer4.0.conv1         conv2d relu      [1,256,14,14] → [1,512,7,7]                  115.6
        17  fused_conv2d_2           layer4.0.downsample.0  conv2d(1x1)      [1,256,14,14] → [1,512,7,7]                   12.8
        18  fused_conv2d_add_relu_6  layer4.0.conv2         conv2d add relu  [1,512,7,7] [1,512,7,7] → [1,512,7,7]        231.3
        19  fused_conv2d_relu_8      layer4.1.conv1         conv2d relu      [1,512,7,7] → [1,512,7,7]                    231.2
        20  fused_conv2d_add_relu_7  layer4.1.conv2         conv2d add relu  [1,512,7,7] [1,512,7,7] → [1,512,7,7]        231.3
        21  fused_global_avg_pool    avgpool                global_avg_pool  [1,512,7,7] → [1,512,1,1]                      0.0
        22  fused_flatten            flatten                flatten          [1,512,1,1] → [1,512]                          0.0
        23  fused_gemm               fc                     gemm             [1,512] → [1,1000]                             1.0

        layouts: 22 kernels in NCHW\(System.vectorWidth)c; 0 layout conversions
        Winograd: 10 convs (fused_conv2d_relu_1, fused_conv2d_add_relu, fused_conv2d_relu_2, fused_conv2d_add_relu_1, \
        fused_conv2d_add_relu_2, fused_conv2d_relu_4, …)
        """)
  }
}
