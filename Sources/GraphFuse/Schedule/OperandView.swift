/// A group that only re-indexes one value (slices, reshapes, transposes, squeezes, at most a
/// multiply by a constant scalar), seen as a strided view of that value: element `idx` of the
/// group's output is `scale · source[offset + Σ idx[a] · strides[a]]`. Transformers split their
/// fused QKV projection into Q, K and V this way (ViT, Swin, MaxViT: `slice → reshape →
/// transpose`, Q or K scaled); the attention kernel reads such an operand in place through its
/// strides instead of from a copy a kernel of its own writes (``Scheduler/foldOperandView(_:)``).
///
/// The view is found by lowering the group at a symbolic index (``GroupLowering``) and proving the
/// load's offset affine over the output's axes (``AffineIndex``): any chain of layout ops whose
/// composition is a strided view qualifies, whatever ops spell it.
struct OperandView: Equatable {
  /// The value read.
  var source: ValueID
  /// Elements of `source` per step of each output axis (0 on axes of extent 1).
  var strides: [Int]
  /// The element of `source` at output index 0.
  var offset: Int
  /// A constant factor every element is multiplied by (1 when none).
  var scale: Double

  /// The view `group` is, or nil: one output, every member injective or a multiply by a constant
  /// scalar, its output one load of one non-constant input at an affine offset (times the constants).
  static func of(_ graph: Graph, group: FusedGroup) -> OperandView? {
    guard group.outputs.count == 1,
      group.nodes.allSatisfy({ n in
        let node = graph.nodes[n]
        if OpRegistry.pattern(of: node) == .injective { return true }
        return node.op == "mul" && node.inputs.contains { graph.constant($0)?.count == 1 }
      })
    else { return nil }
    let out = group.outputs[0]
    let shape = graph.shape(of: out)
    var lowering = GroupLowering(graph: graph, group: group)
    let variables = shape.indices.map { "i\($0)" }
    let idx: [IndexExpr] = shape.indices.map { shape[$0] == 1 ? .constant(0) : .variable(variables[$0]) }
    guard let e = try? lowering.value(out, at: idx), lowering.prelude.isEmpty else { return nil }
    var valueOf: [String: ValueID] = [:]
    for (v, name) in lowering.names { valueOf[name] = v }
    // The expression: loads multiplied together, exactly one of a non-constant value.
    var factors: [ValueExpr] = []
    func collect(_ e: ValueExpr) -> Bool {
      switch e {
      case .binary(.mul, let a, let b): return collect(a) && collect(b)
      case .load: factors.append(e); return true
      default: return false
      }
    }
    guard collect(e) else { return nil }
    var scale = 1.0
    var read: (ValueID, IndexExpr)? = nil
    for factor in factors {
      guard case .load(let name, let index) = factor, let v = valueOf[name] else { return nil }
      if let c = graph.constant(v), c.count == 1 {
        scale *= Double(c.data[0])
      } else {
        guard read == nil else { return nil }
        read = (v, index)
      }
    }
    var extents: [String: Int] = [:]
    for a in shape.indices where shape[a] != 1 { extents[variables[a]] = shape[a] }
    guard let (source, index) = read, let affine = AffineIndex(index, extents: extents) else { return nil }
    let strides = shape.indices.map { shape[$0] == 1 ? 0 : affine.terms[variables[$0], default: 0] }
    return OperandView(source: source, strides: strides, offset: affine.constant, scale: scale)
  }
}
