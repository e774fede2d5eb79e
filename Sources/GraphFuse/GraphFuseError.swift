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

  /// Names (node, op, and each `'quoted'` name in the message) longer than this are
  /// shortened in the middle: exported node names differ in their tails (`…/conv.0.2/Clip`).
  public static let maxNameLength = 48
  /// A file path longer than this is shortened in the middle.
  public static let maxFileLength = 72
  /// The longest line an error prints: names first, the message cut to what is left.
  public static let maxLineLength = 240

  /// One line of at most ``maxLineLength`` characters: `file: node 'name' (op): message`;
  /// control and other invisible characters are escaped (`\n`, `\u{1B}`), long names shortened
  /// in the middle, a long message cut at its end with `…`.
  public var description: String {
    var parts: [String] = []
    if let file { parts.append(Self.middleCut(Self.escaped(file), to: Self.maxFileLength)) }
    switch (node.map(Self.name), op.map(Self.name)) {
    case let (node?, op?): parts.append("node '\(node)' (\(op))")
    case let (node?, nil): parts.append("node '\(node)'")
    case let (nil, op?): parts.append("op \(op)")
    case (nil, nil): break
    }
    let prefix = parts.map { $0 + ": " }.joined()
    return prefix + Self.cut(Self.shortenQuoted(Self.escaped(message)), to: Self.maxLineLength - prefix.count)
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

  /// A name escaped and shortened in the middle to ``maxNameLength``.
  static func name(_ text: String) -> String { middleCut(escaped(text), to: maxNameLength) }

  /// `text` cut to `limit` characters, ending in `…` when cut.
  static func cut(_ text: String, to limit: Int) -> String {
    text.count <= limit ? text : String(text.prefix(max(0, limit - 1))) + "…"
  }

  /// `text` shortened to `limit` characters by replacing its middle with `…`.
  static func middleCut(_ text: String, to limit: Int) -> String {
    guard text.count > limit else { return text }
    let head = (limit - 1) / 2
    return String(text.prefix(head)) + "…" + String(text.suffix(limit - 1 - head))
  }

  /// Each `'quoted'` run longer than ``maxNameLength`` shortened in the middle to that length.
  static func shortenQuoted(_ text: String) -> String {
    let pieces = text.split(separator: "'", omittingEmptySubsequences: false)
    guard pieces.count >= 3 else { return text }
    return pieces.enumerated().map { k, piece in
      k % 2 == 1 && k < pieces.count - 1 ? middleCut(String(piece), to: maxNameLength) : String(piece)
    }.joined(separator: "'")
  }
}
