import Foundation
import GraphFuse
import GraphFuseONNX

/// Tensor files by extension: `.npy` (NumPy, float32, C order) or anything else as raw
/// little-endian float32; and where `run --output` puts each output.
enum TensorFiles {
  /// Reads a tensor that must have `shape` and hold `dataType` (an `.npy` file's own shape and
  /// dtype are checked against them; int64, int32 and bool files all feed an integer input). A raw
  /// file is float32; for an integer input its values must be whole numbers.
  static func read(_ path: String, shape: [Int], dataType: DataType = .float32, what: String) throws(GraphFuseError)
    -> Tensor
  {
    guard path.hasSuffix(".npy") else {
      let tensor = try RawTensorFile.read(path: path, shape: shape)
      if dataType.isInteger,
        let bad = tensor.data.firstIndex(where: { $0 != $0.rounded() || abs($0) > Float(DataType.exactLimit) })
      {
        throw GraphFuseError(
          "holds \(tensor.data[bad]) at element \(bad), but \(what) is \(dataType.name); save an .npy of that dtype",
          file: path)
      }
      return tensor
    }
    let (tensor, type) = try NPYFile.readTyped(path: path)
    guard tensor.shape == shape else {
      throw GraphFuseError("has shape \(tensor.shape), but \(what) has shape \(shape)", file: path)
    }
    guard type.isInteger == dataType.isInteger else {
      throw GraphFuseError(
        "holds \(type.name), but \(what) is \(dataType.name); save with array.astype(numpy.\(dataType.name))",
        file: path)
    }
    return tensor
  }

  /// Writes `.npy` (of the output's own dtype) for a `.npy` path, raw float32 otherwise.
  static func write(_ tensor: Tensor, to path: String, dataType: DataType = .float32) throws(GraphFuseError) {
    if path.hasSuffix(".npy") {
      try NPYFile.write(tensor, path: path, dataType: dataType)
    } else {
      try RawTensorFile.write(tensor, path: path)
    }
  }

  /// The file of each of `count` outputs for `--output PATH` / `--expect PATH`: a pattern with
  /// `{}` takes the index; a directory (existing, or ending in `/`) gets `output0.npy`, …; a
  /// comma-separated list names each; a plain file works for a one-output model.
  static func paths(_ spec: String, count: Int, option: String) throws(GraphFuseError) -> [String] {
    if spec.contains("{}") {
      return (0..<count).map { spec.replacingOccurrences(of: "{}", with: String($0)) }
    }
    var isDirectory: ObjCBool = false
    if spec.hasSuffix("/")
      || FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) && isDirectory.boolValue
    {
      do {
        try FileManager.default.createDirectory(atPath: spec, withIntermediateDirectories: true)
      } catch {
        throw GraphFuseError("cannot create the directory", file: spec)
      }
      let dir = spec.hasSuffix("/") ? spec : spec + "/"
      return (0..<count).map { "\(dir)output\($0).npy" }
    }
    let list = spec.split(separator: ",").map(String.init)
    guard list.count == count else {
      throw GraphFuseError(
        "\(option) names \(list.count) file\(list.count == 1 ? "" : "s") for \(count) outputs; give \(count)"
          + " comma-separated files, a directory or a pattern with {} (out{}.npy)")
    }
    return list
  }
}
