import Foundation
import Testing

@testable import GraphFuse

/// The vector `exp`, `tanh` and `erf` of the C prelude (and the sigmoid, SiLU, GELU and hard-swish
/// epilogues built on them) against the reference executor, over a wide range of inputs with the
/// extremes and special values, inside a compiled conv epilogue where they run in registers.
@Suite struct VectorMathTests {
  /// How far the compiled value may be from the reference: `relative · |expected|` (or
  /// `relative · max(|expected|, |x|)` when the op cancels inside, as GELU's `1 + erf` does) plus `floor`.
  struct Bound: Sendable {
    var relative: Float
    var scaledByInput = false
    var floor: Float = Float.leastNormalMagnitude
  }

  /// The accuracy table: the bounds stated in Docs/Scheduling.md (measured max error plus half an ulp
  /// for the reference's rounding to float).
  static let table: [(String, Bound, @Sendable (GraphBuilder, ValueID) throws(GraphFuseError) -> ValueID)] = [
    ("exp", Bound(relative: 1.5e-7), { b, x throws(GraphFuseError) in try b.exp(x) }),
    ("sigmoid", Bound(relative: 2.8e-7), { b, x throws(GraphFuseError) in try b.sigmoid(x) }),
    // x·σ(x) as exporters write SiLU, and the fused op; below x = −88.7 e^−x overflows float, so the
    // result is −0 where the double reference has a value under 1e−36.
    (
      "x*sigmoid(x)", Bound(relative: 3e-7, floor: 1e-36),
      { b, x throws(GraphFuseError) in try b.mul(x, try b.sigmoid(x)) }
    ),
    ("silu", Bound(relative: 3e-7, floor: 1e-36), { b, x throws(GraphFuseError) in try b.apply("silu", [x])[0] }),
    ("tanh", Bound(relative: 2.2e-7), { b, x throws(GraphFuseError) in try b.tanh(x) }),
    ("erf", Bound(relative: 4.5e-7), { b, x throws(GraphFuseError) in try b.apply("erf", [x])[0] }),
    (
      "gelu", Bound(relative: 7.5e-7, scaledByInput: true),
      { b, x throws(GraphFuseError) in try b.apply("gelu", [x])[0] }
    ),
    (
      "gelu tanh", Bound(relative: 7.5e-7, scaledByInput: true),
      { b, x throws(GraphFuseError) in try b.apply("gelu", [x], ["approximate": .int(1)])[0] }
    ),
    // αx + β cancels near the lower knee (as in the scalar code): bounded relative to |x|.
    (
      "hard_sigmoid", Bound(relative: 2e-7, scaledByInput: true),
      { b, x throws(GraphFuseError) in try b.hardSigmoid(x) }
    ),
    ("hard_swish", Bound(relative: 2e-7, scaledByInput: true), { b, x throws(GraphFuseError) in try b.hardSwish(x) }),
  ]

  static let shape = [1, 16, 26, 26]

  /// ±1e−38 … ±120 spaced logarithmically, a fine grid over [−20, 20], the overflow and underflow
  /// edges of expf, ±0, ±inf and NaN; the rest uniform in [−100, 100].
  static func inputs() -> Tensor {
    var values: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude]
    values += [88.72, 88.7228, 88.73, 89, -87.33, -87.34, -88.72, -88.73, -100, -103.97, -103.98, -104, -110, 0.625]
    values += [-0.625, 0.5, -0.5, 0.4999, 1e-20, -1e-20]
    for k in 0..<3000 {
      let m = Float(pow(10, -38 + 40.1 * Double(k) / 2999))
      values += [m, -m]
    }
    for k in 0...4000 { values.append(Float(k - 2000) / 100) }
    let count = shape.reduce(1, *)
    var t = Tensor.random(shape: shape, in: -100...100, seed: 41)
    for (i, v) in values.prefix(count).enumerated() { t.data[i] = v }
    return t
  }

  /// conv(x; zero weights) + z, then the op: the conv anchors a blocked template whose epilogue is
  /// `op(acc + z)`, so z reaches the vector math exactly (0 + z = z).
  static func graph(_ op: (GraphBuilder, ValueID) throws(GraphFuseError) -> ValueID) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: shape), z = b.input("z", shape: shape)
    let zero = b.constant(Tensor(shape: [16, 16, 1, 1], repeating: 0))
    b.output(try op(b, try b.add(try b.conv2d(x, weight: zero), z)))
    return try b.finish()
  }

  @Test(arguments: table.indices)
  func vectorMathMatchesTheReference(index: Int) throws {
    let (name, bound, op) = Self.table[index]
    let graph = try Self.graph(op)
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [graph.nodes.ids]))
    let x = Tensor.random(shape: Self.shape, seed: 5), z = Self.inputs()
    let expected = try ReferenceExecutor.run(graph, inputs: [x, z])[0]
    let model = try CompiledModel.compile(graph, plan: plan, options: CompiledTesting.options)
    #expect(model.source.contains("gf_v"), "\(name): the epilogue runs as vector code")
    let actual = try model.run([x, z])[0]
    var worst: Float = 0, failures: [String] = []
    for i in z.data.indices {
      let a = actual.data[i], e = expected.data[i], input = z.data[i]
      if e.isNaN || !e.isFinite {
        if !(a.isNaN && e.isNaN) && a != e { failures.append("\(name)(\(input)) = \(a), reference \(e)") }
        continue
      }
      let scale = bound.scaledByInput ? max(abs(e), abs(input)) : abs(e)
      let error = abs(a - e)
      // Kernels flush denormals to zero: a value under the smallest normal float anywhere inside
      // (a denormal input, σ(−87.34)) may become 0, moving the result by that value times what
      // follows (at most |x| here).
      let flushed = Float.leastNormalMagnitude * max(2, 2 * abs(input))
      if error > bound.relative * scale + max(bound.floor, flushed) {
        failures.append("\(name)(\(input)) = \(a), reference \(e)")
      }
      if scale >= Float.leastNormalMagnitude * 1e6, error / scale > worst { worst = error / scale }
    }
    let off = failures.count, first = failures.prefix(4).joined(separator: "; ")
    #expect(off == 0, "\(off) values off: \(first)")
    print("vector \(name): max relative error \(worst) over \(z.data.count) inputs (bound \(bound.relative))")
  }
}

/// The same math in a generic loop that stays scalar (a transposed read): the prelude's scalar
/// twins (`gf_exp`, `gf_sigmoid`, `gf_tanh`, `gf_erf`, `gf_gelu`), the vector formulas in float
/// arithmetic, within the vector table's bounds, with no libm call (an `expf` or `erff` per
/// element kept clang from vectorizing and hoisting: MambaOut's GELU gates ran at 2 GFLOP/s).
@Suite struct ScalarMathTests {
  @Test(arguments: VectorMathTests.table.indices)
  func scalarMathMatchesTheReference(index: Int) throws {
    let (name, bound, op) = VectorMathTests.table[index]
    let b = GraphBuilder()
    let z = b.input("z", shape: VectorMathTests.shape)
    let x = try b.transpose(z, perm: [0, 2, 3, 1])
    b.output(try op(b, x))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [graph.nodes.ids]))
    let input = VectorMathTests.inputs()
    let expected = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let model = try CompiledModel.compile(graph, plan: plan, options: CompiledTesting.options)
    let kernels = model.source.components(separatedBy: "gf_k").dropFirst().joined()
    for call in ["expf(", "tanhf(", "erff("] { #expect(!kernels.contains(call), "\(name): no \(call) in the kernels") }
    let actual = try model.run([input])[0]
    let transposed = Self.transposed(input)
    var off: [String] = []
    for i in expected.data.indices {
      let (a, e, v) = (actual.data[i], expected.data[i], transposed[i])
      if e.isNaN || !e.isFinite {
        if !(a.isNaN && e.isNaN) && a != e { off.append("\(name)(\(v)) = \(a), reference \(e)") }
        continue
      }
      let scale = bound.scaledByInput ? max(abs(e), abs(v)) : abs(e)
      let flushed = Float.leastNormalMagnitude * max(2, 2 * abs(v))
      if abs(a - e) > bound.relative * scale + max(bound.floor, flushed) {
        off.append("\(name)(\(v)) = \(a), reference \(e)")
      }
    }
    #expect(off.isEmpty, "\(off.count) values off: \(off.prefix(4).joined(separator: "; "))")
  }

  /// `t` ([N, C, H, W]) with its axes as [N, H, W, C].
  static func transposed(_ t: Tensor) -> [Float] {
    let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
    var out = t.data
    for ch in 0..<c { for y in 0..<h { for x in 0..<w { out[(y * w + x) * c + ch] = t.data[(ch * h + y) * w + x] } } }
    return out
  }
}

/// The vector math is straight vector code, and the prelude compiles with gcc as well as clang.
@Suite struct VectorMathCodeTests {
  /// The body of the C function `name` in the prelude.
  static func body(_ name: String) -> String {
    let start = CRuntime.header.range(of: "static inline gf_vf \(name)(")
    guard let start else { return "" }
    let rest = CRuntime.header[start.upperBound...]
    let end = rest.range(of: "\n}") ?? rest.range(of: "}\n")
    return String(rest[..<(end?.lowerBound ?? rest.endIndex)])
  }

  @Test(arguments: [
    "gf_vexp", "gf_vexp_nonpositive", "gf_vexp_difference", "gf_vsigmoid", "gf_vmaxnum", "gf_vtanh", "gf_verf",
    "gf_vgelu", "gf_vabs",
    "gf_vsel",
  ])
  func noLaneLoop(name: String) {
    let body = Self.body(name)
    #expect(!body.isEmpty, "\(name) is defined as a function")
    #expect(!body.contains("for ("), "\(name) runs lane by lane")
    #expect(!CRuntime.header.contains("GF_LANEWISE(\(name),"))
  }

  /// A SiLU epilogue (x·σ(x), as exporters write it) renders as vector math: the vector sigmoid,
  /// no scalar expf call.
  @Test func siluEpilogueIsVectorCode() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 24, 5, 5])
    let y = try b.conv2d(x, weight: CompiledTesting.weight(b, [40, 24, 3, 3], seed: 2), padding: 1)
    b.output(try b.mul(y, try b.sigmoid(y)))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [graph.nodes.ids]))
    let source = try Lowering.modelSource(graph, plan: plan, options: CompiledTesting.options)
    let kernels = source.replacingOccurrences(of: CRuntime.header, with: "")
    #expect(kernels.contains("gf_vsigmoid("))
    #expect(!kernels.contains("expf("))
  }

  /// gcc on PATH (or /usr/bin/gcc), if any.
  static let gcc: String? = {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/gcc" }
    return (path + ["/usr/bin/gcc"]).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
  }()

  @Test(
    .enabled(if: gcc != nil, "skipped: no gcc on PATH, the prelude is compiled with clang only"),
    arguments: [16, 8, 4])
  func preludeCompilesWithGCC(vector: Int) throws {
    let gcc = try #require(Self.gcc)
    let dir = NSTemporaryDirectory() + "graphfuse-gcc-\(ProcessInfo.processInfo.processIdentifier)-\(vector)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let source =
      CRuntime.prelude + """

        void gf_probe(float *const *bufs, long begin, long end) {
          for (long i = begin; i < end; i++) {
            gf_vf v = gf_load(bufs[0] + i * GF_V);
            gf_store(bufs[1] + i * GF_V, gf_vexp(v) + gf_vtanh(v) + gf_verf(v) + v / (1.0f + gf_vexp(-v)));
          }
        }

        """
    try source.write(toFile: dir + "/p.c", atomically: true, encoding: .utf8)
    let (outcome, output) = try Subprocess.output(
      [gcc, "-c", "-O2", "-std=gnu11", "-w", "-DGF_V=\(vector)", "-o", dir + "/p.o", dir + "/p.c"], timeout: 120)
    #expect(outcome == .exited(0), "\(output)")
  }
}
