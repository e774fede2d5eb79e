import GraphFuse
import GraphFuseONNX

/// Loads `MODEL`: a `.onnx` path or a built-in `zoo:NAME`.
enum ModelLoader {
  static func load(_ spec: String, shapes: [String: [Int]] = [:]) throws(GraphFuseError) -> Graph {
    if spec.hasPrefix("zoo:") { return try ModelZoo.build(String(spec.dropFirst(4))) }
    return try ONNXImporter.load(path: spec, shapes: shapes)
  }
}
