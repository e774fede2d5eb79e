import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// The recurrent product of `lstm` and `gru` in register tiles (``RecurrenceKernel``): two
/// sequences per task sharing each load of `rt`, gate rows split into tiles of at most
/// ``RecurrenceKernel/tileVectors`` vectors, a partial last vector, an odd batch (the last task
/// one sequence), both directions, with and without initial states: each against the reference
/// executor.
@Suite("Recurrence tiles")
struct RecurrenceTileTests {
  /// (cell, steps, batch, directions, hidden, initial states)
  @Test(arguments: [
    ("lstm", 4, 5, 2, 48, false),  // 12 vectors of gates: one tile of 2 × 12
    ("lstm", 3, 3, 1, 100, true),  // 25 vectors: three tiles, the odd sequence alone
    ("lstm", 5, 1, 2, 20, true),  // one sequence, 5 vectors
    ("gru", 4, 4, 2, 40, false),  // 120 gates: 7 whole vectors and 8 lanes
    ("gru", 3, 5, 1, 96, true),  // 18 vectors: two tiles of 9
  ])
  func tilesMatchTheReference(_ cell: String, _ t: Int, _ b: Int, _ d: Int, _ h: Int, _ initial: Bool) throws {
    let gates = (cell == "lstm" ? 4 : 3) * h
    let builder = GraphBuilder()
    let xg = builder.input("xg", shape: [t, b, d, gates])
    var inputs = [xg, CT.weight(builder, [d, h, gates], seed: 81, range: -0.3...0.3)]
    if cell == "gru" { inputs.append(CT.weight(builder, [d, gates], seed: 82)) }
    if initial {
      inputs.append(CT.weight(builder, [d, b, h], seed: 83))
      if cell == "lstm" { inputs.append(CT.weight(builder, [d, b, h], seed: 84)) }
    }
    let reverse = (0..<d).map { $0 % 2 }
    let y = try builder.apply(cell, inputs, ["reverse_directions": .ints(reverse)])[0]
    builder.output(y)
    let graph = try builder.finish()
    let kernel = RecurrenceKernel(
      cell: cell == "lstm" ? .lstm : .gru, steps: t, batch: b, directions: d, hidden: h, reversed: reverse,
      initialStates: initial, width: System.vectorWidth)
    #expect(kernel.sequences == min(2, b))
    #expect(kernel.tileVectors * kernel.sequences <= (System.vectorWidth == 16 ? 24 : 12))
    let input = Tensor.random(shape: [t, b, d, gates], in: -1...1, seed: 85)
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(cell) \(t)x\(b)x\(d) H=\(h)")
  }
}
