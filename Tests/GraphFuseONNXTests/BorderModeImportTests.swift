import Foundation
import GraphFuse
import Testing

@testable import GraphFuseONNX

/// Pad's border modes, bicubic Resize and 3-d convolutions with a unit kernel axis, which the
/// importer rewrites into existing ops: each runs on both backends and matches PyTorch's values
/// (hard-coded from `F.pad`, `F.interpolate(mode="bicubic")`) or a direct 3-d convolution.
@Suite("Border pads, bicubic resize and 3-d convolutions")
struct BorderModeImportTests {
  static func padModel(mode: String, pads: [Int], input: [Int], output: [Int]) -> [UInt8] {
    ModelWriter.model { g in
      OpModels.node(&g, op: "Pad", inputs: ["x", "pads"], strings: ["mode": mode])
      OpModels.initializer(&g, name: "pads", dims: [pads.count], ints: pads)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: input)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: output)
    }
  }

  /// `F.pad(arange(12).reshape(1, 1, 3, 4), (2, 3, 1, 2), mode)` in PyTorch.
  static let padded: [String: [Float]] = [
    "reflect": [
      6, 5, 4, 5, 6, 7, 6, 5, 4, 2, 1, 0, 1, 2, 3, 2, 1, 0, 6, 5, 4, 5, 6, 7, 6, 5, 4, 10, 9, 8, 9, 10, 11, 10, 9, 8,
      6, 5, 4, 5, 6, 7, 6, 5, 4, 2, 1, 0, 1, 2, 3, 2, 1, 0,
    ],
    "edge": [
      0, 0, 0, 1, 2, 3, 3, 3, 3, 0, 0, 0, 1, 2, 3, 3, 3, 3, 4, 4, 4, 5, 6, 7, 7, 7, 7, 8, 8, 8, 9, 10, 11, 11, 11, 11,
      8, 8, 8, 9, 10, 11, 11, 11, 11, 8, 8, 8, 9, 10, 11, 11, 11, 11,
    ],
    "wrap": [
      10, 11, 8, 9, 10, 11, 8, 9, 10, 2, 3, 0, 1, 2, 3, 0, 1, 2, 6, 7, 4, 5, 6, 7, 4, 5, 6, 10, 11, 8, 9, 10, 11, 8,
      9, 10, 2, 3, 0, 1, 2, 3, 0, 1, 2, 6, 7, 4, 5, 6, 7, 4, 5, 6,
    ],
  ]

  @Test(arguments: ["reflect", "edge", "wrap"])
  func borderPadMatchesPyTorch(_ mode: String) throws {
    let model = Self.padModel(mode: mode, pads: [0, 0, 1, 2, 0, 0, 2, 3], input: [1, 1, 3, 4], output: [1, 1, 6, 9])
    let x = Tensor(shape: [1, 1, 3, 4], data: (0..<12).map(Float.init))
    let (reference, compiled) = try OpModels.outputs(model, x)
    let expected = Tensor(shape: [1, 1, 6, 9], data: Self.padded[mode]!)
    #expect(reference.compared(to: expected).maxAbsoluteError == 0, "\(mode): \(reference.data)")
    #expect(compiled.compared(to: expected).maxAbsoluteError == 0, "\(mode): \(compiled.data)")
  }

  @Test func negativePadsCropBeforeTheBorder() throws {
    // Columns [0 1 2 3] cropped by 1 at the start, then reflected by 2 at the end: [1 2 3 2 1].
    let model = Self.padModel(mode: "reflect", pads: [0, -1, 0, 2], input: [2, 4], output: [2, 5])
    let x = Tensor(shape: [2, 4], data: (0..<8).map(Float.init))
    let (reference, compiled) = try OpModels.outputs(model, x)
    let expected: [Float] = [1, 2, 3, 2, 1, 5, 6, 7, 6, 5]
    #expect(reference.data == expected)
    #expect(compiled.data == expected)
  }

  @Test func reflectPastTheExtentIsRefused() throws {
    let model = Self.padModel(mode: "reflect", pads: [0, 4, 0, 0], input: [2, 4], output: [2, 8])
    let error = try #require(ONNXValidationTests.error(model))
    #expect(error.description.contains("node"), "\(error)")
    #expect(error.description.contains("must be under its extent 4"), "\(error)")
  }

  static func resizeModel(transform: String, input: [Int], sizes: [Int]) -> [UInt8] {
    ModelWriter.model { g in
      OpModels.node(
        &g, op: "Resize", inputs: ["x", "", "", "sizes"],
        strings: ["mode": "cubic", "coordinate_transformation_mode": transform], floats: ["cubic_coeff_a": -0.75])
      OpModels.initializer(&g, name: "sizes", dims: [4], ints: sizes)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: input)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: sizes)
    }
  }

  /// `F.interpolate(x, size, mode="bicubic", align_corners=…)` in PyTorch, x = `i² mod 7 − 3`.
  static let bicubic: [(String, [Int], [Float])] = [
    (
      "half_pixel", [1, 1, 3, 8],
      [
        -2.42591, -2.42221, -1.879901, -0.152539, 0.155738, -1.083074, -0.979548, -0.597101, 0.668924, -0.498402,
        -1.748747, -1.331476, -1.474823, -2.177643, -1.698059, -1.094666, -2.134571, -0.653509, 0.771444, -0.054472,
        -1.017423, -1.184249, -0.328607, 0.495734,
      ] as [Float]
    ),
    (
      "align_corners", [1, 1, 6, 3],
      [
        -3.0, 1.0, -1.0, -0.336, -1.88, 0.656, 1.056, -2.632, 0.392, -0.456, 0.392, -2.632, -1.604001, 0.656, -1.88,
        -2.0, -1.0, 1.0,
      ]
    ),
  ]

  @Test(arguments: bicubic)
  func bicubicResizeMatchesPyTorch(_ transform: String, _ sizes: [Int], _ values: [Float]) throws {
    let model = Self.resizeModel(transform: transform, input: [1, 1, 4, 5], sizes: sizes)
    let x = Tensor(shape: [1, 1, 4, 5], data: (0..<20).map { Float(($0 * $0) % 7 - 3) })
    let (reference, compiled) = try OpModels.outputs(model, x)
    let expected = Tensor(shape: sizes, data: values)
    #expect(reference.compared(to: expected).isWithin(relative: 1e-5), "\(transform): \(reference.data)")
    #expect(compiled.compared(to: expected).isWithin(relative: 1e-5), "\(transform): \(compiled.data)")
  }

  /// A direct 3-d convolution (no bias, one group): `x [N, C, D₀, D₁, D₂]`, `w [M, C, K₀, K₁, K₂]`.
  static func conv3d(_ x: Tensor, _ w: Tensor, strides: [Int], pads: [Int]) -> Tensor {
    let xs: [Int] = x.shape, ws: [Int] = w.shape
    var out: [Int] = []
    for a in 0..<3 { out.append((xs[2 + a] + pads[a] + pads[a + 3] - ws[2 + a]) / strides[a] + 1) }
    let y = Tensor(shape: [xs[0], ws[0]] + out, repeating: 0)
    var data: [Float] = y.data
    let outStrides = Tensor.strides(of: y.shape), xStrides = Tensor.strides(of: xs), wStrides = Tensor.strides(of: ws)
    for flat in 0..<data.count {
      let o: [Int] = outStrides.indices.map { (flat / outStrides[$0]) % y.shape[$0] }
      var sum: Float = 0
      for k in 0..<w.data.count / ws[0] {
        let c: Int = k / (ws[2] * ws[3] * ws[4])
        let kernel: [Int] = [(k / (ws[3] * ws[4])) % ws[2], (k / ws[4]) % ws[3], k % ws[4]]
        var xi: Int = o[0] * xStrides[0] + c * xStrides[1]
        var inside = true
        for a in 0..<3 {
          let i: Int = o[2 + a] * strides[a] + kernel[a] - pads[a]
          inside = inside && i >= 0 && i < xs[2 + a]
          xi += i * xStrides[2 + a]
        }
        if inside { sum += x.data[xi] * w.data[o[1] * wStrides[0] + k] }
      }
      data[flat] = sum
    }
    return Tensor(shape: y.shape, data: data)
  }

  /// Kernels with extent 1 along the last, the middle and the first spatial axis.
  @Test(arguments: [
    ([3, 3, 1], [1, 2, 1], [1, 0, 0, 1, 1, 0]), ([3, 1, 2], [2, 1, 1], [0, 0, 1, 1, 0, 0]),
    ([1, 2, 3], [1, 1, 2], [0, 1, 1, 0, 0, 1]),
  ])
  func convolutionWithAUnitKernelAxis(_ kernel: [Int], _ strides: [Int], _ pads: [Int]) throws {
    let xShape = [2, 2, 4, 5, 3], wShape = [3, 2] + kernel
    var random = SplitMix64(seed: 7)
    let x = Tensor(shape: xShape, data: (0..<xShape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &random) })
    let w = Tensor(shape: wShape, data: (0..<wShape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &random) })
    let expected = Self.conv3d(x, w, strides: strides, pads: pads)
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "Conv", inputs: ["x", "w"], lists: ["strides": strides, "pads": pads])
      OpModels.initializer(&g, name: "w", dims: wShape, floats: w.data)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: xShape)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: expected.shape)
    }
    let (reference, compiled) = try OpModels.outputs(model, x)
    #expect(reference.compared(to: expected).isWithin(relative: 1e-5), "\(reference.compared(to: expected))")
    #expect(compiled.compared(to: expected).isWithin(relative: 1e-5), "\(compiled.compared(to: expected))")
  }

  @Test func convolutionMixingThreeAxesIsRefused() throws {
    let model = ModelWriter.model { g in
      OpModels.node(&g, op: "Conv", inputs: ["x", "w"])
      OpModels.initializer(&g, name: "w", dims: [2, 1, 2, 2, 2], floats: [Float](repeating: 0.5, count: 16))
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: [1, 1, 3, 3, 3])
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: [1, 2, 2, 2, 2])
    }
    let error = try #require(ONNXValidationTests.error(model))
    #expect(error.description.contains("kernel extent of 1"), "\(error)")
    #expect(error.description.contains("[2, 2, 2]"), "\(error)")
  }
}
