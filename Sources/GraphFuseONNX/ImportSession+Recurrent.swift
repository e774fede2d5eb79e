import GraphFuse

/// ONNX LSTM and GRU as the input projection of every step at once (a `matmul` of the `[T·B, I]`
/// inputs by the directions' input weights side by side, plus the input bias) and a recurrence op
/// over the projected rows (``LSTMRecurrence``, ``GRURecurrence``); `Y_h` is sliced from `Y`. The
/// default activations, every sequence of full length, no clip, and the forms PyTorch's `nn.LSTM`
/// and `nn.GRU` export (no peepholes or coupled gate; GRU's `linear_before_reset = 1`); anything
/// else is refused naming the attribute.
extension ImportSession {
  mutating func lstm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] { try recurrent(node, gates: 4) }
  mutating func gru(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] { try recurrent(node, gates: 3) }

  /// An LSTM (4 gates) or GRU (3 gates) node.
  private mutating func recurrent(_ node: ONNXNode, gates: Int) throws(GraphFuseError) -> [Binding?] {
    let lstm = gates == 4
    let layout = try node.int("layout", default: 0)
    var x = try required(node, 0)
    let w = try required(node, 1), r = try required(node, 2)
    if layout == 1 { x = try emit("transpose", [x], ["perm": .ints([1, 0, 2])], node: node, irName: "time_major") }
    let xs = shape(x), ws = shape(w)
    guard xs.count == 3, ws.count == 3, ws[1] % gates == 0, ws[2] == xs[2] else {
      throw node.error("expects X [T, B, I] and W [D, \(gates)H, I], got \(xs) and \(ws)")
    }
    let (steps, batch, width, directions, hidden) = (xs[0], xs[1], xs[2], ws[0], ws[1] / gates)
    let direction = try node.string("direction", default: "forward")
    let reversed: [Int]
    switch (direction, directions) {
    case ("forward", 1): reversed = [0]
    case ("reverse", 1): reversed = [1]
    case ("bidirectional", 2): reversed = [0, 1]
    default: throw node.error("direction '\(direction)' does not match the \(directions) directions of W")
    }
    let size = try node.int("hidden_size", default: hidden)
    guard size == hidden else {
      throw node.error("hidden_size \(size) does not match W's \(gates * hidden) gate rows")
    }
    guard shape(r) == [directions, gates * hidden, hidden] else {
      throw node.error("R has shape \(shape(r)), expected \([directions, gates * hidden, hidden])")
    }
    let defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"]
    if let activations = node.proto.attribute("activations")?.strings, !activations.isEmpty,
      activations != [[String]](repeating: defaults, count: directions).flatMap({ $0 })
    {
      throw node.error("activations \(activations) are not supported (\(defaults.joined(separator: ", ")))")
    }
    guard !node.has("clip") else { throw node.error("clip is not supported") }
    if lstm {
      guard try node.int("input_forget", default: 0) == 0 else { throw node.error("input_forget = 1 is not supported") }
    } else {
      guard try node.int("linear_before_reset", default: 0) == 1 else {
        throw node.error("linear_before_reset = 0 is not supported (PyTorch's nn.GRU exports 1)")
      }
    }
    if let lengths = try input(node, 4) {
      guard let c = lengths.constant, try c.intValues("sequence_lens").allSatisfy({ $0 == steps }) else {
        throw node.error(
          "sequence_lens must be constants equal to the \(steps) steps (shorter sequences are not supported)")
      }
    }
    if lstm, let peepholes = try input(node, 7) {
      guard let c = peepholes.constant, c.floatValues.allSatisfy({ $0 == 0 }) else {
        throw node.error("peephole weights P are not supported")
      }
    }
    let rows = gates * hidden
    // Every step's input projection at once: [T·B, I] · [I, D·gates·H] (+ the input bias; an LSTM's
    // recurrent bias too), then [T, B, D, gates·H].
    let flat = try emit("reshape", [x], ["shape": .ints([steps * batch, width])], node: node, irName: "rows")
    let wt = try emit("transpose", [w], ["perm": .ints([2, 0, 1])], node: node, irName: "w_t")
    let weights = try emit("reshape", [wt], ["shape": .ints([width, directions * rows])], node: node, irName: "w")
    var projected = try emit("matmul", [flat, weights], node: node, irName: "projection")
    var recurrentBias: Binding? = nil
    if let b = try input(node, 3) {
      guard shape(b) == [directions, 2 * rows] else {
        throw node.error("B has shape \(shape(b)), expected \([directions, 2 * rows])")
      }
      func half(_ k: Int) throws(GraphFuseError) -> Binding {
        try emit(
          "slice", [b], ["starts": .ints([k * rows]), "ends": .ints([(k + 1) * rows]), "axes": .ints([1])],
          node: node, irName: k == 0 ? "wb" : "rb")
      }
      var inputBias = try half(0)
      if lstm {
        inputBias = try emit("add", [inputBias, try half(1)], node: node, irName: "bias_sum")
      } else {
        recurrentBias = try half(1)
      }
      let bias = try emit("reshape", [inputBias], ["shape": .ints([directions * rows])], node: node, irName: "bias")
      projected = try emit("add", [projected, bias], node: node, irName: "projection_bias")
    }
    let xg = try emit(
      "reshape", [projected], ["shape": .ints([steps, batch, directions, rows])], node: node, irName: "gates_in")
    let rt = try emit("transpose", [r], ["perm": .ints([0, 2, 1])], node: node, irName: "r_t")
    var inputs = [xg, rt]
    // A GRU's recurrent bias stays apart: the reset gate scales the candidate's recurrent part with it.
    if !lstm {
      inputs.append(
        recurrentBias
          ?? .constant(
            ConstantTensor(shape: [directions, rows], floats: [Float](repeating: 0, count: directions * rows)),
            name: ""))
    }
    let initial = lstm ? [try input(node, 5), try input(node, 6)] : [try input(node, 5)]
    if initial.contains(where: { $0 != nil }) {
      for (k, given) in initial.enumerated() {
        let zeros = ConstantTensor(
          shape: [directions, batch, hidden], floats: [Float](repeating: 0, count: directions * batch * hidden))
        var state = given ?? .constant(zeros, name: "")
        if layout == 1 {
          state = try emit("transpose", [state], ["perm": .ints([1, 0, 2])], node: node, irName: "state\(k)")
        }
        guard shape(state) == [directions, batch, hidden] else {
          throw node.error("initial state has shape \(shape(state)), expected \([directions, batch, hidden])")
        }
        inputs.append(state)
      }
    }
    let outputs = node.proto.outputs
    func wanted(_ i: Int) -> Bool { i < outputs.count && !outputs[i].isEmpty }
    var y = try emit(
      lstm ? "lstm" : "gru", inputs, ["reverse_directions": .ints(reversed)], node: node, irName: "recurrence")
    // Y_h: each direction's last step (t = T - 1 forward, t = 0 backward), [D, B, H].
    var last: Binding? = nil
    if wanted(1) {
      var parts: [Binding] = []
      for d in 0..<directions {
        let t = reversed[d] != 0 ? 0 : steps - 1
        parts.append(
          try emit(
            "slice", [y], ["starts": .ints([t, d]), "ends": .ints([t + 1, d + 1]), "axes": .ints([0, 1])], node: node,
            irName: "last\(d)"))
      }
      let joined =
        parts.count == 1 ? parts[0] : try emit("concat", parts, ["axis": .int(1)], node: node, irName: "last")
      var h = try emit(
        "reshape", [joined], ["shape": .ints([directions, batch, hidden])], node: node, output: 1,
        irName: "last_state", namesOutput: layout == 0)
      if layout == 1 {
        h = try emit(
          "transpose", [h], ["perm": .ints([1, 0, 2])], node: node, output: 1, irName: "last_state_batch_major",
          namesOutput: true)
      }
      last = h
    }
    if wanted(0) {
      y = try emit(
        layout == 1 ? "transpose" : "identity", [y], layout == 1 ? ["perm": .ints([2, 0, 1, 3])] : [:], node: node,
        irName: "y", namesOutput: true)
    }
    return [y, last, nil]
  }
}
