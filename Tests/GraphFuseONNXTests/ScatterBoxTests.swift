import Foundation
import Testing

@testable import GraphFuse
@testable import GraphFuseONNX

/// ScatterND into data computed at run time (PyTorch's `x[…, a:b, c:d] = f(x[…, a:b, c:d])`, as
/// MViTv2's attention adds its relative positions): indices that cover a box in row-major order
/// become the updates padded to the data's shape and one `where` per axis the box does not span.
/// Both backends match the scatter computed here; other index sets are refused with the reason.
@Suite struct ScatterBoxTests {
  /// `y = ScatterND(x, indices, -x[starts..<ends])`, the negated slice written back over itself.
  static func model(shape: [Int], starts: [Int], ends: [Int], axes: [Int], indices: [Int], indexShape: [Int])
    -> [UInt8]
  {
    ModelWriter.model { g in
      OpModels.node(&g, op: "Slice", inputs: ["x", "starts", "ends", "axes"], name: "slice", output: "s")
      OpModels.node(&g, op: "Neg", inputs: ["s"], name: "neg", output: "u")
      OpModels.node(&g, op: "ScatterND", inputs: ["x", "indices", "u"], name: "scatter")
      OpModels.initializer(&g, name: "starts", dims: [starts.count], ints: starts)
      OpModels.initializer(&g, name: "ends", dims: [ends.count], ints: ends)
      OpModels.initializer(&g, name: "axes", dims: [axes.count], ints: axes)
      OpModels.initializer(&g, name: "indices", dims: indexShape, ints: indices)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: shape)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: shape)
    }
  }

  @Test func aBoxOfElementsAndABoxOfRows() throws {
    // Elements (k = 3): x[:, 1:4, 2:4] of a [2, 4, 5] tensor, each index a full coordinate.
    var indices: [Int] = []
    for b in 0..<2 { for i in 1..<4 { for j in 2..<4 { indices += [b, i, j] } } }
    let elements = Self.model(
      shape: [2, 4, 5], starts: [1, 2], ends: [4, 4], axes: [1, 2], indices: indices, indexShape: [2, 3, 2, 3])
    let x = Tensor.random(shape: [2, 4, 5], seed: 81)
    var expected = x.data
    for b in 0..<2 { for i in 1..<4 { for j in 2..<4 { expected[(b * 4 + i) * 5 + j] *= -1 } } }
    let (reference, compiled) = try OpModels.outputs(elements, x)
    #expect(reference.data == expected)
    #expect(compiled.data == expected)
    // Rows (k = 1): x[1:3] of a [4, 5] tensor, whole rows as slices.
    let rows = Self.model(shape: [4, 5], starts: [1], ends: [3], axes: [0], indices: [1, 2], indexShape: [2, 1])
    let y = Tensor.random(shape: [4, 5], seed: 82)
    let negated = y.data.enumerated().map { $0.offset / 5 == 1 || $0.offset / 5 == 2 ? -$0.element : $0.element }
    let (rowsReference, rowsCompiled) = try OpModels.outputs(rows, y)
    #expect(rowsReference.data == negated)
    #expect(rowsCompiled.data == negated)
  }

  @Test func indicesThatAreNoBoxAreRefused() throws {
    let gap = Self.model(shape: [4, 5], starts: [0], ends: [2], axes: [0], indices: [0, 2], indexShape: [2, 1])
    let error = try #require(ONNXValidationTests.error(gap))
    #expect(error.description.contains("'scatter'") && error.description.contains("need constant data"), "\(error)")
  }
}
