import Foundation
import Testing

@testable import GraphFuse

private typealias CT = CompiledTesting

/// One attention shape: batch axes, query rows, depth, keys, value columns, and its form.
struct AttentionShape: Sendable, CustomStringConvertible {
  var batch: [Int]
  var m: Int, d: Int, n: Int, dv: Int
  /// Q·Kᵀ as `einsum("…id,…jd->…ij")` over K row by row (MaxViT) instead of `matmul(Q, Kᵀ)`.
  var einsum = false
  /// K and V broadcast over the first batch axis (`[1, …]`; matmul only: einsum does not broadcast).
  var broadcastKV = false

  var description: String {
    "batch \(batch) m \(m) d \(d) n \(n) dv \(dv)" + (einsum ? " einsum" : "") + (broadcastKV ? " broadcast K, V" : "")
  }

  var kvBatch: [Int] { broadcastKV && !batch.isEmpty ? [1] + batch.dropFirst() : batch }
  var qShape: [Int] { batch + [m, d] }
  var kShape: [Int] { kvBatch + (einsum ? [n, d] : [d, n]) }
  var vShape: [Int] { kvBatch + [n, dv] }
}

/// Fused attention (`Q·Kᵀ` → scale, mask → softmax → NaN guard → `·V` → bias) as one kernel:
/// fusion records the chain, the scheduler runs it on ``AttentionKernel``, and the result matches
/// the reference executor over shapes off the vector width and the row tile, both product forms,
/// broadcast operands and fully masked rows; a tail the kernel cannot apply falls back to stages.
@Suite("Fused attention")
struct AttentionTests {
  static let shapes: [AttentionShape] = [
    AttentionShape(batch: [2], m: 49, d: 16, n: 49, dv: 16, einsum: true),
    AttentionShape(batch: [3, 4], m: 49, d: 32, n: 49, dv: 32, einsum: true),
    AttentionShape(batch: [1, 2], m: 197, d: 32, n: 197, dv: 32),
    AttentionShape(batch: [2], m: 128, d: 64, n: 128, dv: 64),
    AttentionShape(batch: [1], m: 1, d: 8, n: 5, dv: 3),
    AttentionShape(batch: [], m: 20, d: 24, n: 40, dv: 40),
    AttentionShape(batch: [2, 3], m: 13, d: 7, n: 33, dv: 17, broadcastKV: true),
    AttentionShape(batch: [3], m: 30, d: 16, n: 30, dv: 24, einsum: true),
    AttentionShape(batch: [2], m: 21, d: 20, n: 37, dv: 12, einsum: true),
    AttentionShape(batch: [], m: 17, d: 33, n: 18, dv: 5, einsum: true),
    AttentionShape(batch: [2], m: 3, d: 16, n: 5, dv: 8, einsum: true),
    AttentionShape(batch: [4, 5], m: 13, d: 20, n: 21, dv: 8, einsum: true),
    // Long rows: with the NaN guard 8 rows per tile (the fewest), a 7-row last tile; without it
    // key blocks of 320 keys (320, 320, 60).
    AttentionShape(batch: [1], m: 31, d: 8, n: 700, dv: 8),
    // Key blocks without the NaN guard (more than 640 keys): K by a step of its own, then K copied
    // by each task (16 entries), V's columns a partial vector.
    AttentionShape(batch: [2], m: 20, d: 12, n: 650, dv: 20, einsum: true),
    AttentionShape(batch: [16], m: 5, d: 4, n: 650, dv: 5, einsum: true),
  ]

  /// The attention graph of `s`: scores scaled and masked by an additive `[m, n]` mask (an input,
  /// so tests can put -inf in it), softmax, `where(isnan(p), 0, p)` when `guardNaN`, ·V, + bias.
  static func graph(_ s: AttentionShape, guardNaN: Bool) throws -> Graph {
    let b = GraphBuilder()
    let q = b.input("q", shape: s.qShape), k = b.input("k", shape: s.kShape), v = b.input("v", shape: s.vShape)
    let mask = b.input("mask", shape: [s.m, s.n])
    let labels = String("abcdefgh".prefix(s.batch.count))
    let scores =
      s.einsum
      ? try b.apply("einsum", [q, k], ["equation": .string("\(labels)id,\(labels)jd->\(labels)ij")])[0]
      : try b.apply("matmul", [q, k])[0]
    let scale = b.constant(Tensor(shape: [1], data: [1 / Float(s.d).squareRoot()]))
    var p = try b.apply("softmax", [try b.add(try b.mul(scores, scale), mask)], ["axis": .int(-1)])[0]
    if guardNaN {
      let zero = b.constant(Tensor(shape: [1], data: [0]))
      p = try b.apply("where", [try b.apply("is_nan", [p])[0], zero, p])[0]
    }
    let out =
      s.einsum
      ? try b.apply("einsum", [p, v], ["equation": .string("\(labels)ij,\(labels)jk->\(labels)ik")])[0]
      : try b.apply("matmul", [p, v])[0]
    b.output(try b.add(out, CT.weight(b, [s.dv], seed: 5)))
    return try b.finish()
  }

  static func inputs(_ s: AttentionShape, mask: [Float]? = nil) -> [Tensor] {
    [
      Tensor.random(shape: s.qShape, in: -2...2, seed: 11), Tensor.random(shape: s.kShape, in: -2...2, seed: 12),
      Tensor.random(shape: s.vShape, seed: 13),
      Tensor(shape: [s.m, s.n], data: mask ?? (0..<s.m * s.n).map { i in i % 7 == 3 ? -10_000 : 0 }),
    ]
  }

  /// The kernel kinds the optimized graph's fused plan runs on 2 threads.
  static func kinds(_ graph: Graph, options: OptimizeOptions = .init()) throws -> [KernelSchedule.Kind] {
    let optimized = try Pipeline.optimize(graph, options: options)
    let target = ScheduleTarget(vectorWidth: System.vectorWidth, threads: 2)
    return try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target).schedules.flatMap { $0 }.map(
      \.kind)
  }

  @Test(arguments: shapes) func fusedAttentionMatchesTheReference(_ s: AttentionShape) throws {
    let graph = try Self.graph(s, guardNaN: true)
    let plan = try Pipeline.optimize(graph).plan
    let groups = plan.groups.filter { $0.attention != nil }
    #expect(groups.count == 1, "\(s): \(plan.groups.map(\.name))")
    let kinds = try Self.kinds(graph)
    #expect(kinds.filter { $0 == .attention }.count == 1, "\(s): \(kinds)")
    #expect(!kinds.contains(.loops) && !kinds.contains(.matmul), "\(s): \(kinds)")
    try CT.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(s), context: "\(s)")
  }

  /// K row by row is copied transposed into a thread's scratch at its first task of each batch entry
  /// (the C tests `gf_thread_holds`): the pool forgets the copies at every run, so a second run with
  /// other keys, and a third with the first ones, match the reference too, and no step of its own
  /// copies K. With one entry both threads end a run holding it and start the next on it.
  @Test(arguments: [[1], [2, 3]]) func keysCopiedPerThreadAreFreshEveryRun(batch: [Int]) throws {
    let s = AttentionShape(batch: batch, m: 40, d: 16, n: 45, dv: 16, einsum: true)
    let graph = try Self.graph(s, guardNaN: false)
    #expect(try Self.kinds(graph).filter { $0 != .viewFolded && $0 != .reshapeView } == [.attention])
    let optimized = try Pipeline.optimize(graph)
    let target = ScheduleTarget(vectorWidth: 16, threads: 2)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target)
    let attention = try #require(program.functions.first { $0.nest.name == "attention" })
    #expect(KernelFunction(attention).text.contains("gf_thread_holds[0] != bt"))
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CT.options)
    let first = Self.inputs(s)
    var second = first
    second[1] = Tensor.random(shape: s.kShape, in: -2...2, seed: 99)
    for inputs in [first, second, first] {
      let expected = try ReferenceExecutor.run(graph, inputs: inputs)[0]
      let comparison = try model.run(inputs)[0].compared(to: expected)
      #expect(comparison.isWithin(relative: 1e-4), "\(comparison)")
    }
  }

  /// The attention schedule of `s` for 16-float vectors, 2 threads and an L1 of `l1KiB`.
  static func attentionSchedule(_ s: AttentionShape, guardNaN: Bool, l1KiB: Int) throws -> KernelSchedule? {
    let optimized = try Pipeline.optimize(try Self.graph(s, guardNaN: guardNaN))
    let target = ScheduleTarget(vectorWidth: 16, threads: 2, l1DataBytes: l1KiB * 1024)
    let schedules = try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target).schedules
    return schedules.flatMap { $0 }.first { $0.kind == .attention }
  }

  /// With a tail after the softmax (no key blocks), a tile's score rows take at most half of L1:
  /// 12 rows of 197 keys, 10 of 384 and 8 of 512 (32 KiB), 12 of 512 with a 64 KiB L1, never fewer than 8.
  @Test(arguments: [(197, 32, 12), (384, 32, 10), (512, 32, 8), (512, 64, 12), (2048, 32, 8)])
  func rowTileFitsHalfOfL1(keys: Int, l1KiB: Int, rows: Int) throws {
    let s = AttentionShape(batch: [2], m: 96, d: 16, n: keys, dv: 16)
    let attention = try #require(try Self.attentionSchedule(s, guardNaN: true, l1KiB: l1KiB))
    #expect(attention.tile?.pixels == rows, "\(keys) keys, \(l1KiB) KiB")
    let reason = attention.tile?.reason ?? ""
    #expect(reason.contains("key blocks") == false, "\(reason)")
  }

  /// Without a tail, rows of more than two blocks' keys go in key blocks of an online softmax (half
  /// of L1 for 12 rows' scores: 320 keys with 32 KiB, 672 with 64 KiB) and keep 12-row tiles.
  @Test(
    arguments: [(197, 32, nil), (640, 32, nil), (641, 32, 320), (2048, 32, 320), (1400, 64, 672)] as [(Int, Int, Int?)]
  )
  func longRowsGoInKeyBlocks(keys: Int, l1KiB: Int, block: Int?) throws {
    let s = AttentionShape(batch: [2], m: 96, d: 16, n: keys, dv: 16)
    let attention = try #require(try Self.attentionSchedule(s, guardNaN: false, l1KiB: l1KiB))
    if block != nil { #expect(attention.tile?.pixels == 12, "\(keys) keys, \(l1KiB) KiB") }
    let reason = attention.tile?.reason ?? ""
    #expect(reason.contains("key blocks of \(block ?? 0) keys") == (block != nil), "\(reason)")
  }

  /// While the scores run, the kernel hints the next column tile's lines of Kᵀ into L1 and V's rows
  /// into L2 (`Docs/Scheduling.md`, "Hints for K and V"); with K row by row, copied into the
  /// scratch, only V's. The product with V hints the next row tile's Q rows into L2, and the
  /// softmax takes `e^(s − max)` as one function of both (`gf_vexp_difference`).
  @Test(arguments: [false, true]) func scoresHintKeysAndValues(einsum: Bool) throws {
    let s = AttentionShape(batch: [16], m: 96, d: 16, n: 197, dv: 32, einsum: einsum)
    let optimized = try Pipeline.optimize(try Self.graph(s, guardNaN: true))
    let target = ScheduleTarget(vectorWidth: 16, threads: 2)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target)
    let attention = try #require(program.functions.first { $0.nest.name == "attention" })
    let text = KernelFunction(attention).text
    #expect(text.contains("gf_prefetch_l2(v + vbase + "), "\(text)")
    #expect(text.contains("gf_prefetch_l1(k + kbase + ") == !einsum)
    #expect(text.contains("gf_prefetch_l2(q + "), "\(text)")
    #expect(text.contains("gf_vexp_difference("), "\(text)")
  }

  /// Without a tail after the softmax the kernel multiplies each output row by 1/sum instead of
  /// each probability (``AttentionKernel/defersNormalization``); the same shapes still match.
  @Test(arguments: shapes) func deferredNormalizationMatchesTheReference(_ s: AttentionShape) throws {
    let graph = try Self.graph(s, guardNaN: false)
    #expect(try Self.kinds(graph).filter { $0 == .attention }.count == 1, "\(s)")
    try CT.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(s), context: "\(s) deferred")
  }

  /// Scores far apart (masks of -1e9 and -3.4e38 beside scores in the hundreds) keep the reference's
  /// probabilities (the softmax's exp takes only x <= 0 and raises x to -87), one NaN score turns
  /// its whole row NaN, as in PyTorch, though the row max skips it, and a row masked throughout with
  /// -3.4e38 (Hugging Face's `finfo.min`) has uniform probabilities, each score minus the max 0.
  @Test(arguments: [37, 700]) func wideScoresAndNaNScores(keys: Int) throws {
    let s = AttentionShape(batch: [2], m: 20, d: 16, n: keys, dv: 16)
    let mask = (0..<s.m * s.n).map { i -> Float in
      if i == 9 * s.n + 30 { return .nan }
      if i / s.n == 12 { return -3.4e38 }
      switch i % 5 {
      case 0: return -1e9
      case 1: return -3.4e38
      case 2: return Float(i % 11) * 30
      default: return 0
      }
    }
    let inputs = Self.inputs(s, mask: mask)
    let graph = try Self.graph(s, guardNaN: false)
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    let optimized = try Pipeline.optimize(graph)
    let fused = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CT.options).run(inputs)[0]
    let scale = expected.data.filter(\.isFinite).map(abs).max() ?? 1
    for i in 0..<fused.count {
      if (i / s.dv) % s.m == 9 {
        #expect(fused.data[i].isNaN && expected.data[i].isNaN, "element \(i) of the NaN row: \(fused.data[i])")
      } else {
        #expect(abs(fused.data[i] - expected.data[i]) <= 1e-5 * scale, "element \(i)")
      }
    }
  }

  /// Rows whose every key is masked with -inf: softmax gives NaN (as in PyTorch), which the guard
  /// turns into zeros; without the guard the fused kernel's NaNs sit where the unfused program's do.
  /// Row 7 has its first 400 keys (or all but the last) masked: with 700 keys in blocks of 320 (no
  /// guard), a first block masked throughout must add nothing to the later ones.
  @Test(arguments: [37, 700]) func fullyMaskedRowsFollowTheUnfusedResults(keys: Int) throws {
    let s = AttentionShape(batch: [2], m: 20, d: 16, n: keys, dv: 16)
    let mask = (0..<s.m * s.n).map { i -> Float in
      let (row, key) = (i / s.n, i % s.n)
      if row == 4 || row == 17 || (row == 7 && key < min(400, s.n - 1)) { return -.infinity }
      return 0
    }
    let inputs = Self.inputs(s, mask: mask)
    for guardNaN in [true, false] {
      let graph = try Self.graph(s, guardNaN: guardNaN)
      let optimized = try Pipeline.optimize(graph)
      #expect(optimized.plan.groups.contains { $0.attention != nil })
      let fused = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: CT.options).run(inputs)[0]
      let unfused = try CompiledModel.compile(
        optimized.graph, plan: .unfused(optimized.graph), options: CT.options
      ).run(inputs)[0]
      let rowOf = { (i: Int) in (i / s.dv) % s.m }
      for i in 0..<fused.count {
        let masked = rowOf(i) == 4 || rowOf(i) == 17
        if guardNaN || !masked {
          #expect(fused.data[i].isFinite && abs(fused.data[i] - unfused.data[i]) <= 1e-5, "element \(i)")
        } else {
          #expect(fused.data[i].isNaN && unfused.data[i].isNaN, "element \(i): \(fused.data[i])")
        }
      }
    }
  }

  /// With attention fusion off, the three groups TVM's rules make run as two matmuls and a softmax.
  @Test func fusionCanBeTurnedOff() throws {
    let graph = try Self.graph(Self.shapes[3], guardNaN: false)
    let options = OptimizeOptions(fuseAttention: false)
    #expect(try Pipeline.optimize(graph, options: options).plan.groups.allSatisfy { $0.attention == nil })
    let kinds = try Self.kinds(graph, options: options)
    #expect(!kinds.contains(.attention) && kinds.filter { $0 == .matmul }.count == 2, "\(kinds)")
  }

  /// Raw scores that are also a graph output: the three groups stay apart (the scores must be
  /// written), and the result still matches the reference.
  @Test func scoresReadOutsideAreNotFused() throws {
    let s = AttentionShape(batch: [2], m: 24, d: 16, n: 24, dv: 16)
    let b = GraphBuilder()
    let q = b.input("q", shape: s.qShape), k = b.input("k", shape: s.kShape), v = b.input("v", shape: s.vShape)
    let raw = try b.apply("matmul", [q, k])[0]
    let scaled = try b.mul(raw, b.constant(Tensor(shape: [1], data: [0.25])))
    let p = try b.apply("softmax", [scaled], ["axis": .int(-1)])[0]
    b.output(try b.apply("matmul", [p, v])[0])
    b.output(raw)
    let graph = try b.finish()
    #expect(try Pipeline.optimize(graph).plan.groups.allSatisfy { $0.attention == nil })
    try CT.fusedAndUnfusedMatchReference(graph, inputs: Array(Self.inputs(s).prefix(3)), context: "raw scores out")
  }

  /// A mask broadcast over the heads (`[images, 1, m, n]`, Swin's shifted windows) and a matmul
  /// tail broadcast over the middle axis are operands the kernels read in place, at
  /// `Σ (offset / divisor) % extent · stride` over the operand's unbroadcast runs.
  @Test func masksBroadcastOverHeadsAreOperands() throws {
    let s = AttentionShape(batch: [3, 2], m: 13, d: 16, n: 21, dv: 19)
    let b = GraphBuilder()
    let q = b.input("q", shape: s.qShape), k = b.input("k", shape: s.kShape), v = b.input("v", shape: s.vShape)
    let mask = b.input("mask", shape: [3, 1, s.m, s.n])
    let scores = try b.add(try b.apply("matmul", [q, k])[0], mask)
    let p = try b.apply("softmax", [scores], ["axis": .int(-1)])[0]
    let tail = b.input("tail", shape: [3, 1, 1, s.dv])
    b.output(try b.mul(try b.apply("matmul", [p, v])[0], tail))
    let graph = try b.finish()
    let kinds = try Self.kinds(graph)
    #expect(kinds == [.attention], "\(kinds)")
    let inputs =
      Array(Self.inputs(s).prefix(3)) + [
        Tensor.random(shape: [3, 1, s.m, s.n], in: -3...0, seed: 21), Tensor.random(shape: [3, 1, 1, s.dv], seed: 22),
      ]
    try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "broadcast mask")
    let runs = ElementwiseTail.broadcastRuns([3, 1, 13, 21], of: [3, 2, 13, 21])
    #expect(runs == [.init(divisor: 1, extent: 273, stride: 1), .init(divisor: 546, extent: 3, stride: 273)])
  }

  /// Scores of `q`, `k`, `v` plus a value per query row (`[m, 1]`, broadcast along the keys).
  static func rowBiased(_ s: AttentionShape) throws -> Graph {
    let b = GraphBuilder()
    let q = b.input("q", shape: s.qShape), k = b.input("k", shape: s.kShape), v = b.input("v", shape: s.vShape)
    let rowBias = b.input("row_bias", shape: [s.m, 1])
    let scores = try b.add(try b.apply("matmul", [q, k])[0], rowBias)
    let p = try b.apply("softmax", [scores], ["axis": .int(-1)])[0]
    b.output(try b.apply("matmul", [p, v])[0])
    return try b.finish()
  }

  /// A value per query row (XCiT's temperature per head is one too) is read once per row and splat
  /// across the vector: with batch axes the chain is one attention and matches the reference.
  @Test func aValuePerRowIsPartOfTheAttention() throws {
    let s = AttentionShape(batch: [2], m: 24, d: 16, n: 24, dv: 16)
    let graph = try Self.rowBiased(s)
    #expect(try Self.kinds(graph) == [.attention])
    let inputs = Array(Self.inputs(s).prefix(3)) + [Tensor.random(shape: [s.m, 1], seed: 14)]
    try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "row bias")
  }

  /// The same value per row on rank-2 scores (no batch axes) is not an epilogue operand the kernel
  /// reads (per-row operands are read only on rank 3 and up): fusion leaves the three groups apart
  /// (the plan never shows an attention the scheduler would have to refuse), and the result still
  /// matches the reference.
  @Test func aTailTheKernelCannotApplyIsNotMerged() throws {
    let s = AttentionShape(batch: [], m: 24, d: 16, n: 24, dv: 16)
    let graph = try Self.rowBiased(s)
    #expect(try Pipeline.optimize(graph).plan.groups.allSatisfy { $0.attention == nil })
    let kinds = try Self.kinds(graph)
    #expect(!kinds.contains(.attention) && kinds.filter { $0 == .matmul }.count == 1, "\(kinds)")
    let inputs = Array(Self.inputs(s).prefix(3)) + [Tensor.random(shape: [s.m, 1], seed: 14)]
    try CT.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "row bias, rank 2")
  }
}
