import Foundation
import GraphFuse

/// `GraphFuseBench matmul [threads] [runs]`: every matrix-product shape class the networks use, one
/// graph each, compiled and timed alone: a dense layer `[M, K] · [N, K]ᵀ + bias` for rows M from 1
/// to 3136 (odd ones such as 49, 50 and 197 included) against K × N from 64 × 4096 to 4096 × 4096,
/// and batched products of two activations (attention's Q·Kᵀ and P·V, per head or per window).
/// Prints the matmul group's median time, GFLOP/s and % of the FMA peak measured on the same
/// threads, and the error against the reference executor. With M of a few rows the product reads
/// each weight once or a few times: it is bound by memory, not by the FMA units, and the row
/// shows the weight stream in GB/s beside the % of peak.
enum MatmulSweep {
  /// Rows of the dense layers.
  static let rows = [1, 7, 49, 50, 197, 785, 3136]
  /// (K, N) of the dense layers: transformer projections and MLPs, ConvNeXt's MLP, ResNet's
  /// last stage, a 4096-wide layer.
  static let depths: [(k: Int, n: Int)] = [
    (96, 384), (384, 96), (768, 768), (768, 2304), (768, 3072), (3072, 768), (2048, 512), (64, 4096), (4096, 4096),
  ]
  /// Batched products of two activations: (batch, M, K, N).
  static let batched: [(b: Int, m: Int, k: Int, n: Int)] = [
    (12, 197, 64, 197), (12, 197, 197, 64), (64, 49, 32, 49), (64, 49, 49, 32), (8, 50, 64, 50), (12, 1024, 64, 1024),
  ]

  /// Products per graph: each reads the same inputs (with weights of its own) and is a group of its
  /// own; the rows give the median over the groups after the first. Timed alone, a group starts on
  /// a pool whose workers have gone idle between calls (in a C harness on a VM, a 0.18 ms product
  /// took 0.36 ms when the caller slept 0.5 ms before each call); inside a network the groups run
  /// back to back, as here.
  static let copies = 4

  static func run(_ args: [String]) throws {
    let threads = int(args, 2, ProcessInfo.processInfo.activeProcessorCount), runs = int(args, 3, 30)
    let peak = try MachinePeak.measure(threads: threads)
    print(String(format: "FMA peak %.1f GFLOP/s on %d threads; median of %d runs per shape", peak, threads, runs))
    print("shape                              ms    GFLOP/s  % peak  weights GB/s  rel. error")
    for m in rows {
      for (k, n) in depths where m * k * n >= 1 << 16 {
        let b = GraphBuilder()
        let x = b.input("x", shape: [m, k])
        for copy in 0..<copies {
          let w = b.constant(Tensor.random(shape: [n, k], in: -0.05...0.05, seed: UInt64(k * n + copy)))
          let bias = b.constant(Tensor.random(shape: [n], in: -0.1...0.1, seed: UInt64(3 + copy)))
          b.output(try b.dense(x, weight: w, bias: bias))
        }
        try report(
          String(format: "dense %4d × %4d × %4d", m, k, n), try b.finish(), flops: 2 * m * k * n,
          weightBytes: 4 * k * n, threads: threads, runs: runs, peak: peak)
      }
    }
    for (batch, m, k, n) in batched {
      let b = GraphBuilder()
      let p = b.input("a", shape: [batch, m, k]), q = b.input("b", shape: [batch, k, n])
      for _ in 0..<copies { b.output(try b.matmul(p, q)) }
      try report(
        String(format: "batched %3d × %4d × %4d × %4d", batch, m, k, n), try b.finish(), flops: 2 * batch * m * k * n,
        weightBytes: 0, threads: threads, runs: runs, peak: peak)
    }
  }

  /// Compile, check against the reference and time one graph; print its row.
  static func report(
    _ label: String, _ graph: Graph, flops: Int, weightBytes: Int, threads: Int, runs: Int, peak: Double
  ) throws {
    let optimized = try graph.optimized()
    let model = try CompiledModel.compile(
      optimized.graph, plan: optimized.plan, options: CompileOptions(threads: threads))
    let inputs = graph.inputs.enumerated().map { i, v in Tensor.random(shape: graph.shape(of: v), seed: UInt64(7 + i)) }
    let outputs = try model.run(inputs), expected = try ReferenceExecutor.run(graph, inputs: inputs)
    let error = zip(outputs, expected).map { $0.compared(to: $1).relativeError }.max() ?? .infinity
    // Warm up first: the first runs after compiling fault in the packed weights and the arena.
    for _ in 0..<20 { _ = try model.run(inputs) }
    // The groups that do the products, in plan order: the most expensive `copies` of them.
    let timings = try model.profile(inputs, runs: runs)
    let products = timings.sorted { $0.seconds > $1.seconds }.prefix(copies).sorted { $0.group < $1.group }
    let later = products.dropFirst().map(\.seconds).sorted()
    let seconds = later.isEmpty ? products.first?.seconds ?? 0 : later[later.count / 2]
    let gflops = Double(flops) / seconds / 1e9
    let stream =
      weightBytes > 0
      ? String(format: "%12.1f", Double(weightBytes) / seconds / 1e9) : String(repeating: " ", count: 12)
    print(
      String(
        format: "%-30@ %8.4f %8.1f %6.0f %%  %@  %.1e", label as NSString, seconds * 1e3, gflops, 100 * gflops / peak,
        stream, error))
  }
}
