import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// A tiny deterministic generator for the random shapes.
private struct MatmulRandom {
  var state: UInt64
  mutating func next(_ range: ClosedRange<Int>) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return range.lowerBound + Int((state >> 33) % UInt64(range.count))
  }
}

/// Randomized compiled-vs-reference checks of the register-tiled matmul schedule: shapes off the
/// vector width and the register tile, batch axes with broadcasting, transposed gemm operands,
/// epilogues (bias, GELU, residual add, scaling), and that the schedule is the one that ran.
@Suite("Compiled matmul schedule")
struct CompiledMatmulTests {
  /// The whole graph as one group.
  private static let oneGroup: @Sendable (Graph) -> [[NodeID]] = { g in [g.nodes.ids] }

  /// The kernel kinds the fused program of `build` runs.
  private static func kinds(_ build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void) throws -> [KernelSchedule
    .Kind]
  {
    let b = GraphBuilder()
    try build(b)
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: oneGroup(graph)))
    return try Scheduler.schedule(graph, plan: plan, vectorWidth: System.vectorWidth).schedules.flatMap { $0 }.map(
      \.kind)
  }

  /// A K deep enough that a column's B panel outgrows any L1 runs in K blocks (partial sums kept
  /// in the output, the epilogue on the last block only); with a partial last row tile and a bias
  /// and GELU tail it must still match the reference.
  @Test(arguments: [1024, 1536]) func deepKRunsInBlocks(_ k: Int) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 40, k])
    let y = try b.apply("matmul", [x, CT.weight(b, [k, 96], seed: 7, range: -0.05...0.05)])[0]
    let biased = try b.apply("add", [y, CT.weight(b, [96], seed: 8)])[0]
    b.output(try b.apply("gelu", [biased])[0])
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: Self.oneGroup(graph)))
    for l1 in [32 * 1024, 48 * 1024, 64 * 1024] {
      let target = ScheduleTarget(vectorWidth: System.vectorWidth, threads: 2, l1DataBytes: l1)
      let schedule = try Scheduler.schedule(graph, plan: plan, target: target).schedules.flatMap { $0 }
      #expect(schedule.contains { $0.tile?.reason.contains("K in blocks") ?? false }, "L1 \(l1): \(schedule)")
      // 96 columns are too few to pay for copying A into panels: the matmul reads it in place.
      #expect(!schedule.contains { $0.kind == .packPanels }, "L1 \(l1): \(schedule)")
    }
    try CT.fusedAndUnfusedMatchReference(graph, inputs: [Tensor.random(shape: [1, 40, k], seed: 9)], context: "K \(k)")
  }

  /// A narrow N over many rows: with K blocks the row tiles of each column split into groups (the
  /// last one short), so both threads get tasks; the result still matches the reference.
  @Test func narrowDeepMatmulSplitsRowsIntoGroups() throws {
    let (m, k, n) = (200, 1024, 48)
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, m, k])
    let y = try b.apply("matmul", [x, CT.weight(b, [k, n], seed: 21, range: -0.05...0.05)])[0]
    b.output(try b.apply("relu", [try b.add(y, CT.weight(b, [n], seed: 22))])[0])
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: Self.oneGroup(graph)))
    let target = ScheduleTarget(vectorWidth: 16, threads: 2, l1DataBytes: 32 * 1024)
    let schedule = try Scheduler.schedule(graph, plan: plan, target: target).schedules.flatMap { $0 }
    let matmul = schedule.first { $0.kind == .matmul }
    // One tile spans the 3 vectors of N (9 × 3): 23 row tiles in 4 groups (5 would leave a thread
    // a third more work), a multiple of the threads.
    #expect(matmul?.tasks == 4 && matmul?.parallel.contains(.row) == true, "\(schedule)")
    #expect(matmul?.tile?.pixels == 9 && matmul?.tile?.vectors == 3, "\(schedule)")
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: [1, m, k], seed: 23)], context: "row groups")
  }

  /// Gemm with a deep A, transposed or not, odd row counts and N wide enough to pack A: the panels
  /// are copied with A's strides by a step the matmul then reads (blocks of a vector's depths turned
  /// over in registers when A's rows are contiguous, the depths past the last whole block and the
  /// partial last row tile one float at a time), and the result matches the reference.
  @Test(arguments: [(13, 1024, true), (50, 1024, true), (197, 1024, true), (50, 1000, false), (197, 1024, false)])
  func deepGemmPacksA(_ m: Int, _ k: Int, _ transposed: Bool) throws {
    let n = 544
    let b = GraphBuilder()
    let x = b.input("x", shape: transposed ? [k, m] : [m, k])
    let w = CT.weight(b, [n, k], seed: 11, range: -0.05...0.05)
    let c = CT.weight(b, [n], seed: 12)
    let attributes: Attributes = [
      "transA": .int(transposed ? 1 : 0), "transB": .int(1), "alpha": .float(0.5), "beta": .float(2),
    ]
    let y = try b.apply("gemm", [x, w, c], attributes)[0]
    b.output(try b.apply("relu", [y])[0])
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: Self.oneGroup(graph)))
    let target = ScheduleTarget(vectorWidth: System.vectorWidth, threads: 2, l1DataBytes: 32 * 1024)
    let schedule = try Scheduler.schedule(graph, plan: plan, target: target).schedules.flatMap { $0 }
    let pack = schedule.firstIndex { $0.kind == .packPanels }
    #expect((pack != nil) == (m > 12), "M \(m): \(schedule)")
    if let pack {
      #expect(schedule[pack + 1].kind == .dense && schedule[pack + 1].inputs.first == schedule[pack].output)
    }
    try CT.fusedAndUnfusedMatchReference(
      graph, inputs: [Tensor.random(shape: transposed ? [k, m] : [m, k], seed: 13)], context: "M \(m) K \(k)")
  }

  @Test(arguments: 0..<10) func linearLayerWithEpilogue(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 501)
    let (batch, rows, k, n) = (r.next(1...2), r.next(1...23), r.next(1...40), r.next(1...70))
    let tail = seed % 4
    let name = "linear [\(batch),\(rows),\(k)]x[\(k),\(n)] tail \(tail)"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = b.input("x", shape: [batch, rows, k])
      var y = try b.apply("matmul", [x, CT.weight(b, [k, n], seed: 31)])[0]
      switch tail {
      case 1:
        y = try b.add(y, CT.weight(b, [n], seed: 32))
        y = try b.apply("gelu", [y])[0]
      case 2:
        y = try b.add(try b.add(y, CT.weight(b, [n], seed: 33)), b.input("residual", shape: [batch, rows, n]))
      case 3:
        y = try b.mul(y, CT.weight(b, [1], seed: 34))
      default: break
      }
      b.output(y)
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    try CT.check(CompiledCase(name + " fused", partition: Self.oneGroup, build: build))
    #expect(try Self.kinds(build).contains(.matmul), "\(name)")
  }

  @Test(arguments: 0..<10) func batchedActivations(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 601)
    let (m, k, n) = (r.next(1...20), r.next(1...37), r.next(1...45))
    // Batch axes: equal, or broadcast on one side.
    let shapes: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([1, 3], [2, 1]), ([4], [])]
    let (aBatch, bBatch) = shapes[seed % shapes.count]
    let scaled = seed % 2 == 0
    let name = "matmul \(aBatch + [m, k]) x \(bBatch + [k, n])\(scaled ? " scaled" : "")"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let a = b.input("a", shape: aBatch + [m, k]), bb = b.input("b", shape: bBatch + [k, n])
      var y = try b.apply("matmul", [a, bb])[0]
      if scaled { y = try b.mul(y, b.constant(Tensor([0.125]))) }
      b.output(y)
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    try CT.check(CompiledCase(name + " fused", partition: Self.oneGroup, build: build))
    #expect(try Self.kinds(build).contains(.matmul), "\(name)")
  }

  /// Attention scores plus a bias broadcast over the leading axes (Swin's relative position bias
  /// `[heads, N, N]` on `[windows, heads, N, N]`, constant or computed, with and without a
  /// second, full-shape mask): the bias is read at the output offset modulo its size, and the
  /// group runs on the tiled matmul, not generic loops.
  @Test(arguments: 0..<6) func scoresWithABiasBroadcastOverLeadingAxes(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 701)
    let (windows, heads, n, d) = (r.next(1...5), r.next(1...3), r.next(3...50), r.next(4...20))
    let runTimeBias = seed % 2 == 1, mask = seed % 3 == 2
    let bias = seed % 3 == 1 ? [1, heads, n, n] : [heads, n, n]
    let name = "scores [\(windows),\(heads),\(n),\(d)] + bias \(bias)\(runTimeBias ? " (input)" : "")"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let q = b.input("q", shape: [windows, heads, n, d]), k = b.input("k", shape: [windows, heads, d, n])
      let bv = runTimeBias ? b.input("bias", shape: bias) : CT.weight(b, bias, seed: 51)
      var y = try b.add(try b.apply("matmul", [q, k])[0], bv)
      if mask { y = try b.add(y, b.input("mask", shape: [windows, heads, n, n])) }
      b.output(y)
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    try CT.check(CompiledCase(name + " fused", partition: Self.oneGroup, build: build))
    let kinds = try Self.kinds(build)
    #expect(kinds.contains(.matmul) && !kinds.contains(.loops), "\(name): \(kinds)")
  }

  /// Scores scaled by a value per row or per head, broadcast along the last axis (XCiT's
  /// temperature `[heads, 1, 1]` on `[1, heads, d, d]`; a run-time `[…, m, 1]` per row; a 2-d one
  /// `[m, 1]` on a rank-3 product): the value is read once per output row and splat across the
  /// vector, and the group runs on the tiled matmul (it fell to generic loops at 2 % of the peak).
  @Test(arguments: 0..<6) func scoresScaledPerRowOrHead(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 907)
    let (batch, heads, m, k, n) = (r.next(1...2), r.next(1...4), r.next(3...40), r.next(4...30), r.next(5...40))
    let scale = [[heads, 1, 1], [batch, heads, m, 1], [m, 1]][seed % 3]
    let runTime = seed >= 3
    let name = "[\(batch),\(heads),\(m),\(k)]·[…,\(k),\(n)] · \(scale)\(runTime ? " (input)" : "")"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = b.input("x", shape: [batch, heads, m, k]), y = b.input("y", shape: [batch, heads, k, n])
      let s = runTime ? b.input("s", shape: scale) : CT.weight(b, scale, seed: 53)
      b.output(try b.add(try b.mul(try b.apply("matmul", [x, y])[0], s), CT.weight(b, [n], seed: 54)))
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    try CT.check(CompiledCase(name + " fused", partition: Self.oneGroup, build: build))
    let kinds = try Self.kinds(build)
    #expect(kinds.contains(.matmul) && !kinds.contains(.loops), "\(name): \(kinds)")
  }

  /// An einsum that is a batched matrix product (`bghij,bghjd->bghid`, MaxViT's P·V) runs on the
  /// tiled matmul, with its tail as the epilogue; Q·Kᵀ written as an einsum (`…id,…jd->…ij`)
  /// stays generic loops and is still right.
  @Test(arguments: 0..<4) func einsumMatrixProducts(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 801)
    let (g, h, m, k, n) = (r.next(1...4), r.next(1...3), r.next(1...30), r.next(1...20), r.next(1...40))
    let transposed = seed == 3
    let equation = transposed ? "bghid,bghjd->bghij" : "bghij,bghjd->bghid"
    let name = "einsum \(equation) [1,\(g),\(h),\(m),\(k)]"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let p = b.input("p", shape: [1, g, h, m, k])
      let v = b.input("v", shape: transposed ? [1, g, h, n, k] : [1, g, h, k, n])
      let y = try b.apply("einsum", [p, v], ["equation": .string(equation)])[0]
      b.output(try b.mul(y, CT.weight(b, [1], seed: 61)))
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    try CT.check(CompiledCase(name + " fused", partition: Self.oneGroup, build: build))
    let kinds = try Self.kinds(build)
    #expect(kinds.contains(.matmul) == !transposed, "\(name): \(kinds)")
  }

  /// Funnel's P·V, `bnij,bjnd->bind` (the heads between the rows and the columns of the output):
  /// generic loops whose leading output axes hold enough indices (64 rows × 2 heads) keep the
  /// innermost axis a serial loop, run across in vectors (``GroupLowering/innerSplitBelow``); a
  /// dense-like shape with one leading index still splits its innermost axis into tasks. Both
  /// match the reference executor.
  @Test(arguments: [(64, 2, 128, 64), (1, 1, 40, 300)])
  func einsumWithHeadsBetweenRowsAndColumns(_ i: Int, _ n: Int, _ j: Int, _ d: Int) throws {
    let name = "einsum bnij,bjnd->bind [1,\(n),\(i),\(j)] x [1,\(j),\(n),\(d)]"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let p = b.input("p", shape: [1, n, i, j])
      let v = b.input("v", shape: [1, j, n, d])
      b.output(try b.apply("einsum", [p, v], ["equation": .string("bnij,bjnd->bind")])[0])
    }
    try CT.check(CompiledCase(name, build: build), fused: false)
    let b = GraphBuilder()
    try build(b)
    let graph = try b.finish()
    let plan = FusionPlan.unfused(graph)
    let functions = try Scheduler.schedule(graph, plan: plan, vectorWidth: System.vectorWidth).functions
    let tasks = try #require(functions.first).nest.taskCount
    let leading = i * n
    #expect(tasks == (leading < GroupLowering.innerSplitBelow ? i * n * d : leading), "\(name): \(tasks) tasks")
  }

  struct GemmCase: Sendable, CustomStringConvertible {
    let m: Int, k: Int, n: Int
    let transA: Bool, transB: Bool, constantB: Bool
    var description: String { "gemm \(m)x\(k)x\(n) transA \(transA) transB \(transB) constant B \(constantB)" }
  }

  @Test(arguments: [
    GemmCase(m: 5, k: 9, n: 33, transA: false, transB: true, constantB: true),
    GemmCase(m: 13, k: 16, n: 16, transA: true, transB: false, constantB: true),
    GemmCase(m: 1, k: 70, n: 100, transA: false, transB: true, constantB: true),
    GemmCase(m: 7, k: 5, n: 19, transA: true, transB: true, constantB: true),
    GemmCase(m: 9, k: 11, n: 21, transA: false, transB: false, constantB: false),
  ])
  func gemmOperands(_ c: GemmCase) throws {
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let a = b.input("a", shape: c.transA ? [c.k, c.m] : [c.m, c.k])
      let bShape = c.transB ? [c.n, c.k] : [c.k, c.n]
      let w = c.constantB ? CT.weight(b, bShape, seed: 41) : b.input("b", shape: bShape)
      let attributes: Attributes = [
        "transA": .int(c.transA ? 1 : 0), "transB": .int(c.transB ? 1 : 0), "alpha": .float(c.constantB ? 0.5 : 1),
        "beta": .float(2),
      ]
      let y = try b.apply("gemm", [a, w, CT.weight(b, [c.n], seed: 42)], attributes)[0]
      b.output(try b.apply("tanh", [y])[0])
    }
    try CT.check(CompiledCase(c.description, build: build), fused: false)
    try CT.check(CompiledCase(c.description + " fused", partition: Self.oneGroup, build: build))
  }

  @Test func packedWeightsAreTiledAndPadded() {
    // B = [[1, 2, 3], [4, 5, 6]] (K 2, N 3) in tiles of 2 vectors of 2: [tile][k][4], padded.
    let b = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    #expect(WeightPacking.matmul(b, transposed: false, alpha: 1, vector: 2, vectors: 2) == [1, 2, 3, 0, 4, 5, 6, 0])
    let bt = Tensor(shape: [3, 2], data: [1, 4, 2, 5, 3, 6])
    #expect(WeightPacking.matmul(bt, transposed: true, alpha: 2, vector: 2, vectors: 1) == [2, 4, 8, 10, 6, 0, 12, 0])
  }
}

/// The explicit innermost-loop vectorization of generic nests: rows longer than a vector and off
/// its width (vector loop + scalar remainder), neighbours inlined, and loops it must leave alone.
@Suite("Vectorized rows")
struct VectorizedRowTests {
  @Test(arguments: 0..<6) func softmaxAndLayerNormRows(_ seed: Int) throws {
    var r = MatmulRandom(state: UInt64(seed) &+ 701)
    let (rows, length) = (r.next(1...9), r.next(16...53))
    let name = "rows [\(rows), \(length)]"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = b.input("x", shape: [2, rows, length])
      // scale and mask before the softmax, a multiply after it; a layer norm with a residual.
      let scores = try b.add(try b.mul(x, b.constant(Tensor([0.5]))), CT.weight(b, [rows, length], seed: 51))
      b.output(try b.mul(try b.softmax(scores, axis: -1), CT.weight(b, [length], seed: 52)))
      let scale = CT.weight(b, [length], seed: 53), bias = CT.weight(b, [length], seed: 54)
      let y = try b.apply("layer_norm", [x, scale, bias], ["axis": .int(-1), "epsilon": .float(1e-5)])[0]
      b.output(try b.add(y, b.input("residual", shape: [2, rows, length])))
    }
    let groups: @Sendable (Graph) -> [[NodeID]] = { _ in [[0, 1, 2, 3], [4, 5]] }
    try CT.check(CompiledCase(name, build: build), fused: false, inputRange: -3...3)
    try CT.check(CompiledCase(name + " fused", partition: groups, build: build), inputRange: -3...3)
  }

  /// A softmax along an axis that is not the last (CoaT's `k.softmax(dim=2)` on `[1, heads, n,
  /// 8]`, a segmentation head's softmax over classes): each lane takes one position of the
  /// contiguous inner axes, with a partial block when they are not whole vectors (5, 8, 21, 40);
  /// a mask before it and a scale after it inlined; matches the reference.
  @Test(arguments: [(3, 5), (2, 8), (4, 21), (2, 40)]) func softmaxAlongAnAxisThatIsNotTheLast(
    _ c: (Int, Int)
  ) throws {
    let (heads, inner) = c
    let name = "softmax over axis 2 of [1, \(heads), 37, \(inner)]"
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = try b.add(b.input("x", shape: [1, heads, 37, inner]), CT.weight(b, [37, inner], seed: 61))
      b.output(try b.mul(try b.softmax(x, axis: 2), CT.weight(b, [inner], seed: 62)))
    }
    try CT.check(CompiledCase(name, build: build), fused: false, inputRange: -30...30)
    try CT.check(CompiledCase(name + " fused", partition: { g in [g.nodes.ids] }, build: build), inputRange: -30...30)
  }

  /// The loop the inner axes run in turns into lanes: vector locals for the row statistics, vector
  /// loads inside the serial loops over the softmax axis, a partial last block (3 of 16 lanes:
  /// masked loads, its stores lane by lane); an accumulation into a local declared outside, or an
  /// index that moves by 2 per iteration, leaves the loop alone.
  @Test func aLoopAroundLoopsRunsItsIterationsAsLanes() {
    let x = { (i: IndexExpr) in ValueExpr.load("x", i) }
    let i = IndexExpr.variable("i"), r = IndexExpr.variable("r")
    func column(_ index: IndexExpr) -> [Stmt] {
      [
        .loop(
          variable: "i", extent: 19, kind: .serial,
          body: [
            .declare("m", .constant(-.infinity)),
            .loop(variable: "r", extent: 30, kind: .serial, body: [.accumulate("m", .max, x(index))]),
            .loop(
              variable: "r", extent: 30, kind: .serial,
              body: [.store("y", r * 19 + i, .unary(.exp, .binary(.sub, x(index), .local("m"))))]),
          ])
      ]
    }
    let text = CEmitter.function(
      LoopNest(name: "t", buffers: [], body: InnerVectorize.apply(column(r * 19 + i), width: 16)), symbol: "f")
    #expect(text.contains("gf_vf m_w") && text.contains(", gf_loadu(x + r*19 + i));"), "\(text)")
    #expect(text.contains("gf_loadu_first(x + r*19 + i, 3)"), "\(text)")
    #expect(text.contains("y[r*19 + i + il] = st0_w"), "\(text)")
    let strided = column(r * 19 + i * 2)
    #expect(InnerVectorize.apply(strided, width: 16) == strided)
    let outside: [Stmt] = [
      .declare("s", .constant(0)),
      .loop(
        variable: "i", extent: 19, kind: .serial,
        body: [.loop(variable: "r", extent: 30, kind: .serial, body: [.accumulate("s", .sum, x(r * 19 + i))])]),
    ]
    #expect(InnerVectorize.apply(outside, width: 16) == outside)
  }

  @Test func contiguousLoopsVectorizeAndOthersStay() {
    let x = { (i: IndexExpr) in ValueExpr.load("x", i) }
    // A reduction and a store over contiguous elements: a vector loop, a lane tree, remainder.
    let body: [Stmt] = [
      .declare("s", .constant(0)),
      .loop(variable: "j", extent: 20, kind: .serial, body: [.accumulate("s", .sum, .unary(.exp, x(.variable("j"))))]),
      .loop(
        variable: "j", extent: 20, kind: .serial,
        body: [.store("y", .variable("j"), .binary(.div, x(.variable("j")), .local("s")))]),
    ]
    let text = CEmitter.function(
      LoopNest(name: "t", buffers: [], body: InnerVectorize.apply(body, width: 16)), symbol: "f")
    #expect(text.contains("gf_vexp(gf_loadu(x + j))"))
    #expect(text.contains("gf_storeu(y + j, (gf_loadu(x + j) / gf_splat(s)))"))
    #expect(text.contains("jq < 4;"), "a remainder loop of 4: \(text)")
    // The lanes combine by four rotations (8, 4, 2, 1 lanes), not a loop over the 16 lanes.
    #expect(text.components(separatedBy: "__builtin_shufflevector").count == 5, "a lane tree: \(text)")
    #expect(text.contains("8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)"))
    #expect(!text.contains("jq < 16;"), "no loop over the lanes: \(text)")
    // Strided or gathered accesses, and short loops, stay scalar.
    let strided: [Stmt] = [
      .loop(variable: "j", extent: 20, kind: .serial, body: [.store("y", .variable("j"), x(.variable("j") * 2))])
    ]
    #expect(InnerVectorize.apply(strided, width: 16) == strided)
    let gathered: [Stmt] = [
      .loop(variable: "j", extent: 20, kind: .serial, body: [.store("y", .variable("j"), x(.div(.variable("j"), 3)))])
    ]
    #expect(InnerVectorize.apply(gathered, width: 16) == gathered)
    let short: [Stmt] = [
      .loop(variable: "j", extent: 5, kind: .serial, body: [.store("y", .variable("j"), x(.variable("j")))])
    ]
    #expect(InnerVectorize.apply(short, width: 16) == short)
    #expect(InnerVectorize.coefficient(of: "j", in: .variable("i") * 7 + .variable("j") * 3) == 3)
  }
}

/// Generic groups reading a template's blocked output in place (no layout change first).
@Suite("Blocked inputs of generic groups")
struct BlockedInputTests {
  /// The schedules of the graph `build` makes, fused as `groups` says.
  static func kinds(
    _ build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void, _ groups: @Sendable (Graph) -> [[NodeID]]
  ) throws -> [KernelSchedule] {
    let b = GraphBuilder()
    try build(b)
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: groups(graph)))
    return try Scheduler.schedule(graph, plan: plan, vectorWidth: System.vectorWidth).schedules.flatMap { $0 }
  }

  @Test(arguments: [(24, 7), (32, 5), (40, 6)]) func depthwiseThenChannelsLast(_ c: Int, _ size: Int) throws {
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, c, size, size])
      let d = try b.conv2d(x, weight: CT.weight(b, [c, 1, 3, 3], seed: 61), padding: 1, groups: c)
      let t = try b.apply("transpose", [d], ["perm": .ints([0, 2, 3, 1])])[0]
      b.output(try b.add(t, CT.weight(b, [c], seed: 62)))
    }
    let groups: @Sendable (Graph) -> [[NodeID]] = { _ in [[0], [1, 2]] }
    try CT.check(CompiledCase("depthwise \(c)x\(size)x\(size) -> NHWC", partition: groups, build: build))
    let kinds = try Self.kinds(build, groups)
    #expect(!kinds.contains { $0.kind == .toPlain }, "the transpose reads the blocked conv output in place")
  }

  /// A generic group that reads a blocked conv output along its pixels (YOLO's head: a sigmoid
  /// over `[1, C, H·W]`, the pixels innermost) takes a layout change to plain first, so its loop
  /// runs on vectors; read in place it loaded one float per cache line, lane by lane.
  @Test(arguments: [(32, 12), (20, 9)]) func pixelsInnermostTakeAPlainCopy(_ c: Int, _ size: Int) throws {
    let build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void = { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 8, size, size])
      let y = try b.conv2d(x, weight: CT.weight(b, [c, 8, 3, 3], seed: 63), padding: 1)
      let rows = try b.reshape(y, to: [1, c, size * size])
      b.output(try b.sigmoid(rows))
    }
    let groups: @Sendable (Graph) -> [[NodeID]] = { _ in [[0], [1, 2]] }
    try CT.check(CompiledCase("conv \(c) on \(size)x\(size) -> rows", partition: groups, build: build))
    let kinds = try Self.kinds(build, groups)
    #expect(kinds.contains { $0.kind == .toPlain }, "the rows read a plain copy: \(kinds.map(\.kind))")
  }

  @Test func blockedIndexMovesWithTheChannelInsideABlock() {
    let idx: [IndexExpr] = [.constant(0), .variable("c"), .variable("y"), .variable("x")]
    let e = GroupLowering.blockedIndex(idx, [1, 32, 5, 7], width: 16)
    #expect(InnerVectorize.laneCoefficient(of: "c", in: e, width: 16) == 1)
    #expect(InnerVectorize.laneCoefficient(of: "c", in: e, width: 8) == 1)
    #expect(InnerVectorize.laneCoefficient(of: "x", in: e, width: 16) == 16)
    #expect(InnerVectorize.laneCoefficient(of: "c", in: .div(.variable("c"), 3), width: 16) == nil)
  }
}
