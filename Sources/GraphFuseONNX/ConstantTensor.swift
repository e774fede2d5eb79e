import GraphFuse

/// ONNX `TensorProto.DataType` values the importer knows by name.
enum ElementType: Int, Sendable {
  case undefined = 0, float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
  case string = 8, bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13
  case complex64 = 14, complex128 = 15, bfloat16 = 16

  /// A readable name for messages.
  static func name(_ raw: Int) -> String {
    guard let type = ElementType(rawValue: raw) else { return "type \(raw)" }
    return "\(type)"
  }

  /// Whether values of this type are held as integers at import time.
  var isInteger: Bool {
    switch self {
    case .uint8, .int8, .uint16, .int16, .int32, .int64, .bool, .uint32, .uint64: return true
    default: return false
    }
  }
}

/// A tensor known at import time: float data (float32, float64 converted) or integer data
/// (int64, int32, bool, …) kept exact, so shape arithmetic never rounds.
struct ConstantTensor: Sendable {
  /// The largest constant the importer accepts, in elements: that of a runtime tensor. An
  /// initializer's bytes must be in the file, so this only guards index arithmetic; memory is
  /// the real limit.
  static let maxElements = 1 << 31
  /// The most elements folding may create beyond its largest input (ConstantOfShape, Expand).
  static let maxFoldedGrowth = 1 << 26

  var shape: [Int]
  var type: ElementType
  /// Elements when `type` is floating point.
  var floats: [Float] = []
  /// Elements when `type` is an integer or bool.
  var ints: [Int] = []

  var count: Int { type.isInteger ? ints.count : floats.count }
  var isInteger: Bool { type.isInteger }

  init(shape: [Int], floats: [Float]) {
    self.shape = shape
    self.type = .float
    self.floats = floats
  }

  init(shape: [Int], ints: [Int], type: ElementType = .int64) {
    self.shape = shape
    self.type = type
    self.ints = ints
  }

  init(_ tensor: Tensor) { self.init(shape: tensor.shape, floats: tensor.data) }

  /// The IR element type the tensor becomes at run time: int64 and the unsigned and narrower
  /// integers are int64 or int32, bool is bool, floating point is float32.
  var dataType: DataType {
    switch type {
    case .bool: return .bool
    case .int32, .int16, .int8, .uint8, .uint16: return .int32
    case .int64, .uint32, .uint64: return .int64
    default: return .float32
    }
  }

  /// The values as float32 (integers converted).
  var floatValues: [Float] { isInteger ? ints.map { Float($0) } : floats }

  /// The values as integers (floats truncated toward zero, non-finite values rejected).
  func intValues(_ what: String) throws(GraphFuseError) -> [Int] {
    if isInteger { return ints }
    var out: [Int] = []
    out.reserveCapacity(floats.count)
    for v in floats {
      guard v.isFinite, abs(v) < 9.0e15 else { throw GraphFuseError("\(what) holds \(v), not an integer") }
      out.append(Int(v))
    }
    return out
  }

  /// The value as a float32 `Tensor` for the graph and the reference kernels.
  var tensor: Tensor { Tensor(shape: shape, data: floatValues) }

  /// The element count of a shape, or nil when an extent is negative or the product is too large.
  static func elementCount(_ shape: [Int], limit: Int = maxElements) -> Int? {
    var n = 1
    for d in shape {
      guard d >= 0 else { return nil }
      let (p, overflow) = n.multipliedReportingOverflow(by: d)
      guard !overflow, p <= limit else { return nil }
      n = p
    }
    return n
  }

  /// Decodes a `TensorProto`; external data is read through `external` (refused without one).
  init(_ proto: TensorProto, external: ExternalDataResolver? = nil) throws(GraphFuseError) {
    let what = proto.name.isEmpty ? "a tensor" : "tensor '\(proto.name)'"
    guard let type = ElementType(rawValue: proto.dataType), type == .float || type == .double || type.isInteger else {
      throw GraphFuseError(
        "\(what) has element type \(ElementType.name(proto.dataType)); supported are float32, float64 (converted), "
          + "int64, int32, bool and other integers"
      )
    }
    guard !proto.hasSegment else { throw GraphFuseError("\(what) is segmented, which is not supported") }
    guard let count = Self.elementCount(proto.dims) else {
      throw GraphFuseError(
        "\(what) has dims \(proto.dims), which are negative or hold more than \(Self.maxElements) elements")
    }
    self.shape = proto.dims
    self.type = type
    let width = Self.byteWidth(type)
    if proto.isExternal {
      guard let external else {
        throw GraphFuseError(
          "\(what) keeps its data in an external file, which needs the model's path; load the model from its file (or "
            + "re-save it with save_as_external_data=False)"
        )
      }
      let (data, range) = try external.bytes(of: proto, what: what)
      guard range.count == count &* width else {
        throw GraphFuseError(
          "\(what) of dims \(proto.dims) needs \(count &* width) bytes of external data, has \(range.count)")
      }
      data.withUnsafeBytes { all in decodeRaw(UnsafeRawBufferPointer(rebasing: all[range]), count: count, width: width)
      }
    } else if let raw = proto.rawData {
      guard raw.count == count &* width else {
        throw GraphFuseError(
          "\(what) of dims \(proto.dims) needs \(count &* width) bytes of raw data, has \(raw.count)")
      }
      raw.withUnsafeBytes { decodeRaw($0, count: count, width: width) }
    } else {
      try decodeFields(proto, count: count, what: what)
    }
  }

  private static func byteWidth(_ type: ElementType) -> Int {
    switch type {
    case .int8, .uint8, .bool: return 1
    case .int16, .uint16, .float16, .bfloat16: return 2
    case .float, .int32, .uint32: return 4
    default: return 8
    }
  }

  /// Decodes `count` little-endian elements of `width` bytes from `raw` (exactly `count·width` bytes).
  private mutating func decodeRaw(_ raw: UnsafeRawBufferPointer, count: Int, width: Int) {
    func word(_ i: Int) -> UInt64 {
      var v: UInt64 = 0
      for k in 0..<width { v |= UInt64(raw[i &* width &+ k]) << UInt64(8 &* k) }
      return v
    }
    switch type {
    case .float:
      floats = [Float](repeating: 0, count: count)
      floats.withUnsafeMutableBytes { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count &* 4)]))
      }
      #if _endian(big)
        floats = floats.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
      #endif
    case .double: floats = (0..<count).map { Float(Double(bitPattern: word($0))) }
    case .int8: ints = (0..<count).map { Int(Int8(truncatingIfNeeded: word($0))) }
    case .int16: ints = (0..<count).map { Int(Int16(truncatingIfNeeded: word($0))) }
    case .int32: ints = (0..<count).map { Int(Int32(truncatingIfNeeded: word($0))) }
    case .int64, .uint64: ints = (0..<count).map { Int(Int64(bitPattern: word($0))) }
    default: ints = (0..<count).map { Int(truncatingIfNeeded: word($0)) }
    }
  }

  private mutating func decodeFields(_ proto: TensorProto, count: Int, what: String) throws(GraphFuseError) {
    let found: Int
    switch type {
    case .float: floats = proto.floatData; found = floats.count
    case .double: floats = proto.doubleData.map { Float($0) }; found = floats.count
    case .int64: ints = proto.int64Data; found = ints.count
    case .uint32, .uint64: ints = proto.uint64Data; found = ints.count
    default:
      ints = proto.int32Data.map { type == .bool ? ($0 != 0 ? 1 : 0) : Int(Int32(truncatingIfNeeded: $0)) }
      found = ints.count
    }
    guard found == count else {
      throw GraphFuseError("\(what) of dims \(proto.dims) needs \(count) values, has \(found)")
    }
  }
}
