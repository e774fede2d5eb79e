import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Damaged models must import or throw `GraphFuseError` — never trap.
@Suite("ONNX importer fuzzing")
struct FuzzTests {
  static let models = ["conv_bn_relu.onnx", "shuffle_reshape.onnx", "slice_pad_concat.onnx", "conv_transpose_old_opset.onnx"]

  /// Imports damaged bytes; the only acceptable failure is a thrown GraphFuseError.
  /// A graph that imported must also run on the reference executor or throw (small graphs only).
  static func attempt(_ bytes: [UInt8], shapes: [String: [Int]]) -> Bool {
    let graph: Graph
    do {
      graph = try ONNXImporter.load(data: bytes, name: "fuzz.onnx", shapes: shapes)
    } catch {
      return false
    }
    if !graph.values.contains(where: { $0.shape.reduce(1, *) > 100_000 }) {
      let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 1) }
      _ = try? ReferenceExecutor.run(graph, inputs: inputs)
    }
    return true
  }

  @Test(arguments: models)
  func truncationsAndByteFlips(_ name: String) throws {
    let original = try Fixtures.bytes(name)
    let shapes = name == "conv_bn_relu.onnx" ? ["x": [1, 3, 9, 9]] : [:]
    #expect(Self.attempt(original, shapes: shapes), "the undamaged model imports")
    var rng = SplitMix64(seed: 0xF022 &+ UInt64(original.count))
    var imported = 0, refused = 0
    // every truncation point across the file (strided for long files)
    let stride = max(1, original.count / 150)
    for cut in Swift.stride(from: 0, to: original.count, by: stride) {
      if Self.attempt(Array(original[..<cut]), shapes: shapes) { imported += 1 } else { refused += 1 }
    }
    // 500 mutations: 1–4 random bytes set to random values, sometimes to 0xFF / 0x80 varint bytes
    for _ in 0..<500 {
      var bytes = original
      for _ in 0..<(1 + Int(rng.next() % 4)) {
        let position = Int(rng.next() % UInt64(bytes.count))
        switch rng.next() % 4 {
        case 0: bytes[position] = 0xFF
        case 1: bytes[position] = 0x80
        default: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
        }
      }
      if Self.attempt(bytes, shapes: shapes) { imported += 1 } else { refused += 1 }
    }
    print("fuzz \(name): \(imported) damaged variants imported, \(refused) refused with GraphFuseError")
    #expect(refused > 0, "damage was noticed at least sometimes")
    #expect(imported + refused >= 500)
  }
}
