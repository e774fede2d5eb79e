import Foundation
import GraphFuse
import GraphFuseONNX
import Testing

/// The transformer fixtures (a ViT-style block, a BERT-like encoder with int64 inputs) compiled
/// with vectors of 16, 8 and 4 floats match their golden outputs, as at the host's own width.
@Suite struct VectorWidthModelTests {
  static func run(_ graph: Graph, _ inputs: [Tensor], width: Int) throws -> [Tensor] {
    let optimized = try graph.optimized()
    var options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")
    options.vectorWidth = width
    return try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run(inputs)
  }

  @Test(arguments: [16, 8, 4])
  func transformerBlockAtEveryWidth(_ width: Int) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("transformer_block.onnx"))
    let x = try RawTensorFile.read(
      path: Fixtures.path("transformer_block.input.bin"), shape: graph.shape(of: graph.inputs[0]))
    let golden = try RawTensorFile.read(
      path: Fixtures.path("transformer_block.output.bin"), shape: graph.shape(of: graph.outputs[0]))
    let comparison = try Self.run(graph, [x], width: width)[0].compared(to: golden)
    #expect(comparison.isWithin(relative: 1e-4), "width \(width): \(comparison)")
  }

  @Test(arguments: [16, 8, 4])
  func textEncoderAtEveryWidth(_ width: Int) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("text_encoder.onnx"))
    let y = try Self.run(graph, try TextModelTests.inputs("text_encoder", graph), width: width)[0]
    let comparison = y.compared(to: try NPYFile.read(path: Fixtures.path("text_encoder.output0.npy")))
    #expect(comparison.isWithin(relative: 1e-5), "width \(width): \(comparison)")
  }
}
