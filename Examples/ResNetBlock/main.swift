// A ResNet basic block (conv-bn-relu, conv-bn, + identity, relu) at 64×56×56, compiled three ways:
// unfused (every op its own kernel, batch_norm with running statistics), fused with batch norm
// kept whole inside the conv groups, and batch norm folded by hand into the convs then fused.
// Each is checked against the reference executor and timed (median of N runs after warm-up).
import Foundation
import GraphFuse

let (channels, size, runs) = (64, 56, 50)
let fan = Float(channels * 9)

struct BatchNormParameters {
  var gamma, beta, mean, variance: Tensor
  init(seed: UInt64) {
    gamma = Tensor.random(shape: [channels], in: 0.5...1.5, seed: seed)
    beta = Tensor.random(shape: [channels], in: -0.2...0.2, seed: seed + 1)
    mean = Tensor.random(shape: [channels], in: -0.2...0.2, seed: seed + 2)
    variance = Tensor.random(shape: [channels], in: 0.5...1.5, seed: seed + 3)
  }
  /// Per-channel scale γ/√(σ²+ε) and shift β − μ·scale.
  var scaleShift: (scale: [Float], shift: [Float]) {
    let scale = (0..<channels).map { gamma.data[$0] / (variance.data[$0] + 1e-5).squareRoot() }
    return (scale, (0..<channels).map { beta.data[$0] - mean.data[$0] * scale[$0] })
  }
}

let weights = [
  Tensor.random(shape: [channels, channels, 3, 3], in: -(3 / fan).squareRoot()...(3 / fan).squareRoot(), seed: 1),
  Tensor.random(shape: [channels, channels, 3, 3], in: -(3 / fan).squareRoot()...(3 / fan).squareRoot(), seed: 2),
]
let norms = [BatchNormParameters(seed: 10), BatchNormParameters(seed: 20)]

/// The block with batch norms as ops.
func blockWithBatchNorm() throws -> Graph {
  let b = GraphBuilder()
  let x = b.input("x", shape: [1, channels, size, size])
  var h = x
  for k in 0..<2 {
    let p = norms[k]
    h = try b.conv2d(h, weight: b.constant(weights[k], name: "w\(k)"), padding: 1, name: "conv\(k)")
    h = try b.batchNorm(
      h, scale: b.constant(p.gamma), bias: b.constant(p.beta), mean: b.constant(p.mean),
      variance: b.constant(p.variance), name: "bn\(k)")
    if k == 1 { h = try b.add(h, x, name: "residual") }
    h = try b.relu(h, name: "relu\(k)")
  }
  b.output(h)
  return try b.finish()
}

/// The block with each batch norm folded into its conv: w·scale per output channel, bias = shift.
func blockFolded() throws -> Graph {
  let b = GraphBuilder()
  let x = b.input("x", shape: [1, channels, size, size])
  var h = x
  for k in 0..<2 {
    let (scale, shift) = norms[k].scaleShift
    var w = weights[k]
    for o in 0..<channels { for i in 0..<(channels * 9) { w.data[o * channels * 9 + i] *= scale[o] } }
    h = try b.conv2d(
      h, weight: b.constant(w, name: "w\(k)"), bias: b.constant(Tensor(shift), name: "b\(k)"), padding: 1,
      name: "conv\(k)")
    if k == 1 { h = try b.add(h, x, name: "residual") }
    h = try b.relu(h, name: "relu\(k)")
  }
  b.output(h)
  return try b.finish()
}

func median(_ model: CompiledModel, _ input: Tensor) throws -> Double {
  for _ in 0..<5 { _ = try model.run([input]) }
  var samples: [Double] = []
  for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try model.run([input])
    samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
  }
  return samples.sorted()[runs / 2]
}

let original = try blockWithBatchNorm()
let folded = try blockFolded()
let input = Tensor.random(shape: [1, channels, size, size], seed: 99)
let expected = try ReferenceExecutor.run(original, inputs: [input])[0]
// Node order: conv0 bn0 relu0 conv1 bn1 residual relu1 (batch norm graph); conv0 relu0 conv1 residual relu1 (folded).
let variants: [(String, Graph, FusionPlan)] = [
  ("unfused", original, .unfused(original)),
  (
    "fused, batch norm kept whole", original,
    FusionPlan(groups: FusionPlan.makeGroups(original, partition: [[0, 1, 2], [3, 4, 5, 6]]))
  ),
  ("folded + fused", folded, FusionPlan(groups: FusionPlan.makeGroups(folded, partition: [[0, 1], [2, 3, 4]]))),
]
print(
  "ResNet basic block, \(channels)×\(size)×\(size), \(ProcessInfo.processInfo.activeProcessorCount) threads, median "
    + "of \(runs) runs"
)
let models = try variants.map { try CompiledModel.compile($0.1, plan: $0.2) }
// The variants are timed in turns, three rounds, keeping each one's best median: on a shared
// machine this compares them under the same load.
var best = [Double](repeating: .infinity, count: models.count)
for _ in 0..<3 {
  for (k, model) in models.enumerated() { best[k] = min(best[k], try median(model, input)) }
}
for ((name, graph, plan), (model, ms)) in zip(variants, zip(models, best)) {
  let comparison = try model.run([input])[0].compared(to: expected)
  print(
    String(
      format: "%@ %2d groups  %7.3f ms  intermediates %8d bytes  %@",
      name.padding(toLength: 30, withPad: " ", startingAt: 0),
      plan.groups.count, ms, model.intermediateBytes,
      comparison.isWithin(relative: 1e-4) ? "matches reference" : "MISMATCH \(comparison)"))
  _ = graph
  for t in try model.profile([input], runs: 20) {
    print(String(format: "    %8.3f ms  %@", t.seconds * 1e3, t.name))
  }
}
