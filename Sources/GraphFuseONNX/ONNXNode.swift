import GraphFuse

/// One ONNX node being translated: its proto, unique IR name, opset and typed attribute access.
///
/// Integer attributes are bounded (|v| ≤ 2^24) so that garbage values cannot overflow the
/// shape arithmetic downstream; real models never come near the bound.
struct ONNXNode {
  /// The largest magnitude accepted for an integer attribute (strides, pads, axes, …).
  static let attributeBound = 1 << 24

  let proto: NodeProto
  /// The unique IR node name.
  let name: String
  /// The default-domain opset version of the model.
  let opset: Int

  var opType: String { proto.opType }

  /// An error about this node.
  func error(_ message: String) -> GraphFuseError {
    GraphFuseError(message, node: name, op: proto.opType)
  }

  func checkBounded(_ values: [Int], _ what: String) throws(GraphFuseError) {
    if let bad = values.first(where: { $0 < -Self.attributeBound || $0 > Self.attributeBound }) {
      throw error("\(what) holds \(bad), outside the supported range ±\(Self.attributeBound)")
    }
  }

  private func attribute(_ name: String, _ kinds: [AttributeProto.Kind]) throws(GraphFuseError) -> AttributeProto? {
    guard let a = proto.attribute(name) else { return nil }
    // Writers before IR version 3 may leave `type` unset; accept that as matching.
    guard a.type == 0 || kinds.contains(where: { $0.rawValue == a.type }) else {
      throw error("attribute '\(name)' has type \(a.type), expected \(kinds.map { "\($0)" }.joined(separator: " or "))")
    }
    return a
  }

  /// An integer attribute, or `defaultValue`.
  func int(_ name: String, default defaultValue: Int) throws(GraphFuseError) -> Int {
    guard let a = try attribute(name, [.int]) else { return defaultValue }
    try checkBounded([a.i], "attribute '\(name)'")
    return a.i
  }

  /// An integer-list attribute, or nil when absent.
  func ints(_ name: String, bounded: Bool = true) throws(GraphFuseError) -> [Int]? {
    guard let a = try attribute(name, [.ints]) else { return nil }
    if bounded { try checkBounded(a.ints, "attribute '\(name)'") }
    return a.ints
  }

  /// A float attribute, or `defaultValue`.
  func float(_ name: String, default defaultValue: Float) throws(GraphFuseError) -> Float {
    guard let a = try attribute(name, [.float]) else { return defaultValue }
    return a.f
  }

  /// A string attribute, or `defaultValue`.
  func string(_ name: String, default defaultValue: String) throws(GraphFuseError) -> String {
    guard let a = try attribute(name, [.string]) else { return defaultValue }
    return String(decoding: a.s, as: UTF8.self)
  }

  /// A tensor attribute, decoded, or nil when absent.
  func tensor(_ name: String) throws(GraphFuseError) -> ConstantTensor? {
    guard let a = try attribute(name, [.tensor]), let t = a.t else { return nil }
    do { return try ConstantTensor(t) } catch { throw self.error("attribute '\(name)': \(error.message)") }
  }

  /// Whether attribute `name` is present.
  func has(_ name: String) -> Bool { proto.attribute(name) != nil }
}
