import Foundation

/// NumPy `.npy` files (format versions 1–3) in C order holding float32 (`'<f4'`), int64
/// (`'<i8'`), int32 (`'<i4'`) or bool (`'|b1'`) values, as `numpy.save` writes them. Integers
/// arrive as float32-carried values (``DataType``): one beyond ±2^24 is refused, never rounded.
public enum NPYFile {
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

  /// Reads a tensor from an `.npy` file.
  public static func read(path: String) throws(GraphFuseError) -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw GraphFuseError(
        FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file", file: path)
    }
    return try decode([UInt8](data), name: path)
  }

  /// Reads a tensor and the element type the file holds.
  public static func readTyped(path: String) throws(GraphFuseError) -> (tensor: Tensor, dataType: DataType) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw GraphFuseError(
        FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file", file: path)
    }
    return try decodeTyped([UInt8](data), name: path)
  }

  /// Writes a tensor as an `.npy` file of `dataType` (integers and bools in their own dtype).
  public static func write(_ tensor: Tensor, path: String, dataType: DataType = .float32) throws(GraphFuseError) {
    guard FileManager.default.createFile(atPath: path, contents: Data(encode(tensor, dataType: dataType))) else {
      throw GraphFuseError("cannot write the file", file: path)
    }
  }

  /// The `.npy` bytes of a tensor: version 1.0 (2.0 when the header needs more than 64 KiB), 64-byte aligned.
  public static func encode(_ tensor: Tensor, dataType: DataType = .float32) -> [UInt8] {
    let dims = tensor.shape.map(String.init)
    let shape = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
    let descr = ["float32": "<f4", "int64": "<i8", "int32": "<i4", "bool": "|b1"][dataType.name]!
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
    let large = header.utf8.count + 1 + 10 > 65_535
    let prefix = magic.count + 2 + (large ? 4 : 2)
    header += String(repeating: " ", count: (64 - (prefix + header.utf8.count + 1) % 64) % 64) + "\n"
    var bytes = magic + [large ? 2 : 1, 0]
    let length = header.utf8.count
    bytes +=
      large
      ? (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } : [UInt8(length & 0xff), UInt8(length >> 8)]
    bytes += Array(header.utf8)
    switch dataType {
    case .float32:
      bytes += tensor.data.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
    case .int32: bytes += tensor.data.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: Int32(v) >> (8 * $0)) } }
    case .int64: bytes += tensor.data.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: Int64(v) >> (8 * $0)) } }
    case .bool: bytes += tensor.data.map { $0 != 0 ? 1 : 0 }
    }
    return bytes
  }

  /// Decodes float32 `.npy` bytes; any other dtype is an error that says how to convert.
  public static func decode(_ bytes: [UInt8], name: String = "tensor") throws(GraphFuseError) -> Tensor {
    let (tensor, type) = try decodeTyped(bytes, name: name)
    guard type == .float32 else {
      throw GraphFuseError(
        "holds dtype \(type.name); a float32 tensor is needed: save with array.astype(numpy.float32)", file: name)
    }
    return tensor
  }

  /// Decodes `.npy` bytes of float32, int64, int32 or bool in C order; anything else is an error
  /// that says how to convert.
  public static func decodeTyped(_ bytes: [UInt8], name: String = "tensor") throws(GraphFuseError)
    -> (tensor: Tensor, dataType: DataType)
  {
    func fail(_ message: String) -> GraphFuseError { GraphFuseError(message, file: name) }
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw fail("is not an .npy file (no \\x93NUMPY magic)")
    }
    let major = bytes[6]
    let lengthBytes: Int
    switch major {
    case 1: lengthBytes = 2
    case 2, 3: lengthBytes = 4
    default: throw fail("has .npy format version \(major).\(bytes[7]); versions 1–3 are supported")
    }
    guard bytes.count >= 8 + lengthBytes else { throw fail("is truncated in its .npy header") }
    let headerLength = (0..<lengthBytes).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    let start = 8 + lengthBytes
    guard headerLength <= bytes.count - start else { throw fail("is truncated in its .npy header") }
    let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
    let descr = try field("descr", in: header, name: name)
    let types: [String: DataType] = [
      "'<f4'": .float32, "'<i8'": .int64, "'<i4'": .int32, "'|b1'": .bool, "'<b1'": .bool, "'=b1'": .bool,
    ]
    let native: [String: DataType] = isLittleEndian ? ["'=f4'": .float32, "'=i8'": .int64, "'=i4'": .int32] : [:]
    guard let type = types[descr] ?? native[descr] else {
      throw fail(
        "holds dtype \(descr); GraphFuse reads float32 ('<f4'), int64 ('<i8'), int32 ('<i4') and bool ('|b1'): "
          + "convert with array.astype(numpy.float32)")
    }
    guard try field("fortran_order", in: header, name: name) == "False" else {
      throw fail("is in Fortran order; save with numpy.ascontiguousarray(array)")
    }
    let shape = try parseShape(try field("shape", in: header, name: name), name: name)
    var count = 1
    for d in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product <= 1 << 40 else { throw fail("has an impossible shape \(shape)") }
      count = product
    }
    let payload = bytes.count - start - headerLength
    guard payload == count * type.byteSize else {
      throw fail(
        "holds \(payload) bytes of data, but its shape \(shape) needs \(count * type.byteSize) (\(count) \(type.name) "
          + "values)")
    }
    let base = start + headerLength
    func word(_ i: Int, _ size: Int) -> UInt64 {
      (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[base + i * size + $1]) << (8 * $1) }
    }
    var values = [Float](repeating: 0, count: count)
    if type == .float32, isLittleEndian {
      values.withUnsafeMutableBytes { $0.copyBytes(from: bytes[base...]) }
      return (Tensor(shape: shape, data: values), type)
    }
    for i in 0..<count {
      switch type {
      case .float32: values[i] = Float(bitPattern: UInt32(word(i, 4)))
      case .bool: values[i] = bytes[base + i] != 0 ? 1 : 0
      case .int32, .int64:
        let v = type == .int32 ? Int(Int32(bitPattern: UInt32(word(i, 4)))) : Int(Int64(bitPattern: word(i, 8)))
        guard v >= -DataType.exactLimit, v <= DataType.exactLimit else {
          throw fail(
            "holds \(type.name) value \(v) at element \(i), beyond ±2^24: GraphFuse carries integers in float32, "
              + "exact up to 2^24 (16777216)")
        }
        values[i] = Float(v)
      }
    }
    return (Tensor(shape: shape, data: values), type)
  }

  private static var isLittleEndian: Bool { 1.littleEndian == 1 }

  /// The text of one value of the header's Python dict literal.
  private static func field(_ key: String, in header: String, name: String) throws(GraphFuseError) -> String {
    guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
      let colon = header[keyRange.upperBound...].firstIndex(of: ":")
    else { throw GraphFuseError("has no '\(key)' in its .npy header", file: name) }
    let rest = header[header.index(after: colon)...].drop(while: { $0 == " " })
    if rest.first == "(" {
      guard let close = rest.firstIndex(of: ")") else { throw GraphFuseError("has a malformed .npy shape", file: name) }
      return String(rest[...close])
    }
    let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
    return rest[..<end].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "'")
  }

  /// `(1, 3, 224, 224)`, `(10,)` or `()` as dimensions.
  private static func parseShape(_ text: String, name: String) throws(GraphFuseError) -> [Int] {
    var dims: [Int] = []
    for item in text.dropFirst().dropLast().split(separator: ",") {
      let trimmed = item.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
      guard let d = Int(trimmed), d >= 0 else {
        throw GraphFuseError("has a malformed .npy shape \(text)", file: name)
      }
      dims.append(d)
    }
    return dims
  }
}
