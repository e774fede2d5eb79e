import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// GroupNormalization, and PyTorch's export of `nn.GroupNorm` (a reshape, an InstanceNormalization
/// with a scale of ones and a bias of zeros, a reshape back, a per-channel scale and shift), import
/// as one `group_norm` and match a group norm computed directly in double precision.
@Suite("GroupNorm import")
struct GroupNormImportTests {
  /// `[n, c, h, w]` normalized in `groups` groups, then `x · gamma[c] + beta[c]`.
  static func groupNorm(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float]) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    let pixels = x.shape[2] * x.shape[3], size = c / groups * pixels
    var out = x.data
    for start in stride(from: 0, to: n * c * pixels, by: size) {
      let values = x.data[start..<start + size].map(Double.init)
      let mean = values.reduce(0, +) / Double(size)
      let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(size)
      for i in 0..<size {
        let channel = (start + i) / pixels % c
        let y = (values[i] - mean) / (variance + 1e-5).squareRoot()
        out[start + i] = Float(y * Double(gamma[channel]) + Double(beta[channel]))
      }
    }
    return Tensor(shape: x.shape, data: out)
  }

  @Test func pytorchExportFormBecomesOneGroupNorm() throws {
    let (c, groups) = (32, 4)
    let gamma = (0..<c).map { 0.5 + Float($0) / 32 }, beta = (0..<c).map { Float($0 % 5) / 10 - 0.2 }
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "Reshape", inputs: ["x", "grouped"], name: "reshape", output: "r")
      OpModels.node(
        &g, op: "InstanceNormalization", inputs: ["r", "ones", "zeros"], floats: ["epsilon": 1e-5], name: "norm",
        output: "nr")
      OpModels.node(&g, op: "Reshape", inputs: ["nr", "back"], name: "back", output: "b")
      OpModels.node(&g, op: "Mul", inputs: ["b", "gamma"], name: "mul", output: "m")
      OpModels.node(&g, op: "Add", inputs: ["m", "beta"], name: "add")
      OpModels.initializer(&g, name: "grouped", dims: [3], ints: [1, groups, -1])
      OpModels.initializer(&g, name: "back", dims: [4], ints: [1, c, 6, 5])
      OpModels.initializer(&g, name: "ones", dims: [groups], floats: [Float](repeating: 1, count: groups))
      OpModels.initializer(&g, name: "zeros", dims: [groups], floats: [Float](repeating: 0, count: groups))
      OpModels.initializer(&g, name: "gamma", dims: [c, 1, 1], floats: gamma)
      OpModels.initializer(&g, name: "beta", dims: [c, 1, 1], floats: beta)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, c, 6, 5])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, c, 6, 5])
    }
    let graph = try ONNXImporter.load(data: model, name: "m.onnx")
    let optimized = try graph.optimized().graph
    #expect(optimized.nodes.map(\.op) == ["group_norm", "mul", "add"], "\(optimized.nodes.map(\.op))")
    let x = Tensor.random(shape: [1, c, 6, 5], in: -2...3, seed: 61)
    let expected = Self.groupNorm(x, groups: groups, gamma: gamma, beta: beta)
    let (reference, compiled) = try OpModels.outputs(model, x)
    #expect(reference.compared(to: expected).isWithin(relative: 1e-5), "\(reference.compared(to: expected))")
    #expect(compiled.compared(to: expected).isWithin(relative: 1e-5), "\(compiled.compared(to: expected))")
  }

  @Test(arguments: ["group_norm18", "group_norm21"])
  func groupNormalizationRunsAsGroupNorm(_ name: String) throws {
    let graph = try ONNXImporter.load(path: Fixtures.path(name + ".onnx"))
    let optimized = try graph.optimized().graph
    #expect(optimized.nodes.filter { $0.op == "group_norm" }.map { $0.attributes.int("groups", default: 0) } == [3])
    #expect(!optimized.nodes.contains { $0.op == "layer_norm" })
  }
}
