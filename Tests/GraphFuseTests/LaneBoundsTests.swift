import Testing

@testable import GraphFuse

/// Divisions that stay affine once their coefficients round to multiples of the divisor
/// (``LaneBounds``), and the generic loop they let ``InnerVectorize`` read as contiguous vectors: the
/// relative-to-absolute skew of BoTNet's relative position logits, written as pads, a flatten, a
/// reshape and a slice.
@Suite struct LaneBoundsTests {
  @Test func roundedDivisionIsExactOverTheRanges() throws {
    let q = IndexExpr.variable("q"), b = IndexExpr.variable("b")
    let ranges: LaneBounds.Ranges = ["q": 0...31, "b": 0...31]
    let x = q * 63 + .constant(31) + b
    let d = try #require(LaneBounds.roundedDivision(x, by: 64, ranges))
    for qv in 0...31 {
      for bv in 0...31 {
        let value = qv * 63 + 31 + bv
        let env = ["q": qv, "b": bv]
        #expect(Self.evaluate(d.quotient, env) == value / 64 && Self.evaluate(d.remainder, env) == value % 64)
      }
    }
    #expect(LaneBounds.interval(.mod(x, 64), ranges) == 0...62)
    // One more step of b and the remainder can cross 64: no affine quotient.
    #expect(LaneBounds.roundedDivision(q * 63 + .constant(31) + b, by: 64, ["q": 0...31, "b": 0...40]) == nil)
    // A possibly negative dividend is refused (C's division truncates toward zero).
    #expect(LaneBounds.roundedDivision(b + .constant(-5), by: 64, ranges) == nil)
  }

  static func evaluate(_ e: IndexExpr, _ env: [String: Int]) -> Int {
    switch e {
    case .variable(let n): return env[n]!
    case .constant(let c): return c
    case .add(let a, let b): return evaluate(a, env) + evaluate(b, env)
    case .mul(let a, let k): return evaluate(a, env) * k
    case .div(let a, let k): return evaluate(a, env) / k
    case .mod(let a, let k): return evaluate(a, env) % k
    default: Issue.record("unexpected \(e)"); return 0
    }
  }

  /// `[n, w, 2w − 1]` logits to `[n, w, w]`: pad one column, flatten, pad `w − 1`, reshape to
  /// `[n, w + 1, 2w − 1]`, keep `[:, :w, w − 1:]`, plus a tensor.
  static func relToAbs(n: Int, w: Int) throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [n, w, 2 * w - 1]), y = b.input("y", shape: [n, w, w])
    var t = try b.pad(x, pads: [0, 0, 0, 0, 0, 1])
    t = try b.flatten(t, axis: 1)
    t = try b.pad(t, pads: [0, 0, 0, w - 1])
    t = try b.reshape(t, to: [n, w + 1, 2 * w - 1])
    t = try b.slice(t, starts: [0, w - 1], ends: [w, 2 * w - 1], axes: [1, 2])
    b.output(try b.add(t, y))
    return try b.finish()
  }

  @Test(arguments: [16, 32]) func relativeToAbsoluteLoadsWholeVectors(w: Int) throws {
    let graph = try Self.relToAbs(n: 3, w: w)
    let optimized = try Pipeline.optimize(graph)
    let target = ScheduleTarget(vectorWidth: 16, threads: 2)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, target: target)
    let texts = program.functions.map { KernelFunction($0).text }
    // The skewed read of x is one unaligned vector load per 16 outputs, not 16 scalar loads.
    #expect(texts.contains { $0.contains("gf_loadu(x") || $0.contains("gf_loadu(v_") }, "\(texts)")
    let inputs = [Tensor.random(shape: [3, w, 2 * w - 1], seed: 1), Tensor.random(shape: [3, w, w], seed: 2)]
    try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: inputs, context: "rel to abs \(w)")
  }
}
