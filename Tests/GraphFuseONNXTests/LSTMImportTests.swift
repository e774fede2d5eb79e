import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// ONNX LSTM on both backends against a direct evaluation of ONNX's definition in double
/// precision (gates i, o, f, c; `Y` and `Y_h`), forward, reverse and bidirectional, time- and
/// batch-major, with and without initial states.
@Suite("LSTM")
struct LSTMImportTests {
  struct Case: Sendable, CustomStringConvertible {
    var direction = "forward"
    var layout = 0
    var initialStates = false
    var description: String { "\(direction) layout \(layout)\(initialStates ? " with initial states" : "")" }
  }

  static let (steps, batch, width, hidden) = (5, 3, 4, 6)

  /// `Y [T, D, B, H]` and `Y_h [D, B, H]` of ONNX's LSTM, time-major.
  static func expected(
    x: [Float], w: [Float], r: [Float], b: [Float], h0: [Float]?, c0: [Float]?, reversed: [Bool]
  ) -> (y: [Float], last: [Float]) {
    let (t, n, i, h, d) = (steps, batch, width, hidden, reversed.count)
    var y = [Float](repeating: 0, count: t * d * n * h), last = [Float](repeating: 0, count: d * n * h)
    func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
    for dir in 0..<d {
      for seq in 0..<n {
        var hs = (0..<h).map { Double(h0?[(dir * n + seq) * h + $0] ?? 0) }
        var cs = (0..<h).map { Double(c0?[(dir * n + seq) * h + $0] ?? 0) }
        for s in 0..<t {
          let step = reversed[dir] ? t - 1 - s : s
          var gates = [Double](repeating: 0, count: 4 * h)
          for row in 0..<(4 * h) {
            var sum = Double(b[dir * 8 * h + row]) + Double(b[dir * 8 * h + 4 * h + row])
            for k in 0..<i { sum += Double(w[(dir * 4 * h + row) * i + k]) * Double(x[(step * n + seq) * i + k]) }
            for k in 0..<h { sum += Double(r[(dir * 4 * h + row) * h + k]) * hs[k] }
            gates[row] = sum
          }
          for k in 0..<h {
            cs[k] = sigmoid(gates[2 * h + k]) * cs[k] + sigmoid(gates[k]) * tanh(gates[3 * h + k])
            hs[k] = sigmoid(gates[h + k]) * tanh(cs[k])
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
  ])
  func lstmMatchesTheDefinition(_ c: Case) throws {
    let d = c.direction == "bidirectional" ? 2 : 1
    let (t, n, i, h) = (Self.steps, Self.batch, Self.width, Self.hidden)
    var random = SplitMix64(seed: 11)
    func values(_ count: Int, _ scale: Float = 0.5) -> [Float] {
      (0..<count).map { _ in (random.nextUnitFloat() * 2 - 1) * scale }
    }
    let x = values(t * n * i, 2), w = values(d * 4 * h * i), r = values(d * 4 * h * h), b = values(d * 8 * h)
    let h0 = c.initialStates ? values(d * n * h, 1) : nil, c0 = c.initialStates ? values(d * n * h, 1) : nil
    let reversed = c.direction == "bidirectional" ? [false, true] : [c.direction == "reverse"]
    let (y, last) = Self.expected(x: x, w: w, r: r, b: b, h0: h0, c0: c0, reversed: reversed)
    // Batch-major: X [B, T, I], Y [B, T, D, H], states and Y_h [B, D, H].
    let batchMajor = c.layout == 1
    let xShape = batchMajor ? [n, t, i] : [t, n, i]
    let yShape = batchMajor ? [n, t, d, h] : [t, d, n, h], lastShape = batchMajor ? [n, d, h] : [d, n, h]
    let model = ModelWriter.model { g in
      g.message(1) { node in
        for input in ["x", "w", "r", "b", "", c.initialStates ? "h0" : "", c.initialStates ? "c0" : ""] {
          node.string(1, input)
        }
        for output in ["y", "y_h"] { node.string(2, output) }
        node.string(3, "lstm")
        node.string(4, "LSTM")
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
      }
      OpModels.initializer(&g, name: "w", dims: [d, 4 * h, i], floats: w)
      OpModels.initializer(&g, name: "r", dims: [d, 4 * h, h], floats: r)
      OpModels.initializer(&g, name: "b", dims: [d, 8 * h], floats: b)
      if let h0, let c0 {
        let stateDims = batchMajor ? [n, d, h] : [d, n, h]
        OpModels.initializer(
          &g, name: "h0", dims: stateDims, floats: batchMajor ? Self.permute(h0, [d, n, h], [1, 0, 2]) : h0)
        OpModels.initializer(
          &g, name: "c0", dims: stateDims, floats: batchMajor ? Self.permute(c0, [d, n, h], [1, 0, 2]) : c0)
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
