import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Damaged models must import or throw `GraphFuseError` — never trap.
@Suite("ONNX importer fuzzing")
struct FuzzTests {
  static let models = [
    "conv_bn_relu.onnx", "shuffle_reshape.onnx", "slice_pad_concat.onnx", "conv_transpose_old_opset.onnx",
  ]

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
    // A changed weight byte leaves a valid model: an importer that refuses every damaged file is
    // too strict (or refuses for a reason unrelated to the damage).
    #expect(imported > 0, "no damaged variant imported")
  }
}

/// Seeded byte-level mutants of every committed model fixture through import and, where accepted,
/// both backends: each gives a result or a clean one-line `GraphFuseError` (a crash fails the run).
@Suite("Mutants through both backends")
struct MutantBackendTests {
  static let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")

  /// The outcome of one mutant: the stage it reached and the error, if any.
  enum Outcome { case refusedAtImport, ran, refusedAtRun }

  static func attempt(_ bytes: [UInt8], shapes: [String: [Int]], compile: Bool) -> (Outcome, GraphFuseError?) {
    let graph: Graph
    do {
      graph = try ONNXImporter.load(data: bytes, name: "mutant.onnx", shapes: shapes)
    } catch {
      return (.refusedAtImport, error)
    }
    do {
      // Small graphs only: the point is robustness, not arithmetic on big tensors.
      guard graph.values.allSatisfy({ $0.shape.reduce(1, *) <= 200_000 }) else { return (.ran, nil) }
      let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 1) }
      _ = try ReferenceExecutor.run(graph, inputs: inputs)
      if compile {
        let optimized = try graph.optimized()
        _ = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run(inputs)
      }
      return (.ran, nil)
    } catch {
      return (.refusedAtRun, error)
    }
  }

  static let fixtures: [(String, [String: [Int]])] = [
    ("conv_bn_relu.onnx", ["x": [1, 3, 9, 9]]), ("shuffle_reshape.onnx", [:]), ("slice_pad_concat.onnx", [:]),
    ("pooling.onnx", [:]), ("activations.onnx", [:]), ("misc_ops.onnx", [:]), ("gemm_bn1d.onnx", [:]),
  ]

  @Test(arguments: fixtures.indices)
  func mutantsGiveAResultOrAOneLineError(index: Int) throws {
    let (name, shapes) = Self.fixtures[index]
    let original = try Fixtures.bytes(name)
    #expect(Self.attempt(original, shapes: shapes, compile: true).0 == .ran, "\(name) runs undamaged")
    var rng = SplitMix64(seed: 0x5EED &+ UInt64(index))
    var counts: [String: Int] = [:]
    var compiled = 0
    for k in 0..<60 {
      var bytes = original
      switch k % 3 {
      case 0:  // 1–3 random bytes
        for _ in 0...(rng.next() % 3) {
          bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
        }
      case 1:  // one bit flip
        bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1) << (rng.next() % 8)
      default:  // a truncation
        bytes = Array(bytes[..<Int(rng.next() % UInt64(bytes.count))])
      }
      // The compiled backend on a few mutants per model keeps the test fast (clang is the cost).
      let compile = compiled < 6 && k % 3 != 2
      let (outcome, error) = Self.attempt(bytes, shapes: shapes, compile: compile)
      if compile && outcome == .ran { compiled += 1 }
      counts["\(outcome)", default: 0] += 1
      if let error {
        let text = error.description
        #expect(!text.isEmpty && !text.contains("\n") && !text.contains("\r"), "\(name) mutant \(k): \(text)")
        #expect(
          text.count <= GraphFuseError.maxLineLength, "\(name) mutant \(k): \(text.count)")
        #expect(text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }, "\(name) mutant \(k): \(text)")
      }
    }
    print(
      "mutants of \(name): \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
    )
    // The compiled backend really ran on some mutants (the check above is not vacuous).
    #expect(compiled > 0, "\(name): no mutant ran through the compiled backend")
  }
}
