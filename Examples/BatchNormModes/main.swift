// BatchNormModes: the same batch_norm in inference and in training mode (apache/tvm#19574).
//
// γ, β, μ, σ² are graph inputs, not constants, as in the TVM reproducer. Inference mode uses
// the provided running statistics; training mode normalizes with the batch's own statistics.
import Foundation
import GraphFuse

let (n, c, h, w) = (1, 4, 4, 4)
let x = Tensor(shape: [n, c, h, w], repeating: 1)
let gamma = Tensor([1, 2, 0.5, 3])
let beta = Tensor([0, 1, -1, 0.5])
let mean = Tensor([0, 0.5, 1, -1])
let variance = Tensor([1, 0.25, 4, 0.01])
let epsilon = 1e-5

/// `x → batch_norm(x, γ, β, μ, σ²)` with every operand a graph input; training mode also
/// returns the updated running mean and variance (ONNX `training_mode=1` with 3 outputs).
func batchNormGraph(training: Bool) throws(GraphFuseError) -> Graph {
  let b = GraphBuilder()
  let inputs =
    [b.input("x", shape: [n, c, h, w])]
    + ["gamma", "beta", "mean", "var"].map { b.input($0, shape: [c]) }
  let attributes: Attributes = [
    "epsilon": .float(epsilon), "momentum": .float(0.9),
    "training": .int(training ? 1 : 0), "outputs": .int(training ? 3 : 1),
  ]
  for y in try b.apply("batch_norm", inputs, attributes, name: "bn") { b.output(y) }
  return try b.finish()
}

func format(_ v: Float) -> String { String(format: "%9.4f", v) }

do {
  let feeds = [x, gamma, beta, mean, variance]
  let inference = try ReferenceExecutor.run(batchNormGraph(training: false), inputs: feeds)[0]
  let training = try ReferenceExecutor.run(batchNormGraph(training: true), inputs: feeds)

  let value = inference[0, 3, 0, 0]
  print("inference y[0,3,0,0] = \(String(format: "%.4f", value))  (expected 60.4700; TVM 0.27 LegalizeOps gives 0.5)")
  guard abs(value - 60.47) <= 1e-3 else {
    print("error: inference output is wrong")
    exit(1)
  }

  print("\nchannel  inference   training   running μ  running σ²")
  for ch in 0..<c {
    print(
      "   \(ch)   \(format(inference[0, ch, 0, 0])) \(format(training[0][0, ch, 0, 0]))"
        + " \(format(training[1][ch])) \(format(training[2][ch]))")
  }
  print(
    """

    Training mode normalizes with the batch's own mean and variance: x is all ones, so the batch variance
    is 0 and every channel collapses to β: the train/eval and track_running_stats=False surprise, and TVM's bug.
    """)
} catch {
  print("error: \(error)")
  exit(1)
}
