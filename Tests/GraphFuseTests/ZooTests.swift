import Foundation
import Testing

@testable import GraphFuse

/// The built-in models: structure, op counts, weights, determinism, and a run of `tiny`.
@Suite struct ZooTests {
  /// Models built once per test run (building ResNet-50's weights takes a while in a debug build).
  nonisolated(unsafe) private static var cache: [String: Graph] = [:]
  private static let lock = NSLock()

  static func model(_ name: String) throws -> Graph {
    lock.lock()
    defer { lock.unlock() }
    if let graph = cache[name] { return graph }
    let graph = try ModelZoo.build(name)
    cache[name] = graph
    return graph
  }

  struct Expectation: Sendable, CustomTestStringConvertible {
    var model: String
    var input: [Int]
    var output: [Int]
    var counts: [String: Int]
    var names: [String]
    var testDescription: String { model }
  }

  static let expectations: [Expectation] = [
    Expectation(
      model: "tiny", input: [1, 3, 32, 32], output: [1, 10],
      counts: [
        "conv2d": 4, "batch_norm": 4, "relu": 3, "add": 1, "clip": 1, "global_avg_pool": 1, "flatten": 1, "gemm": 1,
      ],
      names: ["stem.conv", "block.bn2", "block.add", "dw.conv", "dw.relu6", "fc"]),
    Expectation(
      model: "resnet18", input: [1, 3, 224, 224], output: [1, 1000],
      counts: [
        "conv2d": 20, "batch_norm": 20, "relu": 17, "add": 8, "max_pool2d": 1, "global_avg_pool": 1, "flatten": 1,
        "gemm": 1,
      ],
      names: [
        "conv1", "bn1", "maxpool", "layer1.0.conv1", "layer1.0.bn1", "layer2.0.downsample.0", "layer2.0.downsample.1",
        "layer4.1.bn2", "layer4.1.relu2", "avgpool", "fc",
      ]),
    Expectation(
      model: "resnet50", input: [1, 3, 224, 224], output: [1, 1000],
      counts: [
        "conv2d": 53, "batch_norm": 53, "relu": 49, "add": 16, "max_pool2d": 1, "global_avg_pool": 1, "flatten": 1,
        "gemm": 1,
      ],
      names: [
        "layer1.0.downsample.0", "layer1.2.conv3", "layer1.2.bn3", "layer3.5.relu3", "layer4.0.downsample.1", "fc",
      ]),
    Expectation(
      model: "mobilenet_v2", input: [1, 3, 224, 224], output: [1, 1000],
      counts: ["conv2d": 52, "batch_norm": 52, "clip": 35, "add": 10, "global_avg_pool": 1, "flatten": 1, "gemm": 1],
      names: [
        "features.0.0", "features.0.1", "features.0.2", "features.1.conv.0.0", "features.1.conv.1", "features.1.conv.2",
        "features.2.conv.0.0", "features.2.conv.1.0", "features.2.conv.2", "features.2.conv.3", "features.3.add",
        "features.17.conv.3", "features.18.0", "features.18.2", "classifier.1",
      ]),
  ]

  @Test(arguments: expectations) func structure(_ e: Expectation) throws {
    let graph = try Self.model(e.model)
    try graph.verify()
    #expect(graph.inputs.map(graph.shape(of:)) == [e.input])
    #expect(graph.outputs.map(graph.shape(of:)) == [e.output])
    let counts = Dictionary(uniqueKeysWithValues: graph.opCounts.map { ($0.op, $0.count) })
    #expect(counts == e.counts)
    let names = Set(graph.nodes.map(\.name))
    for name in e.names { #expect(names.contains(name), "\(e.model) has no node '\(name)'") }
    // every conv is bias-free and feeds an inference-mode batch norm
    let consumers = graph.consumers()
    for node in graph.nodes where node.op == "conv2d" {
      #expect(node.inputs.count == 2, "\(node.name) has a bias")
      let next = consumers[node.outputs[0].index].map { graph.nodes[$0] }
      #expect(
        next.count == 1 && next[0].op == "batch_norm" && !next[0].attributes.bool("training", default: true),
        "\(node.name)")
    }
  }

  @Test(arguments: ModelZoo.names) func batchNormStatisticsAreNonTrivial(_ model: String) throws {
    let graph = try Self.model(model)
    for node in graph.nodes where node.op == "batch_norm" {
      let p = try node.inputs[1...].map { id in
        try #require(graph.constant(id), "\(node.name) parameter is not a constant")
      }
      let (gamma, beta, mean, variance) = (p[0].data, p[1].data, p[2].data, p[3].data)
      #expect(gamma.allSatisfy { (0.5...1.5).contains($0) } && gamma.contains { $0 != 1 }, "\(node.name) γ")
      #expect(beta.allSatisfy { (-0.2...0.2).contains($0) } && beta.contains { $0 != 0 }, "\(node.name) β")
      #expect(mean.allSatisfy { (-0.2...0.2).contains($0) } && mean.contains { $0 != 0 }, "\(node.name) μ")
      #expect(variance.allSatisfy { (0.5...2.0).contains($0) } && variance.contains { $0 != 1 }, "\(node.name) σ²")
    }
  }

  @Test func mobileNetUsesDepthwiseConvolutions() throws {
    let graph = try Self.model("mobilenet_v2")
    let depthwise = graph.nodes.filter { node in
      node.op == "conv2d" && node.attributes.int("group", default: 1) == graph.shape(of: node.inputs[0])[1]
        && node.attributes.int("group", default: 1) > 1
    }
    #expect(depthwise.count == 17)
    #expect(graph.nodes.contains { $0.name == "features.18.0" && graph.shape(of: $0.outputs[0]) == [1, 1280, 7, 7] })
  }

  @Test func resnetStagesHaveTorchvisionShapes() throws {
    let graph = try Self.model("resnet50")
    let shapes = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.name, graph.shape(of: $0.outputs[0])) })
    #expect(shapes["maxpool"] == [1, 64, 56, 56])
    #expect(shapes["layer1.2.relu3"] == [1, 256, 56, 56])
    #expect(shapes["layer2.0.conv2"] == [1, 128, 28, 28])  // v1.5: the stride is on the 3×3 conv
    #expect(shapes["layer4.2.relu3"] == [1, 2048, 7, 7])
  }

  @Test func tinyRunsOnTheReferenceExecutor() throws {
    let graph = try ModelZoo.build("tiny")
    let x = Tensor.random(shape: [1, 3, 32, 32], seed: 42)
    let y = try ReferenceExecutor.run(graph, inputs: [x])
    try #require(y.count == 1)
    #expect(y[0].shape == [1, 10])
    #expect(y[0].data.allSatisfy { $0.isFinite })
    let largest = y[0].data.map(abs).max() ?? 0
    #expect(largest > 0.01 && largest < 1e4, "max |logit| \(largest)")
    // a different image gives different logits
    #expect(try ReferenceExecutor.run(graph, inputs: [Tensor.random(shape: [1, 3, 32, 32], seed: 43)])[0] != y[0])
  }

  @Test func batchSizeIsAParameter() throws {
    let graph = try ModelZoo.build("tiny", batch: 3)
    #expect(graph.shape(of: graph.inputs[0]) == [3, 3, 32, 32])
    #expect(graph.shape(of: graph.outputs[0]) == [3, 10])
    let one = try ModelZoo.build("resnet18", batch: 2)
    #expect(one.shape(of: one.outputs[0]) == [2, 1000])
  }

  @Test(arguments: ModelZoo.names) func buildsAreDeterministic(_ model: String) throws {
    let a = try Self.model(model), b = try ModelZoo.build(model)
    #expect(a.description == b.description)
    #expect(a.nodes == b.nodes)
    #expect(a.constants == b.constants)
  }

  @Test func unknownModelListsTheKnownOnes() {
    #expect(throws: GraphFuseError.self) { try ModelZoo.build("vgg16") }
    do {
      _ = try ModelZoo.build("vgg16")
    } catch {
      for name in ModelZoo.names { #expect(error.description.contains("zoo:\(name)"), "\(error)") }
      #expect(error.description.contains("vgg16"))
    }
    #expect(throws: GraphFuseError.self) { try ModelZoo.build("tiny", batch: 0) }
  }

  /// `GRAPHFUSE_SLOW=1 swift test -c release --filter ZooTests/resnet50OnTheReferenceExecutor`:
  /// issue 2 asks for < 1 minute.
  @Test(
    .enabled(if: ProcessInfo.processInfo.environment["GRAPHFUSE_SLOW"] == "1", "skipped: slow; set GRAPHFUSE_SLOW=1"))
  func resnet50OnTheReferenceExecutor() throws {
    let graph = try ModelZoo.build("resnet50")
    let start = Date()
    let y = try ReferenceExecutor.run(graph, inputs: [Tensor.random(shape: [1, 3, 224, 224], seed: 1)])[0]
    let seconds = Date().timeIntervalSince(start)
    print("zoo:resnet50 on the reference executor: \(seconds) s, max |logit| \(y.data.map(abs).max()!)")
    #expect(y.data.allSatisfy { $0.isFinite })
    #expect(seconds < 60)
  }
}
