import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Ops that full-size torchvision exports need beyond the minis (Swin V2: ReduceL2 from
/// `F.normalize`, GatherND from the relative-position table lookup), on both backends.
@Suite("Full-size export ops")
struct FullSizeExportOpsTests {
  @Test(arguments: ["gather_nd_norms", "square_reductions_13"])
  func fixtureMatchesGolden(_ name: String) throws {
    let paths = (Fixtures.path(name + ".onnx"), Fixtures.path(name + ".input.bin"), Fixtures.path(name + ".output.bin"))
    let reference = try goldenComparison(model: paths.0, input: paths.1, output: paths.2)
    let compiled = try compiledGoldenComparison(model: paths.0, input: paths.1, output: paths.2)
    print("fixture \(name): reference \(reference), compiled \(compiled)")
    #expect(reference.isWithin(relative: 1e-5), "\(name) reference: \(reference)")
    #expect(compiled.isWithin(relative: 1e-4), "\(name) compiled: \(compiled)")
  }

  @Test func gatherNDBecomesOneGatherOverFlattenedRows() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("gather_nd_norms.onnx"))
    func gather(_ name: String) throws -> Node { try #require(graph.nodes.first { $0.name == name }) }
    // [12, 8] table, rows 11, 0, -1 → 11, 5, 5, -12 → 0, 7.
    #expect(try gather("rows_nd").attributes["indices"] == .ints([11, 0, 11, 5, 5, 0, 7]))
    // [2, 6, 8] indexed by (i, j) pairs: row i·6 + j.
    #expect(try gather("pairs_nd").attributes["indices"] == .ints([11, 0, 8]))
    #expect(try gather("pairs_nd").attributes["indices_shape"] == .ints([3]))
    // batch_dims = 1: batch b adds b·6.
    #expect(try gather("batch_nd").attributes["indices"] == .ints([5, 0, 3, 4, 7, 7, 10, 6]))
    #expect(try gather("batch_nd").attributes["indices_shape"] == .ints([2, 4]))
    #expect(try graph.shape(of: gather("batch_nd").outputs[0]) == [2, 4, 8])
  }

  @Test func squareReductionsArePlainIROps() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("square_reductions_13.onnx"))
    func nodes(of onnxNode: String) -> [Node] {
      graph.nodes.filter { $0.name == onnxNode || $0.name.hasPrefix(onnxNode + "/") }
    }
    let l2 = nodes(of: "l2_hw")
    #expect(l2.map(\.op) == ["mul", "reduce_sum", "sqrt"])
    #expect(l2.map(\.name) == ["l2_hw/square", "l2_hw/sum", "l2_hw"])
    #expect(l2[1].attributes["axes"] == .ints([2, 3]))
    #expect(nodes(of: "ss_c").map(\.op) == ["mul", "reduce_sum"])
  }

  @Test(arguments: [
    (GatherNDCase.outOfRange, "index 12 is out of range for extent 12"),
    (GatherNDCase.tooManyComponents, "do not index data"),
    (GatherNDCase.runtimeIndices, "must be a constant known at import time"),
  ])
  func gatherNDErrors(_ c: GatherNDCase, _ message: String) throws {
    do {
      _ = try ONNXImporter.load(data: c.model(), name: "g.onnx")
      Issue.record("\(c) imported")
    } catch {
      #expect(error.description.contains(message), "\(error.description)")
      #expect(error.description.contains("GatherND"), "\(error.description)")
    }
  }
}

/// Broken GatherND models built by hand: `x [12, 8] → GatherND(x, idx) → y`.
enum GatherNDCase: Sendable {
  case outOfRange, tooManyComponents, runtimeIndices

  func model() -> [UInt8] {
    let (dims, values): ([Int], [Int]) =
      switch self {
      case .outOfRange: ([1, 1], [12])
      case .tooManyComponents: ([1, 3], [0, 0, 0])
      case .runtimeIndices: ([], [])
      }
    return ModelWriter.model(opset: 13) { g in
      let indices = self == .runtimeIndices ? "x" : "idx"
      ModelWriter.node(&g, op: "GatherND", name: "gnd", inputs: ["x", indices], outputs: ["y"])
      if self != .runtimeIndices {
        g.message(5) { t in
          for d in dims { t.int(1, d) }
          t.int(2, 7)  // INT64
          for v in values { t.int(7, v) }
          t.string(8, "idx")
        }
      }
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [12, 8])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 8])
    }
  }
}
