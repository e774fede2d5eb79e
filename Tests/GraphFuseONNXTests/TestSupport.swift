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
