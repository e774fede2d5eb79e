import Foundation
import GraphFuse

/// Benchmarks: `GraphFuseBench conv|resnet18|mobilenetv2 [runs] [threads]` (use a release build).
func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

func latency(_ model: CompiledModel, _ inputs: [Tensor], runs: Int) throws -> (median: Double, min: Double, p90: Double) {
  for _ in 0..<max(3, runs / 10) { _ = try model.run(inputs) }
  var samples: [Double] = []
  for _ in 0..<runs { samples.append(try seconds { _ = try model.run(inputs) }) }
  samples.sort()
  return (samples[runs / 2], samples[0], samples[runs * 9 / 10])
}

let args = CommandLine.arguments
if args.count > 1 && args[1] == "loops" {
  for (name, graph, plan) in try Kinds.all() {
    print("### \(name)\n```\n\(try Lowering.loops(graph, plan: plan, group: 0))\n```\n")
  }
  exit(0)
}
if args.count > 1 && args[1] == "block" {
  try ChainBlock.run(args)
  exit(0)
}
let which = args.count > 1 ? args[1] : "conv"
let runs = args.count > 2 ? Int(args[2])! : 50
let threads = args.count > 3 ? Int(args[3])! : ProcessInfo.processInfo.activeProcessorCount
let source: Graph
switch which {
case "resnet18", "resnet50": source = try ModelZoo.build(which)
case "mobilenetv2": source = try ModelZoo.build("mobilenet_v2")
default: source = try Networks.conv3x3()
}
// The real pipeline: batch norms folded, then fused (the plan `graphfuse bench` calls fused).
let optimized = try source.optimized()
let graph = optimized.graph
let flops = graph.nodes.filter { $0.op == "conv2d" }.reduce(0.0) { sum, node in
  let w = graph.shape(of: node.inputs[1]), o = graph.shape(of: node.outputs[0])
  return sum + 2.0 * Double(o.reduce(1, *)) * Double(w[1] * w[2] * w[3])
}
let inputs = graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: 7) }
let coldDir = NSTemporaryDirectory() + "gf-bench-cold-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: coldDir) }
let fusedPlan = optimized.plan
var model: CompiledModel! = nil
let cold = try seconds { model = try CompiledModel.compile(graph, plan: fusedPlan, options: CompileOptions(threads: threads, cacheDirectory: coldDir)) }
let warm = try seconds { model = try CompiledModel.compile(graph, plan: fusedPlan, options: CompileOptions(threads: threads, cacheDirectory: coldDir)) }
print("\(which): \(graph.nodes.count) nodes, \(fusedPlan.groups.count) fused groups, \(String(format: "%.2f", flops / 1e9)) GFLOP (conv)")
print(String(format: "compile: cold %.2f s, warm %.3f s", cold, warm))
if which == "conv" {
  let conv = try model.profile(inputs, runs: runs)[1]
  print(String(format: "%@ alone (blocked in/out): median %.3f ms = %.1f GFLOP/s", conv.name, conv.seconds * 1e3, flops / 2 / conv.seconds / 1e9))
}
let reference = which == "conv" || args.contains("--check") ? try ReferenceExecutor.run(graph, inputs: inputs)[0] : nil
if let reference { print("check vs reference:", try model.run(inputs)[0].compared(to: reference)) }
let fused = try latency(model, inputs, runs: runs)
print(
  String(
    format: "fused   (%d threads): median %.3f ms (min %.3f, p90 %.3f)  %.1f GFLOP/s, intermediates %d bytes",
    threads, fused.median * 1e3, fused.min * 1e3, fused.p90 * 1e3, flops / fused.median / 1e9, model.intermediateBytes))
if args.contains("--unfused") {
  let unfused = try CompiledModel.compile(graph, plan: .unfused(graph), options: CompileOptions(threads: threads, cacheDirectory: coldDir))
  let u = try latency(unfused, inputs, runs: runs)
  print(
    String(
      format: "unfused (%d threads): median %.3f ms (min %.3f, p90 %.3f), intermediates %d bytes",
      threads, u.median * 1e3, u.min * 1e3, u.p90 * 1e3, unfused.intermediateBytes))
}
if args.contains("--profile") {
  let timings = try model.profile(inputs, runs: 20)
  print(String(format: "  sum of group medians %.3f ms", timings.reduce(0) { $0 + $1.seconds } * 1e3))
  for t in timings.sorted(by: { $0.seconds > $1.seconds }).prefix(args.contains("--all") ? 1000 : 12) {
    let anchor = graph.nodes[fusedPlan.groups[t.group].anchor]
    var detail = ""
    if anchor.op == "conv2d" {
      let w = graph.shape(of: anchor.inputs[1]), o = graph.shape(of: anchor.outputs[0])
      let f = 2.0 * Double(o.reduce(1, *)) * Double(w[1] * w[2] * w[3])
      detail = String(format: "%@ k%d s%d  %.1f GFLOP/s", o.description, w[2], anchor.attributes.ints("strides", default: [1, 1])[0], f / t.seconds / 1e9)
    }
    print(String(format: "  %8.3f ms  %@  %@", t.seconds * 1e3, t.name, detail))
  }
}
if args.contains("--source") { try model.source.write(toFile: "/tmp/gf_model.c", atomically: true, encoding: .utf8) }
