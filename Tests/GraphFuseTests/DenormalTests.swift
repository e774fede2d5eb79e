import Foundation
import Testing

@testable import GraphFuse

/// Kernels run with denormals flushed to zero (a masked softmax otherwise fills matrices with
/// values that each cost a microcode assist), and the calling thread's floating-point mode is
/// what it was once a run returns.
@Suite struct DenormalTests {
  typealias T = CompiledTesting

  /// A value the optimizer cannot fold: `x` read back from its text at run time.
  private static func opaque(_ x: Float) -> Float { Float(String(x))! }

  @Test func kernelsFlushDenormalsAndTheCallerKeepsItsMode() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 32])
    b.output(try b.mul(x, b.constant(Tensor([0.25]))))
    let graph = try b.finish()
    let tiny = Float.leastNormalMagnitude
    let input = Tensor(shape: [1, 32], data: (0..<32).map { i in i % 2 == 0 ? tiny : 1 })
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    let out = try model.run([input])[0]
    // tiny / 4 is a denormal under IEEE rules; the kernel flushes it to zero; 0.25 stays exact.
    #expect(out.data.enumerated().allSatisfy { i, v in i % 2 == 0 ? v == 0 : v == 0.25 }, "\(out.data)")
    let reference = try ReferenceExecutor.run(graph, inputs: [input])[0]
    #expect(out.compared(to: reference).isWithin(relative: 1e-6))
    // The calling thread still has gradual underflow.
    let denormal = Self.opaque(tiny) * Self.opaque(0.25)
    #expect(denormal > 0 && denormal < tiny, "the caller's mode was not restored: \(denormal)")
  }

  /// Softmax with a -100 mask (Swin's shifted windows) times V: the masked probabilities would be
  /// denormals; the result still matches the reference.
  @Test func maskedAttentionMatchesTheReference() throws {
    let b = GraphBuilder()
    let scores = b.input("scores", shape: [4, 49, 49])
    let mask = b.input("mask", shape: [4, 49, 49])
    let v = b.input("v", shape: [4, 49, 32])
    let p = try b.apply("softmax", [try b.add(scores, mask)], ["axis": .int(-1)])[0]
    b.output(try b.apply("matmul", [p, v])[0])
    let graph = try b.finish()
    let maskData = (0..<4 * 49 * 49).map { i in (i / 49 + i % 49) % 3 == 0 ? Float(-100) : 0 }
    let inputs = [
      Tensor.random(shape: [4, 49, 49], seed: 1), Tensor(shape: [4, 49, 49], data: maskData),
      Tensor.random(shape: [4, 49, 32], seed: 2),
    ]
    try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "masked attention")
  }
}
