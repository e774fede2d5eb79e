import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Batch-norm folding on `../shared/cases` (skipped when absent): which cases fold, the reason
/// for each that does not, and that the folded graph computes the unfolded graph's output and
/// PyTorch's golden output, on the reference executor and on the compiled backend.
@Suite("Batch-norm folding on ../shared/cases (optional)")
struct SharedCaseFoldingTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    /// The expected reason, or nil when the batch norm folds.
    var reason: String?
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "conv_bn_relu", reason: nil),
    Case(name: "conv_bias_bn", reason: nil),
    Case(name: "depthwise_bn_relu6", reason: nil),
    Case(name: "linear_bn1d", reason: nil),
    Case(name: "conv_two_consumers", reason: "producer has 2 consumers"),
    Case(name: "bn_training_mode", reason: "training mode"),
    Case(name: "bn_no_running_stats", reason: "batch statistics (no running stats)"),
    Case(name: "preact_bn_relu_conv", reason: "no conv/dense producer (is first)"),
  ]

  static var available: Bool {
    Fixtures.shared.map { FileManager.default.fileExists(atPath: $0 + "/cases/conv_bn_relu.onnx") } ?? false
  }

  @Test(
    .enabled(
      if: available,
      "skipped: needs ../shared/cases beside the package (PyTorch-exported batch-norm cases), absent here"),
    arguments: cases)
  func foldsAsExpected(_ c: Case) throws {
    let stem = Fixtures.shared! + "/cases/" + c.name
    let graph = try ONNXImporter.load(path: stem + ".onnx")
    let optimized = try graph.optimized(OptimizeOptions(verifyEachPass: true))
    let report = optimized.report(model: c.name)
    #expect(report.batchNorm.total == 1)
    if let reason = c.reason {
      #expect(report.batchNorm.unfolded.map(\.reason) == [reason])
    } else {
      #expect(report.batchNorm.folded == 1)
      #expect(!optimized.graph.nodes.contains { $0.op == "batch_norm" || $0.op == "scale_shift" })
    }
    let input = try RawTensorFile.read(path: stem + ".input.bin", shape: graph.shape(of: graph.inputs[0]))
    let golden = try RawTensorFile.read(path: stem + ".output.bin", shape: graph.shape(of: graph.outputs[0]))
    let unfolded = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let folded = try ReferenceExecutor.run(optimized.graph, inputs: [input])[0]
    #expect(folded.compared(to: unfolded).isWithin(relative: 1e-4), "\(folded.compared(to: unfolded))")
    #expect(folded.compared(to: golden).isWithin(relative: 1e-4), "\(folded.compared(to: golden))")
    let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CompileOptions(threads: 2))
      .run([input])[0]
    #expect(compiled.compared(to: golden).isWithin(relative: 1e-4), "compiled: \(compiled.compared(to: golden))")
  }
}
