import GraphFuse
import GraphFuseONNX

/// A command's parsed command line: positional arguments and validated option values.
struct Arguments {
  /// The command being run.
  let command: Command
  private(set) var positional: [String] = []
  private var values: [String: [String]] = [:]
  /// Set when `--help` or `-h` was given.
  private(set) var wantsHelp = false

  /// Parses `args` against the command's declared options; every value is validated here.
  init(_ args: [String], for command: Command) throws(GraphFuseError) {
    self.command = command
    let byName = Dictionary(command.allOptions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var i = 0
    while i < args.count {
      let arg = args[i]
      i += 1
      if arg == "-h" || arg == "--help" {
        wantsHelp = true
        continue
      }
      guard arg.hasPrefix("-"), arg.count > 1, Double(arg) == nil else {
        positional.append(arg)
        continue
      }
      var name = String(arg.drop(while: { $0 == "-" }))
      var value: String?
      if let eq = name.firstIndex(of: "=") {
        value = String(name[name.index(after: eq)...])
        name = String(name[..<eq])
      }
      var aliased = false
      if !arg.hasPrefix("--"), let alias = command.allOptions.first(where: { $0.short.map(String.init) == name }) {
        name = alias.name
        aliased = true
      }
      guard arg.hasPrefix("--") || aliased, let option = byName[name] else {
        throw GraphFuseError(Self.unknownOption(arg.hasPrefix("--") ? "--" + name : arg, in: command))
      }
      if option.isFlag {
        guard value == nil else { throw GraphFuseError("--\(name) is a flag and takes no value") }
        values[name] = [""]
        continue
      }
      if value == nil {
        guard i < args.count else { throw GraphFuseError("--\(name) needs a value: \(option.synopsis)") }
        value = args[i]
        i += 1
      }
      let text = value ?? ""
      if let problem = option.check(text) { throw GraphFuseError("--\(name) \(problem)") }
      if option.repeats { values[name, default: []].append(text) } else { values[name] = [text] }
    }
  }

  /// The error for an option the command does not take, with a suggestion.
  static func unknownOption(_ arg: String, in command: Command) -> String {
    let name = String(arg.drop(while: { $0 == "-" }))
    var message = "unknown option \(arg) for '\(command.name)'"
    if let near = closest(to: name, among: command.allOptions.map(\.name)) {
      message += "; did you mean --\(near)?"
    } else if let near = closest(to: name, among: Command.all.flatMap { $0.options.map(\.name) }) {
      let others = Command.all.filter { c in c.options.contains { $0.name == near } }.map(\.name)
      message += " (--\(near) is an option of \(others.joined(separator: ", ")))"
    }
    return message + " (see graphfuse \(command.name) --help)"
  }

  /// Whether a flag was given.
  func flag(_ option: Option) -> Bool { values[option.name] != nil }

  /// The value of an option (the last one), if given.
  func value(_ option: Option) -> String? { values[option.name]?.last }

  /// Every value of a repeating option.
  func all(_ option: Option) -> [String] { values[option.name] ?? [] }

  /// An integer option (validated when parsed), or `defaultValue`.
  func int(_ option: Option, default defaultValue: Int) -> Int { value(option).flatMap { Int($0) } ?? defaultValue }

  /// The single positional argument MODEL.
  func model() throws(GraphFuseError) -> String {
    guard positional.count == 1 else {
      throw GraphFuseError(
        "usage: graphfuse \(command.name) \(command.arguments) … (MODEL is a .onnx file or zoo:NAME;"
          + " see graphfuse \(command.name) --help)")
    }
    return positional[0]
  }

  /// Every `--shape NAME=1x3x224x224` as a dictionary.
  func shapes() throws(GraphFuseError) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    for item in all(.shape) {
      let (name, shape) = try ONNXImporter.parseShapeOption(item)
      result[name] = shape
    }
    return result
  }

  /// The optimization options from `--no-fold`, `--no-fuse`, `--no-chain`, `--no-attention`, `--keep`,
  /// `--opaque` and `--threads` (the threads fusion plans for).
  func optimizeOptions() throws(GraphFuseError) -> OptimizeOptions {
    OptimizeOptions(
      fold: !flag(.noFold), fuse: !flag(.noFuse), keep: try OpNames.resolve(value(.keep), for: .keep),
      opaque: try OpNames.resolve(value(.opaque), for: .opaque), chainConvs: !flag(.noChain),
      fuseAttention: !flag(.noAttention), threads: value(.threads).flatMap { Int($0) })
  }
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a likely typo.
func closest(to word: String, among candidates: [String]) -> String? {
  let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
  guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
  let limit = word.count <= 3 ? 1 : word.count <= 6 ? 2 : 3
  return best.1 <= limit || best.0.hasPrefix(word) && word.count >= 3 ? best.0 : nil
}

/// Levenshtein distance: insertions, deletions and substitutions.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + [Int](repeating: 0, count: b.count)
    for j in 1...b.count {
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.count]
}
