import GraphFuse

// The subset of onnx.proto (onnx/onnx.proto3) GraphFuse reads; field numbers are from that file.
// Unknown fields are skipped, so newer writers stay readable.

/// `ModelProto`: the file's top-level message.
struct ModelProto {
  var irVersion = 0
  /// `(domain, version)` pairs from `opset_import`.
  var opsets: [(domain: String, version: Int)] = []
  var producerName = ""
  var graph = GraphProto()
  var hasGraph = false

  init(_ bytes: [UInt8]) throws(GraphFuseError) {
    var r = ProtobufReader(bytes)
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .varint): irVersion = try r.readInt()
      case (2, .lengthDelimited): producerName = try r.readString()
      case (7, .lengthDelimited):
        var m = try r.readMessage()
        graph = try GraphProto(&m)
        hasGraph = true
      case (8, .lengthDelimited):
        var m = try r.readMessage()
        var domain = "", version = 0
        while let (f, w) = try m.nextField() {
          switch (f, w) {
          case (1, .lengthDelimited): domain = try m.readString()
          case (2, .varint): version = try m.readInt()
          default: try m.skip(w)
          }
        }
        opsets.append((domain, version))
      default: try r.skip(wire)
      }
    }
  }
}

/// `GraphProto`: nodes, initializers, inputs, outputs and value infos.
struct GraphProto {
  var name = ""
  var nodes: [NodeProto] = []
  var initializers: [TensorProto] = []
  var inputs: [ValueInfoProto] = []
  var outputs: [ValueInfoProto] = []
  var valueInfo: [ValueInfoProto] = []
  var hasSparseInitializers = false

  init() {}

  init(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      guard wire == .lengthDelimited else { try r.skip(wire); continue }
      switch field {
      case 1: var m = try r.readMessage(); nodes.append(try NodeProto(&m))
      case 2: name = try r.readString()
      case 5: var m = try r.readMessage(); initializers.append(try TensorProto(&m))
      case 11: var m = try r.readMessage(); inputs.append(try ValueInfoProto(&m))
      case 12: var m = try r.readMessage(); outputs.append(try ValueInfoProto(&m))
      case 13: var m = try r.readMessage(); valueInfo.append(try ValueInfoProto(&m))
      case 15: hasSparseInitializers = true; try r.skip(wire)
      default: try r.skip(wire)
      }
    }
  }
}

/// `NodeProto`: one operator application.
struct NodeProto {
  var inputs: [String] = []
  var outputs: [String] = []
  var name = ""
  var opType = ""
  var domain = ""
  var attributes: [AttributeProto] = []

  init(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      guard wire == .lengthDelimited else { try r.skip(wire); continue }
      switch field {
      case 1: inputs.append(try r.readString())
      case 2: outputs.append(try r.readString())
      case 3: name = try r.readString()
      case 4: opType = try r.readString()
      case 5: var m = try r.readMessage(); attributes.append(try AttributeProto(&m))
      case 7: domain = try r.readString()
      default: try r.skip(wire)
      }
    }
  }

  /// The attribute called `name`, if present.
  func attribute(_ name: String) -> AttributeProto? { attributes.first { $0.name == name } }
}

/// `AttributeProto`: a named scalar, list, string or tensor.
struct AttributeProto {
  /// `AttributeProto.AttributeType` values used here.
  enum Kind: Int {
    case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5
    case floats = 6, ints = 7, strings = 8, tensors = 9, graphs = 10, sparseTensor = 11, typeProto = 13
  }

  var name = ""
  var type = 0
  var f: Float = 0
  var i = 0
  var s: [UInt8] = []
  var t: TensorProto?
  var floats: [Float] = []
  var ints: [Int] = []
  var strings: [String] = []
  /// Whether a payload GraphFuse does not read (graphs, sparse tensors, type protos) was present.
  var hasUnsupportedPayload = false

  /// The declared kind, or nil for an unknown type number.
  var kind: Kind? { Kind(rawValue: type) }

  init(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): name = try r.readString()
      case (20, .varint): type = try r.readInt()
      case (2, .fixed32): f = try r.readFloat()
      case (3, .varint): i = try r.readInt()
      case (4, .lengthDelimited): s = Array(try r.readBytes())
      case (5, .lengthDelimited): var m = try r.readMessage(); t = try TensorProto(&m)
      case (7, _): try r.readRepeatedFloats(wire, into: &floats)
      case (8, _): try r.readRepeatedInts(wire, into: &ints)
      case (9, .lengthDelimited): strings.append(try r.readString())
      case (6, _), (10, _), (11, _), (14, _), (22, _), (21, _): hasUnsupportedPayload = true; try r.skip(wire)
      default: try r.skip(wire)
      }
    }
  }
}

/// `TensorProto`: dims, element type and data in one of several fields.
struct TensorProto {
  var dims: [Int] = []
  var dataType = 0
  var name = ""
  var floatData: [Float] = []
  var int32Data: [Int] = []
  var int64Data: [Int] = []
  var doubleData: [Double] = []
  var uint64Data: [Int] = []
  var rawData: ArraySlice<UInt8>?
  var hasStringData = false
  /// `data_location == EXTERNAL` or a non-empty `external_data`.
  var isExternal = false
  /// The `external_data` key–value entries (`location`, `offset`, `length`, …) in file order.
  var externalData: [(key: String, value: String)] = []
  var hasSegment = false

  init(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, _): try r.readRepeatedInts(wire, into: &dims)
      case (2, .varint): dataType = try r.readInt()
      case (3, _): hasSegment = true; try r.skip(wire)
      case (4, _): try r.readRepeatedFloats(wire, into: &floatData)
      case (5, _): try r.readRepeatedInts(wire, into: &int32Data)
      case (6, _): hasStringData = true; try r.skip(wire)
      case (7, _): try r.readRepeatedInts(wire, into: &int64Data)
      case (8, .lengthDelimited): name = try r.readString()
      case (9, .lengthDelimited): rawData = try r.readBytes()
      case (10, _): try r.readRepeatedDoubles(wire, into: &doubleData)
      case (11, _): try r.readRepeatedInts(wire, into: &uint64Data)
      case (13, .lengthDelimited):
        isExternal = true
        var entry = try r.readMessage()
        var key = "", value = ""
        while let (f, w) = try entry.nextField() {
          switch (f, w) {
          case (1, .lengthDelimited): key = try entry.readString()
          case (2, .lengthDelimited): value = try entry.readString()
          default: try entry.skip(w)
          }
        }
        externalData.append((key, value))
      case (13, _): isExternal = true; try r.skip(wire)
      case (14, .varint): if try r.readInt() == 1 { isExternal = true }
      default: try r.skip(wire)
      }
    }
  }
}

/// `ValueInfoProto` with its `TypeProto.Tensor`: a name, element type and shape.
struct ValueInfoProto {
  /// One dimension: a static extent, a symbolic name, or unknown.
  enum Dim: Equatable {
    case value(Int)
    case param(String)
    case unknown
  }

  var name = ""
  /// The element type, 0 when absent.
  var elementType = 0
  /// The dims, or nil when the shape is absent.
  var dims: [Dim]?
  /// Whether the type is something other than a tensor (sequence, map, …).
  var isNonTensor = false

  init(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): name = try r.readString()
      case (2, .lengthDelimited):
        var type = try r.readMessage()
        try readType(&type)
      default: try r.skip(wire)
      }
    }
  }

  private mutating func readType(_ r: inout ProtobufReader) throws(GraphFuseError) {
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited):
        var tensor = try r.readMessage()
        while let (f, w) = try tensor.nextField() {
          switch (f, w) {
          case (1, .varint): elementType = try tensor.readInt()
          case (2, .lengthDelimited):
            var shape = try tensor.readMessage()
            dims = try Self.readShape(&shape)
          default: try tensor.skip(w)
          }
        }
      case (4, _), (5, _), (8, _), (9, _): isNonTensor = true; try r.skip(wire)
      default: try r.skip(wire)
      }
    }
  }

  private static func readShape(_ r: inout ProtobufReader) throws(GraphFuseError) -> [Dim] {
    var dims: [Dim] = []
    while let (field, wire) = try r.nextField() {
      guard field == 1, wire == .lengthDelimited else { try r.skip(wire); continue }
      var d = try r.readMessage()
      var dim = Dim.unknown
      while let (f, w) = try d.nextField() {
        switch (f, w) {
        case (1, .varint): dim = .value(try d.readInt())
        case (2, .lengthDelimited): dim = .param(try d.readString())
        default: try d.skip(w)
        }
      }
      dims.append(dim)
    }
    return dims
  }
}
