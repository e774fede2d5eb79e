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
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "concat", "slice", "pad", "gather", "identity", "expand",
  ]

  static func evaluate(_ op: String, _ inputs: [ConstantTensor], _ attributes: Attributes, node: ONNXNode)
    throws(GraphFuseError) -> ConstantTensor
  {
    if !inputs.isEmpty, inputs.allSatisfy(\.isInteger) {
      if injective.contains(op) { return try remap(op, inputs, attributes, node: node) }
      if let result = try integerMath(op, inputs, attributes, node: node) { return result }
    }
    return ConstantTensor(try run(op, inputs.map(\.tensor), attributes, node: node))
  }

  /// Runs one op with the reference kernels on constant tensors.
  static func run(_ op: String, _ inputs: [Tensor], _ attributes: Attributes, node: ONNXNode) throws(GraphFuseError)
    -> Tensor
  {
    let definition = try OpRegistry.definition(of: op, node: node.name)
    guard definition.arity.contains(inputs.count) else {
      throw node.error("\(op) takes \(definition.arity) inputs, got \(inputs.count)")
    }
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
  private static func remap(_ op: String, _ inputs: [ConstantTensor], _ attributes: Attributes, node: ONNXNode)
    throws(GraphFuseError) -> ConstantTensor
  {
    var pool: [Int] = []
    var indexTensors: [Tensor] = []
    for c in inputs {
      guard pool.count + c.ints.count <= 1 << 24 else {
        throw node.error("integer constants above 2^24 elements are not supported")
      }
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

  /// The integer ops folded exactly: arity, and the result type from the input types.
  private static let integerOps: [String: Int] = [
    "add": 2, "sub": 2, "mul": 2, "div": 2, "max": 2, "min": 2, "mod": 2, "equal": 2, "where": 3, "not": 1, "neg": 1,
    "less": 2, "less_equal": 2, "greater": 2, "greater_equal": 2, "and": 2, "or": 2, "xor": 2, "abs": 1,
  ]

  /// The integer ops whose result is a bool.
  private static let predicates: Set<String> = [
    "equal", "not", "less", "less_equal", "greater", "greater_equal", "and", "or", "xor",
  ]

  /// Integer arithmetic, comparisons and selects with numpy broadcasting, or nil for other ops.
  private static func integerMath(
    _ op: String, _ inputs: [ConstantTensor], _ attributes: Attributes, node: ONNXNode
  ) throws(GraphFuseError) -> ConstantTensor? {
    guard let arity = integerOps[op], inputs.count == arity else { return nil }
    let rank = inputs.map(\.shape.count).max() ?? 0
    let shapes = inputs.map { [Int](repeating: 1, count: rank - $0.shape.count) + $0.shape }
    var out = [Int](repeating: 1, count: rank)
    for s in shapes {
      for k in 0..<rank {
        guard out[k] == s[k] || out[k] == 1 || s[k] == 1 else {
          throw node.error("cannot broadcast shapes \(inputs.map(\.shape))")
        }
        if s[k] != 1 { out[k] = s[k] }
      }
    }
    guard let count = ConstantTensor.elementCount(out, limit: ConstantTensor.maxFoldedGrowth) else {
      throw node.error("result \(out) is too large")
    }
    let strides = shapes.map { s in Tensor.strides(of: s).enumerated().map { s[$0.offset] == 1 ? 0 : $0.element } }
    let fmod = attributes.int("fmod", default: 0) == 1
    var values = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: rank)
    var args = [Int](repeating: 0, count: arity)
    for flat in 0..<count {
      for (j, input) in inputs.enumerated() {
        var offset = 0
        for k in 0..<rank { offset += index[k] * strides[j][k] }
        args[j] = input.ints[offset]
      }
      values[flat] = try apply(op, args, fmod: fmod, node: node)
      var k = rank - 1
      while k >= 0 {
        index[k] += 1
        if index[k] < out[k] { break }
        index[k] = 0
        k -= 1
      }
    }
    let type: ElementType = predicates.contains(op) ? .bool : op == "where" ? inputs[1].type : inputs[0].type
    return ConstantTensor(shape: out, ints: values, type: type)
  }

  private static func apply(_ op: String, _ v: [Int], fmod: Bool, node: ONNXNode) throws(GraphFuseError) -> Int {
    let r: (Int, Bool)
    switch op {
    case "neg": r = (0).subtractingReportingOverflow(v[0])
    case "not": return v[0] == 0 ? 1 : 0
    case "equal": return v[0] == v[1] ? 1 : 0
    case "less": return v[0] < v[1] ? 1 : 0
    case "less_equal": return v[0] <= v[1] ? 1 : 0
    case "greater": return v[0] > v[1] ? 1 : 0
    case "greater_equal": return v[0] >= v[1] ? 1 : 0
    case "and": return v[0] != 0 && v[1] != 0 ? 1 : 0
    case "or": return v[0] != 0 || v[1] != 0 ? 1 : 0
    case "xor": return (v[0] != 0) != (v[1] != 0) ? 1 : 0
    case "abs": r = v[0] == Int.min ? (0, true) : (abs(v[0]), false)
    case "where": return v[0] != 0 ? v[1] : v[2]
    case "add": r = v[0].addingReportingOverflow(v[1])
    case "sub": r = v[0].subtractingReportingOverflow(v[1])
    case "mul": r = v[0].multipliedReportingOverflow(by: v[1])
    case "div", "mod":
      guard v[1] != 0 else { throw node.error("integer division by zero while folding constants") }
      if op == "div" {
        r = v[0].dividedReportingOverflow(by: v[1])
      } else {
        let rem = v[0].remainderReportingOverflow(dividingBy: v[1])
        // fmod=0 takes the divisor's sign (Python), fmod=1 the dividend's (C).
        r = (!fmod && rem.0 != 0 && (rem.0 < 0) != (v[1] < 0) ? rem.0 &+ v[1] : rem.0, rem.1)
      }
    case "max": r = (max(v[0], v[1]), false)
    default: r = (min(v[0], v[1]), false)
    }
    guard !r.1 else { throw node.error("integer overflow while folding constants") }
    return r.0
  }
}
