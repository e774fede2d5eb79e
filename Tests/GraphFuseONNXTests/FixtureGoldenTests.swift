import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Imports a model, runs it on the reference executor with its golden input and compares.
func goldenComparison(model: String, input: String, output: String, shapes: [String: [Int]] = [:], report: Bool = false)
  throws -> TensorComparison
{
  let start = Date()
  let graph = try ONNXImporter.load(path: model, shapes: shapes)
  if report {
    let ops = graph.opCounts.map { "\($0.op)×\($0.count)" }.joined(separator: " ")
    print(
      "imported \(URL(fileURLWithPath: model).lastPathComponent) in "
        + "\(String(format: "%.2f", Date().timeIntervalSince(start))) s: \(ops)"
    )
  }
  try graph.verify()
  #expect(graph.inputs.count == 1)
  let x = try RawTensorFile.read(path: input, shape: graph.shape(of: graph.inputs[0]))
  let expected = try RawTensorFile.read(path: output, shape: graph.shape(of: graph.outputs[0]))
  let y = try ReferenceExecutor.run(graph, inputs: [x])[0]
  return y.compared(to: expected)
}

@Suite("ONNX fixtures match onnxruntime")
struct FixtureGoldenTests {
  struct Case: Sendable, CustomStringConvertible {
    let name: String
    var shapes: [String: [Int]] = [:]
    var description: String { name }
  }

  @Test(arguments: [
    Case(name: "conv_bn_relu", shapes: ["x": [1, 3, 9, 9]]),
    Case(name: "shuffle_reshape"),
    Case(name: "activations"),
    Case(name: "gemm_bn1d"),
    Case(name: "pooling"),
    Case(name: "slice_pad_concat"),
    Case(name: "bn_training"),
    Case(name: "conv_transpose_old_opset"),
    Case(name: "misc_ops"),
    Case(name: "split_shuffle"),
    Case(name: "external_weights"),
    Case(name: "transformer_block"),
    Case(name: "mask_ops"),
    Case(name: "windows_1d"),
    Case(name: "resize"),
  ])
  func matchesGolden(_ c: Case) throws {
    let comparison = try goldenComparison(
      model: Fixtures.path(c.name + ".onnx"), input: Fixtures.path(c.name + ".input.bin"),
      output: Fixtures.path(c.name + ".output.bin"), shapes: c.shapes)
    print("fixture \(c.name): \(comparison)")
    #expect(comparison.isWithin(relative: 1e-4), "\(c.name): \(comparison)")
  }

  @Test func shapeArithmeticBecomesPlainReshapes() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("shuffle_reshape.onnx"))
    #expect(graph.nodes.map(\.op) == ["conv2d", "reshape", "transpose", "reshape"])
    #expect(graph.nodes[1].attributes["shape"] == .ints([1, 2, 4, 5, 5]))
    #expect(graph.nodes[3].attributes["shape"] == .ints([1, 8, 5, 5]))
    #expect(graph.nodes[1].name == "reshape5")
    #expect(graph.constants.count == 1, "only the conv weight becomes a graph constant")
  }

  @Test func splitBecomesSlicesNamedAfterOutputs() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("split_shuffle.onnx"))
    let slices = graph.nodes.filter { $0.op == "slice" }
    #expect(slices.map(\.name) == ["chunk", "chunk/slice_1", "split_sizes", "split_sizes/slice_1"])
    #expect(slices.map { graph.values[$0.outputs[0]].name } == ["a", "b", "p", "q"])
    #expect(graph.nodes.filter { $0.op == "reshape" }.count == 2)
  }

  @Test func namesAndAttributesArePreserved() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("conv_bn_relu.onnx"), shapes: ["x": [2, 3, 9, 9]])
    #expect(graph.nodes.map(\.name) == ["conv", "bn", "relu"])
    #expect(graph.nodes.map(\.op) == ["conv2d", "batch_norm", "relu"])
    #expect(graph.nodes[0].attributes["pads"] == .ints([1, 1, 1, 1]))
    #expect(graph.nodes[0].attributes["strides"] == .ints([2, 2]))
    #expect(graph.nodes[1].attributes["training"] == .int(0))
    #expect(graph.values[graph.outputs[0]].name == "y")
    #expect(graph.shape(of: graph.outputs[0]) == [2, 6, 5, 5])
    let weight = try #require(graph.nodes[0].inputs.dropFirst().first)
    #expect(graph.values[weight].name == "w")
    #expect(graph.constant(weight)?.shape == [6, 3, 3, 3])
  }

  @Test func clipBoundsThroughCastAreFolded() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("activations.onnx"))
    let clip = try #require(graph.nodes.first { $0.name == "relu6" })
    #expect(clip.op == "clip")
    #expect(clip.attributes["min"] == .float(0))
    #expect(clip.attributes["max"] == .float(6))
    #expect(!graph.nodes.contains { $0.op == "cast" })
  }

  @Test func trainingModeBatchNormKeepsBatchStatistics() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("bn_training.onnx"))
    let bn = try #require(graph.nodes.first { $0.op == "batch_norm" })
    #expect(bn.attributes["training"] == .int(1))
    #expect(bn.outputs.count == 1, "unused running-statistics outputs are not materialized")
  }

  @Test func runtimeGatherBecomesIRGather() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("slice_pad_concat.onnx"))
    let gathers = graph.nodes.filter { $0.op == "gather" }
    #expect(gathers.count == 2)
    #expect(gathers[0].attributes["indices"] == .ints([2, 0, 1, 1]))
    #expect(gathers[0].attributes["indices_shape"] == .ints([2, 2]))
    #expect(gathers[1].attributes["indices_shape"] == .ints([]))
  }

  @Test func rawTensorFilesRoundTrip() throws {
    let t = Tensor.random(shape: [2, 3], seed: 7)
    let path = NSTemporaryDirectory() + "graphfuse-raw-\(getpid()).bin"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try RawTensorFile.write(t, path: path)
    #expect(try RawTensorFile.read(path: path, shape: [2, 3]) == t)
    #expect(try RawTensorFile.read(path: path, shape: [6]).data == t.data)
  }
}
