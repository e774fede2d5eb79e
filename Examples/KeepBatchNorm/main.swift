// A conv → batch_norm → relu network optimized twice: with the default policy the batch norm
// folds into the conv (one group, conv2d + relu); with the keep-whole policy — for accelerators
// that have a fused conv+BN instruction — it stays one broadcast-pattern op and the group is
// fused_conv2d_batch_norm_relu. Both optimized graphs compute the same output.
import GraphFuse

let b = GraphBuilder()
let x = b.input("x", shape: [1, 8, 16, 16])
let weight = b.constant(Tensor.random(shape: [16, 8, 3, 3], in: -0.3...0.3, seed: 1), name: "conv.weight")
let gamma = b.constant(Tensor.random(shape: [16], in: 0.5...1.5, seed: 2), name: "bn.weight")
let beta = b.constant(Tensor.random(shape: [16], in: -0.2...0.2, seed: 3), name: "bn.bias")
let mean = b.constant(Tensor.random(shape: [16], in: -0.2...0.2, seed: 4), name: "bn.running_mean")
let variance = b.constant(Tensor.random(shape: [16], in: 0.5...2.0, seed: 5), name: "bn.running_var")
let conv = try b.conv2d(x, weight: weight, padding: 1, name: "conv")
let bn = try b.batchNorm(conv, scale: gamma, bias: beta, mean: mean, variance: variance, name: "bn")
b.output(try b.relu(bn, name: "relu"))
let graph = try b.finish()

print("source graph:\n\(graph)\n")

let folded = try graph.optimized()
print("== default policy: fold ==")
print(folded.report(model: "conv_bn_relu"))
print("\n\(folded.graph)\n")

let kept = try graph.optimized(OptimizeOptions(keep: ["batch_norm"]))
print("== keep batch_norm whole ==")
print(kept.report(model: "conv_bn_relu"))
print("\n\(kept.graph)\n")

let input = Tensor.random(shape: [1, 8, 16, 16], seed: 6)
let expected = try ReferenceExecutor.run(graph, inputs: [input])[0]
for (name, optimized) in [("folded", folded), ("kept whole", kept)] {
  let comparison = try ReferenceExecutor.run(optimized.graph, inputs: [input])[0].compared(to: expected)
  print("\(name) vs source: \(comparison)")
  guard comparison.isWithin(relative: 1e-4) else { fatalError("\(name) graph differs from the source graph") }
}
