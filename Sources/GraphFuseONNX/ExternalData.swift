import Foundation
import GraphFuse

/// Resolves `TensorProto` external data: files beside the model, memory-mapped once each.
///
/// ONNX keeps large weights outside the `.onnx` file when `data_location = EXTERNAL`; the
/// tensor's `external_data` entries name a `location` relative to the model's folder and an
/// optional byte `offset` and `length`. Locations must stay inside that folder (no absolute
/// paths, no `..` components, no symbolic links leading out). Each data file is mapped with
/// `Data(contentsOf:options: .alwaysMapped)`, so the bytes are read from the page cache as
/// tensors decode, never copied into one more buffer first.
final class ExternalDataResolver {
  /// The folder holding the model file; locations are relative to it.
  let folder: URL
  private var mapped: [String: Data] = [:]

  /// A resolver for a model read from `modelPath`.
  init(modelPath: String) {
    folder = URL(fileURLWithPath: modelPath).deletingLastPathComponent().standardizedFileURL
  }

  /// The bytes of `proto`'s external data, checked against its location rules and the file size.
  func bytes(of proto: TensorProto, what: String) throws(GraphFuseError) -> (data: Data, range: Range<Int>) {
    var location: String?
    var offset = 0
    var length: Int?
    for (key, value) in proto.externalData {
      switch key {
      case "location": location = value
      case "offset", "length":
        guard let v = Int(value), v >= 0 else {
          throw GraphFuseError("\(what) has external data \(key) '\(value)', which is not a non-negative integer")
        }
        if key == "offset" { offset = v } else { length = v }
      default: continue  // "checksum" and unknown keys do not change where the bytes are.
      }
    }
    guard let location, !location.isEmpty else {
      throw GraphFuseError("\(what) keeps its data externally but names no location")
    }
    let file = try resolve(location, what: what)
    let data = try map(file, location: location, what: what)
    let available = data.count - min(offset, data.count)
    let count = length ?? available
    guard offset <= data.count, count <= available else {
      throw GraphFuseError(
        "\(what): external data file '\(location)' is too short (\(data.count) bytes; the tensor needs bytes "
          + "\(offset)..<\(offset + count))"
      )
    }
    return (data, offset..<(offset + count))
  }

  /// The file a location names, refusing absolute paths and paths that leave the model's folder.
  private func resolve(_ location: String, what: String) throws(GraphFuseError) -> URL {
    let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
    guard !location.hasPrefix("/"), !location.hasPrefix("\\"), !location.contains(":"),
      !components.contains(where: { $0 == ".." }), !location.contains("\0")
    else {
      throw GraphFuseError("\(what) names external data location '\(location)', which leaves the model's folder")
    }
    let url = folder.appendingPathComponent(location).standardizedFileURL
    let real = url.resolvingSymlinksInPath().path
    let base = folder.resolvingSymlinksInPath().path
    guard real.hasPrefix(base.hasSuffix("/") ? base : base + "/") else {
      throw GraphFuseError("\(what) names external data location '\(location)', which leads out of the model's folder")
    }
    return url
  }

  private func map(_ url: URL, location: String, what: String) throws(GraphFuseError) -> Data {
    if let data = mapped[url.path] { return data }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw GraphFuseError("\(what): external data file '\(location)' is missing beside the model")
    }
    let data: Data
    do {
      data = try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
      throw GraphFuseError("\(what): cannot read external data file '\(location)'")
    }
    mapped[url.path] = data
    return data
  }
}
