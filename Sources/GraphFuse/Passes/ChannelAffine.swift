/// Folding `y = producer(x)·s[c] + t[c]` into the producer's weight and bias — the one mechanism
/// behind batch-norm folding and conv/dense mul-add folding.
///
/// Producers: conv2d (weight `[O, C/g, kh, kw]`, row `o` scales), conv_transpose2d (weight
/// `[C_in, C_out/g, kh, kw]`, element `[i, j, …]` feeds channel `(i / (C_in/g))·(C_out/g) + j`) and
/// gemm (output column `n`: row `n` of B when `transB`, else column `n`). Fresh constants are
/// written, computed in Double and stored as Float; the old weight is never changed in place, so a
/// weight shared with another op stays as it was for that op.
enum ChannelAffine {
  /// The ops whose output channels can absorb a per-channel affine map.
  static let producers: Set<String> = ["conv2d", "conv_transpose2d", "gemm"]

  /// The number of output channels of a producer node.
  static func channels(_ graph: Graph, _ node: Node) -> Int {
    graph.shape(of: node.outputs[0])[1]
  }

  /// For each weight element, the output channel it feeds.
  static func channelOfWeight(_ node: Node, weightShape w: [Int]) -> (Int) -> Int {
    switch node.op {
    case "conv2d":
      let perRow = w.dropFirst().reduce(1, *)
      return { $0 / perRow }
    case "conv_transpose2d":
      let groups = node.attributes.int("group", default: 1)
      let inPerGroup = w[0] / groups, outPerGroup = w[1], spatial = w[2] * w[3]
      return { e in
        let i = e / (outPerGroup * spatial), j = (e / spatial) % outPerGroup
        return (i / inPerGroup) * outPerGroup + j
      }
    default:  // gemm
      if node.attributes.bool("transB", default: false) {
        let k = w[1]
        return { $0 / k }
      }
      let n = w[1]
      return { $0 % n }
    }
  }

  /// Rewrites producer node `index` so its output becomes `output·scale[c] + shift[c]`.
  /// The caller has checked legality (constant weight, single consumer).
  static func fold(into index: NodeID, scale: [Double], shift: [Double], graph: inout Graph) {
    let node = graph.nodes[index]
    let weightID = node.inputs[1]
    let weight = graph.constant(weightID)!
    let channelOf = channelOfWeight(node, weightShape: weight.shape)
    var newWeight = weight
    for e in 0..<weight.count { newWeight.data[e] = Float(Double(weight.data[e]) * scale[channelOf(e)]) }
    var inputs = node.inputs
    inputs[1] = graph.addConstant(newWeight, name: graph.values[weightID].name + ".folded")
    var attributes = node.attributes
    let channels = scale.count
    let newBias: Tensor
    if node.op == "gemm" {
      // Y·s + t = alpha·A'·(B'·s) + (beta·C·s + t); C' keeps C's rows when it has them.
      let beta = node.attributes.float("beta", default: 1)
      let m = graph.shape(of: node.outputs[0])[0]
      if inputs.count > 2, let c = graph.constant(inputs[2]) {
        let rows = c.rank == 2 && c.shape[0] == m && m > 1 ? m : 1
        let full = Broadcasting.evaluate(.operand(0), [c], outShape: [rows, channels])
        newBias = Tensor(
          shape: rows == 1 ? [channels] : [rows, channels],
          data: (0..<(rows * channels)).map { e in
            Float(beta * Double(full.data[e]) * scale[e % channels] + shift[e % channels])
          })
      } else {
        newBias = Tensor(shift.map(Float.init))
      }
      attributes["beta"] = .float(1)
    } else {
      let old =
        inputs.count > 2 ? graph.constant(inputs[2])!.data.map(Double.init) : [Double](repeating: 0, count: channels)
      newBias = Tensor((0..<channels).map { Float(old[$0] * scale[$0] + shift[$0]) })
    }
    let biasName = node.name + ".bias.folded"
    let biasID = graph.addConstant(newBias, name: biasName)
    if inputs.count > 2 { inputs[2] = biasID } else { inputs.append(biasID) }
    graph.nodes[index].inputs = inputs
    graph.nodes[index].attributes = attributes
  }

  /// Whether the producer's weight (and bias, if any) are constants.
  static func hasConstantParameters(_ graph: Graph, _ node: Node) -> Bool {
    node.inputs.dropFirst().allSatisfy { graph.constant($0) != nil }
  }

  /// A constant that broadcasts per output channel (axis 1) against `outShape`, as a vector of
  /// `channels` values; nil when it varies along any other axis.
  static func perChannel(_ c: Tensor, outShape: [Int]) -> [Double]? {
    guard c.rank <= outShape.count, outShape.count >= 2 else { return nil }
    let aligned = [Int](repeating: 1, count: outShape.count - c.rank) + c.shape
    let channels = outShape[1]
    guard
      aligned.enumerated().allSatisfy({ $0.offset == 1 ? ($0.element == channels || $0.element == 1) : $0.element == 1 }
      )
    else { return nil }
    return aligned[1] == 1 ? [Double](repeating: Double(c.data[0]), count: channels) : c.data.map(Double.init)
  }
}
