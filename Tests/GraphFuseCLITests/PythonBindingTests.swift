import Foundation
import GraphFuse
import Testing

/// The ctypes binding `Examples/Python/graphfuse.py` on libraries from `graphfuse compile`:
/// NumPy arrays in and out, int64 inputs, any batch of a `--max-batch` library (larger ones in
/// chunks) and errors as exceptions. Needs python3 with NumPy; skipped, saying so, without them.
@Suite struct PythonBindingTests {
  let cli = CLITests()

  /// `python3` on PATH when it imports NumPy, else nil.
  static let python3: String? = {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      let path = "\(dir)/python3"
      guard FileManager.default.isExecutableFile(atPath: path) else { continue }
      let probe = try? DeployTests().shell([path, "-c", "import numpy"])
      return probe?.status == 0 ? path : nil
    }
    return nil
  }()

  static var binding: String { DeployTests.root.appendingPathComponent("Examples/Python").path }

  static var fixtures: String { DeployTests.root.appendingPathComponent("Tests/GraphFuseONNXTests/Fixtures").path }

  /// Runs `script` with the binding importable and `sys.argv[1]` = `dir`, `sys.argv[3]` = the
  /// test fixtures' folder; returns the shell result.
  func python(_ script: String, in dir: String) throws -> (status: Int32, output: String) {
    let path = dir + "/check.py"
    try Data(("import sys\nsys.path.insert(0, sys.argv[2])\n" + script).utf8).write(to: URL(fileURLWithPath: path))
    return try DeployTests().shell([try #require(Self.python3), path, dir, Self.binding, Self.fixtures])
  }

  @Test(.enabled(if: python3 != nil, "skipped: needs python3 with NumPy"))
  func batchedLibraryRunsFromPython() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-python-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let compile = try cli.run(["compile", "zoo:tiny", "-o", dir + "/out", "--threads", "2", "--max-batch", "4"])
    #expect(compile.status == 0, "\(compile.stderr)")
    let result = try python(
      """
      import numpy as np
      from graphfuse import Model, GraphFuseError
      d = sys.argv[1]
      with Model(d + "/out", threads=2) as m:
          assert m.max_batch == 4, m.max_batch
          assert m.inputs[0].shape == (4, 3, 32, 32) and m.inputs[0].dtype == np.float32, m.inputs
          for b in (1, 3, 6):
              x = np.random.default_rng(b).uniform(-1, 1, (b, 3, 32, 32)).astype(np.float32)
              y = m.run(x)
              assert y.shape == (b, 10) and y.dtype == np.float32, y.shape
              x.tofile(f"{d}/x{b}.bin")
              y.tofile(f"{d}/y{b}.bin")
          try:
              m.run(np.zeros((2, 3, 16, 16), np.float32))
              raise SystemExit("a wrong shape was accepted")
          except GraphFuseError as e:
              assert "(batch,)" in str(e), e
      print("python binding ok")
      """, in: dir)
    #expect(result.status == 0 && result.output.contains("python binding ok"), "\(result.output)")
    for batch in [1, 3, 6] {
      let check = try cli.run([
        "run", "zoo:tiny", "--batch", "\(batch)", "--input", "\(dir)/x\(batch).bin", "--expect", "\(dir)/y\(batch).bin",
        "--backend", "reference",
      ])
      #expect(check.status == 0, "batch \(batch): \(check.stdout) \(check.stderr)")
    }
  }

  @Test(.enabled(if: python3 != nil, "skipped: needs python3 with NumPy"))
  func textEncoderTakesInt64ArraysAndReportsBadIds() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gf-python-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let compile = try cli.run(["compile", Self.fixtures + "/text_encoder.onnx", "-o", dir + "/out", "--threads", "2"])
    #expect(compile.status == 0, "\(compile.stderr)")
    let result = try python(
      """
      import numpy as np
      from graphfuse import Model, GraphFuseError
      f = sys.argv[3]
      m = Model(sys.argv[1] + "/out")
      assert [t.dtype for t in m.inputs] == [np.int64] * 3, m.inputs
      assert m.max_batch == 0
      xs = [np.load(f"{f}/text_encoder.input{k}.npy") for k in range(3)]
      y, want = m.run(*xs), np.load(f"{f}/text_encoder.output0.npy")
      err = float(np.abs(y - want).max() / np.abs(want).max())
      assert err < 1e-5, err
      xs[0] = xs[0].copy()
      xs[0].flat[3] = 50
      try:
          m.run(*xs)
          raise SystemExit("a token id past the vocabulary was accepted")
      except GraphFuseError as e:
          assert "index 50 in 'input_ids' is out of range" in str(e), e
      m.close()
      print("int64 ok", err)
      """, in: dir)
    #expect(result.status == 0 && result.output.contains("int64 ok"), "\(result.output)")
  }
}
