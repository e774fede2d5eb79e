import Foundation
import Testing

/// Runs the built `graphfuse` binary: output contracts and the error contract (one stderr line, exit 1).
@Suite struct CLITests {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The `graphfuse` executable next to the test bundle in the build folder.
  static var executable: URL {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("graphfuse")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("graphfuse")
  }

  func run(_ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = Self.executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// Writes `bytes` to a file `name` in a directory of its own, where the command's outputs named
  /// after the file land too; the caller removes it all with ``removeTemporary(_:)``.
  static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graphfuse-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// Removes a ``temporaryFile(_:_:)`` with its directory and everything written beside it.
  static func removeTemporary(_ path: String) {
    try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
  }

  @Test func reportJSONHasTheContractKeys() throws {
    let result = try run(["report", "zoo:tiny", "--json"])
    #expect(result.status == 0)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(object["model"] as? String == "zoo:tiny")
    let bn = try #require(object["batch_norm"] as? [String: Any])
    #expect(bn["total"] as? Int == 4 && bn["folded"] as? Int == 4)
    #expect((object["groups"] as? [[String: Any]])?.first?["name"] as? String == "fused_conv2d_relu")
  }

  @Test func keepAndNoFoldChangeTheDecisions() throws {
    let kept = try run(["report", "zoo:tiny", "--keep", "batch_norm"])
    #expect(kept.stdout.contains("fused_conv2d_batch_norm_relu"))
    #expect(kept.stdout.contains("kept whole by request"))
    let unfolded = try run(["report", "zoo:tiny", "--no-fold", "--no-fuse"])
    #expect(unfolded.stdout.contains("batch norms: 0 of 4 folded"))
    #expect(!unfolded.stdout.contains("fused_conv2d_relu"))
  }

  @Test func noChainKeepsTVMsPartition() throws {
    let chained = try run(["report", "zoo:mobilenet_v2"])
    let tvm = try run(["report", "zoo:mobilenet_v2", "--no-chain"])
    #expect(chained.status == 0 && tvm.status == 0)
    #expect(
      chained.stdout.contains("→ 22 fused groups")
        && chained.stdout.contains("fused_conv2d_clip_conv2d_clip_conv2d_add"))
    #expect(tvm.stdout.contains("→ 55 fused groups") && !tvm.stdout.contains("fused_conv2d_clip_conv2d"))
  }

  @Test func benchTakesABatchForZooModels() throws {
    let result = try run([
      "bench", "zoo:tiny", "--batch", "3", "--runs", "2", "--warmup", "1", "--threads", "1", "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect((object["speedup"] as? Double ?? 0) > 0)
    let single = try run(["bench", "zoo:tiny", "--runs", "2", "--warmup", "1", "--threads", "1", "--json"])
    let one = try #require(try JSONSerialization.jsonObject(with: Data(single.stdout.utf8)) as? [String: Any])
    #expect((object["flops"] as? Double ?? 0) > 2.9 * (one["flops"] as? Double ?? 1))
    // Throughput at batch 3: samples per second from the fused median.
    #expect(object["batch"] as? Int == 3 && one["batch"] == nil)
    let fusedMs = try #require(object["fused_ms"] as? Double)
    #expect(abs((object["samples_per_second"] as? Double ?? 0) - 3000 / fusedMs) < 1e-6 * 3000 / fusedMs)
  }

  /// `bench --check`: expected outputs of the `--input` files, nothing, or (default) the
  /// reference executor; a golden file that differs fails the bench with exit status 1.
  @Test func benchChecksAgainstGoldenFilesOrNothing() throws {
    let values = (0..<3072).map { (k: Int) -> Float in Float((k * 37) % 101) / 101 - 0.5 }
    let input = try Self.temporaryFile("x.bin", values.withUnsafeBytes { Array($0) })
    defer { Self.removeTemporary(input) }
    let golden = input + ".golden.bin"
    #expect(
      try run(["run", "zoo:tiny", "--input", input, "--output", golden, "--backend", "reference"]).status == 0)
    let base = ["bench", "zoo:tiny", "--runs", "1", "--warmup", "0", "--threads", "1", "--peak", "none", "--json"]
    let checked = try run(base + ["--input", input, "--check", golden])
    #expect(checked.status == 0, "\(checked.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any])
    let fused = try #require(object["fused"] as? [String: Any])
    #expect((fused["reference_rel_error"] as? Double ?? 1) < 1e-4)
    // A golden output that is not the model's answer fails the bench.
    let answer = try Data(contentsOf: URL(fileURLWithPath: golden)).withUnsafeBytes {
      Array($0.bindMemory(to: Float.self))
    }
    let doubled = answer.map { 2 * $0 + 1 }
    let wrong = try Self.temporaryFile("wrong.bin", doubled.withUnsafeBytes { Array($0) })
    defer { Self.removeTemporary(wrong) }
    let failed = try run(base + ["--input", input, "--check", wrong])
    #expect(failed.status == 1 && failed.stderr.contains("reference"), "\(failed.stderr)")
    // --check none runs no reference; a golden file without its input is refused.
    let unchecked = try run(base + ["--check", "none"])
    #expect(unchecked.status == 0, "\(unchecked.stderr)")
    let plain = try #require(try JSONSerialization.jsonObject(with: Data(unchecked.stdout.utf8)) as? [String: Any])
    #expect((plain["fused"] as? [String: Any])?["reference_rel_error"] == nil)
    let orphan = try run(base + ["--check", golden])
    #expect(orphan.status == 1 && orphan.stderr.contains("--check FILE needs --input"), "\(orphan.stderr)")
  }

  /// A conv network with nothing to fold (exported with its batch norms folded) says so instead of
  /// comparing two identical graphs silently; one with batch norms does not.
  @Test func benchSaysWhenFoldingChangedNothing() throws {
    let model = DeployTests.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures/windows_1d.onnx").path
    let options = ["--runs", "1", "--warmup", "0", "--threads", "1", "--peak", "none", "--check", "none"]
    let result = try run(["bench", model] + options)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("warning: nothing was folded"), "\(result.stdout)")
    let folded = try run(["bench", "zoo:tiny"] + options)
    #expect(folded.status == 0 && !folded.stdout.contains("nothing was folded"), "\(folded.stdout)")
  }

  @Test func benchMeasuresThePeakUnlessGiven() throws {
    func object(_ extra: [String]) throws -> [String: Any] {
      let result = try run(["bench", "zoo:tiny", "--runs", "1", "--warmup", "0", "--threads", "1", "--json"] + extra)
      #expect(result.status == 0, "\(result.stderr)")
      return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }
    let measured = try object([])
    #expect((measured["peak_gflops"] as? Double ?? 0) > 0)
    #expect(measured["peak_measured"] as? Bool == true)
    let given = try object(["--peak", "123.5"])
    #expect(given["peak_gflops"] as? Double == 123.5)
    #expect(given["peak_measured"] as? Bool == false)
    let none = try object(["--peak", "none"])
    #expect(none["peak_gflops"] == nil && none["peak_measured"] == nil)
  }

  @Test func dotPrintsClusters() throws {
    let result = try run(["dot", "zoo:tiny"])
    #expect(result.status == 0)
    #expect(result.stdout.hasPrefix("digraph"))
    #expect(result.stdout.contains("subgraph cluster_0"))
  }

  @Test func runWritesTheOutputFile() throws {
    let input = try Self.temporaryFile("x.bin", [UInt8](repeating: 0, count: 3 * 32 * 32 * 4))
    defer { Self.removeTemporary(input) }
    let output = input + ".out"
    let result = try run(["run", "zoo:tiny", "--input", input, "--output", output, "--backend", "reference"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect((try? Data(contentsOf: URL(fileURLWithPath: output)))?.count == 10 * 4)
  }

  struct BadCall: Sendable, CustomTestStringConvertible {
    var arguments: [String]
    var mentions: String
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let badCalls: [BadCall] = [
    BadCall(arguments: ["report", "zoo:nope"], mentions: "unknown model"),
    BadCall(arguments: ["report"], mentions: "usage"),
    BadCall(arguments: ["report", "zoo:tiny", "--frobnicate"], mentions: "--frobnicate"),
    BadCall(arguments: ["frobnicate"], mentions: "unknown command"),
    BadCall(arguments: ["report", "/nonexistent/model.onnx"], mentions: "/nonexistent/model.onnx"),
    BadCall(arguments: ["run", "zoo:tiny"], mentions: "--input"),
    BadCall(arguments: ["run", "zoo:tiny", "--input", "/nonexistent.bin"], mentions: "/nonexistent.bin"),
    BadCall(arguments: ["report", "zoo:tiny", "--shape", "nonsense"], mentions: "NAME=DIMS"),
    BadCall(arguments: ["bench", "/nonexistent/model.onnx", "--batch", "2"], mentions: "no such file"),
    BadCall(arguments: ["bench", "zoo:tiny", "--batch", "0"], mentions: "--batch"),
    BadCall(arguments: ["bench", "zoo:tiny", "--peak", "fast"], mentions: "--peak"),
    BadCall(arguments: ["bench", "zoo:tiny", "--warmup", "-1"], mentions: "non-negative"),
  ]

  @Test(arguments: badCalls)
  func badInputIsOneLineAndExitOne(_ call: BadCall) throws {
    let result = try run(call.arguments)
    #expect(result.status == 1)
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    #expect(result.stderr.contains(call.mentions), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }

  @Test func truncatedModelAndWrongSizeInputAreErrors() throws {
    let notProtobuf = try Self.temporaryFile("garbage.onnx", Array("this is not a model".utf8))
    defer { Self.removeTemporary(notProtobuf) }
    let garbage = try run(["report", notProtobuf])
    #expect(garbage.status == 1)
    #expect(garbage.stderr.contains(notProtobuf))
    let small = try Self.temporaryFile("small.bin", [0, 0, 0, 0])
    defer { Self.removeTemporary(small) }
    let wrongSize = try run(["run", "zoo:tiny", "--input", small])
    #expect(wrongSize.status == 1)
    #expect(wrongSize.stderr.contains("bytes"))
  }
}
