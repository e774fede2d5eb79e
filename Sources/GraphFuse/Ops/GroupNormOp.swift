/// group_norm {groups, epsilon}: `x` `[N, C, H, W]` with its `C` channels in `groups` groups of
/// consecutive channels; each image's group normalized over its channels and pixels to zero mean
/// and unit (biased) variance, then each channel scaled and shifted by the optional `scale` and
/// `bias` (`C` values each). ONNX's GroupNormalization (opset 21) and InstanceNormalization
/// (`groups` = `C`); PyTorch exports `nn.GroupNorm` as a reshape, an instance norm and a reshape,
/// which the `groupNorm` pass turns back into this op.
enum GroupNorm {
  static func groups(_ a: Attributes) -> Int { a.int("groups", default: 1) }

  static let definition = OpDefinition(
    name: "group_norm", arity: 1...3, pattern: { _ in .outEWiseFusable },
    inferShapes: { q throws(GraphFuseError) in
      let x = q.shape(0)
      guard x.count == 4 else { throw q.error("needs an input [N, C, H, W], got \(x)") }
      let g = groups(q.attributes)
      guard g >= 1, x[1] % g == 0 else { throw q.error("\(x[1]) channels do not split into \(g) groups") }
      for k in 1..<q.inputs.count where q.shape(k).reduce(1, *) != x[1] {
        throw q.error("\(k == 1 ? "scale" : "bias") of shape \(q.shape(k)) does not have \(x[1]) values")
      }
      return [x]
    },
    reference: { ctx in
      let x = ctx.inputs[0]
      let (n, c) = (x.shape[0], x.shape[1])
      let pixels = x.shape[2] * x.shape[3]
      let g = groups(ctx.attributes), perGroup = c / g
      let epsilon = ctx.attributes.float("epsilon", default: 1e-5)
      let count = Double(perGroup * pixels)
      var out = x.data
      for image in 0..<n {
        for group in 0..<g {
          let base = (image * c + group * perGroup) * pixels
          let elements = base..<base + perGroup * pixels
          let mean = elements.reduce(0.0) { $0 + Double(x.data[$1]) } / count
          let variance = elements.reduce(0.0) { s, i in s + (Double(x.data[i]) - mean) * (Double(x.data[i]) - mean) }
          let rstd = 1 / (variance / count + epsilon).squareRoot()
          for i in elements {
            let channel = group * perGroup + (i - base) / pixels
            let scale = ctx.inputs.count > 1 ? Double(ctx.inputs[1].data[channel]) : 1
            let bias = ctx.inputs.count > 2 ? Double(ctx.inputs[2].data[channel]) : 0
            out[i] = Float((Double(x.data[i]) - mean) * rstd * scale + bias)
          }
        }
      }
      return [Tensor(shape: x.shape, data: out)]
    }
  ).withFlops { i, _, _ in 8 * i[0].reduce(1, *) }
}
