import GraphFuse
import GraphFuseONNX

/// Loads `MODEL`: a `.onnx` path or a built-in `zoo:NAME`.
enum ModelLoader {
  /// `batch` (from `--batch`) sizes a built-in model; an ONNX model takes its shapes from `--shape`.
  /// `inputShapes` are the shapes of the input files in order (`.npy`), for symbolic dimensions.
  static func load(_ spec: String, shapes: [String: [Int]] = [:], batch: Int? = nil, inputShapes: [[Int]?] = [])
    throws(GraphFuseError) -> Graph
  {
    if spec.hasPrefix("zoo:") { return try ModelZoo.build(String(spec.dropFirst(4)), batch: batch ?? 1) }
    if batch != nil {
      throw GraphFuseError(
        "--batch sizes built-in zoo: models; give an ONNX model's input shape with --shape NAME=NxCxHxW", file: spec)
    }
    return try ONNXImporter.load(path: spec, shapes: shapes, inputShapes: inputShapes)
  }

  /// `MODEL` with axis 0 of every input set to `batchAxis`: a zoo model built at that batch, an
  /// ONNX model whose inputs' axis 0 is symbolic or 1 imported so (`compile --max-batch`).
  static func load(_ spec: String, shapes: [String: [Int]] = [:], batchAxis: Int) throws(GraphFuseError) -> Graph {
    if spec.hasPrefix("zoo:") { return try ModelZoo.build(String(spec.dropFirst(4)), batch: batchAxis) }
    return try ONNXImporter.load(path: spec, shapes: shapes, batch: batchAxis)
  }
}
