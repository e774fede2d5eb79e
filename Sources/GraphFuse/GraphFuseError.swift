/// An error a user can act on: what is wrong and where (file, node, op).
public struct GraphFuseError: Error, Sendable, CustomStringConvertible, Equatable {
  /// The file the error concerns, if any.
  public var file: String?
  /// The node name the error concerns, if any.
  public var node: String?
  /// The op of that node, if any.
  public var op: String?
  /// What is wrong, in one sentence.
  public var message: String

  /// Creates an error; `node` and `op` say where in the graph it arose.
  public init(_ message: String, node: String? = nil, op: String? = nil, file: String? = nil) {
    self.message = message
    self.node = node
    self.op = op
    self.file = file
  }

  /// The same error attributed to a file.
  public func inFile(_ file: String) -> GraphFuseError {
    var copy = self
    if copy.file == nil { copy.file = file }
    return copy
  }

  /// Names (file, node, op, and each `'quoted'` name in the message) longer than this are cut.
  public static let maxNameLength = 80
  /// Messages longer than this are cut (a compiler's whole report never lands in one).
  public static let maxMessageLength = 400

  /// One line: `file: node 'name' (op): message`; control and other invisible characters are
  /// escaped (`\n`, `\u{1B}`), long names and messages cut with `…`.
  public var description: String {
    var parts: [String] = []
    if let file { parts.append(Self.name(file)) }
    switch (node.map(Self.name), op.map(Self.name)) {
    case let (node?, op?): parts.append("node '\(node)' (\(op))")
    case let (node?, nil): parts.append("node '\(node)'")
    case let (nil, op?): parts.append("op \(op)")
    case (nil, nil): break
    }
    parts.append(Self.cut(Self.shortenQuoted(Self.escaped(message)), to: Self.maxMessageLength))
    return parts.joined(separator: ": ")
  }

  /// `text` with every character that is not visible on one line escaped.
  static func escaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
          out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default: out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }

  /// A name escaped and cut to ``maxNameLength``.
  static func name(_ text: String) -> String { cut(escaped(text), to: maxNameLength) }

  /// `text` cut to `limit` characters, ending in `…` when cut.
  static func cut(_ text: String, to limit: Int) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
  }

  /// Each `'quoted'` run longer than ``maxNameLength`` cut to that length.
  static func shortenQuoted(_ text: String) -> String {
    let pieces = text.split(separator: "'", omittingEmptySubsequences: false)
    guard pieces.count >= 3 else { return text }
    return pieces.enumerated().map { k, piece in
      k % 2 == 1 && k < pieces.count - 1 ? cut(String(piece), to: maxNameLength) : String(piece)
    }.joined(separator: "'")
  }
}
