import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Imports a model, compiles it (folded and fused as the CLI does) and compares its output on
/// the golden input with the golden output.
func compiledGoldenComparison(model: String, input: String, output: String) throws -> TensorComparison {
  let graph = try ONNXImporter.load(path: model)
  let optimized = try graph.optimized()
  let x = try RawTensorFile.read(path: input, shape: graph.shape(of: graph.inputs[0]))
  let expected = try RawTensorFile.read(path: output, shape: graph.shape(of: graph.outputs[0]))
  let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")
  let y = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run([x])[0]
  return y.compared(to: expected)
}

@Suite("Transformer and modern-convnet models")
struct ModernModelTests {
  /// The committed fixtures of the new ops, on the compiled backend (the reference backend runs
  /// them in `FixtureGoldenTests`).
  @Test(arguments: ["transformer_block", "mask_ops", "external_weights", "windows_1d", "resize"])
  func fixtureMatchesGoldenCompiled(_ name: String) throws {
    let comparison = try compiledGoldenComparison(
      model: Fixtures.path(name + ".onnx"), input: Fixtures.path(name + ".input.bin"),
      output: Fixtures.path(name + ".output.bin"))
    print("compiled fixture \(name): \(comparison)")
    #expect(comparison.isWithin(relative: 1e-4), "\(name): \(comparison)")
  }

  @Test func maskArithmeticFoldsAtImport() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("mask_ops.onnx"))
    let ops = Set(graph.nodes.map(\.op))
    // ScatterND, Range, Mod, Equal, Not, Where and Expand all act on constants here.
    #expect(ops.isDisjoint(with: ["where", "equal", "not", "mod", "expand"]), "\(ops)")
    #expect(ops.isSuperset(of: ["erf", "layer_norm", "matmul", "concat"]), "\(ops)")
    let mask = try #require(graph.nodes.last.flatMap { graph.constant($0.inputs[0]) })
    #expect(mask.shape == [1, 5, 5])
    #expect(Set(mask.data) == [0, -100], "the mask selects 0 (same region) or -100")
  }

  @Test func oneDimensionalWindowsRunAsTwoDimensionalOnes() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("windows_1d.onnx"))
    let conv = try #require(graph.nodes.first { $0.op == "conv2d" })
    #expect(conv.name == "conv1/conv2d")
    #expect(conv.attributes["pads"] == .ints([0, 2, 0, 1]))
    #expect(conv.attributes["strides"] == .ints([1, 2]))
    #expect(conv.attributes["dilations"] == .ints([1, 2]))
    #expect(graph.constant(conv.inputs[1])?.shape == [6, 2, 1, 3], "the weight is reshaped at import")
    let pool = try #require(graph.nodes.first { $0.op == "max_pool2d" })
    #expect(pool.attributes["kernel_shape"] == .ints([1, 3]))
    #expect(graph.shape(of: graph.outputs[0]) == [2, 5, 3])
  }

  @Test func resizeBecomesGathersAndWeightedSums() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("resize.onnx"))
    let nearest = graph.nodes.filter { $0.name.hasPrefix("nearest_asym/") }
    // floor(o / 2) on both resized axes, the others untouched.
    #expect(nearest.map(\.op) == ["gather", "gather"])
    // The width first (it grows, and so does the height), then the height.
    #expect(nearest.map { $0.attributes.int("axis", default: -1) } == [3, 2])
    #expect(nearest.last?.attributes["indices"] == .ints([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]))
    let linear = graph.nodes.filter { $0.name.hasPrefix("linear_align/") }.map(\.op)
    #expect(linear.filter { $0 == "gather" }.count == 4 && linear.contains("mul"), "\(linear)")
  }

  @Test func transformerOpsStayAtRuntime() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("transformer_block.onnx"))
    let ops = Set(graph.nodes.map(\.op))
    let expected: Set<String> = [
      "layer_norm", "einsum", "gelu", "where", "equal", "not", "erf", "mod", "expand", "softmax",
    ]
    #expect(ops.isSuperset(of: expected), "missing \(expected.subtracting(ops))")
    let gelu = graph.nodes.filter { $0.op == "gelu" }.map { $0.attributes.int("approximate", default: -1) }
    #expect(gelu.sorted() == [0, 1])
    #expect(graph.nodes.first { $0.op == "einsum" }?.attributes["equation"] == .string("bhid,bhjd->bhij"))
  }

  static func sharedModels() -> [String] {
    guard let shared = Fixtures.shared else { return [] }
    let minis = SharedModelTests.onnxFiles("models/minis")
    let dynamo = shared + "/models/dynamo/mobilenet_v2.onnx"
    return minis + (FileManager.default.fileExists(atPath: dynamo) ? [dynamo] : [])
  }

  /// Every mini (ViT, Swin, ConvNeXt, MaxViT from both exporters) and the default exporter's
  /// MobileNetV2 (external data), compiled, against their goldens.
  @Test(
    .enabled(if: !sharedModels().isEmpty, "needs ../shared/models/minis beside the package"), arguments: sharedModels())
  func sharedModelMatchesGoldenCompiled(_ path: String) throws {
    let stem = String(path.dropLast(".onnx".count))
    let comparison = try compiledGoldenComparison(model: path, input: stem + ".input.bin", output: stem + ".output.bin")
    print("compiled golden \(URL(fileURLWithPath: path).lastPathComponent): \(comparison)")
    #expect(comparison.isWithin(relative: 1e-4), "\(path): \(comparison)")
  }

}
