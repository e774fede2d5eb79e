import Testing

@testable import GraphFuse

/// Matmuls whose K runs in blocks keep their partial sums between blocks in a per-thread scratch
/// (``MatmulKernel/partialFloats``), not in the output: results match the reference executor with
/// one and with several row groups per column, and for an N whose output rows would share an L1 set.
@Suite struct MatmulPartialSumTests {
  typealias T = CompiledTesting

  /// `[1, m, k] · [k, n] + bias → relu`.
  static func graph(m: Int, k: Int, n: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, m, k])
    let y = try b.add(
      try b.matmul(x, T.weight(b, [k, n], seed: 1, range: -0.1...0.1)), T.weight(b, [n], seed: 2))
    b.output(try b.relu(y))
    return try b.finish()
  }

  @Test(arguments: [(40, 512, 64), (200, 384, 32), (30, 256, 1024), (30, 384, 384)])
  func blockedMatmulMatchesTheReference(
    _ m: Int, _ k: Int, _ n: Int
  ) throws {
    let graph = try Self.graph(m: m, k: k, n: n)
    let inputs = [Tensor.random(shape: [1, m, k], seed: 3)]
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "\(m)×\(k)×\(n)")
    let fused = try #require(models.first { $0.name == "fused" }).model
    let matmul = try #require(fused.program.schedules.joined().first { $0.kind == .matmul })
    #expect(matmul.tile?.reason.contains("partial sums in a per-thread scratch") == true, "\(matmul)")
  }

  /// A blocked matmul over a plain A hints the next row tile's slice of each K block into L2 while
  /// a tile streams its own (`Docs/Scheduling.md`, "The next row tile hinted"): 12-row tiles of
  /// 384-deep rows put the next tile 12 · 384 floats on; a packed A streams its panels instead.
  @Test func blockedMatmulHintsTheNextRowTile() throws {
    func text(m: Int, k: Int, n: Int) throws -> String {
      let optimized = try Pipeline.optimize(try Self.graph(m: m, k: k, n: n))
      let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
      return program.functions.map { KernelFunction($0).text }.joined()
    }
    let plain = try text(m: 200, k: 384, n: 32)
    #expect(plain.contains("gf_prefetch_l2(a + abase + \(12 * 384) + "), "\(plain)")
    let packed = try text(m: 30, k: 256, n: 1024)
    #expect(packed.contains("gf_prefetch_l1(a + ") && !packed.contains("gf_prefetch_l2(a + abase + "))
  }

  /// A is copied into row-tile panels from N = 24 vectors on (384 columns of 16-float vectors,
  /// ``MatmulKernel/packedAVectors``): ConvNeXt-T's 384-wide MLP-down gains; 256 columns read A in place.
  @Test func aIsPackedFromTwentyFourVectors() throws {
    func kinds(n: Int) throws -> [KernelSchedule.Kind] {
      let optimized = try Pipeline.optimize(try Self.graph(m: 30, k: 384, n: n))
      let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
      return program.schedules.joined().map(\.kind)
    }
    #expect(try kinds(n: 24 * 16).contains(.packPanels))
    #expect(try !kinds(n: 16 * 16).contains(.packPanels))
    #expect(try kinds(n: 16 * 16).contains(.matmul))
  }

  /// A narrow N (3 to 6 vectors) over enough rows is one tile wide, with as many rows as the
  /// registers hold left (``MatmulKernel/spansN``): A is read once. With K blocks (384 deep) and
  /// without (64 deep), plain-B tails (50 columns: a partial fourth vector) included; 40 rows stay
  /// on 12 × 2 tiles. Up to 12 vectors, deep products take two column tiles of half of N
  /// (``MatmulKernel/splitsNInTwo``; 120 columns: 8 vectors, the last partial); shallow ones keep 12 × 2.
  @Test(arguments: [
    (200, 384, 96, 4, 6), (100, 64, 64, 6, 4), (100, 64, 48, 9, 3), (130, 96, 50, 6, 4), (40, 384, 96, 12, 2),
    (100, 384, 192, 4, 6), (100, 320, 120, 6, 4), (100, 64, 192, 12, 2),
  ])
  func narrowNIsOneTileWide(_ m: Int, _ k: Int, _ n: Int, _ rows: Int, _ vectors: Int) throws {
    let graph = try Self.graph(m: m, k: k, n: n)
    let inputs = [Tensor.random(shape: [1, m, k], seed: 4)]
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "\(m)×\(k)×\(n)")
    guard System.vectorWidth == 16 else { return }
    let fused = try #require(models.first { $0.name == "fused" }).model
    let matmul = try #require(fused.program.schedules.joined().first { $0.kind == .matmul })
    #expect(matmul.tile?.pixels == rows && matmul.tile?.vectors == vectors, "\(matmul)")
    #expect(matmul.tile?.reason.contains("spans all of N") == (vectors > 2 && vectors * 16 >= n))
    #expect(matmul.tile?.reason.contains("two column tiles span N") == (vectors > 2 && vectors * 16 < n))
  }

  /// Two activations (B read in place, batched, 80 columns: a partial fifth vector) take the tile
  /// that spans N too, and match the reference.
  @Test func batchedActivationsSpanNarrowN() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [2, 100, 48])
    let y = b.input("y", shape: [2, 48, 80])
    b.output(try b.relu(try b.matmul(x, y)))
    let graph = try b.finish()
    let inputs = [Tensor.random(shape: [2, 100, 48], seed: 5), Tensor.random(shape: [2, 48, 80], seed: 6)]
    let models = try T.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "batched 100×48·48×80")
    guard System.vectorWidth == 16 else { return }
    let fused = try #require(models.first { $0.name == "fused" }).model
    let matmul = try #require(fused.program.schedules.joined().first { $0.kind == .matmul })
    #expect(matmul.tile?.pixels == 5 && matmul.tile?.vectors == 5, "\(matmul)")
  }
}
