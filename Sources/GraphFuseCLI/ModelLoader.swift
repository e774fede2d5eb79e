import GraphFuse
import GraphFuseONNX

/// Loads `MODEL`: a `.onnx` path or a built-in `zoo:NAME`.
enum ModelLoader {
  /// `batch` (from `--batch`) sizes a built-in model, and sets axis 0 of every input of an ONNX
  /// model (symbolic or 1 in the file); other dimensions come from `--shape`. `inputShapes` are
  /// the shapes of the input files in order (`.npy`), for symbolic dimensions.
  static func load(_ spec: String, shapes: [String: [Int]] = [:], batch: Int? = nil, inputShapes: [[Int]?] = [])
    throws(GraphFuseError) -> Graph
  {
    if spec.hasPrefix("zoo:") { return try ModelZoo.build(String(spec.dropFirst(4)), batch: batch ?? 1) }
    return try ONNXImporter.load(path: spec, shapes: shapes, inputShapes: inputShapes, batch: batch)
  }

}
