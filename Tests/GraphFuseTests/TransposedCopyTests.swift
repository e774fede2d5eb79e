import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// Copies that transpose an inner pair of axes run through registers, a vector per source column,
/// with partial blocks element by element; other copies keep their schedules; results match the
/// reference exactly (a copy, or a copy times a constant).
@Suite struct TransposedCopyTests {
  static func kinds(_ graph: Graph) throws -> [KernelSchedule.Kind] {
    let optimized = try Pipeline.optimize(graph)
    return try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: System.vectorWidth).schedules
      .flatMap { $0 }.map(\.kind)
  }

  /// `[batch, m, n]` → `[batch, n, m]`, both extents with whole blocks and a partial one.
  @Test(arguments: [(2, 37, 40), (1, 16, 16), (3, 50, 21)]) func matrixTranspose(_ c: (Int, Int, Int)) throws {
    let b = GraphBuilder()
    b.output(try b.transpose(b.input("x", shape: [c.0, c.1, c.2]), perm: [0, 2, 1]))
    let graph = try b.finish()
    #expect(try Self.kinds(graph) == [.transposedCopy])
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [c.0, c.1, c.2], seed: 81)], context: "transpose \(c)")
  }

  /// XCiT's split of a `[1, tokens, 3·heads·d]` projection into `[3, 1, heads, d, tokens]`, scaled:
  /// the source is contiguous along `d`, the output along the tokens.
  @Test func projectionSplitIntoHeads() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 50, 96])
    let split = try b.reshape(x, to: [1, 50, 3, 2, 16])
    b.output(try b.mul(try b.transpose(split, perm: [2, 0, 3, 4, 1]), b.constant(Tensor(scalar: 0.5))))
    let graph = try b.finish()
    #expect(try Self.kinds(graph) == [.transposedCopy])
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 50, 96], seed: 82)], context: "projection split")
  }

  /// XCiT's merge back, `[1, heads, d, tokens]` → `transpose(0, 3, 1, 2)` → `[1, tokens, heads·d]`:
  /// the merged axis is not affine in the source, so the copy is taken at the reshape's input.
  @Test func headsMergedBackAfterTheTranspose() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 32, 20])
    b.output(try b.reshape(try b.transpose(x, perm: [0, 3, 1, 2]), to: [1, 20, 128]))
    let graph = try b.finish()
    let kinds = try Self.kinds(graph)
    #expect(kinds == [.transposedCopy], "\(kinds)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, 4, 32, 20], seed: 83)], context: "heads merged back")
  }

  /// The nest of a transpose with partial blocks on both axes: a whole 16 × 16 block through
  /// registers, the tail columns and the partial last block element by element.
  @Test func nestTurnsWholeBlocksOverInRegisters() throws {
    let view = OperandView(source: ValueID(0), strides: [40 * 37, 1, 40], offset: 0, scale: 1)
    let copy = try #require(TransposedCopy.of(view, shape: [2, 40, 37], width: 16))
    #expect(copy.unitAxis == 1 && copy.tasks == 2 * 3)
    let text = CEmitter.function(copy.nest, symbol: "f")
    #expect(text.contains("__builtin_shufflevector(tr0, tr1"), "\(text)")
    #expect(
      text.contains("for (long jb = 0; jb < 2; jb++)") && text.contains("for (long j = 0; j < 5; j++)"), "\(text)")
    #expect(text.contains("for (long c = 0; c < 8; c++)"), "a partial block of 8 unit positions: \(text)")
    // A last axis contiguous in the source, or no contiguous axis, is no transpose.
    let contiguous = OperandView(source: ValueID(0), strides: [40, 1], offset: 0, scale: 1)
    #expect(TransposedCopy.of(contiguous, shape: [37, 40], width: 16) == nil)
    let gathered = OperandView(source: ValueID(0), strides: [2, 80], offset: 0, scale: 1)
    #expect(TransposedCopy.of(gathered, shape: [40, 37], width: 16) == nil)
  }
}
