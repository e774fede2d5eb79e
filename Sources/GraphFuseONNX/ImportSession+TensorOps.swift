import GraphFuse

/// Constants, shapes and data movement: Constant, Shape, Gather, Reshape, Slice, Pad, Cast, ….
/// With constant inputs these are evaluated at import time (see `ConstantFolder`).
extension ImportSession {
  mutating func constant(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let name = node.proto.outputs.first ?? node.name
    if let t = try node.tensor("value") { return [.constant(t, name: name)] }
    if node.has("value_float") {
      return [.constant(ConstantTensor(shape: [], floats: [try node.float("value_float", default: 0)]), name: name)]
    }
    if let a = node.proto.attribute("value_floats") {
      return [.constant(ConstantTensor(shape: [a.floats.count], floats: a.floats), name: name)]
    }
    if node.has("value_int") {
      return [.constant(ConstantTensor(shape: [], ints: [node.proto.attribute("value_int")?.i ?? 0]), name: name)]
    }
    if let a = node.proto.attribute("value_ints") {
      return [.constant(ConstantTensor(shape: [a.ints.count], ints: a.ints), name: name)]
    }
    throw node.error("only tensor, float and int constants are supported (not strings or sparse tensors)")
  }

  mutating func constantOfShape(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    guard let dims = try intsInput(node, 0, "shape") else { throw node.error("needs a shape input") }
    guard let count = ConstantTensor.elementCount(dims) else {
      throw node.error("shape \(dims) is negative or too large")
    }
    let value = try node.tensor("value") ?? ConstantTensor(shape: [1], floats: [0])
    guard value.count == 1 else { throw node.error("value must hold one element") }
    var c = value
    c.shape = dims
    if c.isInteger {
      c.ints = [Int](repeating: value.ints[0], count: count)
    } else {
      c.floats = [Float](repeating: value.floats[0], count: count)
    }
    return [.constant(c, name: node.proto.outputs.first ?? node.name)]
  }

  /// Shape (with opset-15 start/end) and Size: static shapes make these constants.
  mutating func shapeOf(_ node: ONNXNode, size: Bool) throws(GraphFuseError) -> [Binding?] {
    let xs = shape(try required(node, 0))
    let name = node.proto.outputs.first ?? node.name
    if size { return [.constant(ConstantTensor(shape: [], ints: [xs.reduce(1, *)]), name: name)] }
    let rank = xs.count
    func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
    let start = clamp(try node.int("start", default: 0))
    let end = node.has("end") ? clamp(try node.int("end", default: rank)) : rank
    let dims = start < end ? Array(xs[start..<end]) : []
    return [.constant(ConstantTensor(shape: [dims.count], ints: dims), name: name)]
  }

  mutating func gather(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let data = try required(node, 0)
    let indexBinding = try required(node, 1)
    guard let indices = indexBinding.constant else {
      // Indices known only at run time (token ids): a take, which checks each index as it runs.
      guard dataType(indexBinding).isInteger else { throw node.error("indices must be int64 or int32") }
      let rank = shape(data).count
      let axis = try node.int("axis", default: 0)
      guard axis >= -rank, axis < rank else { throw node.error("axis \(axis) is out of range for rank \(rank)") }
      return [try emit("take", [data, indexBinding], ["axis": .int(axis)], node: node, dataType: dataType(data))]
    }
    let values = try indices.intValues("indices")
    try node.checkBounded(values, "indices")
    let attributes: Attributes = [
      "axis": .int(try node.int("axis", default: 0)), "indices": .ints(values), "indices_shape": .ints(indices.shape),
    ]
    return [try emit("gather", [data], attributes, node: node)]
  }

  /// Unsqueeze / Squeeze with axes as an attribute (opset < 13) or an input.
  mutating func squeeze(_ node: ONNXNode, unsqueeze: Bool) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let axes = node.opset >= 13 ? try intsInput(node, 1, "axes") : try node.ints("axes")
    var attributes = Attributes()
    if let axes { attributes["axes"] = .ints(axes) }
    if unsqueeze, axes?.isEmpty ?? true { throw node.error("needs axes") }
    return [try emit(unsqueeze ? "unsqueeze" : "squeeze", [x], attributes, node: node)]
  }

  mutating func concat(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    var inputs: [Binding] = []
    for i in node.proto.inputs.indices { if let b = try input(node, i) { inputs.append(b) } }
    guard !inputs.isEmpty else { throw node.error("needs at least one input") }
    guard node.has("axis") || node.opset < 4 else { throw node.error("needs the axis attribute") }
    return [try emit("concat", inputs, ["axis": .int(try node.int("axis", default: 1))], node: node)]
  }

  /// Reshape with the target from a constant input (or the opset < 5 attribute), resolved here.
  mutating func reshape(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    guard
      let target = node.opset >= 5
        ? try intsInput(node, 1, "shape", bounded: false) : try node.ints("shape", bounded: false)
    else {
      throw node.error("needs a target shape")
    }
    let allowZero = try node.int("allowzero", default: 0) != 0
    var resolved: [Int] = []
    var inferred: Int?
    for (k, d) in target.enumerated() {
      if d == 0 && !allowZero {
        guard k < xs.count else { throw node.error("target \(target) copies axis \(k), which \(xs) does not have") }
        resolved.append(xs[k])
      } else if d == -1 {
        guard inferred == nil else { throw node.error("target \(target) has more than one -1") }
        inferred = k
        resolved.append(1)
      } else {
        guard d >= 0 else { throw node.error("target \(target) has a negative extent") }
        resolved.append(d)
      }
    }
    let total = xs.reduce(1, *)
    guard let known = ConstantTensor.elementCount(resolved, limit: Self.maxRuntimeElements) else {
      throw node.error("cannot reshape \(xs) to \(target)")
    }
    if let k = inferred {
      guard known > 0, total % known == 0 else {
        throw node.error("cannot reshape \(xs) (\(total) elements) to \(target)")
      }
      resolved[k] = total / known
    } else if known != total {
      throw node.error("cannot reshape \(xs) (\(total) elements) to \(target) (\(known) elements)")
    }
    return [try emit("reshape", [x], ["shape": .ints(resolved)], node: node)]
  }

  mutating func flatten(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    [try emit("flatten", [try required(node, 0)], ["axis": .int(try node.int("axis", default: 1))], node: node)]
  }

  mutating func transpose(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let perm = try node.ints("perm") ?? Array((0..<shape(x).count).reversed())
    return [try emit("transpose", [x], ["perm": .ints(perm)], node: node)]
  }

  /// Cast: exact on constants; on runtime tensors only to float32 (GraphFuse computes in float32).
  mutating func cast(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    try cast(node, to: try node.int("to", default: 0))
  }

  /// CastLike (opset 15): Cast to the element type of input 1 (the dynamo exporter casts
  /// constants like the graph input with it).
  mutating func castLike(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let like = try required(node, 1)
    let raw = like.constant?.type.rawValue ?? dataType(like).onnxCode
    return try cast(node, to: raw)
  }

  /// Input 0 cast to ONNX element type `raw`.
  mutating func cast(_ node: ONNXNode, to raw: Int) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    guard let to = ElementType(rawValue: raw), to == .float || to == .double || to.isInteger else {
      throw node.error("casting to \(ElementType.name(raw)) is not supported")
    }
    guard var c = x.constant else {
      // Runtime tensors carry every type in float32 (DataType): a cast to an integer truncates a
      // float, a cast to bool tests for non-zero, and every other cast only renames the type.
      let target: DataType =
        switch to {
        case .bool: .bool
        case .int64, .uint32, .uint64: .int64
        case .float, .double: .float32
        default: .int32
        }
      let source = dataType(x)
      if target == source { return [x] }
      let op = target == .bool ? "cast_to_bool" : target.isInteger && !source.isInteger ? "trunc" : "identity"
      return [try emit(op, [x], node: node, dataType: target)]
    }
    if to.isInteger {
      // A float with no integer value (±inf, NaN, out of range) becomes x86's "integer indefinite",
      // the most negative value, as ONNX Runtime and PyTorch give on x86: T5's and MPNet's
      // relative-position buckets cast log(0) = -inf and then discard it with a Where.
      let indefinite = [.int64, .uint64, .uint32].contains(to) ? Int(Int64.min) : Int(Int32.min)
      let ints =
        to == .bool
        ? c.floatValues.map { $0 != 0 ? 1 : 0 }
        : c.isInteger ? c.ints : c.floats.map { $0.isFinite && abs($0) < 9.0e18 ? Int($0) : indefinite }
      c = ConstantTensor(shape: c.shape, ints: ints, type: to)
    } else {
      c = ConstantTensor(shape: c.shape, floats: c.floatValues)
    }
    return [.constant(c, name: node.proto.outputs.first ?? node.name)]
  }

  /// Slice with starts/ends/axes/steps as attributes (opset < 10) or constant inputs.
  mutating func slice(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    let starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
    if node.opset < 10 {
      guard let s = try node.ints("starts", bounded: false), let e = try node.ints("ends", bounded: false) else {
        throw node.error("needs starts and ends")
      }
      (starts, ends, axes, steps) = (s, e, try node.ints("axes"), nil)
    } else {
      guard let s = try intsInput(node, 1, "starts", bounded: false),
        let e = try intsInput(node, 2, "ends", bounded: false)
      else {
        throw node.error("needs starts and ends")
      }
      (starts, ends, axes, steps) = (s, e, try intsInput(node, 3, "axes"), try intsInput(node, 4, "steps"))
    }
    let resolvedAxes = axes ?? Array(0..<starts.count)
    guard ends.count == starts.count, resolvedAxes.count == starts.count, (steps?.count ?? starts.count) == starts.count
    else {
      throw node.error("starts, ends, axes and steps must have the same length")
    }
    // Clamp starts/ends to ±(extent + 1): the same slice, without INT64_MAX reaching the index math.
    var clampedStarts: [Int] = [], clampedEnds: [Int] = []
    for (k, rawAxis) in resolvedAxes.enumerated() {
      let axis = rawAxis < 0 ? rawAxis + xs.count : rawAxis
      guard axis >= 0, axis < xs.count else { throw node.error("axis \(rawAxis) is out of range for \(xs)") }
      let bound = xs[axis] + 1
      clampedStarts.append(min(max(starts[k], -bound), bound))
      clampedEnds.append(min(max(ends[k], -bound), bound))
    }
    var attributes: Attributes = [
      "starts": .ints(clampedStarts), "ends": .ints(clampedEnds), "axes": .ints(resolvedAxes),
    ]
    if let steps { attributes["steps"] = .ints(steps) }
    return [try emit("slice", [x], attributes, node: node)]
  }

  /// Pad, pads as an attribute (opset < 11) or inputs (with opset-18 axes): constant mode as the
  /// `pad` op, reflect, edge and wrap as slices and concats (``borderPad(_:pads:mode:node:)``).
  mutating func pad(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let rank = shape(x).count
    let mode = try node.string("mode", default: "constant")
    guard ["constant", "reflect", "edge", "wrap"].contains(mode) else {
      throw node.error("pad mode '\(mode)' is not supported (constant, reflect, edge, wrap)")
    }
    var pads: [Int]
    var value: Float = 0
    if node.opset < 11 {
      pads = try node.ints(node.opset < 2 ? "paddings" : "pads") ?? []
      value = try node.float("value", default: 0)
    } else {
      guard let p = try intsInput(node, 1, "pads") else { throw node.error("needs pads") }
      pads = p
      if let v = try constantInput(node, 2, "constant_value") {
        guard v.count == 1 else { throw node.error("constant_value must be a scalar") }
        value = v.floatValues[0]
      }
      if let axes = try intsInput(node, 3, "axes") {
        guard pads.count == 2 * axes.count else {
          throw node.error("needs \(2 * axes.count) pads for axes \(axes), got \(pads.count)")
        }
        var full = [Int](repeating: 0, count: 2 * rank)
        for (k, rawAxis) in axes.enumerated() {
          let axis = rawAxis < 0 ? rawAxis + rank : rawAxis
          guard axis >= 0, axis < rank else { throw node.error("axis \(rawAxis) is out of range for rank \(rank)") }
          full[axis] = pads[k]
          full[axis + rank] = pads[k + axes.count]
        }
        pads = full
      }
    }
    guard pads.count == 2 * rank else { throw node.error("needs \(2 * rank) pads for rank \(rank), got \(pads.count)") }
    if mode != "constant" { return [try borderPad(x, pads: pads, mode: mode, node: node)] }
    return [try emit("pad", [x], ["pads": .ints(pads), "value": .float(Double(value))], node: node)]
  }

  /// Split into slices along an axis: sizes from the `split` attribute (opset < 13), the
  /// `split` input, or equal parts (`num_outputs` from opset 18, else the output count).
  mutating func split(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let x = try required(node, 0)
    let xs = shape(x)
    let rawAxis = try node.int("axis", default: 0)
    let axis = rawAxis < 0 ? rawAxis + xs.count : rawAxis
    guard axis >= 0, axis < xs.count else { throw node.error("axis \(rawAxis) is out of range for \(xs)") }
    let parts = node.proto.outputs.count
    guard parts > 0 else { throw node.error("has no outputs") }
    var sizes = node.opset >= 13 ? try intsInput(node, 1, "split") : try node.ints("split")
    if sizes == nil {
      let count = node.opset >= 18 ? try node.int("num_outputs", default: parts) : parts
      guard count == parts, count > 0 else {
        throw node.error("num_outputs \(count) differs from the \(parts) outputs")
      }
      let chunk = (xs[axis] + count - 1) / count
      sizes = (0..<count).map { min(chunk, max(0, xs[axis] - $0 * chunk)) }
    }
    guard let sizes, sizes.count == parts, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == xs[axis] else {
      throw node.error("split sizes \(sizes ?? []) do not add up to extent \(xs[axis]) in \(parts) parts")
    }
    var results: [Binding?] = []
    var start = 0
    for (k, size) in sizes.enumerated() {
      let attributes: Attributes = ["starts": .ints([start]), "ends": .ints([start + size]), "axes": .ints([axis])]
      results.append(
        try emit(
          "slice", [x], attributes, node: node, output: k, irName: k == 0 ? nil : "slice_\(k)", namesOutput: true))
      start += size
    }
    return results
  }
}
