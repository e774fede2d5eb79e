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

  /// T5's and MPNet's relative-position buckets: `cast(log(0) = -inf)` to int64, then `min` and a
  /// `where` that discards it. The cast gives x86's integer indefinite (ONNX Runtime's and
  /// PyTorch's value) instead of refusing the model, and the kept values come out exact.
  @Test func nonFiniteConstantCastsToTheIndefiniteInteger() throws {
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "Cast", inputs: ["c"], ints: ["to": 7], name: "cast", output: "ci")
      ModelWriter.node(&g, op: "Min", name: "min", inputs: ["ci", "most"], outputs: ["m"])
      ModelWriter.node(&g, op: "Greater", name: "positive", inputs: ["c", "zero_f"], outputs: ["keep"])
      ModelWriter.node(&g, op: "Where", name: "where", inputs: ["keep", "m", "zero_i"], outputs: ["w"])
      OpModels.node(&g, op: "Cast", inputs: ["w"], ints: ["to": 1], name: "as_float", output: "wf")
      ModelWriter.node(&g, op: "Add", name: "add", inputs: ["x", "wf"], outputs: ["y"])
      OpModels.initializer(&g, name: "c", dims: [3], floats: [-.infinity, 2.7, 40])
      OpModels.initializer(&g, name: "most", dims: [], ints: [15])
      OpModels.initializer(&g, name: "zero_i", dims: [], ints: [0])
      OpModels.initializer(&g, name: "zero_f", dims: [], floats: [0])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [3])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [3])
    }
    let x = Tensor(shape: [3], data: [1, 1, 1])
    let (reference, compiled) = try OpModels.outputs(model, x)
    #expect(reference.data == [1, 3, 16])
    #expect(compiled.data == [1, 3, 16])
  }
}
