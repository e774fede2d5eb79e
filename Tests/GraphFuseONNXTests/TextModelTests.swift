import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Integer and boolean tensors: typed `.npy` files, every comparison, logic, predicate, rounding
/// and cast op against ONNX Runtime's goldens, a BERT-like encoder with int64 inputs, and token ids
/// out of range, on both backends (fixtures from `Fixtures/make_text_fixtures.py`).
@Suite("Text models: int64, int32 and bool tensors")
struct TextModelTests {
  enum Backend: String, CaseIterable { case reference, compiled }

  static let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")

  /// The fixture's inputs (`NAME.inputK.npy`) in the graph's order, checked against its types.
  static func inputs(_ name: String, _ graph: Graph) throws -> [Tensor] {
    try graph.inputs.indices.map { k in
      let (tensor, type) = try NPYFile.readTyped(path: Fixtures.path("\(name).input\(k).npy"))
      #expect(type == graph.dataType(of: graph.inputs[k]))
      return tensor
    }
  }

  static func run(_ graph: Graph, _ inputs: [Tensor], on backend: Backend) throws -> [Tensor] {
    let optimized = try graph.optimized()
    switch backend {
    case .reference: return try ReferenceExecutor.run(optimized.graph, inputs: inputs)
    case .compiled:
      return try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run(inputs)
    }
  }

  /// Element k of `got` equals the golden's: both NaN, or within `tolerance` of its magnitude.
  static func mismatches(_ got: Tensor, _ expected: Tensor, tolerance: Float) -> [String] {
    guard got.shape == expected.shape else { return ["shape \(got.shape) vs \(expected.shape)"] }
    var bad: [String] = []
    for (k, (a, b)) in zip(got.data, expected.data).enumerated() {
      let same = a == b || (a.isNaN && b.isNaN) || abs(a - b) <= tolerance * max(1, abs(b))
      if !same { bad.append("element \(k): \(a), expected \(b)") }
    }
    return bad
  }

  @Test(arguments: Backend.allCases)
  func typedOpsMatchOnnxRuntime(_ backend: Backend) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("typed_ops.onnx"))
    #expect(graph.inputs.map(graph.dataType(of:)) == [.float32, .int64])
    #expect(graph.outputs.map(graph.dataType(of:)) == [.float32, .int64, .bool])
    let outputs = try Self.run(graph, try Self.inputs("typed_ops", graph), on: backend)
    for k in outputs.indices {
      let (expected, type) = try NPYFile.readTyped(path: Fixtures.path("typed_ops.output\(k).npy"))
      #expect(type == graph.dataType(of: graph.outputs[k]))
      // Comparisons, logic, rounding and integer arithmetic are exact; sin and cos within 1e-6.
      let bad = Self.mismatches(outputs[k], expected, tolerance: k == 0 ? 1e-6 : 0)
      #expect(bad.isEmpty, "\(backend) output \(k): \(bad.prefix(5))")
    }
  }

  /// Trilu, CumSum, Tile, GatherElements, InstanceNormalization and GroupNormalization (opsets 18
  /// and 21), every output within 1e-5 of ONNX Runtime's (infinities and NaNs in place).
  @Test(arguments: ["index_ops", "group_norm18", "group_norm21", "pow_ops"], Backend.allCases)
  func positionalOpsMatchOnnxRuntime(_ name: String, _ backend: Backend) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path(name + ".onnx"))
    let outputs = try Self.run(graph, try Self.inputs(name, graph), on: backend)
    for k in outputs.indices {
      let expected = try NPYFile.read(path: Fixtures.path("\(name).output\(k).npy"))
      let bad = Self.mismatches(outputs[k], expected, tolerance: 1e-5)
      #expect(bad.isEmpty, "\(name) \(backend) output \(k): \(bad.prefix(5))")
    }
  }

  @Test(arguments: Backend.allCases)
  func textEncoderMatchesOnnxRuntime(_ backend: Backend) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("text_encoder.onnx"))
    #expect(graph.inputs.map(graph.dataType(of:)) == [.int64, .int64, .int64])
    #expect(graph.nodes.contains { $0.op == "take" }, "the token-id gathers run at run time")
    let y = try Self.run(graph, try Self.inputs("text_encoder", graph), on: backend)[0]
    let expected = try NPYFile.read(path: Fixtures.path("text_encoder.output0.npy"))
    let comparison = y.compared(to: expected)
    #expect(comparison.isWithin(relative: 1e-5), "\(backend): \(comparison)")
  }

  @Test(arguments: Backend.allCases, [50, 1000, -51])
  func tokenIdOutOfRangeIsAnError(_ backend: Backend, _ id: Int) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path("text_encoder.onnx"))
    var inputs = try Self.inputs("text_encoder", graph)
    inputs[0].data[7] = Float(id)
    do {
      _ = try Self.run(graph, inputs, on: backend)
      Issue.record("\(backend): token id \(id) of a 50-word vocabulary ran")
    } catch let error as GraphFuseError {
      #expect(error.message.contains("index \(id) in 'input_ids' is out of range"), "\(error)")
      #expect(error.message.contains("valid indices are -50 ..< 50"), "\(error)")
      #expect(error.description.count <= 240)
    }
    // A negative id within range counts from the end, as ONNX Gather defines.
    inputs[0].data[7] = -1
    #expect(try Self.run(graph, inputs, on: backend)[0].shape == [1, 16, 32])
  }

  /// Masks as PyTorch applies them: a row masked with -inf everywhere is NaN after softmax (and
  /// `IsNaN → Where` makes it 0), a partly masked row gives the masked keys exactly 0, and a row
  /// masked with the float minimum everywhere is uniform.
  @Test(arguments: Backend.allCases)
  func softmaxOverMaskedRowsFollowsPyTorch(_ backend: Backend) throws {
    let b = GraphBuilder()
    let x = b.input("scores", shape: [3, 4])
    let p = try b.apply("softmax", [x], ["axis": .int(-1)])[0]
    let nan = try b.apply("is_nan", [p])[0]
    b.output(p)
    b.output(try b.apply("where", [nan, b.constant(Tensor(scalar: 0)), p])[0])
    let graph = try b.finish()
    let minimum = -Float.greatestFiniteMagnitude
    let scores = Tensor(
      shape: [3, 4],
      data: [
        -.infinity, -.infinity, -.infinity, -.infinity, 1, 2, -.infinity, -.infinity, minimum, minimum, minimum,
        minimum,
      ])
    let out = try Self.run(graph, [scores], on: backend)
    #expect(out[0].data[0..<4].allSatisfy { $0.isNaN }, "\(out[0].data)")
    #expect(out[1].data[0..<4].allSatisfy { $0 == 0 })
    #expect(out[0].data[6] == 0 && out[0].data[7] == 0 && abs(out[0].data[4] + out[0].data[5] - 1) < 1e-6)
    #expect(out[0].data[8..<12].allSatisfy { abs($0 - 0.25) < 1e-6 }, "\(out[0].data)")
  }

  @Test func typedNPYFilesRoundTrip() throws {
    let t = Tensor(shape: [2, 3], data: [-16_777_216, -3, 0, 1, 7, 16_777_216])
    for type in [DataType.int64, .int32] {
      let (back, read) = try NPYFile.decodeTyped(NPYFile.encode(t, dataType: type))
      #expect(read == type && back == t)
    }
    let bools = Tensor(shape: [3], data: [0, 1, 1])
    let (back, read) = try NPYFile.decodeTyped(NPYFile.encode(bools, dataType: .bool))
    #expect(read == .bool && back == bools)
    // An int64 beyond ±2^24 is refused, not rounded.
    var bytes = NPYFile.encode(Tensor(shape: [1], data: [0]), dataType: .int64)
    bytes[bytes.count - 4] = 1  // 2^32
    #expect(throws: GraphFuseError.self) { try NPYFile.decodeTyped(bytes) }
    // float32-only readers say how to convert.
    #expect(throws: GraphFuseError.self) { try NPYFile.decode(NPYFile.encode(t, dataType: .int64)) }
  }

  static func sharedTextModels() -> [String] {
    guard let shared = Fixtures.shared else { return [] }
    let dir = shared + "/models/text"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.filter { $0.hasSuffix(".onnx") }.sorted().map { dir + "/" + $0 }
  }

  /// The Hugging Face minis (BERT, DistilBERT, GPT-2 from both exporters), compiled, against
  /// PyTorch's outputs; an optional extra that needs `../shared/models/text` beside the package.
  @Test(
    .enabled(if: !sharedTextModels().isEmpty, "needs ../shared/models/text beside the package"),
    arguments: sharedTextModels())
  func huggingFaceMiniMatchesPyTorch(_ path: String) throws {
    let stem = String(path.dropLast(".onnx".count))
    let graph = try ONNXImporter.load(path: path)
    let inputs = try graph.inputs.indices.map { try NPYFile.readTyped(path: "\(stem).input\($0).npy").tensor }
    let y = try Self.run(graph, inputs, on: .compiled)[0]
    let expected = try RawTensorFile.read(path: stem + ".output.bin", shape: y.shape)
    let comparison = y.compared(to: expected)
    print("text mini \(URL(fileURLWithPath: path).lastPathComponent): \(comparison)")
    #expect(comparison.isWithin(relative: 1e-5), "\(path): \(comparison)")
  }
}
