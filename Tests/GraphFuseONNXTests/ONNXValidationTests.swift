import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Models ONNX Runtime refuses are refused here too, each with the node (or tensor) named.
@Suite("ONNX validation")
struct ONNXValidationTests {
  static func error(_ model: [UInt8]) -> GraphFuseError? {
    do {
      _ = try ONNXImporter.load(data: model, name: "m.onnx")
      return nil
    } catch {
      return error
    }
  }

  static func io(_ g: inout ProtoWriter, input: String = "x", output: String = "y") {
    ModelWriter.valueInfo(&g, field: 11, name: input, dims: [1, 2, 4, 4])
    ModelWriter.valueInfo(&g, field: 12, name: output, dims: [1, 2, 4, 4])
  }

  /// A float initializer `name` of `dims` (field 5 of GraphProto).
  static func initializer(_ g: inout ProtoWriter, name: String, dims: [Int]) {
    g.message(5) { t in
      for d in dims { t.int(1, d) }
      t.int(2, 1)
      for _ in 0..<dims.reduce(1, *) { t.float(4, 0.5) }
      t.string(8, name)
    }
  }

  struct Case: Sendable, CustomStringConvertible {
    let description: String
    let model: [UInt8]
    let expected: [String]
    var node: String? = nil
  }

  static let cases: [Case] = [
    Case(
      description: "opset 99",
      model: ModelWriter.model(opset: 99) { g in
        ModelWriter.node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"])
        io(&g)
      }, expected: ["opset 99", "newest this importer knows is \(ONNXValidation.newestOpset)"]),
    Case(
      description: "two nodes write one tensor",
      model: ModelWriter.model { g in
        ModelWriter.node(&g, op: "Relu", name: "first", inputs: ["x"], outputs: ["y"])
        ModelWriter.node(&g, op: "Sigmoid", name: "second", inputs: ["x"], outputs: ["y"])
        io(&g)
      }, expected: ["output 'y' is also written by node 'first'"], node: "second"),
    Case(
      description: "duplicate graph inputs",
      model: ModelWriter.model { g in
        ModelWriter.node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"])
        ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 2, 4, 4])
        io(&g)
      }, expected: ["graph input 'x' is listed twice"]),
    Case(
      description: "initializer shadows an input of another shape",
      model: ModelWriter.model { g in
        ModelWriter.node(&g, op: "Add", name: "add", inputs: ["x", "b"], outputs: ["y"])
        initializer(&g, name: "b", dims: [3])
        ModelWriter.valueInfo(&g, field: 11, name: "b", dims: [2])
        io(&g)
      }, expected: ["initializer 'b' has shape [3]", "graph input 'b' of shape [2]"]),
    Case(
      description: "unknown attribute",
      model: ModelWriter.model { g in
        g.message(1) { n in
          n.string(1, "x")
          n.string(2, "y")
          n.string(3, "relu")
          n.string(4, "Relu")
          n.message(5) { a in
            a.string(1, "alpha")
            a.float(2, 0.1)
            a.int(20, 1)
          }
        }
        io(&g)
      }, expected: ["unknown attribute 'alpha'", "Relu has: consumed_inputs"], node: "relu"),
    Case(
      description: "node without outputs",
      model: ModelWriter.model { g in
        ModelWriter.node(&g, op: "Relu", name: "sink", inputs: ["x"], outputs: [])
        ModelWriter.node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"])
        io(&g)
      }, expected: ["the node has no outputs"], node: "sink"),
    Case(
      description: "a node writes a graph input",
      model: ModelWriter.model { g in
        ModelWriter.node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["x"])
        ModelWriter.node(&g, op: "Relu", name: "relu2", inputs: ["x"], outputs: ["y"])
        io(&g)
      }, expected: ["output 'x' is also a graph input"], node: "relu"),
  ]

  @Test(arguments: cases)
  func refused(_ c: Case) throws {
    let error = try #require(Self.error(c.model), "\(c.description) was accepted")
    for text in c.expected { #expect(error.description.contains(text), "\(error)") }
    if let node = c.node { #expect(error.node == node) }
    #expect(!error.description.contains("\n"))
  }

  @Test func newestOpsetAndUnlistedOpsAreAccepted() throws {
    let newest = ModelWriter.model(opset: ONNXValidation.newestOpset) { g in
      ModelWriter.node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"])
      Self.io(&g)
    }
    #expect(Self.error(newest) == nil)
    // An op missing from the attribute table is not refused for its attributes (unsupported ops
    // are refused later, by the importer, as unsupported).
    #expect(ONNXValidation.attributes["NoSuchOp"] == nil)
    let model = ModelWriter.model { g in
      g.message(1) { n in
        n.string(1, "x")
        n.string(2, "y")
        n.string(3, "odd")
        n.string(4, "NoSuchOp")
        n.message(5) { a in
          a.string(1, "whatever"); a.int(3, 1); a.int(20, 2)
        }
      }
      Self.io(&g)
    }
    let error = try #require(Self.error(model))
    #expect(error.message.contains("unsupported ONNX op"), "\(error)")
  }

  @Test func longOpTypesAndNamesAreCut() throws {
    let long = String(repeating: "Q", count: 300)
    let model = ModelWriter.model { g in
      ModelWriter.node(&g, op: long, name: long + "\n", inputs: ["x"], outputs: ["y"])
      Self.io(&g)
    }
    let error = try #require(Self.error(model))
    #expect(error.description.contains("unsupported ONNX op"))
    #expect(!error.description.contains(String(repeating: "Q", count: 81)), "\(error)")
    #expect(!error.description.contains("\n"))
  }

  @Test func attributeTableCoversEverySupportedOp() {
    let missing = ImportSession.supportedOps.subtracting(ONNXValidation.attributes.keys)
    #expect(missing.isEmpty, "no attribute list in ONNXValidation.attributes for \(missing.sorted())")
  }
}
