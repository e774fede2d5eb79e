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

  /// One line: `file: node 'name' (op): message`.
  public var description: String {
    var parts: [String] = []
    if let file { parts.append(file) }
    switch (node, op) {
    case let (node?, op?): parts.append("node '\(node)' (\(op))")
    case let (node?, nil): parts.append("node '\(node)'")
    case let (nil, op?): parts.append("op \(op)")
    case (nil, nil): break
    }
    parts.append(message)
    return parts.joined(separator: ": ")
  }
}
