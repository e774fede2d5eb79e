import GraphFuse
import Foundation
for name in CommandLine.arguments.dropFirst() {
  let t0 = Date()
  let g = try ModelZoo.build(name)
  let t1 = Date()
  let shape = g.shape(of: g.inputs[0])
  let x = Tensor.random(shape: shape, in: -1...1, seed: 7)
  let (outs, vals) = try ReferenceExecutor.run(g, inputs: [x], keepIntermediates: name != "resnet50")
  let t2 = Date()
  let y = outs[0]
  print(name, "build", t1.timeIntervalSince(t0), "run", t2.timeIntervalSince(t1), y.shape, "max|y|", y.data.map(abs).max()!, "finite", y.data.allSatisfy(\.isFinite), g.opCounts.map { "\($0.op):\($0.count)" })
  if name != "resnet50" {
    for n in g.nodes where n.op == "relu" || n.op == "clip" || n.op == "add" { let t = vals[n.outputs[0]]!; let rms = (t.data.reduce(0.0) { $0 + Double($1 * $1) } / Double(t.count)).squareRoot(); print("  ", n.name, rms) }
  }
}
