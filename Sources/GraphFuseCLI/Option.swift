import Foundation
import GraphFuse

/// One command-line option, declared once: its name, value, help text and validation.
///
/// Commands list the options they take (``Command/options``); the parser, the validation and
/// the help text are all driven by these declarations.
struct Option: Sendable, Hashable {
  /// The long name without dashes (`threads` for `--threads`).
  var name: String
  /// The value's placeholder in help (`N`, `FILE`); nil for a flag.
  var value: String?
  /// One line of help.
  var help: String
  /// What the default is, for help; nil when there is none worth printing.
  var defaultText: String?
  /// Whether the option may repeat (each occurrence is kept).
  var repeats = false
  /// A one-letter alias (`o` for `-o`), if any.
  var short: Character? = nil
  /// Checks a value; returns what is wrong with it, or nil.
  var check: @Sendable (String) -> String? = { _ in nil }

  /// Whether the option is a flag (takes no value).
  var isFlag: Bool { value == nil }

  static func == (a: Option, b: Option) -> Bool { a.name == b.name }
  func hash(into hasher: inout Hasher) { hasher.combine(name) }

  /// A flag.
  static func flag(_ name: String, _ help: String) -> Option { Option(name: name, value: nil, help: help) }

  /// An integer option in `range`.
  static func int(
    _ name: String, _ value: String = "N", in range: ClosedRange<Int>, default defaultText: String? = nil,
    _ help: String
  ) -> Option {
    Option(name: name, value: value, help: help, defaultText: defaultText) { text in
      guard let v = Int(text), range.contains(v) else {
        let bound =
          range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
        return "needs an integer \(bound)\(range.lowerBound == 0 ? " (non-negative)" : ""), got '\(text)'"
      }
      return nil
    }
  }

  /// An option taking one of `choices`.
  static func choice(
    _ name: String, _ choices: [String], default defaultText: String? = nil, _ help: String
  ) -> Option {
    Option(name: name, value: choices.joined(separator: "|"), help: help, defaultText: defaultText) { text in
      choices.contains(text) ? nil : "takes \(choices.joined(separator: " or ")), got '\(text)'"
    }
  }

  /// An option taking free text (a path, a list); `check` validates it.
  static func text(
    _ name: String, _ value: String, default defaultText: String? = nil, repeats: Bool = false, _ help: String,
    check: @escaping @Sendable (String) -> String? = { _ in nil }
  ) -> Option {
    Option(name: name, value: value, help: help, defaultText: defaultText, repeats: repeats, check: check)
  }

  /// `--name VALUE` as shown in help.
  var synopsis: String { (short.map { "-\($0), " } ?? "") + "--\(name)" + (value.map { " " + $0 } ?? "") }
}

/// The largest `--threads` accepted: 4 × the core count, at least 64.
let maxThreads = max(64, 4 * ProcessInfo.processInfo.activeProcessorCount)

/// Every option of every command.
extension Option {
  static let help = Option.flag("help", "show this help (also -h)")
  static let json = Option.flag("json", "print JSON instead of a table")
  static let shape = Option.text(
    "shape", "NAME=1x3x224x224", repeats: true,
    "the shape of an ONNX input with symbolic dimensions (repeat the option for each input)"
  ) { text in
    text.contains("=") ? nil : "takes NAME=DIMS such as data=1x3x224x224, got '\(text)'"
  }
  static let noFold = Option.flag("no-fold", "do not fold batch norms into convolutions")
  static let noFuse = Option.flag("no-fuse", "do not fuse: one group per op")
  static let noChain = Option.flag("no-chain", "fuse by TVM's rules only: no [1x1 ->] depthwise -> 1x1 conv chains")
  static let noAttention = Option.flag(
    "no-attention", "keep Q.K^T, softmax and .V as three groups instead of one fused attention kernel")
  static let keep = Option.text(
    "keep", "OP,…", "keep these ops whole (never folded or decomposed): BatchNormalization or batch_norm")
  static let opaque = Option.text(
    "opaque", "OP,…", "never fuse these ops with anything; ONNX op types (Relu) or IR names (relu)")
  static let threads = Option.int(
    "threads", in: 1...maxThreads, default: "the core count", "worker threads of the compiled model")
  static let runs = Option.int("runs", in: 1...Int.max, default: "50 (demo: 20)", "timed runs per configuration")
  static let warmup = Option.int(
    "warmup", in: 0...Int.max, default: "5 (demo: 3), at most a fifth of --runs",
    "untimed runs before timing each configuration")
  static let batch = Option.int(
    "batch", in: 1...4096, default: "1",
    "batch size: of a built-in zoo: model, or axis 0 of every input of an ONNX model (symbolic or 1 in the file)")
  static let maxBatch = Option.int(
    "max-batch", in: 1...4096, default: "none: fixed shapes",
    "a library for every batch from 1 to N (gf_model_run_batch); axis 0 of each input is the batch")
  static let interleave = Option.flag(
    "interleave", "time the three configurations in rounds (one run each per round) instead of one after another")
  static let svg = Option.text("svg", "FILE", "also write the latency chart as SVG")
  static let peak = Option.text(
    "peak", "GFLOPS|measure|none", default: "$GRAPHFUSE_PEAK_GFLOPS, else measure",
    "the FMA peak the profile's % of peak is against; measure times FMA chains on this machine (~0.4 s)"
  ) { text in
    if text == "measure" || text == "none" { return nil }
    guard let v = Double(text), v > 0, v.isFinite else { return "takes GFLOP/s, 'measure' or 'none', got '\(text)'" }
    return nil
  }
  static let check = Option.text(
    "check", "reference|none|FILE[,FILE…]", default: "reference",
    "what each configuration's outputs are checked against: the reference executor, nothing (only each other),"
      + " or expected outputs (.npy or raw float32) of the --input files"
  )
  static let input = Option.text(
    "input", "FILE[,FILE…]",
    "input tensors, one per model input: .npy (float32, int64, int32 or bool) or raw float32")
  static let output = Option.text(
    "output", "PATH",
    "write the outputs: FILE.npy / FILE.bin for one output; a directory (ending in /) gets output0.npy, "
      + "output1.npy, …;"
      + " a pattern with {} (out{}.npy) gets the index")
  static let expect = Option.text(
    "expect", "FILE[,FILE…]", "expected outputs (.npy or raw float32); exit 1 if an output differs")
  static let tolerance = Option.text(
    "tolerance", "REL", default: "1e-4",
    "largest accepted max |error| relative to the expected output's max |value|"
  ) { text in
    guard let v = Double(text), v >= 0, v.isFinite else { return "takes a non-negative number, got '\(text)'" }
    return nil
  }
  static let backend = Option.choice(
    "backend", ["compiled", "reference"], default: "compiled",
    "compiled C kernels, or the reference executor (plain loops, the ground truth)")
  static let outputDirectory: Option = {
    var option = Option.text(
      "output", "DIR", "the directory for model.h, libmodel.so, weights.bin and model.c (created)")
    option.short = "o"
    return option
  }()
  static let group = Option.text(
    "group", "G", "only this fused group: its index in the report or its name (default: all)")
  static let emit = Option.choice("emit", ["loops", "c"], default: "loops", "print loop nests or C")

  /// The optimizer options every optimizing command takes.
  static let optimizer: [Option] = [.shape, .noFold, .noFuse, .noChain, .noAttention, .keep, .opaque]
}
