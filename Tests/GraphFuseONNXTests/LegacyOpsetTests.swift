import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Semantics of old opsets that onnxruntime no longer runs (so no generated fixture).
@Suite("ONNX legacy opsets")
struct LegacyOpsetTests {
  @Test func legacyAxisBroadcastAlignsTheSecondOperand() throws {
    let model = ModelWriter.model(opset: 6) { g in
      g.message(1) { n in
        n.string(1, "x")
        n.string(1, "b")
        n.string(2, "y")
        n.string(3, "add")
        n.string(4, "Add")
        n.message(5) {
          $0.string(1, "broadcast"); $0.int(20, 2); $0.int(3, 1)
        }
        n.message(5) {
          $0.string(1, "axis"); $0.int(20, 2); $0.int(3, 1)
        }
      }
      g.message(5) { t in
        t.int(1, 3)
        t.int(2, 1)
        for v: Float in [10, 20, 30] { t.float(4, v) }
        t.string(8, "b")
      }
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 3, 2])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [2, 3, 2])
    }
    let graph = try ONNXImporter.load(data: model)
    let x = Tensor(shape: [2, 3, 2], repeating: 1)
    let y = try ReferenceExecutor.run(graph, inputs: [x])[0]
    #expect(y.data == [11, 11, 21, 21, 31, 31, 11, 11, 21, 21, 31, 31])
  }
}
