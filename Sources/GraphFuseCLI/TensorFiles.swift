import Foundation
import GraphFuse
import GraphFuseONNX

/// Tensor files by extension: `.npy` (NumPy, float32, C order) or anything else as raw
/// little-endian float32; and where `run --output` puts each output.
enum TensorFiles {
  /// Reads a tensor that must have `shape` (an `.npy` file's own shape is checked against it).
  static func read(_ path: String, shape: [Int], what: String) throws(GraphFuseError) -> Tensor {
    guard path.hasSuffix(".npy") else { return try RawTensorFile.read(path: path, shape: shape) }
    let tensor = try NPYFile.read(path: path)
    guard tensor.shape == shape else {
      throw GraphFuseError("has shape \(tensor.shape), but \(what) has shape \(shape)", file: path)
    }
    return tensor
  }

  /// Writes `.npy` for a `.npy` path, raw float32 otherwise.
  static func write(_ tensor: Tensor, to path: String) throws(GraphFuseError) {
    if path.hasSuffix(".npy") {
      try NPYFile.write(tensor, path: path)
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
