/// The element type a value means: float32, or an integer or boolean carried exactly in float32.
///
/// Every runtime tensor of GraphFuse is stored as float32, as the WebGL backends of TensorFlow.js
/// and ONNX.js store int32: integers are exact there up to 2^24 in magnitude and a boolean is 0
/// or 1. The type decides what an op means (`Cast` to int64 truncates, `Div` of integers
/// truncates, a bool is `!= 0`) and how graph inputs and outputs cross the API: int64, int32 and
/// bool tensors arrive and leave in their own C types, and an integer input beyond
/// ``DataType/exactLimit`` is refused rather than rounded. Values known at import time (shapes and
/// their arithmetic) are folded exactly in 64-bit integers before they reach the graph.
public enum DataType: Int, Sendable, Equatable, CaseIterable {
  case float32 = 1
  case int32 = 6
  case int64 = 7
  case bool = 9

  /// The largest integer magnitude float32 holds exactly (2^24); every integer below it is exact.
  public static let exactLimit: Int = 1 << 24

  /// The ONNX `TensorProto.DataType` code (FLOAT 1, INT32 6, INT64 7, BOOL 9).
  public var onnxCode: Int { rawValue }

  /// Whether values are whole numbers (int32, int64, bool).
  public var isInteger: Bool { self != .float32 }

  /// Bytes of one element in the type's own C representation.
  public var byteSize: Int {
    switch self {
    case .float32, .int32: return 4
    case .int64: return 8
    case .bool: return 1
    }
  }

  /// The NumPy / PyTorch name (`float32`, `int64`, `bool`).
  public var name: String {
    switch self {
    case .float32: return "float32"
    case .int32: return "int32"
    case .int64: return "int64"
    case .bool: return "bool"
    }
  }
}
