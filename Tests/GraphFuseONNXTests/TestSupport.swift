import Foundation
import GraphFuse

@testable import GraphFuseONNX

/// Paths of the committed fixtures and the optional `../shared` data.
enum Fixtures {
  /// The directory holding the `.onnx` / `.bin` fixtures.
  static var directory: String {
    if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url.path }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
  }

  static func path(_ name: String) -> String { directory + "/" + name }

  /// `../shared` next to the package root, when present.
  static var shared: String? {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let path = root.deletingLastPathComponent().appendingPathComponent("shared").path
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }

  static func bytes(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
  }
}

/// A minimal protobuf writer for building test messages by hand.
struct ProtoWriter {
  var bytes: [UInt8] = []

  mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  mutating func key(_ field: Int, _ wire: WireType) { varint(UInt64(field << 3) | UInt64(wire.rawValue)) }

  mutating func int(_ field: Int, _ value: Int) {
    key(field, .varint)
    varint(UInt64(bitPattern: Int64(value)))
  }

  mutating func bytes(_ field: Int, _ payload: [UInt8]) {
    key(field, .lengthDelimited)
    varint(UInt64(payload.count))
    bytes += payload
  }

  mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }

  mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
    var inner = ProtoWriter()
    build(&inner)
    bytes(field, inner.bytes)
  }

  mutating func float(_ field: Int, _ value: Float) {
    key(field, .fixed32)
    let bits = value.bitPattern
    for k in 0..<4 { bytes.append(UInt8((bits >> (8 * UInt32(k))) & 0xFF)) }
  }
}

/// Builds small ONNX models in Swift for error tests.
enum ModelWriter {
  /// A model with one graph; `graph` writes the graph's fields.
  static func model(opset: Int = 17, _ graph: (inout ProtoWriter) -> Void) -> [UInt8] {
    var w = ProtoWriter()
    w.int(1, 8)
    w.message(8) {
      $0.string(1, ""); $0.int(2, opset)
    }
    w.message(7, graph)
    return w.bytes
  }

  /// A float input (or output) value info with static dims.
  static func valueInfo(_ w: inout ProtoWriter, field: Int, name: String, dims: [Int], type: Int = 1) {
    w.message(field) { vi in
      vi.string(1, name)
      vi.message(2) { t in
        t.message(1) { tt in
          tt.int(1, type)
          tt.message(2) { s in for d in dims { s.message(1) { $0.int(1, d) } } }
        }
      }
    }
  }

  static func node(_ w: inout ProtoWriter, op: String, name: String, inputs: [String], outputs: [String]) {
    w.message(1) { n in
      for i in inputs { n.string(1, i) }
      for o in outputs { n.string(2, o) }
      n.string(3, name)
      n.string(4, op)
    }
  }

  /// `x [1,2,4,4] → Relu → y`: the smallest valid model.
  static var relu: [UInt8] {
    model { g in
      node(&g, op: "Relu", name: "relu", inputs: ["x"], outputs: ["y"])
      valueInfo(&g, field: 11, name: "x", dims: [1, 2, 4, 4])
      valueInfo(&g, field: 12, name: "y", dims: [1, 2, 4, 4])
    }
  }
}

/// One-node ONNX models with attributes and initializers, run on both backends.
enum OpModels {
  /// Writes node `op` with string, int, float and ints attributes.
  static func node(
    _ g: inout ProtoWriter, op: String, inputs: [String], strings: [String: String] = [:], ints: [String: Int] = [:],
    floats: [String: Float] = [:], lists: [String: [Int]] = [:], name: String = "node", output: String = "y"
  ) {
    g.message(1) { n in
      for i in inputs { n.string(1, i) }
      n.string(2, output)
      n.string(3, name)
      n.string(4, op)
      for (name, value) in strings.sorted(by: { $0.key < $1.key }) {
        n.message(5) { a in
          a.string(1, name); a.string(4, value); a.int(20, 3)
        }
      }
      for (name, value) in ints.sorted(by: { $0.key < $1.key }) {
        n.message(5) { a in
          a.string(1, name); a.int(3, value); a.int(20, 2)
        }
      }
      for (name, value) in floats.sorted(by: { $0.key < $1.key }) {
        n.message(5) { a in
          a.string(1, name); a.float(2, value); a.int(20, 1)
        }
      }
      for (name, values) in lists.sorted(by: { $0.key < $1.key }) {
        n.message(5) { a in
          a.string(1, name)
          for v in values { a.int(8, v) }
          a.int(20, 7)
        }
      }
    }
  }

  /// An int64 (`floats == nil`) or float initializer.
  static func initializer(_ g: inout ProtoWriter, name: String, dims: [Int], ints: [Int] = [], floats: [Float]? = nil) {
    g.message(5) { t in
      for d in dims { t.int(1, d) }
      t.int(2, floats == nil ? 7 : 1)
      if let floats { for f in floats { t.float(4, f) } } else { for v in ints { t.int(7, v) } }
      t.string(8, name)
    }
  }

  /// The model's output on `x` by the reference executor and by the compiled, fused model.
  static func outputs(_ model: [UInt8], _ x: Tensor) throws -> (reference: Tensor, compiled: Tensor) {
    let graph = try ONNXImporter.load(data: model, name: "m.onnx")
    let reference = try ReferenceExecutor.run(graph, inputs: [x])[0]
    let optimized = try graph.optimized()
    let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")
    let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run([x])[0]
    return (reference, compiled)
  }

}
