import Foundation
import GraphFuse

/// Imports ONNX models (`.onnx` files) into GraphFuse graphs, with no dependency.
///
/// The file is decoded by GraphFuse's own protobuf reader; every ONNX node becomes one IR
/// node (a few become two or three), weights become graph constants, and integer shape
/// arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape) is evaluated while importing,
/// so the graph only holds float32 tensor computations with static shapes.
///
/// ```swift
/// let graph = try ONNXImporter.load(path: "resnet18.onnx")
/// let dynamic = try ONNXImporter.load(path: "model.onnx", shapes: ["input": [1, 3, 224, 224]])
/// ```
///
/// Every failure is a `GraphFuseError` carrying the file path and, where it applies, the ONNX
/// node name and op type. See `Docs/ONNX.md` for the supported ops.
public enum ONNXImporter {
  /// The ONNX ops the importer translates.
  public static var supportedOps: [String] { ImportSession.supportedOps.sorted() }

  /// Reads and imports the model at `path`.
  ///
  /// - Parameter shapes: the shape of each graph input whose ONNX shape has symbolic
  ///   dimensions (`batch`, `N`, …), keyed by input name; static inputs need no entry.
  /// - Parameter inputShapes: the shapes of the graph inputs in order, as the files given for
  ///   them have (an `.npy` file's own shape); used for inputs with symbolic dimensions that
  ///   `shapes` does not name, checked against the static ones.
  /// - Parameter batch: sets axis 0 of every input to this batch size; each input's axis 0 must be
  ///   symbolic or 1 in the file (`graphfuse compile --max-batch` imports once per batch size).
  public static func load(
    path: String, shapes: [String: [Int]] = [:], inputShapes: [[Int]?] = [], batch: Int? = nil
  ) throws(GraphFuseError) -> Graph {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw GraphFuseError("no such file", file: path)
    }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw GraphFuseError("cannot read the file", file: path)
    }
    return try load(
      data: [UInt8](data), name: path, shapes: shapes, inputShapes: inputShapes, batch: batch,
      external: ExternalDataResolver(modelPath: path))
  }

  /// Parses a command-line shape option `NAME=1x3x224x224` (also `NAME=1,3,224,224`).
  public static func parseShapeOption(_ text: String) throws(GraphFuseError) -> (name: String, shape: [Int]) {
    let usage = "expected NAME=DIMS such as input=1x3x224x224, got '\(text)'"
    guard let equals = text.lastIndex(of: "=") else { throw GraphFuseError(usage) }
    let name = String(text[..<equals])
    let dims = text[text.index(after: equals)...].split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "," || $0 == "X" })
    var shape: [Int] = []
    for d in dims {
      guard let v = Int(d) else { throw GraphFuseError(usage) }
      guard v > 0, v <= 1 << 31 else {
        throw GraphFuseError(
          "a dimension must be between 1 and 2^31, got \(v) in '\(text)' (a size-0 tensor holds nothing to run)")
      }
      shape.append(v)
    }
    guard !name.isEmpty, !shape.isEmpty else { throw GraphFuseError(usage) }
    return (name, shape)
  }

  /// Imports a model from the bytes of an `.onnx` file; `name` is used in error messages.
  ///
  /// Tensors stored as external data need the model's folder: load such models with
  /// ``load(path:shapes:)``.
  public static func load(data: [UInt8], name: String = "model.onnx", shapes: [String: [Int]] = [:])
    throws(GraphFuseError) -> Graph
  {
    try load(data: data, name: name, shapes: shapes, inputShapes: [], batch: nil, external: nil)
  }

  static func load(
    data: [UInt8], name: String, shapes: [String: [Int]], inputShapes: [[Int]?], batch: Int?,
    external: ExternalDataResolver?
  ) throws(GraphFuseError) -> Graph {
    do throws(GraphFuseError) {
      let model: ModelProto
      do {
        model = try ModelProto(data)
      } catch {
        throw GraphFuseError("not a valid ONNX model (\(error.message))")
      }
      var session = try ImportSession(model: model, shapes: shapes, external: external)
      session.inputShapeHints = inputShapes
      session.batch = batch
      return try session.run()
    } catch {
      throw error.inFile(name)
    }
  }
}
