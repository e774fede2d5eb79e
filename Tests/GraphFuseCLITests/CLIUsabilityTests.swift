import Foundation
import GraphFuse
import Testing

/// Help, version, suggestions, op names in --keep/--opaque, demo MODEL, .npy files and --expect.
@Suite struct CLIUsabilityTests {
  let cli = CLITests()

  static let commands = ["demo", "report", "run", "bench", "compile", "lower", "dot"]

  @Test(arguments: commands) func everyCommandHasHelp(_ command: String) throws {
    for flag in ["--help", "-h"] {
      let result = try cli.run([command, flag])
      #expect(result.status == 0 && result.stderr.isEmpty, "\(result.stderr)")
      #expect(result.stdout.hasPrefix("usage: graphfuse \(command) "))
      #expect(result.stdout.contains("--help"))
    }
    let viaHelp = try cli.run(["help", command])
    #expect(viaHelp.stdout == (try cli.run([command, "--help"])).stdout)
  }

  @Test func helpListsEachCommandsOptions() throws {
    let bench = try cli.run(["bench", "--help"]).stdout
    for option in ["--runs", "--warmup", "--threads", "--interleave", "--peak", "--svg", "--batch", "--keep"] {
      #expect(bench.contains(option), "bench --help lacks \(option)")
    }
    let demo = try cli.run(["demo", "--help"]).stdout
    #expect(demo.contains("[MODEL]") && demo.contains("--runs") && demo.contains("--threads"))
    let report = try cli.run(["report", "--help"]).stdout
    #expect(report.contains("outEWiseFusable (an op like conv"))
    #expect(!report.contains("--runs"))
    let tool = try cli.run(["--help"]).stdout
    for command in Self.commands { #expect(tool.contains("  \(command) ")) }
    #expect(tool.contains("GRAPHFUSE_CACHE_DIR"))
  }

  /// `run` takes `.npy` inputs of their own dtypes, writes outputs in theirs, and a token id past
  /// the vocabulary is one line and exit status 1 on either backend.
  @Test func runTakesTypedNPYInputsAndRefusesBadTokenIds() throws {
    let fixtures = DeployTests.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures").path
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-typed-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let typed = ["typed_ops.input0.npy", "typed_ops.input1.npy"].map { fixtures + "/" + $0 }.joined(separator: ",")
    let ok = try cli.run(["run", fixtures + "/typed_ops.onnx", "--input", typed, "--output", dir + "/y{}.npy"])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(try NPYFile.readTyped(path: dir + "/y1.npy").dataType == .int64)
    #expect(try NPYFile.readTyped(path: dir + "/y2.npy").dataType == .bool)
    // A float file for an int64 input says which input and how to convert.
    let swapped = ["typed_ops.input0.npy", "typed_ops.input0.npy"].map { fixtures + "/" + $0 }
    let wrong = try cli.run(["run", fixtures + "/typed_ops.onnx", "--input", swapped.joined(separator: ",")])
    #expect(wrong.status == 1 && wrong.stderr.contains("is int64"), "\(wrong.stderr)")

    var ids = try NPYFile.readTyped(path: fixtures + "/text_encoder.input0.npy").tensor
    ids.data[2] = 50
    try NPYFile.write(ids, path: dir + "/ids.npy", dataType: .int64)
    let inputs = [dir + "/ids.npy"] + (1...2).map { fixtures + "/text_encoder.input\($0).npy" }
    for backend in ["reference", "compiled"] {
      let result = try cli.run([
        "run", fixtures + "/text_encoder.onnx", "--input", inputs.joined(separator: ","), "--backend", backend,
      ])
      #expect(result.status == 1, "\(backend)")
      #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
      #expect(result.stderr.contains("index 50 in 'input_ids' is out of range"), "\(backend): \(result.stderr)")
    }
  }

  /// An `.npy` input's own shape fills the model input's symbolic dimensions: no --shape needed.
  @Test func npyShapesFillSymbolicDimensions() throws {
    let fixtures = DeployTests.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures").path
    let model = fixtures + "/error_symbolic.onnx"  // relu over x: [batch, 3, 4, 4]
    let x = Tensor.random(shape: [2, 3, 4, 4], seed: 9)
    let input = try CLITests.temporaryFile("batch2.npy", NPYFile.encode(x))
    defer { CLITests.removeTemporary(input) }
    let result = try cli.run(["run", model, "--input", input])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("output 0: [2, 3, 4, 4]"), "\(result.stdout)")
    // The file's shape must still agree with the static extents.
    let wrong = try CLITests.temporaryFile("wrong.npy", NPYFile.encode(Tensor.random(shape: [2, 5, 4, 4], seed: 9)))
    defer { CLITests.removeTemporary(wrong) }
    let refused = try cli.run(["run", model, "--input", wrong])
    #expect(refused.status == 1 && refused.stderr.contains("extent 3 on axis 1"), "\(refused.stderr)")
  }

  @Test func messagesSayWhatIsWrongInPlainWords() throws {
    let small = try CLITests.temporaryFile("small.bin", [0, 0, 0, 0, 0, 0, 0, 0])
    defer { CLITests.removeTemporary(small) }
    let size = try cli.run(["run", "zoo:tiny", "--input", small])
    #expect(size.status == 1)
    #expect(size.stderr.contains("holds 8 bytes (2 float32 values), but shape [1, 3, 32, 32] needs 12288 bytes"))
    #expect(!size.stderr.contains("—"), "\(size.stderr)")
    let two = try cli.run(["run", "zoo:tiny", "--input", "\(small),\(small)"])
    #expect(two.stderr.contains("the model has 1 input; give --input with one file"), "\(two.stderr)")
    let zero = try cli.run(["report", "zoo:tiny", "--shape", "x=0x3x32x32"])
    #expect(zero.status == 1)
    #expect(zero.stderr.contains("a dimension must be between 1 and 2^31, got 0"), "\(zero.stderr)")
  }

  @Test func lowerPrintsTheBoundBufferSizes() throws {
    // By index as the report lists it; every parameter with the size of its buffer, weights too.
    let result = try cli.run(["lower", "zoo:tiny", "--group", "0"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("// in  wt: float["))
    #expect(!result.stdout.contains("float[0]"), "\(result.stdout.prefix(600))")
    let byName = try cli.run(["lower", "zoo:tiny", "--group", "nonexistent"])
    #expect(byName.status == 1 && byName.stderr.contains("an index 0..<"))
  }

  /// Under a lowered address-space limit (`ulimit -v`, RLIMIT_AS) a model that would not fit is
  /// refused with one line naming the need and the limit, before anything large is allocated:
  /// not killed, not trapped in the allocator.
  @Test func anAddressSpaceLimitIsPartOfTheMemoryBudget() throws {
    #if os(Linux)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      let command = "ulimit -v 2000000 && exec \"$0\" bench zoo:resnet18 --batch 256 --runs 1"
      process.arguments = ["-c", command, CLITests.executable.path]
      let err = Pipe()
      process.standardError = err
      process.standardOutput = Pipe()
      try process.run()
      let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(stderr)")
      let last = stderr.split(separator: "\n").last.map(String.init) ?? ""
      #expect(last.contains("more than the") && last.contains("RLIMIT_AS"), "\(stderr)")
      #expect(last.count <= 240)
    #endif
  }

  @Test func versionPrints() throws {
    let result = try cli.run(["--version"])
    #expect(result.status == 0)
    #expect(result.stdout.hasPrefix("graphfuse ") && result.stdout.contains("."))
  }

  struct Suggestion: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var mentions: String
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let suggestions: [Suggestion] = [
    Suggestion(arguments: ["reprot", "zoo:tiny"], mentions: "did you mean 'report'?"),
    Suggestion(arguments: ["bnech"], mentions: "did you mean 'bench'?"),
    Suggestion(arguments: ["bench", "zoo:tiny", "--thread", "2"], mentions: "did you mean --threads?"),
    Suggestion(arguments: ["report", "zoo:tiny", "--runs", "2"], mentions: "--runs is an option of demo, bench"),
    Suggestion(
      arguments: ["report", "zoo:tiny", "--keep", "NoSuchOp"], mentions: "valid: BatchNormalization, batch_norm"),
    Suggestion(arguments: ["report", "zoo:tiny", "--keep", "Relu"], mentions: "--opaque"),
    Suggestion(arguments: ["report", "zoo:tiny", "--opaque", "Rleu"], mentions: "did you mean Relu?"),
    Suggestion(
      arguments: ["run", "zoo:tiny", "--input", "x.bin", "--threads", "0"],
      mentions: "--threads needs an integer 1…"),
    Suggestion(arguments: ["run", "zoo:tiny", "--input", "x.bin", "--threads", "100000"], mentions: "--threads"),
    Suggestion(arguments: ["bench", "zoo:tiny", "--runs", "0"], mentions: "--runs needs an integer at least 1"),
    Suggestion(arguments: ["run", "zoo:tiny", "--input", "x.bin", "--tolerance", "-1"], mentions: "--tolerance"),
    Suggestion(arguments: ["lower", "zoo:tiny", "--emit", "asm"], mentions: "--emit takes loops or c"),
    Suggestion(arguments: ["report", "zoo:tiny", "--json=yes"], mentions: "takes no value"),
  ]

  @Test(arguments: suggestions) func mistakesGetOneLineWithAHint(_ s: Suggestion) throws {
    let result = try cli.run(s.arguments)
    #expect(result.status == 1)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    #expect(result.stderr.contains(s.mentions), "\(result.stderr)")
  }

  /// `--keep BatchNormalization` (the ONNX type) and `--keep batch_norm` (the IR name) keep all 20 of ResNet-18's.
  @Test(arguments: ["BatchNormalization", "batch_norm"]) func keepTakesOnnxAndIRNames(_ name: String) throws {
    let result = try cli.run(["report", "zoo:resnet18", "--keep", name, "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let bn = try #require(object["batch_norm"] as? [String: Any])
    #expect(bn["total"] as? Int == 20 && bn["folded"] as? Int == 0)
    #expect((bn["unfolded"] as? [[String: Any]])?.count == 20)
  }

  @Test func opaqueTakesOnnxNames() throws {
    let fused = try cli.run(["report", "zoo:tiny"]).stdout
    let opaque = try cli.run(["report", "zoo:tiny", "--opaque", "Relu"])
    #expect(opaque.status == 0)
    #expect(fused.contains("fused_conv2d_relu") && !opaque.stdout.contains("fused_conv2d_relu"))
  }

  @Test func reportNamesConvKinds() throws {
    let result = try cli.run(["report", "zoo:mobilenet_v2"])
    #expect(result.stdout.contains("convolutions: 52 — 34 1×1, 17 depthwise, 1 dense k×k"))
    #expect(result.stdout.contains("conv2d(1x1) clip conv2d(depthwise) clip conv2d(1x1)"))
  }

  @Test func demoRunsTheModelItIsGiven() throws {
    let result = try cli.run(["demo", "zoo:tiny", "--runs", "1", "--warmup", "0", "--threads", "1", "--peak", "none"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("GraphFuse demo: zoo:tiny"))
    #expect(!result.stdout.contains("resnet"))
    let bad = try cli.run(["demo", "zoo:nope"])
    #expect(bad.status == 1 && bad.stderr.contains("unknown model"))
  }

  static func npy(_ shape: [Int], _ values: [Float]) -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
    header += String(repeating: " ", count: 127 - 10 - header.utf8.count) + "\n"
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
      + values.withUnsafeBytes { Array($0) }
  }

  /// `.npy` in, `.npy` out, and `--expect` passing on the model's own output and failing on a changed one.
  @Test func runReadsAndWritesNPYAndChecksExpected() throws {
    let values = (0..<(3 * 32 * 32)).map { Float($0 % 17) / 17 }
    let input = try CLITests.temporaryFile("x.npy", Self.npy([1, 3, 32, 32], values))
    defer { CLITests.removeTemporary(input) }
    let dir = input + "-out/"
    let first = try cli.run(["run", "zoo:tiny", "--input", input, "--output", dir])
    #expect(first.status == 0, "\(first.stderr)")
    let written = try Data(contentsOf: URL(fileURLWithPath: dir + "output0.npy"))
    #expect(written.count == 128 + 10 * 4 && written.prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
    let same = try cli.run([
      "run", "zoo:tiny", "--input", input, "--expect", dir + "output0.npy", "--backend", "reference",
    ])
    #expect(same.status == 0, "\(same.stderr)")
    #expect(same.stdout.contains("— ok"))

    var changed = [UInt8](written)
    changed[128 + 4 * 3 + 3] ^= 0x40  // flip an exponent bit of the fourth value
    let wrong = try CLITests.temporaryFile("wrong.npy", changed)
    defer { CLITests.removeTemporary(wrong) }
    let differs = try cli.run(["run", "zoo:tiny", "--input", input, "--expect", wrong])
    #expect(differs.status == 1)
    #expect(differs.stderr.contains("output 0 differs from \(wrong)"), "\(differs.stderr)")
    let loose = try cli.run(["run", "zoo:tiny", "--input", input, "--expect", wrong, "--tolerance", "1e9"])
    #expect(loose.status == 0, "\(loose.stderr)")
  }

  @Test func npyShapeIsCheckedAgainstTheModel() throws {
    let input = try CLITests.temporaryFile(
      "x.npy", Self.npy([1, 3, 16, 64], [Float](repeating: 0, count: 3 * 16 * 64)))
    defer { CLITests.removeTemporary(input) }
    let result = try cli.run(["run", "zoo:tiny", "--input", input])
    #expect(result.status == 1)
    #expect(
      result.stderr.contains("has shape [1, 3, 16, 64], but model input 0 ('input') has shape [1, 3, 32, 32]"),
      "\(result.stderr)"
    )
  }

  @Test func outputPatternAndCountMismatch() throws {
    let input = try CLITests.temporaryFile("x.bin", [UInt8](repeating: 0, count: 3 * 32 * 32 * 4))
    defer { CLITests.removeTemporary(input) }
    let pattern = try cli.run(["run", "zoo:tiny", "--input", input, "--output", input + "-{}.bin"])
    #expect(pattern.status == 0)
    #expect((try? Data(contentsOf: URL(fileURLWithPath: input + "-0.bin")))?.count == 40)
    let two = try cli.run(["run", "zoo:tiny", "--input", input, "--output", "a.bin,b.bin"])
    #expect(two.status == 1 && two.stderr.contains("for 1 outputs"))
  }

  @Test func benchChecksEveryConfigurationAgainstTheReference() throws {
    let result = try cli.run([
      "bench", "zoo:tiny", "--runs", "1", "--warmup", "0", "--threads", "1", "--peak", "none", "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    for config in ["unfused", "folded", "fused"] {
      let entry = try #require(object[config] as? [String: Any])
      #expect(try #require(entry["reference_rel_error"] as? Double) < 1e-4)
      #expect(entry["cached"] is Bool)
    }
  }
}
