import GraphFuse

/// The wire type of a protobuf field: how its payload is encoded.
enum WireType: UInt8, Sendable {
  case varint = 0
  case fixed64 = 1
  case lengthDelimited = 2
  case startGroup = 3
  case endGroup = 4
  case fixed32 = 5
}

/// A bounds-checked reader of the protobuf wire format over one message's bytes.
///
/// Every read checks the remaining length first; malformed input throws a `GraphFuseError`
/// naming the byte offset, never traps. Nested messages share the buffer (no copies) and
/// carry a depth that is limited to `maxDepth`.
struct ProtobufReader {
  /// The deepest message nesting accepted.
  static let maxDepth = 32

  /// The whole buffer; this reader sees `position..<end`.
  let bytes: [UInt8]
  /// The next byte to read.
  private(set) var position: Int
  /// One past the last byte of this message.
  let end: Int
  /// How many messages enclose this one.
  let depth: Int

  /// A reader over a whole buffer (the top-level message).
  init(_ bytes: [UInt8]) {
    self.init(bytes: bytes, range: 0..<bytes.count, depth: 0)
  }

  private init(bytes: [UInt8], range: Range<Int>, depth: Int) {
    self.bytes = bytes
    self.position = range.lowerBound
    self.end = range.upperBound
    self.depth = depth
  }

  /// Whether every byte of this message has been read.
  var isAtEnd: Bool { position >= end }

  private func malformed(_ what: String, at offset: Int? = nil) -> GraphFuseError {
    GraphFuseError("malformed protobuf: \(what) at byte \(offset ?? position)")
  }

  /// The next field's number and wire type, or nil at the end of the message.
  mutating func nextField() throws(GraphFuseError) -> (number: Int, wire: WireType)? {
    guard !isAtEnd else { return nil }
    let start = position
    let key = try readVarint()
    guard let wire = WireType(rawValue: UInt8(key & 7)) else {
      throw malformed("invalid wire type \(key & 7)", at: start)
    }
    let number = key >> 3
    guard number >= 1, number <= 0x1FFF_FFFF else { throw malformed("invalid field number \(number)", at: start) }
    return (Int(number), wire)
  }

  /// A base-128 varint of at most 10 bytes.
  mutating func readVarint() throws(GraphFuseError) -> UInt64 {
    let start = position
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < end else { throw malformed("truncated varint", at: start) }
      let byte = bytes[position]
      position &+= 1
      if shift == 63, byte > 1 { throw malformed("varint overflows 64 bits", at: start) }
      result |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return result }
      shift &+= 7
      guard shift <= 63 else { throw malformed("varint longer than 10 bytes", at: start) }
    }
  }

  /// A varint read as a two's-complement `int64` (protobuf `int64` / `int32` fields).
  mutating func readInt() throws(GraphFuseError) -> Int {
    Int(Int64(bitPattern: try readVarint()))
  }

  /// Four little-endian bytes.
  mutating func readFixed32() throws(GraphFuseError) -> UInt32 {
    guard end &- position >= 4 else { throw malformed("truncated fixed32") }
    var value: UInt32 = 0
    for k in 0..<4 { value |= UInt32(bytes[position &+ k]) << UInt32(8 &* k) }
    position &+= 4
    return value
  }

  /// Eight little-endian bytes.
  mutating func readFixed64() throws(GraphFuseError) -> UInt64 {
    guard end &- position >= 8 else { throw malformed("truncated fixed64") }
    var value: UInt64 = 0
    for k in 0..<8 { value |= UInt64(bytes[position &+ k]) << UInt64(8 &* k) }
    position &+= 8
    return value
  }

  /// A float stored as fixed32.
  mutating func readFloat() throws(GraphFuseError) -> Float { Float(bitPattern: try readFixed32()) }

  /// A double stored as fixed64.
  mutating func readDouble() throws(GraphFuseError) -> Double { Double(bitPattern: try readFixed64()) }

  /// The byte range of a length-delimited payload, checked against the remaining bytes.
  mutating func readLengthDelimited() throws(GraphFuseError) -> Range<Int> {
    let start = position
    let length = try readVarint()
    guard length <= UInt64(end &- position) else {
      throw malformed("length \(length) exceeds the \(end &- position) remaining bytes", at: start)
    }
    let range = position..<(position &+ Int(length))
    position = range.upperBound
    return range
  }

  /// A length-delimited payload as bytes.
  mutating func readBytes() throws(GraphFuseError) -> ArraySlice<UInt8> {
    bytes[try readLengthDelimited()]
  }

  /// A length-delimited payload as a UTF-8 string (invalid sequences are repaired).
  mutating func readString() throws(GraphFuseError) -> String {
    String(decoding: try readBytes(), as: UTF8.self)
  }

  /// A reader over an embedded message.
  mutating func readMessage() throws(GraphFuseError) -> ProtobufReader {
    guard depth < Self.maxDepth else { throw malformed("messages nested deeper than \(Self.maxDepth)") }
    let range = try readLengthDelimited()
    return ProtobufReader(bytes: bytes, range: range, depth: depth &+ 1)
  }

  /// Skips one field's payload of the given wire type.
  mutating func skip(_ wire: WireType) throws(GraphFuseError) {
    switch wire {
    case .varint: _ = try readVarint()
    case .fixed64: _ = try readFixed64()
    case .fixed32: _ = try readFixed32()
    case .lengthDelimited: _ = try readLengthDelimited()
    case .startGroup, .endGroup: throw malformed("groups (wire types 3/4) are not supported")
    }
  }

  // MARK: Repeated scalars, packed or not

  /// Appends one element or a packed run of varints, as two's-complement integers.
  mutating func readRepeatedInts(_ wire: WireType, into values: inout [Int]) throws(GraphFuseError) {
    switch wire {
    case .varint: values.append(try readInt())
    case .lengthDelimited:
      var packed = ProtobufReader(bytes: bytes, range: try readLengthDelimited(), depth: depth)
      while !packed.isAtEnd { values.append(try packed.readInt()) }
    default: throw malformed("repeated integer field has wire type \(wire.rawValue)")
    }
  }

  /// Appends one element or a packed run of fixed32 floats.
  mutating func readRepeatedFloats(_ wire: WireType, into values: inout [Float]) throws(GraphFuseError) {
    switch wire {
    case .fixed32: values.append(try readFloat())
    case .lengthDelimited:
      let range = try readLengthDelimited()
      guard range.count % 4 == 0 else {
        throw malformed("packed float field of \(range.count) bytes is not a multiple of 4")
      }
      values.reserveCapacity(values.count &+ range.count / 4)
      var packed = ProtobufReader(bytes: bytes, range: range, depth: depth)
      while !packed.isAtEnd { values.append(try packed.readFloat()) }
    default: throw malformed("repeated float field has wire type \(wire.rawValue)")
    }
  }

  /// Appends one element or a packed run of fixed64 doubles.
  mutating func readRepeatedDoubles(_ wire: WireType, into values: inout [Double]) throws(GraphFuseError) {
    switch wire {
    case .fixed64: values.append(try readDouble())
    case .lengthDelimited:
      let range = try readLengthDelimited()
      guard range.count % 8 == 0 else {
        throw malformed("packed double field of \(range.count) bytes is not a multiple of 8")
      }
      var packed = ProtobufReader(bytes: bytes, range: range, depth: depth)
      while !packed.isAtEnd { values.append(try packed.readDouble()) }
    default: throw malformed("repeated double field has wire type \(wire.rawValue)")
    }
  }
}
