import GraphFuse

/// One subcommand: its arguments, its options and what it does, declared once for dispatch and help.
struct Command: Sendable {
  /// The subcommand's name (`report`).
  var name: String
  /// The positional arguments as shown in help (`MODEL`, `[MODEL]`).
  var arguments: String
  /// One line for the tool's command list.
  var summary: String
  /// A paragraph for the command's own help.
  var details: String
  /// The options the command takes (`--help` is implied).
  var options: [Option]
  /// Runs the command on parsed arguments.
  var run: @Sendable (Arguments) throws(GraphFuseError) -> Void

  /// The options including `--help`.
  var allOptions: [Option] { options + [.help] }

  /// The command's help text.
  var help: String {
    var lines = [
      "usage: graphfuse \(name) \(arguments) [options]", "",
      wrap(summary.prefix(1).uppercased() + summary.dropFirst() + ". " + details, indent: ""),
    ]
    if arguments.contains("MODEL") {
      lines += [
        "", "MODEL is an .onnx file or a built-in model: " + ModelZoo.names.map { "zoo:" + $0 }.joined(separator: ", "),
      ]
    }
    lines += ["", "options:"]
    let width = min(30, (allOptions.map(\.synopsis.count).max() ?? 0) + 2)
    for option in allOptions {
      var text = option.help
      if let d = option.defaultText { text += " (default: \(d))" }
      if option.repeats { text += "; repeatable" }
      let head = "  " + option.synopsis
      if head.count + 2 > width + 2 {
        lines.append(head)
        lines.append(wrap(text, indent: String(repeating: " ", count: width + 4)))
      } else {
        let padded = head + String(repeating: " ", count: width + 4 - head.count)
        lines.append(padded + String(wrap(text, indent: String(repeating: " ", count: width + 4)).dropFirst(width + 4)))
      }
    }
    return lines.joined(separator: "\n")
  }
}

/// Words of `text` in lines of at most 100 columns, each starting with `indent`.
func wrap(_ text: String, indent: String, width: Int = 100) -> String {
  var lines: [String] = []
  var line = indent
  for word in text.split(separator: " ") {
    if line.count > indent.count, line.count + 1 + word.count > width {
      lines.append(line)
      line = indent
    }
    line += (line.count > indent.count ? " " : "") + word
  }
  lines.append(line)
  return lines.joined(separator: "\n")
}

extension Command {
  /// Every command, in the order help lists them.
  static let all: [Command] = [demo, report, run, bench, compile, lower, dot]

  static let demo = Command(
    name: "demo", arguments: "[MODEL]", summary: "the whole pipeline on one model (default zoo:resnet18)",
    details: "Prints the fused-group report, checks the compiled fused model against the reference executor on the"
      + " unoptimized graph, and times unfused / folded / fused.",
    options: Option.optimizer + [.runs, .warmup, .threads, .batch, .interleave, .peak, .json],
    run: { args throws(GraphFuseError) in try DemoCommand.run(args) })

  static let report = Command(
    name: "report", arguments: "MODEL", summary: "fused groups and batch-norm decisions",
    details: "Lists each fused group with its anchor, ops, shapes and MFLOP, which batch norms were folded (and why"
      + " the others were not), the intermediate tensors fusion no longer writes, and the kinds of convolutions"
      + " (1×1, depthwise, grouped). Patterns are TVM's: injective (index remapping, e.g. reshape), broadcast"
      + " (elementwise with broadcasting), outEWiseFusable (an op like conv whose output can absorb elementwise"
      + " ops after it), commReduce (reductions), opaque (never fused).",
    options: Option.optimizer + [.json],
    run: { args throws(GraphFuseError) in try ReportCommand.run(args) })

  static let run = Command(
    name: "run", arguments: "MODEL", summary: "inference on tensors from files",
    details:
      "Reads one input per model input (.npy of float32, int64, int32 or bool in C order, or raw"
      + " little-endian float32), checks its"
      + " shape against the model, runs the optimized model and prints a summary of each output. --output writes"
      + " the outputs; --expect compares them with expected files and exits 1 when one differs by more than"
      + " --tolerance.",
    options: [.input, .output, .expect, .tolerance, .backend, .threads, .batch] + Option.optimizer,
    run: { args throws(GraphFuseError) in try RunCommand.run(args) })

  static let bench = Command(
    name: "bench", arguments: "MODEL", summary: "time unfused / folded / fused and profile the fused groups",
    details: "Compiles the three configurations (outside the timed loop), checks each against the reference"
      + " executor (fails above 1e-4 relative error; --check none skips that run, --check FILE compares with"
      + " expected outputs of the --input files), times them on random inputs (or --input) and profiles each fused"
      + " group against the machine's FMA peak.",
    options: [
      .runs, .warmup, .threads, .batch, .interleave, .peak, .json, .svg, .input, .check, .shape, .noChain, .noAttention,
      .keep,
      .opaque,
    ],
    run: { args throws(GraphFuseError) in try BenchCommand.run(args) })

  static let compile = Command(
    name: "compile", arguments: "MODEL", summary: "the optimized model as a C library for plain C programs",
    details: "Writes DIR/model.h (the C API: gf_model_open, gf_model_run, gf_model_close, shapes, gf_model_error),"
      + " DIR/libmodel.so (needs only libc, libm and pthreads), DIR/weights.bin (the packed weights, read when the"
      + " model is opened) and DIR/model.c (the library's source). --threads is the most threads the library runs"
      + " with. --max-batch N builds one program per batch size (powers of two below N, and N) over one copy of"
      + " the weights; gf_model_run_batch runs any batch from 1 to N as chunks of those sizes. Build a program"
      + " with: cc main.c -IDIR -LDIR -lmodel -Wl,-rpath,DIR",
    options: [.outputDirectory, .threads, .batch, .maxBatch] + Option.optimizer,
    run: { args throws(GraphFuseError) in try CompileCommand.run(args) })

  static let lower = Command(
    name: "lower", arguments: "MODEL", summary: "the loop nests or C of fused groups",
    details:
      "Prints each fused group (or the one --group names, by index or name) as a loop nest; --emit c without"
      + " --group prints the whole C file run compiles for --threads.",
    options: [.group, .emit, .threads] + Option.optimizer,
    run: { args throws(GraphFuseError) in try LowerCommand.run(args) })

  static let dot = Command(
    name: "dot", arguments: "MODEL", summary: "Graphviz text with one cluster per fused group",
    details: "Render with: graphfuse dot MODEL | dot -Tsvg > graph.svg",
    options: Option.optimizer,
    run: { args throws(GraphFuseError) in try DotCommand.run(args) })
}
