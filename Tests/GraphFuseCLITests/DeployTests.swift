import Foundation
import GraphFuse
import GraphFuseONNX
import Testing

/// `graphfuse compile MODEL -o DIR` and the C API: the example C program (Examples/DeployC/main.c),
/// built with clang against the library, runs the model and matches the reference executor, also
/// with several calls at once.
@Suite struct DeployTests {
  let cli = CLITests()

  /// The repository root (this file is Tests/GraphFuseCLITests/DeployTests.swift).
  static var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  /// clang: `$CC`, the one beside the Swift toolchain, or on PATH.
  static var clang: String? {
    var candidates: [String] = []
    if let cc = ProcessInfo.processInfo.environment["CC"], !cc.isEmpty { candidates.append(cc) }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      candidates += ["\(dir)/clang", "\(dir)/cc"]
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  func shell(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test(arguments: [["zoo:tiny"], ["zoo:tiny", "--no-fuse"], ["zoo:tiny", "--no-chain"]])
  func compiledLibraryMatchesTheReference(_ model: [String]) throws {
    let clang = try #require(Self.clang, "no C compiler found (set CC)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    let compile = try cli.run(["compile"] + model + ["-o", out, "--threads", "2"])
    #expect(compile.status == 0, "\(compile.stderr)")
    for file in ["model.h", "libmodel.so", "weights.bin", "model.c"] {
      #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
    }
    let app = dir + "/app"
    let example = Self.root.appendingPathComponent("Examples/DeployC/main.c").path
    let build = try shell([
      clang, example, "-I" + out, "-L" + out, "-lmodel", "-Wl,-rpath," + out, "-lpthread", "-o", app,
    ])
    #expect(build.status == 0, "\(build.output)")

    let shape = [1, 3, 32, 32]
    let values = (0..<shape.reduce(1, *)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
    let input = dir + "/x.bin"
    try Data(values.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: input))
    let expected = dir + "/expected.bin"
    let reference = try cli.run(["run", model[0], "--input", input, "--output", expected, "--backend", "reference"])
    #expect(reference.status == 0, "\(reference.stderr)")
    let got = dir + "/got.bin"
    let run = try shell([app, out, input, got, "2", "4"])  // 2 threads, 4 concurrent calls that must agree
    #expect(run.status == 0, "\(run.output)")
    #expect(run.output.contains("4 concurrent calls agreed"))
    let check = try cli.run(["run", model[0], "--input", input, "--expect", got, "--backend", "reference"])
    #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
  }

  /// The library needs only libc, libm and pthreads (and the C runtime's own loader).
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf"), "skipped: no /usr/bin/readelf"))
  func libraryNeedsOnlyLibcLibmAndPthreads() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let compile = try cli.run(["compile", "zoo:tiny", "-o", dir, "--threads", "1"])
    #expect(compile.status == 0, "\(compile.stderr)")
    let needed = try shell(["/usr/bin/readelf", "-d", dir + "/libmodel.so"]).output.split(separator: "\n")
      .filter { $0.contains("(NEEDED)") }
    #expect(!needed.isEmpty, "readelf listed no NEEDED entries")
    for line in needed {
      #expect(["libc.so", "libm.so", "libpthread.so", "ld-linux"].contains { line.contains($0) }, "\(line)")
    }
  }

  /// A BERT-like encoder with int64 token ids, token types and mask, deployed: the C program
  /// feeds raw int64 files and matches ONNX Runtime's output; a token id past the vocabulary makes
  /// `gf_model_run` fail with a message naming the input, the index and the valid range.
  @Test func textEncoderRunsThroughTheCLibraryWithInt64Inputs() throws {
    let clang = try #require(Self.clang, "no C compiler found (set CC)")
    let fixtures = Self.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures").path
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    let compile = try cli.run(["compile", fixtures + "/text_encoder.onnx", "-o", out, "--threads", "2"])
    #expect(compile.status == 0, "\(compile.stderr)")
    let app = dir + "/app"
    let example = Self.root.appendingPathComponent("Examples/DeployC/main.c").path
    let build = try shell([
      clang, example, "-I" + out, "-L" + out, "-lmodel", "-Wl,-rpath," + out, "-lpthread", "-o", app,
    ])
    #expect(build.status == 0, "\(build.output)")
    // Raw int64 files from the fixture's .npy inputs.
    var paths: [String] = []
    var ids: [Int64] = []
    for k in 0..<3 {
      let tensor = try NPYFile.readTyped(path: fixtures + "/text_encoder.input\(k).npy").tensor
      let values = tensor.data.map { Int64($0) }
      if k == 0 { ids = values }
      paths.append(dir + "/in\(k).bin")
      try Data(values.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: paths[k]))
    }
    let got = dir + "/got.bin"
    let run = try shell([app, out, paths.joined(separator: ","), got, "2", "2"])
    #expect(run.status == 0, "\(run.output)")
    let expected = try NPYFile.read(path: fixtures + "/text_encoder.output0.npy")
    let y = try RawTensorFile.read(path: got, shape: expected.shape)
    #expect(y.compared(to: expected).isWithin(relative: 1e-5), "\(y.compared(to: expected))")
    // Token id 50 of a 50-word vocabulary.
    ids[3] = 50
    try Data(ids.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: paths[0]))
    let bad = try shell([app, out, paths.joined(separator: ","), got])
    #expect(bad.status == 1)
    #expect(bad.output.contains("index 50 in 'input_ids' is out of range"), "\(bad.output)")
    #expect(bad.output.contains("valid indices are -50 ..< 50"), "\(bad.output)")
    // An int64 beyond ±2^24 is refused before anything runs.
    ids[3] = 1 << 40
    try Data(ids.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: paths[0]))
    let huge = try shell([app, out, paths.joined(separator: ","), got])
    #expect(huge.status == 1 && huge.output.contains("beyond +-2^24"), "\(huge.output)")
  }

  /// `compile --max-batch 8` builds one library that runs batches 1, 3 and 8 through
  /// `gf_model_run_batch` (the C example's `--batch`), each matching the reference executor at that
  /// batch; batch 9 is refused with the valid range, and a fixed-shape library refuses batches.
  @Test func batchedLibraryRunsEveryBatchUpToItsMax() throws {
    let clang = try #require(Self.clang, "no C compiler found (set CC)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    let compile = try cli.run(["compile", "zoo:tiny", "-o", out, "--threads", "2", "--max-batch", "8"])
    #expect(compile.status == 0, "\(compile.stderr)")
    #expect(compile.stdout.contains("batch sizes compiled: 1, 2, 4, 8"), "\(compile.stdout)")
    let app = dir + "/app"
    let example = Self.root.appendingPathComponent("Examples/DeployC/main.c").path
    let build = try shell([
      clang, example, "-I" + out, "-L" + out, "-lmodel", "-Wl,-rpath," + out, "-lpthread", "-o", app,
    ])
    #expect(build.status == 0, "\(build.output)")
    for batch in [1, 3, 8, 9] {
      let values = (0..<(batch * 3 * 32 * 32)).map { Float(($0 * 7919 + batch) % 1000) / 1000 - 0.5 }
      let input = dir + "/x\(batch).bin", got = dir + "/y\(batch).bin"
      try Data(values.withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: input))
      let run = try shell([app, "--batch", "\(batch)", out, input, got, "2", "2"])
      if batch == 9 {
        #expect(run.status == 1 && run.output.contains("batch 9 is outside 1...8"), "\(run.output)")
        continue
      }
      #expect(run.status == 0 && run.output.contains("output [\(batch), 10]"), "\(run.output)")
      let check = try cli.run([
        "run", "zoo:tiny", "--batch", "\(batch)", "--input", input, "--expect", got, "--backend", "reference",
      ])
      #expect(check.status == 0, "batch \(batch): \(check.stdout) \(check.stderr)")
    }
    // A library of fixed shapes has no batch entry point.
    let fixed = dir + "/fixed"
    #expect(try cli.run(["compile", "zoo:tiny", "-o", fixed, "--threads", "1"]).status == 0)
    let fixedApp = dir + "/fixed-app"
    #expect(
      try shell([clang, example, "-I" + fixed, "-L" + fixed, "-lmodel", "-Wl,-rpath," + fixed, "-o", fixedApp])
        .status == 0)
    let refused = try shell([fixedApp, "--batch", "1", fixed, dir + "/x1.bin"])
    #expect(refused.status == 1 && refused.output.contains("fixed shapes"), "\(refused.output)")
  }

  /// `--max-batch` needs axis 0 of every input to be the batch: a model whose export fixes it
  /// (a reshape to batch 1) fails with the node, not a wrong library.
  @Test func maxBatchOnAModelWithAFixedBatchIsAnError() throws {
    let fixtures = Self.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures").path
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try cli.run(["compile", fixtures + "/text_encoder.onnx", "-o", dir, "--max-batch", "2"])
    #expect(result.status == 1, "\(result.stdout)")
    #expect(result.stderr.contains("Reshape") && result.stderr.contains("at batch 2"), "\(result.stderr)")
    #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
  }

  /// `bench/soak/soak.c` (the soak of `Docs/Reliability.md`, short here): 8 threads call the
  /// library at once on mixed inputs and every output equals the single-threaded one, bit for bit.
  @Test func soakFromEightThreadsAgreesWithSingleThreadedRuns() throws {
    let clang = try #require(Self.clang, "no C compiler found (set CC)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    #expect(try cli.run(["compile", "zoo:tiny", "-o", out, "--threads", "2"]).status == 0)
    let soak = Self.root.appendingPathComponent("bench/soak/soak.c").path
    let build = try shell([
      clang, "-O2", soak, "-I" + out, "-L" + out, "-lmodel", "-Wl,-rpath," + out, "-lpthread", "-o", dir + "/soak",
    ])
    #expect(build.status == 0, "\(build.output)")
    let run = try shell([dir + "/soak", out, "8", "800", "12"])
    #expect(run.status == 0, "\(run.output)")
    #expect(run.output.contains("800 calls from 8 threads") && run.output.contains("0 mismatches"), "\(run.output)")
  }

  @Test func openingAMissingDirectoryIsAnError() throws {
    let clang = try #require(Self.clang, "no C compiler found (set CC)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-deploy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/out"
    #expect(try cli.run(["compile", "zoo:tiny", "-o", out, "--threads", "1"]).status == 0)
    let app = dir + "/app"
    let example = Self.root.appendingPathComponent("Examples/DeployC/main.c").path
    #expect(
      try shell([clang, example, "-I" + out, "-L" + out, "-lmodel", "-Wl,-rpath," + out, "-lpthread", "-o", app]).status
        == 0)
    let missing = try shell([app, dir + "/nowhere", "/dev/null"])
    #expect(missing.status == 1)
    #expect(missing.output.contains("gf_model_open: " + dir + "/nowhere/weights.bin"), "\(missing.output)")
    // Weights of another model are refused.
    try Data("GFWEIGHT".utf8 + [1, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0]).write(
      to: URL(fileURLWithPath: out + "/weights.bin"))
    let wrong = try shell([app, out, "/dev/null"])
    #expect(wrong.status == 1 && wrong.output.contains("another model"), "\(wrong.output)")
  }

  @Test func compileNeedsADirectory() throws {
    let result = try cli.run(["compile", "zoo:tiny"])
    #expect(result.status == 1 && result.stderr.contains("-o DIR"))
  }
}
