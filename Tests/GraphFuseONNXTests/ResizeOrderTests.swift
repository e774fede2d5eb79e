import Foundation
import Testing

@testable import GraphFuse
@testable import GraphFuseONNX

/// A bilinear upsampling (DeepLabV3's logits, 14² → 112²) imports with the width taps first, and
/// fusion keeps them out of the height taps' group: inlined, they were recomputed for each of the
/// 2 × 8 reads of every value, in gathered loads. Both backends match `F.interpolate(…,
/// mode="bilinear", align_corners=False)` computed here directly; a downsampling keeps the height first.
@Suite struct ResizeOrderTests {
  static func model(input: [Int], sizes: [Int]) -> [UInt8] {
    ModelWriter.model { g in
      OpModels.node(
        &g, op: "Resize", inputs: ["x", "", "", "sizes"],
        strings: ["mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"])
      OpModels.initializer(&g, name: "sizes", dims: [4], ints: sizes)
      ModelWriter.valueInfo(&g, field: 11, name: "x", dims: input)
      ModelWriter.valueInfo(&g, field: 12, name: "y", dims: sizes)
    }
  }

  /// PyTorch's bilinear interpolation with half-pixel centers: the width first, then the height.
  static func bilinear(_ x: Tensor, to size: (h: Int, w: Int)) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    func taps(_ o: Int, _ out: Int, _ extent: Int) -> (Int, Int, Float, Float) {
      let p = max(0, (Double(o) + 0.5) * Double(extent) / Double(out) - 0.5)
      let i0 = min(Int(p), extent - 1), i1 = min(i0 + 1, extent - 1)
      let l1 = Float(p - Double(i0))
      return (i0, i1, 1 - l1, l1)
    }
    var data = [Float](repeating: 0, count: n * c * size.h * size.w)
    for plane in 0..<(n * c) {
      for oy in 0..<size.h {
        let (y0, y1, wy0, wy1) = taps(oy, size.h, h)
        for ox in 0..<size.w {
          let (x0, x1, wx0, wx1) = taps(ox, size.w, w)
          func at(_ y: Int, _ xx: Int) -> Float { x.data[(plane * h + y) * w + xx] }
          let top = wx0 * at(y0, x0) + wx1 * at(y0, x1), bottom = wx0 * at(y1, x0) + wx1 * at(y1, x1)
          data[(plane * size.h + oy) * size.w + ox] = wy0 * top + wy1 * bottom
        }
      }
    }
    return Tensor(shape: [n, c, size.h, size.w], data: data)
  }

  @Test func upsamplingRunsTheWidthFirstInAGroupOfItsOwn() throws {
    let model = Self.model(input: [1, 21, 14, 14], sizes: [1, 21, 112, 112])
    let graph = try ONNXImporter.load(data: model, name: "up.onnx")
    let gathers = graph.nodes.filter { $0.op == "gather" }
    #expect(gathers.map { $0.attributes.int("axis", default: -1) } == [3, 3, 2, 2])
    let optimized = try graph.optimized()
    func group(axis: Int) -> Int? {
      let node = optimized.graph.nodes.firstIndex {
        $0.op == "gather" && $0.attributes.int("axis", default: -1) == axis
      }
      return node.flatMap { n in optimized.plan.groups.firstIndex { $0.nodes.contains(NodeID(n)) } }
    }
    #expect(group(axis: 3) != nil && group(axis: 3) != group(axis: 2), "the width taps are written once")
    let x = Tensor.random(shape: [1, 21, 14, 14], seed: 71)
    let (reference, compiled) = try OpModels.outputs(model, x)
    let expected = Self.bilinear(x, to: (112, 112))
    #expect(reference.compared(to: expected).isWithin(relative: 1e-6), "\(reference.compared(to: expected))")
    #expect(compiled.compared(to: expected).isWithin(relative: 1e-6), "\(compiled.compared(to: expected))")
  }

  @Test func downsamplingKeepsTheHeightFirst() throws {
    let model = Self.model(input: [1, 3, 20, 20], sizes: [1, 3, 10, 8])
    let graph = try ONNXImporter.load(data: model, name: "down.onnx")
    #expect(graph.nodes.filter { $0.op == "gather" }.map { $0.attributes.int("axis", default: -1) } == [2, 2, 3, 3])
    let x = Tensor.random(shape: [1, 3, 20, 20], seed: 72)
    let (_, compiled) = try OpModels.outputs(model, x)
    #expect(compiled.compared(to: Self.bilinear(x, to: (10, 8))).isWithin(relative: 1e-6))
  }
}
