import Foundation
import GraphFuse

/// Raw tensor files: little-endian float32 values with no header, as `numpy.ndarray.tofile`
/// writes them and as the `.input.bin` / `.output.bin` golden files are stored.
public enum RawTensorFile {
  /// Reads a tensor of `shape` from `path`; the file must hold exactly `4 · count` bytes.
  public static func read(path: String, shape: [Int]) throws(GraphFuseError) -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw GraphFuseError(
        FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file", file: path)
    }
    return try decode([UInt8](data), shape: shape, name: path)
  }

  /// Decodes raw float32 bytes as a tensor of `shape`; `name` is used in error messages.
  public static func decode(_ bytes: [UInt8], shape: [Int], name: String = "tensor") throws(GraphFuseError) -> Tensor {
    guard let count = ConstantTensor.elementCount(shape, limit: 1 << 40) else {
      throw GraphFuseError("shape \(shape) is not a valid tensor shape", file: name)
    }
    guard bytes.count == count * 4 else {
      let held =
        bytes.count % 4 == 0 ? "\(bytes.count) bytes (\(bytes.count / 4) float32 values)" : "\(bytes.count) bytes"
      throw GraphFuseError(
        "holds \(held), but shape \(shape) needs \(count * 4) bytes (\(count) float32 values)", file: name)
    }
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    #if _endian(big)
      values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
    #endif
    return Tensor(shape: shape, data: values)
  }

  /// The raw little-endian float32 bytes of a tensor.
  public static func encode(_ tensor: Tensor) -> [UInt8] {
    var values = tensor.data
    #if _endian(big)
      values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
    #endif
    return values.withUnsafeBytes { Array($0) }
  }

  /// Writes a tensor's values to `path` (shape is not stored).
  public static func write(_ tensor: Tensor, path: String) throws(GraphFuseError) {
    guard FileManager.default.createFile(atPath: path, contents: Data(encode(tensor))) else {
      throw GraphFuseError("cannot write the file", file: path)
    }
  }
}
