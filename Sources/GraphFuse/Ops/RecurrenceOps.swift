import Foundation

/// lstm {reverse_directions}: the recurrent half of an LSTM (ONNX's, gates in i, o, f, c order,
/// sigmoid / tanh / tanh), its input projection already applied. Inputs: the projected inputs
/// with both biases `xg [T, B, D, 4H]`, the recurrent weights transposed `rt [D, H, 4H]`, and
/// optionally the initial hidden and cell states `[D, B, H]` (zeros without). Output: every
/// step's hidden state `[T, D, B, H]`. Direction `d` runs from the last step to the first when
/// `reverse_directions[d]` is 1. Step by step:
/// `g = xg[t] + h·rt`, `c = σ(g_f)·c + σ(g_i)·tanh(g_c)`, `h = σ(g_o)·tanh(c)`.
///
/// The importer computes the input projection of every step as one matmul (`ImportSession`'s
/// LSTM), as ONNX Runtime and oneDNN do, so only the `H × 4H` product per step stays sequential.
public enum LSTMRecurrence {
  /// The op's definition.
  public static let definition = OpDefinition(
    name: "lstm", arity: 2...4, pattern: { _ in .opaque },
    inferShapes: { q throws(GraphFuseError) in
      let x = q.shape(0), r = q.shape(1)
      guard x.count == 4, r.count == 3, x[3] % 4 == 0, r == [x[2], x[3] / 4, x[3]] else {
        throw q.error("expects projected inputs [T, B, D, 4H] and recurrent weights [D, H, 4H], got \(x) and \(r)")
      }
      let (t, b, d, h) = (x[0], x[1], x[2], x[3] / 4)
      for i in 2..<q.inputs.count where q.shape(i) != [d, b, h] {
        throw q.error("initial state \(i - 2) has shape \(q.shape(i)), expected \([d, b, h])")
      }
      guard q.attributes.ints("reverse_directions", default: [Int](repeating: 0, count: d)).count == d else {
        throw q.error("reverse_directions needs one flag per direction (\(d))")
      }
      return [[t, d, b, h]]
    },
    reference: { ctx in
      let xg = ctx.inputs[0], hidden = ctx.inputs[0].shape[3] / 4
      let sigmoid = RecurrenceReference.sigmoid
      return [
        RecurrenceReference.run(
          ctx, gatesPerUnit: 4, firstState: 2,
          start: { _, base in
            (0..<(4 * hidden)).map { Double(xg.data[base + $0]) }
          }
        ) { g, _, h, c in
          for k in 0..<hidden {
            let (i, o, f) = (sigmoid(g[k]), sigmoid(g[hidden + k]), sigmoid(g[2 * hidden + k]))
            c[k] = f * c[k] + i * tanh(g[3 * hidden + k])
            h[k] = o * tanh(c[k])
          }
        }
      ]
    }
  ).withFlops { _, output, _ in
    // Per step and sequence: the h · rt product (2 · H · 4H) and about 10 operations per gate row.
    let (steps, directions, batch, hidden) = (output[0], output[1], output[2], output[3])
    return steps * directions * batch * (8 * hidden * hidden + 10 * hidden)
  }
}

/// gru {reverse_directions}: the recurrent half of a GRU (ONNX's with `linear_before_reset = 1`, as
/// PyTorch's `nn.GRU`; gates in z, r, h order, sigmoid / tanh), its input projection (with the
/// input bias) already applied. Inputs: the projected inputs `xg [T, B, D, 3H]`, the recurrent
/// weights transposed `rt [D, H, 3H]`, the recurrent bias `rb [D, 3H]`, and optionally the initial
/// hidden state `[D, B, H]`. Output: every step's hidden state `[T, D, B, H]`. Step by step, with
/// `g = h·rt + rb`: `z = σ(xg_z + g_z)`, `r = σ(xg_r + g_r)`, `n = tanh(xg_h + r·g_h)`,
/// `h = (1 − z)·n + z·h`.
public enum GRURecurrence {
  /// The op's definition.
  public static let definition = OpDefinition(
    name: "gru", arity: 3...4, pattern: { _ in .opaque },
    inferShapes: { q throws(GraphFuseError) in
      let x = q.shape(0), r = q.shape(1)
      guard x.count == 4, r.count == 3, x[3] % 3 == 0, r == [x[2], x[3] / 3, x[3]], q.shape(2) == [x[2], x[3]] else {
        throw q.error(
          "expects projected inputs [T, B, D, 3H], recurrent weights [D, H, 3H] and bias [D, 3H], got \(q.shapes)")
      }
      let (t, b, d, h) = (x[0], x[1], x[2], x[3] / 3)
      if q.inputs.count == 4, q.shape(3) != [d, b, h] {
        throw q.error("initial state has shape \(q.shape(3)), expected \([d, b, h])")
      }
      guard q.attributes.ints("reverse_directions", default: [Int](repeating: 0, count: d)).count == d else {
        throw q.error("reverse_directions needs one flag per direction (\(d))")
      }
      return [[t, d, b, h]]
    },
    reference: { ctx in
      let xg = ctx.inputs[0], rb = ctx.inputs[2], gates = ctx.inputs[0].shape[3], hidden = gates / 3
      let sigmoid = RecurrenceReference.sigmoid
      return [
        RecurrenceReference.run(
          ctx, gatesPerUnit: 3, firstState: 3,
          start: { d, _ in
            (0..<gates).map { Double(rb.data[d * gates + $0]) }
          }
        ) { g, base, h, _ in
          for k in 0..<hidden {
            let x = { (j: Int) in Double(xg.data[base + j]) }
            let z = sigmoid(x(k) + g[k]), r = sigmoid(x(hidden + k) + g[hidden + k])
            let n = tanh(x(2 * hidden + k) + r * g[2 * hidden + k])
            h[k] = (1 - z) * n + z * h[k]
          }
        }
      ]
    }
  ).withFlops { _, output, _ in
    // Per step and sequence: the h · rt product (2 · H · 3H) and about 10 operations per unit.
    let (steps, directions, batch, hidden) = (output[0], output[1], output[2], output[3])
    return steps * directions * batch * (6 * hidden * hidden + 10 * hidden)
  }
}

/// The reference loop shared by ``LSTMRecurrence`` and ``GRURecurrence``: every direction and
/// sequence step by step in double precision, the gate row `start(d, base)` (`base`: the step's
/// offset in the projected inputs) plus `h · rt`, then `update(g, base, &h, &c)`; the initial
/// states are inputs `firstState` (h) and `firstState + 1` (c) when given, else zeros.
enum RecurrenceReference {
  static let sigmoid: @Sendable (Double) -> Double = { 1 / (1 + exp(-$0)) }

  static func run(
    _ ctx: KernelContext, gatesPerUnit: Int, firstState: Int, start: (_ d: Int, _ base: Int) -> [Double],
    update: (_ g: [Double], _ base: Int, _ h: inout [Double], _ c: inout [Double]) -> Void
  ) -> Tensor {
    let xg = ctx.inputs[0], rt = ctx.inputs[1]
    let (steps, batch, directions, gates) = (xg.shape[0], xg.shape[1], xg.shape[2], xg.shape[3])
    let hidden = gates / gatesPerUnit
    let reversed = ctx.attributes.ints("reverse_directions", default: [Int](repeating: 0, count: directions))
    func initial(_ input: Int, _ state: Int) -> [Double] {
      (0..<hidden).map { ctx.inputs.count > input ? Double(ctx.inputs[input].data[state + $0]) : 0 }
    }
    var y = [Float](repeating: 0, count: steps * directions * batch * hidden)
    for d in 0..<directions {
      for b in 0..<batch {
        let state = (d * batch + b) * hidden
        var h = initial(firstState, state), c = initial(firstState + 1, state)
        for s in 0..<steps {
          let t = reversed[d] != 0 ? steps - 1 - s : s
          let base = ((t * batch + b) * directions + d) * gates
          var g = start(d, base)
          for k in 0..<hidden {
            let row = (d * hidden + k) * gates
            for j in 0..<gates { g[j] += h[k] * Double(rt.data[row + j]) }
          }
          update(g, base, &h, &c)
          for k in 0..<hidden { y[((t * directions + d) * batch + b) * hidden + k] = Float(h[k]) }
        }
      }
    }
    return Tensor(shape: [steps, directions, batch, hidden], data: y)
  }
}
