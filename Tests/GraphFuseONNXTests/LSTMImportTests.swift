import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// ONNX LSTM and GRU on both backends against a direct evaluation of ONNX's definitions in double
/// precision (LSTM gates i, o, f, c; GRU gates z, r, h with `linear_before_reset = 1`; `Y` and
/// `Y_h`), forward, reverse and bidirectional, time- and batch-major, with and without initial states.
@Suite("LSTM and GRU")
struct LSTMImportTests {
  struct Case: Sendable, CustomStringConvertible {
    var direction = "forward"
    var layout = 0
    var initialStates = false
    var gru = false
    var description: String {
      "\(gru ? "GRU" : "LSTM") \(direction) layout \(layout)\(initialStates ? " with initial states" : "")"
    }
  }

  static let (steps, batch, width, hidden) = (5, 3, 4, 6)

  /// `Y [T, D, B, H]` and `Y_h [D, B, H]` of ONNX's LSTM, time-major.
  static func expected(
    x: [Float], w: [Float], r: [Float], b: [Float], h0: [Float]?, c0: [Float]?, reversed: [Bool], gru: Bool = false
  ) -> (y: [Float], last: [Float]) {
    let (t, n, i, h, d) = (steps, batch, width, hidden, reversed.count)
    let g = gru ? 3 : 4
    var y = [Float](repeating: 0, count: t * d * n * h), last = [Float](repeating: 0, count: d * n * h)
    func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
    for dir in 0..<d {
      for seq in 0..<n {
        var hs = (0..<h).map { Double(h0?[(dir * n + seq) * h + $0] ?? 0) }
        var cs = (0..<h).map { Double(c0?[(dir * n + seq) * h + $0] ?? 0) }
        for s in 0..<t {
          let step = reversed[dir] ? t - 1 - s : s
          // Input and recurrent parts of each gate row, biases included.
          var input = [Double](repeating: 0, count: g * h), recurrent = input
          for row in 0..<(g * h) {
            input[row] = Double(b[dir * 2 * g * h + row])
            recurrent[row] = Double(b[dir * 2 * g * h + g * h + row])
            for k in 0..<i {
              input[row] += Double(w[(dir * g * h + row) * i + k]) * Double(x[(step * n + seq) * i + k])
            }
            for k in 0..<h { recurrent[row] += Double(r[(dir * g * h + row) * h + k]) * hs[k] }
          }
          for k in 0..<h {
            if gru {
              let z = sigmoid(input[k] + recurrent[k]), reset = sigmoid(input[h + k] + recurrent[h + k])
              let candidate = tanh(input[2 * h + k] + reset * recurrent[2 * h + k])
              hs[k] = (1 - z) * candidate + z * hs[k]
            } else {
              let gate = { (j: Int) in input[j * h + k] + recurrent[j * h + k] }
              cs[k] = sigmoid(gate(2)) * cs[k] + sigmoid(gate(0)) * tanh(gate(3))
              hs[k] = sigmoid(gate(1)) * tanh(cs[k])
            }
            y[((step * d + dir) * n + seq) * h + k] = Float(hs[k])
          }
        }
        for k in 0..<h { last[(dir * n + seq) * h + k] = Float(hs[k]) }
      }
    }
    return (y, last)
  }

  /// `a` of `shape` with its axes permuted: output axis `k` is input axis `perm[k]`.
  static func permute(_ a: [Float], _ shape: [Int], _ perm: [Int]) -> [Float] {
    let out = perm.map { shape[$0] }
    let inStrides = Tensor.strides(of: shape), outStrides = Tensor.strides(of: out)
    var result = a
    for flat in 0..<a.count {
      var source = 0
      for k in out.indices { source += (flat / outStrides[k]) % out[k] * inStrides[perm[k]] }
      result[flat] = a[source]
    }
    return result
  }

  @Test(arguments: [
    Case(), Case(direction: "reverse"), Case(direction: "bidirectional"),
    Case(direction: "bidirectional", layout: 1, initialStates: true), Case(initialStates: true),
    Case(gru: true), Case(direction: "bidirectional", gru: true),
    Case(direction: "reverse", layout: 1, initialStates: true, gru: true),
  ])
  func lstmMatchesTheDefinition(_ c: Case) throws {
    let d = c.direction == "bidirectional" ? 2 : 1
    let (t, n, i, h) = (Self.steps, Self.batch, Self.width, Self.hidden)
    var random = SplitMix64(seed: 11)
    func values(_ count: Int, _ scale: Float = 0.5) -> [Float] {
      (0..<count).map { _ in (random.nextUnitFloat() * 2 - 1) * scale }
    }
    let g = c.gru ? 3 : 4
    let x = values(t * n * i, 2), w = values(d * g * h * i), r = values(d * g * h * h), b = values(d * 2 * g * h)
    let h0 = c.initialStates ? values(d * n * h, 1) : nil
    let c0 = c.initialStates && !c.gru ? values(d * n * h, 1) : nil
    let reversed = c.direction == "bidirectional" ? [false, true] : [c.direction == "reverse"]
    let (y, last) = Self.expected(x: x, w: w, r: r, b: b, h0: h0, c0: c0, reversed: reversed, gru: c.gru)
    // Batch-major: X [B, T, I], Y [B, T, D, H], states and Y_h [B, D, H].
    let batchMajor = c.layout == 1
    let xShape = batchMajor ? [n, t, i] : [t, n, i]
    let yShape = batchMajor ? [n, t, d, h] : [t, d, n, h], lastShape = batchMajor ? [n, d, h] : [d, n, h]
    let gates = g
    let model = ModelWriter.model { g in
      g.message(1) { node in
        let states = c.initialStates ? (c.gru ? ["h0"] : ["h0", "c0"]) : []
        for input in ["x", "w", "r", "b", ""] + states { node.string(1, input) }
        for output in ["y", "y_h"] { node.string(2, output) }
        node.string(3, "lstm")
        node.string(4, c.gru ? "GRU" : "LSTM")
        node.message(5) { a in
          a.string(1, "direction")
          a.string(4, c.direction)
          a.int(20, 3)
        }
        node.message(5) { a in
          a.string(1, "hidden_size")
          a.int(3, h)
          a.int(20, 2)
        }
        node.message(5) { a in
          a.string(1, "layout")
          a.int(3, c.layout)
          a.int(20, 2)
        }
        if c.gru {
          node.message(5) { a in
            a.string(1, "linear_before_reset")
            a.int(3, 1)
            a.int(20, 2)
          }
        }
      }
      OpModels.initializer(&g, name: "w", dims: [d, gates * h, i], floats: w)
      OpModels.initializer(&g, name: "r", dims: [d, gates * h, h], floats: r)
      OpModels.initializer(&g, name: "b", dims: [d, 2 * gates * h], floats: b)
      let stateDims = batchMajor ? [n, d, h] : [d, n, h]
      for (name, state) in [("h0", h0), ("c0", c0)] {
        guard let state else { continue }
        let data = batchMajor ? Self.permute(state, [d, n, h], [1, 0, 2]) : state
        OpModels.initializer(&g, name: name, dims: stateDims, floats: data)
      }
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: xShape)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: yShape)
      ModelWriter.valueInfo(&g, field: 12, name: "y_h", dims: lastShape)
    }
    let graph = try ONNXImporter.load(data: model, name: "lstm.onnx")
    let input = Tensor(shape: xShape, data: batchMajor ? Self.permute(x, [t, n, i], [1, 0, 2]) : x)
    // Y [T, D, B, H] batch-major is [B, T, D, H]: B moves in front of T and D.
    let expectedY = batchMajor ? Self.permute(y, [t, d, n, h], [2, 0, 1, 3]) : y
    let expectedLast = batchMajor ? Self.permute(last, [d, n, h], [1, 0, 2]) : last
    let reference = try ReferenceExecutor.run(graph, inputs: [input])
    let optimized = try graph.optimized()
    let options = CompileOptions(threads: 2, cacheDirectory: NSTemporaryDirectory() + "graphfuse-test-cache")
    let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: options).run([input])
    for (name, outputs) in [("reference", reference), ("compiled", compiled)] {
      let cy = outputs[0].compared(to: Tensor(shape: yShape, data: expectedY))
      let cl = outputs[1].compared(to: Tensor(shape: lastShape, data: expectedLast))
      #expect(cy.isWithin(relative: 1e-5), "\(c) \(name) Y: \(cy)")
      #expect(cl.isWithin(relative: 1e-5), "\(c) \(name) Y_h: \(cl)")
    }
  }

  @Test func unsupportedFormsAreRefusedByName() throws {
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "LSTM", inputs: ["x", "w", "r"], floats: ["clip": 3], name: "lstm")
      OpModels.initializer(&g, name: "w", dims: [1, 8, 2], floats: [Float](repeating: 0.1, count: 16))
      OpModels.initializer(&g, name: "r", dims: [1, 8, 2], floats: [Float](repeating: 0.1, count: 16))
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [3, 1, 2])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [3, 1, 1, 2])
    }
    let error = try #require(ONNXValidationTests.error(model))
    #expect(error.description.contains("lstm") && error.description.contains("clip"), "\(error)")
  }
}
