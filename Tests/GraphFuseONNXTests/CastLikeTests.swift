import GraphFuse
import Testing

@testable import GraphFuseONNX

/// CastLike casts its first input to the element type of its second, as the dynamo exporter
/// emits it (`optimize=False` keeps one per conv bias): float → int64 truncates, int64 → float
/// renames, on both backends.
@Suite struct CastLikeTests {
  static var model: [UInt8] {
    ModelWriter.model(opset: 18) { g in
      ModelWriter.node(&g, op: "CastLike", name: "ids_as_x", inputs: ["ids", "x"], outputs: ["a"])
      ModelWriter.node(&g, op: "Add", name: "add", inputs: ["a", "x"], outputs: ["y"])
      ModelWriter.node(&g, op: "CastLike", name: "x_as_ids", inputs: ["x", "ids"], outputs: ["z"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 4])
      ModelWriter.valueInfo(&g, field: 11, name: "ids", dims: [1, 4], type: 7)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 4])
      ModelWriter.valueInfo(&g, field: 12, name: "z", dims: [1, 4], type: 7)
    }
  }

  @Test func castsToTheSecondInputsType() throws {
    let graph = try ONNXImporter.load(data: Self.model, name: "castlike.onnx")
    #expect(graph.outputs.map(graph.dataType(of:)) == [.float32, .int64])
    let x = Tensor(shape: [1, 4], data: [1.5, -2.7, 0.2, 3])
    let ids = Tensor(shape: [1, 4], data: [4, 0, 7, 1])
    let reference = try ReferenceExecutor.run(graph, inputs: [x, ids])
    #expect(reference[0].data == [5.5, -2.7, 7.2, 4])
    #expect(reference[1].data == [1, -2, 0, 3])
    let optimized = try graph.optimized()
    let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan).run([x, ids])
    #expect(compiled[0].data == reference[0].data && compiled[1].data == reference[1].data)
  }
}
