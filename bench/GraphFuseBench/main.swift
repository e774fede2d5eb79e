import Foundation
import GraphFuse

/// Kernel-level benchmarks that `graphfuse bench` (whole models) does not cover; use a release build:
///
/// - `GraphFuseBench conv [runs] [threads]`: one 3×3 conv 64→64 at 56×56 on blocked input, GFLOP/s.
/// - `GraphFuseBench compile zoo:NAME [threads]`: cold and warm (cached) compile time of a model.
/// - `GraphFuseBench block CIN EXPAND COUT SIZE STRIDE [runs] [threads]`: an inverted residual block
///   as one conv chain and as TVM's three groups.
/// - `GraphFuseBench loops`: the loop nest of one group per anchor kind.
/// - `GraphFuseBench matmul [threads] [runs]`: every matrix-product shape class of the networks
///   alone, GFLOP/s and % of the measured FMA peak (``MatmulSweep``).
/// - `GraphFuseBench soak zoo:NAME [tasks] [calls] [inputs]`: concurrent `CompiledModel.run`
///   calls checked bit for bit, and the resident memory after warm-up against the end.
func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

func latency(_ model: CompiledModel, _ inputs: [Tensor], runs: Int) throws -> (median: Double, min: Double) {
  for _ in 0..<max(3, runs / 10) { _ = try model.run(inputs) }
  var samples: [Double] = []
  for _ in 0..<runs { samples.append(try seconds { _ = try model.run(inputs) }) }
  samples.sort()
  return (samples[runs / 2], samples[0])
}

/// The integer argument at `index`, or `fallback`.
func int(_ args: [String], _ index: Int, _ fallback: Int) -> Int {
  index < args.count ? Int(args[index]) ?? fallback : fallback
}

let args = CommandLine.arguments
let cores = ProcessInfo.processInfo.activeProcessorCount
switch args.count > 1 ? args[1] : "conv" {
case "loops":
  for (name, graph, plan) in try Kinds.all() {
    print("### \(name)\n```\n\(try Lowering.loops(graph, plan: plan, group: 0))\n```\n")
  }
case "block":
  try ChainBlock.run(args)
case "matmul":
  try MatmulSweep.run(args)
case "soak":
  try await Soak.run(args)
case "compile":
  let name = args.count > 2 ? String(args[2].replacingOccurrences(of: "zoo:", with: "")) : "resnet18"
  let threads = int(args, 3, cores)
  let optimized = try ModelZoo.build(name).optimized()
  let dir = NSTemporaryDirectory() + "gf-bench-cold-\(getpid())"
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let options = CompileOptions(threads: threads, cacheDirectory: dir)
  let cold = try seconds { _ = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options) }
  let warm = try seconds { _ = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options) }
  print(
    String(
      format: "zoo:%@, %d fused groups: compile cold %.2f s, warm (cached) %.3f s", name, optimized.plan.groups.count,
      cold, warm))
default:
  let runs = int(args, 2, 200), threads = int(args, 3, cores)
  let optimized = try Networks.conv3x3().optimized()
  let graph = optimized.graph
  let conv = graph.nodes.first { $0.op == "conv2d" }!
  let w = graph.shape(of: conv.inputs[1]), o = graph.shape(of: conv.outputs[0])
  let flops = 2.0 * Double(o.reduce(1, *)) * Double(w[1] * w[2] * w[3])
  let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 7) }
  let model = try CompiledModel.compile(graph, plan: optimized.plan, options: CompileOptions(threads: threads))
  print(
    "check vs reference:", try model.run(inputs)[0].compared(to: try ReferenceExecutor.run(graph, inputs: inputs)[0]))
  let timing = try model.profile(inputs, runs: runs)[1]
  print(
    String(
      format: "%@ alone (blocked in/out, %d threads): median %.3f ms = %.1f GFLOP/s", timing.name, threads,
      timing.seconds * 1e3, flops / timing.seconds / 1e9))
}
