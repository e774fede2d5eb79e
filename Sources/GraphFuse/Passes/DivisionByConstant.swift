/// A float `div` whose divisor is a constant becomes a `mul` by the divisor's reciprocal, computed
/// once here, as TVM's `DivToMul` and OpenVINO's `ConvertDivide` do. A vector division costs 10–16
/// cycles of the divider a vector where a multiplication costs half a cycle; GELU's `x / √2` is one
/// per output element of every transformer's MLP-up matmul. The product is within one rounding of
/// the quotient (exact when the divisor is a power of two).
///
/// Applies when the output is float32, the divisor is a float32 constant whose elements are finite
/// and nonzero with finite, normal reciprocals, and nothing reads the quotient that rounds it to a
/// whole number or compares it (`floor`, `cast`, `mod`, `equal`, …): there one rounding could move
/// an exact whole quotient across the step. A constant shared by several divisions gets one
/// reciprocal. Part of folding: the `unfused` configuration keeps its divisions.
let divisionByConstantPass = Pass("divisionByConstant") { (ctx: inout PassContext) in
  guard ctx.options.fold else { return }
  var graph = ctx.graph
  let consumers = graph.consumers()
  var reciprocals: [ValueID: ValueID] = [:]
  for index in graph.nodes.ids where graph.nodes[index].op == "div" {
    let node = graph.nodes[index]
    guard node.inputs.count == 2, graph.dataType(of: node.outputs[0]) == .float32,
      graph.dataType(of: node.inputs[1]) == .float32, let divisor = graph.constant(node.inputs[1]),
      consumers[node.outputs[0].index].allSatisfy({ !DivisionByConstant.roundingReaders.contains(graph.nodes[$0].op) })
    else { continue }
    if reciprocals[node.inputs[1]] == nil {
      guard let inverse = DivisionByConstant.reciprocal(of: divisor) else { continue }
      reciprocals[node.inputs[1]] = graph.addConstant(inverse, name: graph.values[node.inputs[1]].name + ".reciprocal")
    }
    graph.nodes[index].op = "mul"
    graph.nodes[index].inputs[1] = reciprocals[node.inputs[1]]!
  }
  // A divisor nothing else reads is dropped by dead-code elimination.
  ctx.graph = graph
}

/// The rules of ``divisionByConstantPass``.
enum DivisionByConstant {
  /// Ops whose result can jump when their operand moves by one rounding: they keep reading a quotient.
  static let roundingReaders: Set<String> = [
    "floor", "ceil", "round", "trunc", "cast", "cast_to_bool", "mod", "equal", "less", "less_equal", "greater",
    "greater_equal", "not", "and", "or", "xor", "where",
  ]

  /// `1 / c` for every element, each rounded once from double; nil if an element is zero, not
  /// finite, or has a reciprocal that is not a finite normal float.
  static func reciprocal(of divisor: Tensor) -> Tensor? {
    var data = [Float]()
    data.reserveCapacity(divisor.count)
    for c in divisor.data {
      guard c.isFinite, c != 0 else { return nil }
      let r = Float(1 / Double(c))
      guard r.isFinite, r.isNormal else { return nil }
      data.append(r)
    }
    return Tensor(shape: divisor.shape, data: data)
  }
}
