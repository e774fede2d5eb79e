import Foundation
import Testing

@testable import GraphFuse

/// NumPy `.npy` files: byte-exact with what `numpy.save` writes, versions 1–3 read, bad files refused.
@Suite struct NPYTests {
  static let tensor = Tensor(shape: [2, 3], data: [0, 0.5, 1, 1.5, 2, 2.5])

  /// The bytes `numpy.save(f, numpy.arange(6, dtype=numpy.float32).reshape(2, 3) * 0.5)` writes:
  /// a version 1.0 header padded with spaces so the data starts at byte 128.
  static func numpyBytes(version: UInt8 = 1, descr: String = "<f4", fortran: Bool = false, shape: String = "(2, 3)")
    -> [UInt8]
  {
    let dict = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
    let prefix = version == 1 ? 10 : 12
    let length = 128 - prefix
    let header = Array((dict + String(repeating: " ", count: length - 1 - dict.utf8.count) + "\n").utf8)
    let lengthBytes: [UInt8] = version == 1 ? [UInt8(length), 0] : [UInt8(length), 0, 0, 0]
    let data = tensor.data.withUnsafeBytes { Array($0) }
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + lengthBytes + header + data
  }

  @Test func encodeMatchesNumPy() {
    #expect(NPYFile.encode(Self.tensor) == Self.numpyBytes())
  }

  @Test(arguments: [UInt8(1), 2, 3]) func decodeReadsEveryVersion(_ version: UInt8) throws {
    #expect(try NPYFile.decode(Self.numpyBytes(version: version)) == Self.tensor)
  }

  @Test(arguments: [[Int](), [5], [1, 3, 4, 4], [2, 0, 3]]) func roundTrip(_ shape: [Int]) throws {
    let t = Tensor.random(shape: shape, seed: 3)
    let bytes = NPYFile.encode(t)
    #expect(bytes.count % 64 == t.count * 4 % 64)
    #expect(try NPYFile.decode(bytes) == t)
  }

  @Test func fileRoundTrip() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString).npy").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try NPYFile.write(Self.tensor, path: path)
    #expect(try NPYFile.read(path: path) == Self.tensor)
  }

  struct BadFile: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var mentions: String
    var testDescription: String { name }
  }

  static let badFiles: [BadFile] = [
    BadFile(name: "float64", bytes: numpyBytes(descr: "<f8"), mentions: "astype(numpy.float32)"),
    BadFile(name: "uint16", bytes: numpyBytes(descr: "<u2"), mentions: "'<u2'"),
    BadFile(name: "big-endian", bytes: numpyBytes(descr: ">f4"), mentions: "'>f4'"),
    BadFile(name: "fortran order", bytes: numpyBytes(fortran: true), mentions: "Fortran"),
    BadFile(name: "shape too large", bytes: numpyBytes(shape: "(2, 4)"), mentions: "needs 32"),
    BadFile(name: "truncated data", bytes: Array(numpyBytes().dropLast(3)), mentions: "bytes of data"),
    BadFile(name: "truncated header", bytes: Array(numpyBytes().prefix(40)), mentions: "truncated"),
    BadFile(name: "no magic", bytes: Array("not an npy file at all".utf8), mentions: "magic"),
    BadFile(name: "version 9", bytes: numpyBytes(version: 9), mentions: "version 9"),
    BadFile(name: "bad shape", bytes: numpyBytes(shape: "(2, x)"), mentions: "shape"),
    BadFile(name: "overflowing shape", bytes: numpyBytes(shape: "(99999999999, 99999999999)"), mentions: "shape"),
  ]

  @Test(arguments: badFiles) func badFilesAreErrors(_ bad: BadFile) {
    #expect(throws: GraphFuseError.self) { try NPYFile.decode(bad.bytes, name: "x.npy") }
    do {
      _ = try NPYFile.decode(bad.bytes, name: "x.npy")
    } catch {
      #expect(String(describing: error).contains(bad.mentions), "\(error)")
      #expect(String(describing: error).contains("x.npy"))
    }
  }
}
