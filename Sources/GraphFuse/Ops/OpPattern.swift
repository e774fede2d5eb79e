/// How an op may fuse, ordered as TVM's `OpPatternKind`; fusion rules compare kinds.
public enum OpPattern: Int, Sendable, Comparable, CustomStringConvertible, Codable {
  /// One output element from the same input element (relu, exp).
  case elemwise = 0
  /// Elementwise with numpy broadcasting (add with a per-channel bias).
  case broadcast = 1
  /// Output elements are a remapping of input elements (reshape, transpose, concat).
  case injective = 2
  /// A commutative reduction (reduce_sum, reduce_mean).
  case commReduce = 3
  /// A complex op whose output can take elementwise ops into its epilogue (conv2d, gemm).
  case outEWiseFusable = 4
  /// Multi-output plumbing.
  case tuple = 7
  /// Never fused.
  case opaque = 8

  public static func < (a: OpPattern, b: OpPattern) -> Bool { a.rawValue < b.rawValue }

  public var description: String {
    switch self {
    case .elemwise: return "elemwise"
    case .broadcast: return "broadcast"
    case .injective: return "injective"
    case .commReduce: return "commReduce"
    case .outEWiseFusable: return "outEWiseFusable"
    case .tuple: return "tuple"
    case .opaque: return "opaque"
    }
  }
}
