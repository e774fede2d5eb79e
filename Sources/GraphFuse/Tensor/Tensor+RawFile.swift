import Foundation

extension Tensor {
  /// Reads raw little-endian float32 values of `shape` from `path`; a size mismatch is an error
  /// stating the expected and actual bytes.
  public static func readRaw(path: String, shape: [Int]) throws(GraphFuseError) -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw GraphFuseError("cannot read the file", file: path)
    }
    let count = shape.reduce(1, *)
    guard data.count == count * 4 else {
      throw GraphFuseError("expected \(count * 4) bytes (float32 \(shapeText(shape))), the file has \(data.count)", file: path)
    }
    var values = [Float](repeating: 0, count: count)
    data.withUnsafeBytes { raw in
      for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
    }
    return Tensor(shape: shape, data: values)
  }

  /// Writes the elements as raw little-endian float32.
  public func writeRaw(path: String) throws(GraphFuseError) {
    var bytes = Data(capacity: count * 4)
    for v in data { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    guard FileManager.default.createFile(atPath: path, contents: bytes) else {
      throw GraphFuseError("cannot write the file", file: path)
    }
  }
}
