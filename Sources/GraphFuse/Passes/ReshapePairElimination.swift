/// Removes a pair of reshapes around one broadcast op with a constant operand:
/// `reshape(op(reshape(x), c))`, the outer reshape giving back `x`'s shape, becomes `op(x, c′)`.
/// A reshape moves no data, so `c′` is `c` broadcast to the inner shape and read in `x`'s shape,
/// then shrunk to size 1 along every axis it is constant on.
///
/// Swin's shifted-window attention adds its window mask this way: the scores `[B·W, H, N, N]`
/// become `[B, W, H, N, N]` so that the mask `[1, W, 1, N, N]` broadcasts over images and heads,
/// then go back for the softmax. Without the reshapes the mask is an ordinary operand of the
/// scores' tail (`[B·W, 1, N, N]`) and the attention chain fuses into one kernel.
let removeReshapePairsPass = Pass("removeReshapePairs") { (ctx: inout PassContext) in
  var graph = ctx.graph
  let consumers = graph.consumers()
  var removed = Set<NodeID>()
  for outer in graph.nodes.ids where graph.nodes[outer].op == "reshape" {
    let middle = graph.nodes[outer].inputs[0]
    guard let m = graph.producer(of: middle), !removed.contains(m), consumers[middle.index] == [outer],
      !graph.isOutput(middle), !graph.isOutput(graph.nodes[outer].outputs[0])
    else { continue }
    let op = graph.nodes[m]
    guard op.inputs.count == 2, op.outputs.count == 1, OpRegistry.pattern(of: op) == .broadcast else { continue }
    for (side, other) in [(0, 1), (1, 0)] {
      let inner = op.inputs[side]
      guard let r = graph.producer(of: inner), graph.nodes[r].op == "reshape", consumers[inner.index] == [m],
        !graph.isOutput(inner), let c = graph.constant(op.inputs[other])
      else { continue }
      let x = graph.nodes[r].inputs[0], shape = graph.shape(of: x)
      guard graph.shape(of: graph.nodes[outer].outputs[0]) == shape, graph.shape(of: middle) == graph.shape(of: inner),
        let reduced = ReshapedOperand.make(c, broadcastTo: graph.shape(of: inner), readAs: shape)
      else { continue }
      let constant = graph.addConstant(reduced, name: op.name + ".reshaped")
      var inputs = op.inputs
      inputs[side] = x
      inputs[other] = constant
      graph.nodes[m].inputs = inputs
      graph.values[middle].shape = shape
      graph.replaceUses(of: graph.nodes[outer].outputs[0], with: middle)
      removed.formUnion([r, outer])
      break
    }
  }
  ctx.graph = graph.removingNodes(removed)
}

/// The constant operand of a broadcast op moved across a reshape of the other operand.
enum ReshapedOperand {
  /// The most elements a materialized operand may have (64 MB of floats).
  static let limit = 1 << 24

  /// `c` broadcast to `inner`, read as `shape` (same element count), then shrunk to size 1 along
  /// every axis it is constant on; nil when `c` does not broadcast to `inner` or the operand
  /// would pass ``limit``.
  static func make(_ c: Tensor, broadcastTo inner: [Int], readAs shape: [Int]) -> Tensor? {
    let count = inner.reduce(1, *)
    guard count == shape.reduce(1, *), count <= limit, Broadcasting.shape(inner, c.shape) == inner else { return nil }
    let full = Broadcasting.evaluate(.operand(0), [c], outShape: inner).data
    var tensor = Tensor(shape: shape, data: full)
    for axis in shape.indices where tensor.shape[axis] > 1 && isConstant(tensor, along: axis) {
      tensor = first(tensor, along: axis)
    }
    return tensor
  }

  /// Whether every slice of `t` along `axis` equals the first.
  static func isConstant(_ t: Tensor, along axis: Int) -> Bool {
    let inner = t.shape[(axis + 1)...].reduce(1, *), size = t.shape[axis]
    let outer = t.shape[..<axis].reduce(1, *)
    for o in 0..<outer {
      let base = o * size * inner
      for k in 1..<size where t.data[(base + k * inner)..<(base + (k + 1) * inner)] != t.data[base..<(base + inner)] {
        return false
      }
    }
    return true
  }

  /// The first slice of `t` along `axis` (that axis of size 1).
  static func first(_ t: Tensor, along axis: Int) -> Tensor {
    let inner = t.shape[(axis + 1)...].reduce(1, *), size = t.shape[axis]
    let outer = t.shape[..<axis].reduce(1, *)
    var data: [Float] = []
    data.reserveCapacity(outer * inner)
    for o in 0..<outer { data += t.data[(o * size * inner)..<(o * size * inner + inner)] }
    var shape = t.shape
    shape[axis] = 1
    return Tensor(shape: shape, data: data)
  }
}
