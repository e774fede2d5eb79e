import GraphFuse

/// Evaluates IR ops whose inputs are all known at import time.
///
/// Float constants run through the op registry's reference kernels (`ReferenceExecutor`) (after the registry's own
/// shape inference has validated them). Integer constants — shapes, axes, indices — stay exact:
/// injective ops (reshape, gather, concat, slice, …) are run on a tensor of element *indices*
/// and the result maps back to the integers, so `9223372036854775807` survives a Concat;
/// integer arithmetic is done in `Int` with overflow checks.
enum ConstantFolder {
  /// Ops that only move elements around; integers go through them by index.
  static let injective: Set<String> = [
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "concat", "slice", "pad", "gather", "identity",
  ]

  static func evaluate(_ op: String, _ inputs: [ConstantTensor], _ attributes: Attributes, node: ONNXNode) throws(GraphFuseError) -> ConstantTensor {
    if !inputs.isEmpty, inputs.allSatisfy(\.isInteger) {
      if injective.contains(op) { return try remap(op, inputs, attributes, node: node) }
      if let result = try integerMath(op, inputs, node: node) { return result }
    }
    return ConstantTensor(try run(op, inputs.map(\.tensor), attributes, node: node))
  }

  /// Runs one op with the reference kernels on constant tensors.
  static func run(_ op: String, _ inputs: [Tensor], _ attributes: Attributes, node: ONNXNode) throws(GraphFuseError) -> Tensor {
    let definition = try OpRegistry.definition(of: op, node: node.name)
    guard definition.arity.contains(inputs.count) else { throw node.error("\(op) takes \(definition.arity) inputs, got \(inputs.count)") }
    var scratch = Graph()
    let ids = inputs.map { scratch.addConstant($0, name: "") }
    let outputs = try scratch.addNode(op: op, inputs: ids, attributes: attributes, name: node.name)
    // Folding may copy a large weight (a transposed initializer) but not conjure a huge tensor from a small one.
    let limit = max(ConstantTensor.maxFoldedGrowth, inputs.map(\.count).max() ?? 0)
    for id in outputs where ConstantTensor.elementCount(scratch.shape(of: id), limit: limit) == nil {
      throw node.error("folding a constant of shape \(scratch.shape(of: id)) exceeds \(limit) elements")
    }
    scratch.outputs = [outputs[0]]
    let results = try ReferenceExecutor.run(scratch, inputs: [])
    guard let first = results.first else { throw node.error("\(op) produced no result") }
    return first
  }

  /// Runs an injective op on element indices and maps the result back to the integers.
  private static func remap(_ op: String, _ inputs: [ConstantTensor], _ attributes: Attributes, node: ONNXNode) throws(GraphFuseError) -> ConstantTensor {
    var pool: [Int] = []
    var indexTensors: [Tensor] = []
    for c in inputs {
      guard pool.count + c.ints.count <= 1 << 24 else { throw node.error("integer constants above 2^24 elements are not supported") }
      indexTensors.append(Tensor(shape: c.shape, data: (pool.count..<(pool.count + c.ints.count)).map { Float($0) }))
      pool += c.ints
    }
    var attrs = attributes
    let fill = attributes.float("value", default: 0)
    if op == "pad" { attrs["value"] = .float(-1) }
    let result = try run(op, indexTensors, attrs, node: node)
    let ints = result.data.map { $0 < 0 ? Int(fill) : pool[Int($0)] }
    return ConstantTensor(shape: result.shape, ints: ints, type: inputs[0].type)
  }

  /// Integer add/sub/mul/div/max/min/neg with numpy broadcasting, or nil for other ops.
  private static func integerMath(_ op: String, _ inputs: [ConstantTensor], node: ONNXNode) throws(GraphFuseError) -> ConstantTensor? {
    if op == "neg", inputs.count == 1 {
      var c = inputs[0]
      c.ints = c.ints.map { 0 &- $0 }
      return c
    }
    guard inputs.count == 2, ["add", "sub", "mul", "div", "max", "min"].contains(op) else { return nil }
    let a = inputs[0], b = inputs[1]
    let rank = max(a.shape.count, b.shape.count)
    let sa = [Int](repeating: 1, count: rank - a.shape.count) + a.shape
    let sb = [Int](repeating: 1, count: rank - b.shape.count) + b.shape
    var out: [Int] = []
    for (x, y) in zip(sa, sb) {
      guard x == y || x == 1 || y == 1 else { throw node.error("cannot broadcast shapes \(a.shape) and \(b.shape)") }
      out.append(x == 1 ? y : x)
    }
    guard let count = ConstantTensor.elementCount(out) else { throw node.error("result \(out) is too large") }
    let stA = Tensor.strides(of: sa).enumerated().map { sa[$0.offset] == 1 ? 0 : $0.element }
    let stB = Tensor.strides(of: sb).enumerated().map { sb[$0.offset] == 1 ? 0 : $0.element }
    var values = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    for flat in 0..<count {
      var ia = 0, ib = 0
      for k in 0..<rank {
        ia += index[k] * stA[k]
        ib += index[k] * stB[k]
      }
      let x = a.ints[ia], y = b.ints[ib]
      let r: (Int, Bool)
      switch op {
      case "add": r = x.addingReportingOverflow(y)
      case "sub": r = x.subtractingReportingOverflow(y)
      case "mul": r = x.multipliedReportingOverflow(by: y)
      case "div":
        guard y != 0 else { throw node.error("integer division by zero while folding constants") }
        r = x.dividedReportingOverflow(by: y)
      case "max": r = (max(x, y), false)
      default: r = (min(x, y), false)
      }
      guard !r.1 else { throw node.error("integer overflow while folding constants") }
      values[flat] = r.0
      var k = rank - 1
      while k >= 0 {
        index[k] += 1
        if index[k] < out[k] { break }
        index[k] = 0
        k -= 1
      }
    }
    return ConstantTensor(shape: out, ints: values, type: a.type)
  }
}
