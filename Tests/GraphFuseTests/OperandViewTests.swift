import Testing

@testable import GraphFuse

/// ``OperandView``: Q, K and V split from one projection (slices, reshapes, transposes, a scale)
/// are read in place by the attention kernel through their strides; no kernel writes them. A view
/// the kernel cannot read that way (V with strided columns) is written by its own kernel first.
@Suite struct OperandViewTests {
  typealias T = CompiledTesting

  /// x `[b, s, e]` · W `[e, 3e]` → Q, K, V of `heads` heads each a slice of the projection,
  /// `[b, h, s, d]`; Q scaled by `scale`. `keysContiguous`: Kᵀ comes from a second input
  /// `[b, d, h, s]` (keys contiguous) instead of the projection. `stridedV`: V's heads are its
  /// innermost axis in the projection, so its columns are `h` apart.
  static func graph(
    batch: Int, sequence s: Int, heads h: Int, depth d: Int, scale: Float = 0.25, keysContiguous: Bool = false,
    stridedV: Bool = false
  ) throws -> Graph {
    let b = GraphBuilder()
    let e = h * d
    let x = b.input("x", shape: [batch, s, e])
    let projection = try b.matmul(x, T.weight(b, [e, 3 * e], seed: 1, range: -0.3...0.3))
    func part(_ k: Int) throws -> ValueID {
      let third = try b.slice(projection, starts: [k * e], ends: [(k + 1) * e], axes: [2])
      return try b.reshape(third, to: [batch, s, h, d])
    }
    let q = try b.mul(try b.transpose(try part(0), perm: [0, 2, 1, 3]), b.constant(Tensor(shape: [], data: [scale])))
    var kt = try b.transpose(try part(1), perm: [0, 2, 3, 1])
    if keysContiguous {
      let keys = b.input("keys", shape: [batch, d, h, s])
      kt = try b.transpose(keys, perm: [0, 2, 1, 3])
    }
    var v = try b.transpose(try part(2), perm: [0, 2, 1, 3])
    if stridedV {
      // The third split heads-innermost: `[b, s, d, h]`, so V's columns lie `h` apart.
      let third = try b.slice(projection, starts: [2 * e], ends: [3 * e], axes: [2])
      v = try b.transpose(try b.reshape(third, to: [batch, s, d, h]), perm: [0, 3, 1, 2])
    }
    let probabilities = try b.softmax(try b.matmul(q, kt))
    b.output(try b.matmul(probabilities, v))
    return try b.finish()
  }

  static func inputs(_ graph: Graph) -> [Tensor] {
    graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), in: -1...1, seed: UInt64(3 + k)) }
  }

  /// The kinds of kernel each group runs as, by the first op of the group.
  static func kinds(_ graph: Graph) throws -> [(String, [KernelSchedule.Kind])] {
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    return optimized.plan.groups.ids.map { g in
      (optimized.graph.nodes[optimized.plan.groups[g].nodes[0]].op, program.schedules[g.index].map(\.kind))
    }
  }

  @Test func viewOfAProjectionHasItsStrides() throws {
    let graph = try Self.graph(batch: 2, sequence: 5, heads: 3, depth: 4)
    let plan = Fusion.plan(graph)
    let views = plan.groups.compactMap { OperandView.of(graph, group: $0) }
    // Q `[2, 3, 5, 4]` scaled, Kᵀ `[2, 3, 4, 5]`, V `[2, 3, 5, 4]` of a `[2, 5, 36]` projection.
    #expect(
      views.map(\.strides).sorted { $0.lexicographicallyPrecedes($1) }
        == [[180, 4, 1, 36], [180, 4, 36, 1], [180, 4, 36, 1]])
    #expect(Set(views.map(\.offset)) == [0, 12, 24])
    #expect(views.filter { $0.scale == 0.25 }.count == 1 && views.filter { $0.scale == 1 }.count == 2)
    // The projection itself, the attention and the output are no views.
    #expect(views.count == 3)
  }

  /// Q, K and V are read in place, however few the batch entries. K, whose depth is contiguous here,
  /// is copied transposed by the attention step itself, into each thread's scratch once per entry.
  @Test(arguments: [(1, 7, 2, 16), (2, 20, 3, 8), (1, 33, 4, 17), (2, 20, 4, 8), (2, 20, 8, 8)])
  func attentionReadsTheProjectionInPlace(_ batch: Int, _ s: Int, _ h: Int, _ d: Int) throws {
    let graph = try Self.graph(batch: batch, sequence: s, heads: h, depth: d)
    let kinds = try Self.kinds(graph)
    #expect(kinds.filter { $0.1 == [.viewFolded] }.count == 3, "\(kinds)")
    #expect(kinds.contains { $0.1 == [.attention] }, "\(kinds)")
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "views \(s) \(h) \(d)")
  }

  /// Keys contiguous (Kᵀ read in place without a copy, however few the entries), and a V the kernel
  /// cannot read in place (4 heads × 2 images: K read in place).
  @Test(arguments: [(true, false), (false, true)])
  func otherLayoutsMatchTheReference(_ keysContiguous: Bool, _ stridedV: Bool) throws {
    let graph = try Self.graph(
      batch: 2, sequence: 9, heads: keysContiguous ? 2 : 4, depth: 8, keysContiguous: keysContiguous,
      stridedV: stridedV)
    let kinds = try Self.kinds(graph)
    #expect(kinds.filter { $0.1 == [.viewFolded] }.count == (stridedV ? 2 : 3), "\(kinds)")
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "layouts \(keysContiguous)")
  }

  /// V read in place from a projection whose rows lie 2 KiB or more apart (3 heads × 64 → 2,304 bytes)
  /// is hinted into L1 `valueLookahead` keys ahead of the product with V, and the next batch entry's
  /// K rows into L2 while the product with V runs; rows closer together (3 × 16, 576 bytes) are left
  /// to the hardware. Either way the outputs match the reference.
  @Test(arguments: [(64, true), (16, false)]) func farApartRowsAreHintedAhead(depth: Int, hinted: Bool) throws {
    let graph = try Self.graph(batch: 1, sequence: 40, heads: 3, depth: depth)
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    let attention = try #require(program.functions.first { $0.nest.name == "attention" })
    let text = KernelFunction(attention).text
    #expect(text.contains("gf_prefetch_l1(v + vbase + ") == hinted, "\(text)")
    #expect(text.contains("gf_prefetch_l2(k + ") == hinted, "\(text)")
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "hinted V \(depth)")
  }
}
