// The TVM tutorial's batch norm, lowered by GraphFuse.
//
// data (c, n, n) = (32, 28, 28), channel axis 0, per-channel mean/var/γ/β, ε = 1e-5.
// TVM's naive lowering of the decomposed formula shows six loop stages (subtract, add, sqrt,
// divide, multiply, add), each writing a full intermediate tensor. GraphFuse precomputes the
// per-channel scale γ/√(σ²+ε) and shift β − μ·scale once, at compile time, and prints one loop.
import GraphFuse

let (c, n) = (32, 28)
let epsilon = 1e-5
let gamma = Tensor.random(shape: [c], in: 0.5...1.5, seed: 1)
let beta = Tensor.random(shape: [c], in: -0.5...0.5, seed: 2)
let mean = Tensor.random(shape: [c], in: -0.5...0.5, seed: 3)
let variance = Tensor.random(shape: [c], in: 0.5...2, seed: 4)
let data = Tensor.random(shape: [c, n, n], seed: 5)

// 1. The decomposed formula, one op per stage, lowered without fusion: six loop nests.
let naive = GraphBuilder()
do {
  let x = naive.input("data", shape: [c, n, n])
  let view = { (t: Tensor, name: String) in naive.constant(t.reshaped([c, 1, 1]), name: name) }
  let centered = try naive.sub(x, view(mean, "mean"))
  let shifted = try naive.apply(
    "add", [view(variance, "var"), naive.constant(Tensor(scalar: Float(epsilon)), name: "eps")])[0]
  let root = try naive.sqrt(shifted)
  let normalized = try naive.div(centered, root)
  naive.output(try naive.add(try naive.mul(normalized, view(gamma, "gamma")), view(beta, "beta")))
}
let naiveGraph = try naive.finish()
let naivePlan = FusionPlan.unfused(naiveGraph)
print("== Naive: \(naivePlan.groups.count) separate stages ==")
for g in naivePlan.groups.ids { print(try Lowering.loops(naiveGraph, plan: naivePlan, group: g), "\n") }

// 2. GraphFuse: scale and shift precomputed per channel, one fused loop.
var scale = [Float](repeating: 0, count: c), shift = scale
for k in 0..<c {
  let s = Double(gamma.data[k]) / (Double(variance.data[k]) + epsilon).squareRoot()
  scale[k] = Float(s)
  shift[k] = Float(Double(beta.data[k]) - Double(mean.data[k]) * s)
}
let fused = GraphBuilder()
let x = fused.input("data", shape: [c, n, n])
fused.output(
  try fused.apply(
    "scale_shift",
    [
      x, fused.constant(Tensor(shape: [c, 1, 1], data: scale), name: "scale"),
      fused.constant(Tensor(shape: [c, 1, 1], data: shift), name: "shift"),
    ])[0])
let fusedGraph = try fused.finish()
let fusedPlan = FusionPlan.unfused(fusedGraph)
print("== GraphFuse: one loop with precomputed scale and shift ==")
print(try Lowering.loops(fusedGraph, plan: fusedPlan, group: 0), "\n")
print("== The C it compiles to ==")
print(try Lowering.cSource(fusedGraph, plan: fusedPlan, group: 0), "\n")

// 3. Check against the reference batch_norm (axis 0) within 1e-5.
let reference = GraphBuilder()
do {
  let x = reference.input("data", shape: [c, n, n])
  reference.output(
    try reference.batchNorm(
      x, scale: reference.constant(gamma), bias: reference.constant(beta),
      mean: reference.constant(mean), variance: reference.constant(variance),
      epsilon: epsilon, axis: 0))
}
let expected = try ReferenceExecutor.run(try reference.finish(), inputs: [data])[0]
let model = try CompiledModel.compile(fusedGraph, plan: fusedPlan)
let actual = try model.run([data])[0]
let comparison = actual.compared(to: expected)
print("compiled vs reference batch_norm: \(comparison)")
print(comparison.isWithin(relative: 1e-5) ? "OK within 1e-5" : "MISMATCH")
print(
  "intermediate bytes: naive \(try CompiledModel.compile(naiveGraph, plan: naivePlan).intermediateBytes), fused "
    + "\(model.intermediateBytes)"
)
