import Foundation
import GraphFuse

/// The tool's version, printed by `graphfuse --version`.
let graphfuseVersion = "0.5.0"

/// The tool's help: the commands from ``Command/all``.
func usage() -> String {
  let width = (Command.all.map { $0.name.count + $0.arguments.count + 1 }.max() ?? 0) + 4
  var lines = [
    "graphfuse \(graphfuseVersion) — fold batch norms, fuse operators, compile and run inference graphs", "",
    "usage: graphfuse COMMAND [MODEL] [options]",
    "       graphfuse COMMAND --help      the command's options",
    "       graphfuse --version", "",
    "MODEL is an .onnx file or a built-in model: " + ModelZoo.names.map { "zoo:" + $0 }.joined(separator: ", "), "",
    "commands:",
  ]
  for command in Command.all {
    let head = "  \(command.name) \(command.arguments)"
    lines.append(head + String(repeating: " ", count: max(2, width - head.count)) + command.summary)
  }
  lines += [
    "", "environment:",
    "  GRAPHFUSE_CACHE_DIR        where compiled kernels are cached (default ~/.cache/graphfuse)",
    "  GRAPHFUSE_DEBUG=1..4       1: a line per compile, 2: per-group times of each run, 3: loop nests, 4: the C",
    "  GRAPHFUSE_PEAK_GFLOPS      the FMA peak bench reports against (default: measured)",
    "  GRAPHFUSE_COMPILE_TIMEOUT  seconds one compiler run may take (default 300)",
    "  GRAPHFUSE_MAX_MEMORY       the most memory a model may plan for (bytes; K, M, G, T; default: available)",
    "  GRAPHFUSE_WINOGRAD=0|all   stride-1 3x3 convs run direct (0) or all as Winograd (all) (default: where cheaper)",
    "  CC                         the C compiler for the kernels (default clang)",
  ]
  return lines.joined(separator: "\n")
}

/// Runs one command; errors become one stderr line and exit status 1.
func main() -> Int32 {
  var args = Array(CommandLine.arguments.dropFirst())
  guard let name = args.first else {
    print(usage())
    return 0
  }
  args.removeFirst()
  do {
    switch name {
    case "-h", "--help":
      print(usage())
    case "help":
      guard let topic = args.first else {
        print(usage())
        return 0
      }
      print(try command(named: topic).help)
    case "--version", "-V", "version":
      print("graphfuse \(graphfuseVersion)")
    default:
      let command = try command(named: name)
      let parsed = try Arguments(args, for: command)
      if parsed.wantsHelp {
        print(command.help)
      } else {
        try command.run(parsed)
      }
    }
    return 0
  } catch {
    FileHandle.standardError.write(Data(("graphfuse: " + String(describing: error) + "\n").utf8))
    return 1
  }
}

/// The command called `name`; an unknown name is an error with a suggestion.
func command(named name: String) throws(GraphFuseError) -> Command {
  if let command = Command.all.first(where: { $0.name == name }) { return command }
  var message = "unknown command '\(name)'"
  if let near = closest(to: name, among: Command.all.map(\.name)) { message += "; did you mean '\(near)'?" }
  if name.hasPrefix("-") { message = "unknown option \(name) (options follow the command: graphfuse COMMAND …)" }
  throw GraphFuseError(message + " (see graphfuse --help)")
}

exit(main())
