import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// ONNX ops the importer writes as compositions of IR ops: each, on both backends, against its
/// ONNX definition computed directly in double precision, over values that include zero, both
/// signs and magnitudes where a naive formula overflows.
@Suite("Composed ONNX ops")
struct ComposedOpsImportTests {
  static let values: [Float] = [-90, -20, -3.5, -1, -0.25, 0, 0.125, 0.75, 1, 2.5, 20, 95]

  struct Case: Sendable, CustomStringConvertible {
    let op: String
    var floats: [String: Float] = [:]
    let definition: @Sendable (Double) -> Double
    var description: String { op + (floats.isEmpty ? "" : " \(floats)") }
  }

  static let elementwise: [Case] = [
    Case(op: "Elu", floats: ["alpha": 0.7]) { $0 > 0 ? $0 : 0.7 * (exp($0) - 1) },
    Case(op: "Selu") { 1.0507009873554805 * ($0 > 0 ? $0 : 1.6732632423543772 * (exp($0) - 1)) },
    Case(op: "Celu", floats: ["alpha": 2]) { max(0, $0) + min(0, 2 * (exp($0 / 2) - 1)) },
    Case(op: "ThresholdedRelu", floats: ["alpha": 0.5]) { $0 > 0.5 ? $0 : 0 },
    Case(op: "Softplus") { log(1 + exp($0)) },
    Case(op: "Softsign") { $0 / (1 + abs($0)) },
    Case(op: "Mish") { $0 * tanh(log(1 + exp($0))) },
    Case(op: "Reciprocal") { 1 / $0 },
    Case(op: "Sign") { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 },
  ]

  static func run(_ model: [UInt8], _ x: Tensor, expected: Tensor, _ what: String) throws {
    let (reference, compiled) = try OpModels.outputs(model, x)
    let r = reference.compared(to: expected), c = compiled.compared(to: expected)
    #expect(r.isWithin(relative: 1e-6) && !r.nanMismatch, "\(what) reference: \(r) \(reference.data)")
    #expect(c.isWithin(relative: 1e-6) && !c.nanMismatch, "\(what) compiled: \(c) \(compiled.data)")
  }

  @Test(arguments: elementwise)
  func activationMatchesItsDefinition(_ c: Case) throws {
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: c.op, inputs: ["x"], floats: c.floats)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 6])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [2, 6])
    }
    // Reciprocal of 0 is inf on both sides; compare it apart from the finite values.
    let values = c.op == "Reciprocal" ? Self.values.map { $0 == 0 ? 4 : $0 } : Self.values
    let x = Tensor(shape: [2, 6], data: values)
    let expected = Tensor(shape: [2, 6], data: values.map { Float(c.definition(Double($0))) })
    try Self.run(model, x, expected: expected, c.description)
  }

  @Test func preluSlopesFollowTheChannels() throws {
    let slopes: [Float] = [0.1, -0.5, 2]
    for dims in [[3], [3, 1, 1]] {
      let model = ModelWriter.model { g in
        OpModels.node(&g, op: "PRelu", inputs: ["x", "slope"])
        OpModels.initializer(&g, name: "slope", dims: dims, floats: slopes)
        ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 3, 2, 2])
        ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 3, 2, 2])
      }
      let x = Tensor(shape: [1, 3, 2, 2], data: Self.values)
      let expected = Tensor(
        shape: [1, 3, 2, 2], data: Self.values.enumerated().map { $1 < 0 ? $1 * slopes[$0 / 4] : $1 })
      try Self.run(model, x, expected: expected, "PRelu slope \(dims)")
    }
  }

  @Test func meanOfThreeInputs() throws {
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "Mean", inputs: ["x", "b", "c"])
      OpModels.initializer(&g, name: "b", dims: [6], floats: [1, 2, 3, 4, 5, 6])
      OpModels.initializer(&g, name: "c", dims: [2, 1], floats: [-3, 3])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 6])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [2, 6])
    }
    let x = Tensor(shape: [2, 6], data: Self.values)
    let expected = Tensor(
      shape: [2, 6], data: Self.values.enumerated().map { (Float($0 % 6 + 1) + $1 + ($0 < 6 ? -3 : 3)) / 3 })
    try Self.run(model, x, expected: expected, "Mean")
  }

  /// Reductions over axis 1 of a [2, 6] input, kept and dropped.
  @Test(arguments: ["ReduceMin", "ReduceL1", "ReduceLogSumExp", "LogSoftmax"], [0, 1])
  func reductionMatchesItsDefinition(_ op: String, _ keep: Int) throws {
    let shifted = Self.values.map { $0 / 4 }  // e^95 overflows a float sum; e^23.75 does not
    let rows = [Array(shifted[0..<6]), Array(shifted[6..<12])].map { $0.map(Double.init) }
    let outDims = op == "LogSoftmax" ? [2, 6] : keep == 1 ? [2, 1] : [2]
    let model = ModelWriter.model { g in
      if op == "LogSoftmax" {
        OpModels.node(&g, op: op, inputs: ["x"], ints: ["axis": 1])
      } else {
        OpModels.node(&g, op: op, inputs: ["x"], ints: ["keepdims": keep], lists: ["axes": [1]])
      }
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 6])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: outDims)
    }
    let expected: [Double] = rows.flatMap { row -> [Double] in
      let logSum = log(row.map { exp($0) }.reduce(0, +))
      switch op {
      case "ReduceMin": return [row.min()!]
      case "ReduceL1": return [row.map(abs).reduce(0, +)]
      case "ReduceLogSumExp": return [logSum]
      default: return row.map { $0 - logSum }
      }
    }
    let x = Tensor(shape: [2, 6], data: shifted)
    try Self.run(model, x, expected: Tensor(shape: outDims, data: expected.map(Float.init)), "\(op) keep \(keep)")
  }

  /// DepthToSpace in both orders and SpaceToDepth, against ONNX's index definitions.
  @Test(arguments: ["DCR", "CRD", "SpaceToDepth"])
  func depthAndSpaceMoveTheRightElements(_ mode: String) throws {
    let (n, c, h, w, b) = (1, 8, 2, 3, 2)
    let toSpace = mode != "SpaceToDepth"
    let inDims = toSpace ? [n, c, h, w] : [n, c / (b * b), h * b, w * b]
    let outDims = toSpace ? [n, c / (b * b), h * b, w * b] : [n, c, h, w]
    let model = ModelWriter.model { g in
      OpModels.node(
        &g, op: toSpace ? "DepthToSpace" : "SpaceToDepth", inputs: ["x"], strings: toSpace ? ["mode": mode] : [:],
        ints: ["blocksize": b])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: inDims)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: outDims)
    }
    let x = Tensor(shape: inDims, data: (0..<inDims.reduce(1, *)).map(Float.init))
    // Output (channel oc, row oy, column ox) of DepthToSpace reads input channel
    // DCR: (oy % b · b + ox % b) · C' + oc, CRD: oc · b² + oy % b · b + ox % b at (oy / b, ox / b);
    // SpaceToDepth is DCR's inverse.
    var expected = [Float](repeating: 0, count: outDims.reduce(1, *))
    let small = c / (b * b)
    for oc in 0..<small {
      for oy in 0..<(h * b) {
        for ox in 0..<(w * b) {
          let block = (oy % b) * b + ox % b
          let ic = mode == "CRD" ? oc * b * b + block : block * small + oc
          let deep = (ic * h + oy / b) * w + ox / b, wide = (oc * h * b + oy) * w * b + ox
          if toSpace { expected[wide] = Float(deep) } else { expected[deep] = Float(wide) }
        }
      }
    }
    try Self.run(model, x, expected: Tensor(shape: outDims, data: expected), mode)
  }

  /// ArgMax and ArgMin with ties (first or last index), kept or dropped axes, along either axis.
  @Test(arguments: ["ArgMax", "ArgMin"], [(0, 1, 0), (1, 0, 0), (1, 1, 1), (0, 0, 1)])
  func argExtremeFindsTheRightIndex(_ op: String, _ form: (axis: Int, keep: Int, last: Int)) throws {
    let values: [Float] = [3, -1, 7, 7, 0, -1, 2, 9, 9, -4, 2, -4]  // [2, 6], ties in both rows
    let rows = [Array(values[0..<6]), Array(values[6..<12])]
    let lines: [[Float]] = form.axis == 1 ? rows : (0..<6).map { [rows[0][$0], rows[1][$0]] }
    let expected: [Float] = lines.map { line in
      let target = op == "ArgMax" ? line.max()! : line.min()!
      let hits = line.indices.filter { line[$0] == target }
      return Float(form.last == 1 ? hits.last! : hits.first!)
    }
    let kept = form.axis == 1 ? [2, 1] : [1, 6], dropped = form.axis == 1 ? [2] : [6]
    let outDims = form.keep == 1 ? kept : dropped
    let model = ModelWriter.model { g in
      OpModels.node(
        &g, op: op, inputs: ["x"], ints: ["axis": form.axis, "keepdims": form.keep, "select_last_index": form.last])
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [2, 6])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: outDims, type: 7)
    }
    let graph = try ONNXImporter.load(data: model, name: "arg.onnx")
    #expect(graph.dataType(of: graph.outputs[0]) == .int64)
    try Self.run(
      model, Tensor(shape: [2, 6], data: values), expected: Tensor(shape: outDims, data: expected), "\(op) \(form)")
  }
}
