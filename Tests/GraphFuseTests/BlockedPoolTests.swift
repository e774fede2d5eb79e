import Foundation
import Testing

@testable import GraphFuse

/// The blocked pool schedule (tiles of up to `BlockedKernels.poolTile` output pixels, checked
/// only at the padded borders) against the reference, on rows wide enough for several tiles and
/// borders of every kind: padding, ceil mode, dilation, stride, counted padding, 20 channels.
@Suite struct BlockedPoolTests {
  struct Pool: Sendable, CustomStringConvertible {
    var max: Bool, kernel: Int, stride: Int, pad: Int
    var ceil = false, dilation = 1, includePad = false
    var height = 23, width = 37
    var description: String {
      "\(max ? "max" : "avg") \(kernel)x\(kernel) s\(stride) p\(pad) d\(dilation)\(ceil ? " ceil" : "")"
        + "\(includePad ? " incl. pad" : "") at \(height)x\(width)"
    }
  }

  static let pools: [Pool] = [
    Pool(max: true, kernel: 3, stride: 1, pad: 1),
    Pool(max: true, kernel: 3, stride: 2, pad: 1),
    Pool(max: true, kernel: 3, stride: 2, pad: 0, ceil: true),
    Pool(max: true, kernel: 2, stride: 2, pad: 0, dilation: 2, height: 12, width: 30),
    Pool(max: false, kernel: 3, stride: 1, pad: 1),
    Pool(max: false, kernel: 3, stride: 1, pad: 1, includePad: true),
    Pool(max: false, kernel: 5, stride: 2, pad: 2, ceil: true, includePad: true),
    Pool(max: false, kernel: 2, stride: 2, pad: 0),
    Pool(max: true, kernel: 7, stride: 1, pad: 3, height: 9, width: 9),
  ]

  @Test(arguments: pools) func poolMatchesTheReference(_ p: Pool) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 8, p.height, p.width])
    // A conv first so the pool reads a blocked tensor with 20 channels (4 padding lanes).
    let c = try b.conv2d(x, weight: CompiledTesting.weight(b, [20, 8, 3, 3], seed: 1), padding: 1)
    var attributes: Attributes = [
      "kernel_shape": .ints([p.kernel, p.kernel]), "strides": .ints([p.stride, p.stride]),
      "pads": .ints([p.pad, p.pad, p.pad, p.pad]), "dilations": .ints([p.dilation, p.dilation]),
      "ceil_mode": .int(p.ceil ? 1 : 0),
    ]
    if !p.max { attributes["count_include_pad"] = .int(p.includePad ? 1 : 0) }
    let pooled = try b.apply(p.max ? "max_pool2d" : "avg_pool2d", [c], attributes)[0]
    b.output(try b.relu(pooled))
    let graph = try b.finish()
    let input = Tensor.random(shape: [1, 8, p.height, p.width], seed: 2)
    let models = try CompiledTesting.fusedAndUnfusedMatchReference(graph, inputs: [input], context: "\(p)")
    let kinds = try #require(models.first).model.program.schedules.joined().map(\.kind)
    #expect(kinds.contains(.pool), "\(p): \(kinds)")
  }
}
