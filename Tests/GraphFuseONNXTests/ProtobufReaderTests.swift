import GraphFuse
import Testing

@testable import GraphFuseONNX

@Suite("Protobuf wire format")
struct ProtobufReaderTests {
  struct VarintCase: Sendable {
    let bytes: [UInt8]
    let value: UInt64
  }

  @Test(arguments: [
    VarintCase(bytes: [0x00], value: 0),
    VarintCase(bytes: [0x01], value: 1),
    VarintCase(bytes: [0x7F], value: 127),
    VarintCase(bytes: [0x80, 0x01], value: 128),
    VarintCase(bytes: [0xAC, 0x02], value: 300),
    VarintCase(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], value: 0xFFFF_FFFF),
    VarintCase(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], value: UInt64.max),
    VarintCase(bytes: [0x80, 0x80, 0x80, 0x00], value: 0),  // non-minimal encodings are legal
  ])
  func varints(_ c: VarintCase) throws {
    var r = ProtobufReader(c.bytes)
    #expect(try r.readVarint() == c.value)
    #expect(r.isAtEnd)
  }

  @Test func negativeInt64IsTenBytes() throws {
    var w = ProtoWriter()
    w.varint(UInt64(bitPattern: -2))
    #expect(w.bytes.count == 10)
    var r = ProtobufReader(w.bytes)
    #expect(try r.readInt() == -2)
  }

  @Test(arguments: [
    [UInt8]([0x80]),
    [0xFF, 0xFF],
    [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],  // bit 64 set
    [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // 11 bytes
  ])
  func badVarintsThrow(_ bytes: [UInt8]) {
    var r = ProtobufReader(bytes)
    #expect(throws: GraphFuseError.self) { try r.readVarint() }
  }

  @Test func packedAndUnpackedRepeatedFields() throws {
    var w = ProtoWriter()
    // packed ints 1, 300, -1
    var packed = ProtoWriter()
    packed.varint(1)
    packed.varint(300)
    packed.varint(UInt64(bitPattern: -1))
    w.bytes(8, packed.bytes)
    // unpacked ints 7 and 8 in the same field
    w.int(8, 7)
    w.int(8, 8)
    // packed floats 1.5, -2
    var floats = ProtoWriter()
    for v: Float in [1.5, -2] { floats.bytes += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    w.bytes(7, floats.bytes)
    w.float(7, 4.25)
    w.string(1, "axes")
    var r = ProtobufReader(w.bytes)
    let a = try AttributeProto(&r)
    #expect(a.name == "axes")
    #expect(a.ints == [1, 300, -1, 7, 8])
    #expect(a.floats == [1.5, -2, 4.25])
  }

  @Test func fixedWidthFields() throws {
    var r = ProtobufReader([0x78, 0x56, 0x34, 0x12, 0x01, 0, 0, 0, 0, 0, 0, 0x80])
    #expect(try r.readFixed32() == 0x1234_5678)
    #expect(try r.readFixed64() == 0x8000_0000_0000_0001)
    #expect(r.isAtEnd)
    var short = ProtobufReader([1, 2, 3])
    #expect(throws: GraphFuseError.self) { try short.readFixed32() }
  }

  @Test func unknownFieldsAreSkipped() throws {
    var w = ProtoWriter()
    w.int(99, 5)
    w.key(98, .fixed64)
    w.bytes += [UInt8](repeating: 0, count: 8)
    w.bytes(97, [1, 2, 3])
    w.string(4, "Relu")
    var r = ProtobufReader(w.bytes)
    #expect(try NodeProto(&r).opType == "Relu")
  }

  @Test func lengthBeyondTheMessageThrows() {
    // field 4 (string) claims 10 bytes, 2 remain
    var r = ProtobufReader([0x22, 0x0A, 0x41, 0x42])
    #expect(throws: GraphFuseError.self) { try NodeProto(&r) }
  }

  @Test func groupsAndBadWireTypesThrow() {
    var group = ProtobufReader([0x0B, 0x0C])  // field 1 start group
    #expect(throws: GraphFuseError.self) { while let f = try group.nextField() { try group.skip(f.wire) } }
    var bad = ProtobufReader([0x0E])  // wire type 6
    #expect(throws: GraphFuseError.self) { try bad.nextField() }
    var zero = ProtobufReader([0x00])  // field number 0
    #expect(throws: GraphFuseError.self) { try zero.nextField() }
  }

  @Test func nestingDepthIsLimited() {
    var payload: [UInt8] = []
    for _ in 0..<40 {
      var w = ProtoWriter()
      w.bytes(1, payload)
      payload = w.bytes
    }
    func descend(_ r: inout ProtobufReader) throws(GraphFuseError) {
      while let f = try r.nextField() {
        var inner = try r.readMessage()
        _ = f
        try descend(&inner)
      }
    }
    var r = ProtobufReader(payload)
    #expect(throws: GraphFuseError.self) { try descend(&r) }
  }

  @Test func everyTruncationOfAModelThrowsOrDecodes() {
    let model = ModelWriter.relu
    for cut in 0..<model.count {
      do {
        _ = try ModelProto(Array(model[..<cut]))
      } catch {
        #expect(error.message.contains("malformed protobuf"))
      }
    }
  }

  @Test func tensorRawDataAndTypedFields() throws {
    var w = ProtoWriter()
    w.int(1, 2)
    w.int(1, 2)
    w.int(2, 1)
    var raw: [UInt8] = []
    for v: Float in [1, 2, 3, 4] { raw += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    w.bytes(9, raw)
    var r = ProtobufReader(w.bytes)
    let t = try ConstantTensor(TensorProto(&r))
    #expect(t.shape == [2, 2])
    #expect(t.floats == [1, 2, 3, 4])

    var i = ProtoWriter()
    i.int(1, 3)
    i.int(2, 7)
    var packed = ProtoWriter()
    for v in [5, -1, Int(Int64.max)] { packed.varint(UInt64(bitPattern: Int64(v))) }
    i.bytes(7, packed.bytes)
    var ri = ProtobufReader(i.bytes)
    #expect(try ConstantTensor(TensorProto(&ri)).ints == [5, -1, Int(Int64.max)])

    var short = ProtoWriter()
    short.int(1, 3)
    short.int(2, 1)
    short.bytes(9, [0, 0, 0, 0])
    var rs = ProtobufReader(short.bytes)
    #expect(throws: GraphFuseError.self) { try ConstantTensor(TensorProto(&rs)) }
  }
}
