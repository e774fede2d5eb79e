import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Optional checks over `../shared/cases` (always, when present) and `../shared/models`
/// (only with `GRAPHFUSE_BIG_MODELS=1`, best in `-c release`: ResNet-18 on the naive
/// reference executor is slow in debug builds).
@Suite("ONNX models from ../shared (optional)")
struct SharedModelTests {
  static func onnxFiles(_ folder: String) -> [String] {
    guard let shared = Fixtures.shared,
      let names = try? FileManager.default.contentsOfDirectory(atPath: shared + "/" + folder)
    else { return [] }
    return names.filter { $0.hasSuffix(".onnx") }.sorted().map { shared + "/" + folder + "/" + $0 }
  }

  static var cases: [String] { onnxFiles("cases") }
  static var models: [String] {
    ProcessInfo.processInfo.environment["GRAPHFUSE_BIG_MODELS"] == "1" ? onnxFiles("models") : []
  }

  static func check(_ path: String) throws {
    let stem = String(path.dropLast(".onnx".count))
    let start = Date()
    let comparison = try goldenComparison(
      model: path, input: stem + ".input.bin", output: stem + ".output.bin", report: true)
    let seconds = Date().timeIntervalSince(start)
    print(
      "golden \(URL(fileURLWithPath: path).lastPathComponent): relative error \(comparison.relativeError) "
        + "(\(comparison)) in \(String(format: "%.1f", seconds)) s"
    )
    #expect(comparison.isWithin(relative: 1e-4), "\(path): \(comparison)")
  }

  @Test(
    .enabled(
      if: !cases.isEmpty,
      "skipped: needs ../shared/cases beside the package (PyTorch-exported cases with golden outputs), absent here"),
    arguments: cases)
  func caseMatchesGolden(_ path: String) throws { try Self.check(path) }

  @Test(
    .enabled(
      if: !models.isEmpty,
      "skipped: needs ../shared/models beside the package and GRAPHFUSE_BIG_MODELS=1 (slow in debug builds)"),
    arguments: models)
  func modelMatchesGolden(_ path: String) throws { try Self.check(path) }
}
