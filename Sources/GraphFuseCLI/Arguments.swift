import GraphFuse
import GraphFuseONNX

/// The command line after the subcommand: positional arguments and `--flag [value]` options.
struct Arguments {
  private(set) var positional: [String] = []
  private var options: [String: String] = [:]
  private var flags: Set<String> = []
  private var used: Set<String> = []

  /// Parses `args`; `valued` names the options that take a value.
  init(_ args: [String], valued: Set<String>, flags allowedFlags: Set<String>) throws(GraphFuseError) {
    var i = 0
    while i < args.count {
      let arg = args[i]
      if arg.hasPrefix("--") {
        var name = String(arg.dropFirst(2))
        var value: String?
        if let eq = name.firstIndex(of: "=") {
          value = String(name[name.index(after: eq)...])
          name = String(name[..<eq])
        }
        if valued.contains(name) {
          if value == nil {
            i += 1
            guard i < args.count else { throw GraphFuseError("option --\(name) needs a value") }
            value = args[i]
          }
          if name == "shape", let existing = options[name] { options[name] = existing + ";" + value! } else { options[name] = value }
        } else if allowedFlags.contains(name), value == nil {
          flags.insert(name)
        } else {
          throw GraphFuseError("unknown option --\(name) (see graphfuse --help)")
        }
      } else {
        positional.append(arg)
      }
      i += 1
    }
  }

  func flag(_ name: String) -> Bool { flags.contains(name) }
  func value(_ name: String) -> String? { options[name] }

  func int(_ name: String, default defaultValue: Int, minimum: Int = 1) throws(GraphFuseError) -> Int {
    guard let text = options[name] else { return defaultValue }
    guard let v = Int(text), v >= minimum else {
      throw GraphFuseError("--\(name) needs \(minimum == 1 ? "a positive" : minimum == 0 ? "a non-negative" : "an at least \(minimum)") integer, got '\(text)'")
    }
    return v
  }

  /// The single positional argument MODEL.
  func model(_ command: String) throws(GraphFuseError) -> String {
    guard positional.count == 1 else { throw GraphFuseError("usage: graphfuse \(command) MODEL … (MODEL is a .onnx file or zoo:NAME)") }
    return positional[0]
  }

  /// Every `--shape NAME=1x3x224x224` (the option repeats, one input each) as a dictionary.
  func shapes() throws(GraphFuseError) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    for item in (options["shape"] ?? "").split(separator: ";") {
      let (name, shape) = try ONNXImporter.parseShapeOption(String(item))
      result[name] = shape
    }
    return result
  }

  /// The optimization options from `--no-fold`, `--no-fuse`, `--no-chain`, `--keep`, `--opaque`.
  func optimizeOptions() -> OptimizeOptions {
    let list: (String) -> Set<String> = { name in Set((options[name] ?? "").split(separator: ",").map(String.init)) }
    return OptimizeOptions(fold: !flag("no-fold"), fuse: !flag("no-fuse"), keep: list("keep"), opaque: list("opaque"), chainConvs: !flag("no-chain"))
  }
}
