import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

@Suite("ONNX import errors")
struct ImportErrorTests {
  /// The error thrown by importing `data`, or nil when it imported.
  static func importError(_ data: [UInt8], name: String = "m.onnx", shapes: [String: [Int]] = [:]) -> GraphFuseError? {
    do {
      _ = try ONNXImporter.load(data: data, name: name, shapes: shapes)
      return nil
    } catch {
      return error
    }
  }

  static func fixtureError(_ file: String, shapes: [String: [Int]] = [:]) throws -> GraphFuseError {
    let path = Fixtures.path(file)
    do {
      _ = try ONNXImporter.load(path: path, shapes: shapes)
    } catch {
      #expect(error.file == path, "errors carry the file path")
      return error
    }
    Issue.record("\(file) imported without an error")
    return GraphFuseError("")
  }

  struct FixtureCase: Sendable, CustomStringConvertible {
    let file: String
    let expected: [String]
    var node: String? = nil
    var description: String { file }
  }

  @Test(arguments: [
    FixtureCase(file: "error_external.onnx", expected: ["'w'", "'weights.bin'", "missing"]),
    FixtureCase(
      file: "error_external_escape.onnx",
      expected: ["'w'", "'../external_weights.onnx.data'", "leaves the model's folder"]),
    FixtureCase(
      file: "error_external_absolute.onnx", expected: ["'w'", "'/tmp/external_weights.onnx.data'", "leaves"]),
    FixtureCase(file: "error_external_short.onnx", expected: ["'w'", "too short", "64..<1048640"]),
    FixtureCase(file: "error_missing_init.onnx", expected: ["'w_missing'", "not produced"], node: "conv"),
    FixtureCase(file: "error_float16.onnx", expected: ["'w'", "float16"]),
    FixtureCase(file: "error_double_input.onnx", expected: ["'x'", "double", "float32, int64, int32 or bool"]),
    FixtureCase(file: "error_bn_params.onnx", expected: ["'scale'", "3 values", "2 channels"], node: "bn"),
    FixtureCase(file: "error_symbolic.onnx", expected: ["'x'", "'batch'", "--shape x=1x3x224x224"]),
  ])
  func fixtureErrors(_ c: FixtureCase) throws {
    let error = try Self.fixtureError(c.file)
    for text in c.expected { #expect(error.description.contains(text), "\(error.description) lacks \(text)") }
    if let node = c.node { #expect(error.node == node) }
  }

  @Test func unsupportedOpsAreListedTogether() throws {
    let error = try Self.fixtureError("error_unsupported.onnx")
    let text = error.description
    #expect(text.contains("com.microsoft::FusedConv (node 'fused')"), "\(text)")
    #expect(!text.contains("erf") && !text.contains("resize"), "Erf and Resize are supported now")
    let twice = ModelWriter.model { g in
      ModelWriter.node(&g, op: "Det", name: "det1", inputs: ["x"], outputs: ["a"])
      ModelWriter.node(&g, op: "Det", name: "det2", inputs: ["a"], outputs: ["y"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 2])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [])
    }
    let once = try #require(Self.importError(twice)).description
    #expect(once.contains("Det (node 'det1')") && !once.contains("det2"), "one node per type: \(once)")
  }

  @Test func symbolicInputsTakeGivenShapes() throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("error_symbolic.onnx"), shapes: ["x": [2, 3, 4, 4]])
    #expect(graph.shape(of: graph.inputs[0]) == [2, 3, 4, 4])
    let conflict = try Self.fixtureError("error_symbolic.onnx", shapes: ["x": [2, 5, 4, 4]])
    #expect(conflict.message.contains("axis 1"))
    let unknown = try Self.fixtureError("error_symbolic.onnx", shapes: ["y": [1]])
    #expect(unknown.message.contains("not a graph input"))
  }

  @Test(arguments: [
    ("empty", [UInt8]()),
    ("text", Array("hello, this is not an onnx model\n".utf8)),
    ("png header", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
  ])
  func notAModel(_ label: String, _ bytes: [UInt8]) {
    let error = Self.importError(bytes, name: "bad.onnx")
    #expect(error != nil, "\(label)")
    #expect(error?.file == "bad.onnx")
    #expect(error.map { $0.message.contains("ONNX") } ?? false, "\(String(describing: error))")
  }

  @Test func truncatedFileSaysMalformed() throws {
    let bytes = try Fixtures.bytes("conv_bn_relu.onnx")
    let error = Self.importError(Array(bytes[..<(bytes.count / 2)]))
    #expect(error?.message.contains("malformed protobuf") ?? false, "\(String(describing: error))")
  }

  @Test func missingFile() {
    #expect(throws: GraphFuseError("no such file", file: "/nonexistent/model.onnx")) {
      try ONNXImporter.load(path: "/nonexistent/model.onnx")
    }
  }

  @Test func wrongSizeInputFile() throws {
    let path = Fixtures.path("gemm_bn1d.input.bin")
    do {
      _ = try RawTensorFile.read(path: path, shape: [1, 3, 224, 224])
      Issue.record("read a 120-byte file as 150528 floats")
    } catch {
      #expect(error.file == path)
      #expect(error.message.contains("holds 120 bytes"))
      #expect(error.message.contains("needs 602112 bytes"))
    }
  }

  @Test func opsetIsRequiredAndNodesMustBeOrdered() {
    var w = ProtoWriter()
    w.message(7) { g in ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1]) }
    #expect(Self.importError(w.bytes)?.message.contains("opset") ?? false)

    let outOfOrder = ModelWriter.model { g in
      ModelWriter.node(&g, op: "Relu", name: "second", inputs: ["a"], outputs: ["y"])
      ModelWriter.node(&g, op: "Relu", name: "first", inputs: ["x"], outputs: ["a"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 2])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 2])
    }
    let error = Self.importError(outOfOrder)
    #expect(error?.node == "second")
    #expect(error?.op == "Relu")
  }

  @Test func unnamedNodesGetUniqueNames() throws {
    let model = ModelWriter.model { g in
      ModelWriter.node(&g, op: "Relu", name: "", inputs: ["x"], outputs: ["a"])
      ModelWriter.node(&g, op: "Relu", name: "Relu_0", inputs: ["a"], outputs: ["b"])
      ModelWriter.node(&g, op: "Sigmoid", name: "", inputs: ["b"], outputs: ["y"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 2])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 2])
    }
    let graph = try ONNXImporter.load(data: model)
    #expect(graph.nodes.map(\.name) == ["Relu_0", "Relu_0_1", "Sigmoid_2"])
    #expect(graph.values[graph.outputs[0]].name == "y")
  }

  @Test func shapeOptions() throws {
    #expect(try ONNXImporter.parseShapeOption("input=1x3x224x224") == ("input", [1, 3, 224, 224]))
    #expect(try ONNXImporter.parseShapeOption("a=b=2,5") == ("a=b", [2, 5]))
    for bad in ["input", "=1x3", "x=", "x=1xx", "x=0x3", "x=-1", "x=1x3xN"] {
      #expect(throws: GraphFuseError.self, "\(bad)") { try ONNXImporter.parseShapeOption(bad) }
    }
  }

  @Test func nodeErrorsNameTheONNXNodeAndOpType() throws {
    // Conv over a 3-d input: refused by the translator with the node's name and type.
    let conv3d = ModelWriter.model { g in
      ModelWriter.node(&g, op: "Conv", name: "c1", inputs: ["x", "x"], outputs: ["y"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 2, 4, 4, 4])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 2, 4, 4, 4])
    }
    let error = try #require(Self.importError(conv3d, name: "c.onnx"))
    #expect(error.description.hasPrefix("c.onnx: node 'c1' (Conv): "), "\(error)")
    // Shape inference failures from the IR are reported against the ONNX node too.
    let mismatch = ModelWriter.model { g in
      ModelWriter.node(&g, op: "Add", name: "add", inputs: ["x", "z"], outputs: ["y"])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 3])
      ModelWriter.valueInfo(&g, field: 11, name: "z", dims: [4])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [2, 3])
    }
    let add = try #require(Self.importError(mismatch))
    #expect(add.node == "add")
    #expect(add.op == "Add")
    #expect(add.message.contains("broadcast"))
  }

  /// VGG-11's classifier weight (4096×25088, above the old fixed cap of 2^26 elements) is not
  /// refused for its size: a declaration without its data fails only for the missing values.
  @Test func largeInitializersAreLimitedByTheirDataNotByACap() throws {
    let model = ModelWriter.model { g in
      ModelWriter.node(&g, op: "MatMul", name: "fc", inputs: ["x", "w"], outputs: ["y"])
      g.message(5) { t in
        t.int(1, 25088)
        t.int(1, 4096)
        t.int(2, 1)
        t.string(8, "w")
      }
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 25088])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 4096])
    }
    let error = try #require(Self.importError(model))
    #expect(error.message.contains("needs 102760448 values, has 0"), "\(error)")
  }
}
