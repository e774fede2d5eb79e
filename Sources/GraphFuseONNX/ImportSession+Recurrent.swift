import GraphFuse

/// ONNX LSTM as the input projection of every step at once (a `matmul` of the `[T·B, I]` inputs
/// by the directions' input weights side by side, plus both biases) and the `lstm` recurrence
/// (``LSTMRecurrence``) over the projected rows; `Y_h` is sliced from `Y`. Sigmoid / tanh / tanh
/// activations, every sequence of full length, no peepholes, no clip and no coupled input-forget
/// gate, as PyTorch's `nn.LSTM` exports; anything else is refused naming the attribute.
extension ImportSession {
  mutating func lstm(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    let layout = try node.int("layout", default: 0)
    var x = try required(node, 0)
    let w = try required(node, 1), r = try required(node, 2)
    if layout == 1 { x = try emit("transpose", [x], ["perm": .ints([1, 0, 2])], node: node, irName: "time_major") }
    let xs = shape(x), ws = shape(w)
    guard xs.count == 3, ws.count == 3, ws[1] % 4 == 0, ws[2] == xs[2] else {
      throw node.error("expects X [T, B, I] and W [D, 4H, I], got \(xs) and \(ws)")
    }
    let (steps, batch, width, directions, hidden) = (xs[0], xs[1], xs[2], ws[0], ws[1] / 4)
    let direction = try node.string("direction", default: "forward")
    let reversed: [Int]
    switch (direction, directions) {
    case ("forward", 1): reversed = [0]
    case ("reverse", 1): reversed = [1]
    case ("bidirectional", 2): reversed = [0, 1]
    default: throw node.error("direction '\(direction)' does not match the \(directions) directions of W")
    }
    let size = try node.int("hidden_size", default: hidden)
    guard size == hidden else { throw node.error("hidden_size \(size) does not match W's \(4 * hidden) gate rows") }
    guard shape(r) == [directions, 4 * hidden, hidden] else {
      throw node.error("R has shape \(shape(r)), expected \([directions, 4 * hidden, hidden])")
    }
    if let activations = node.proto.attribute("activations")?.strings, !activations.isEmpty,
      activations != [[String]](repeating: ["Sigmoid", "Tanh", "Tanh"], count: directions).flatMap({ $0 })
    {
      throw node.error("activations \(activations) are not supported (Sigmoid, Tanh, Tanh)")
    }
    guard !node.has("clip") else { throw node.error("clip is not supported") }
    guard try node.int("input_forget", default: 0) == 0 else { throw node.error("input_forget = 1 is not supported") }
    if let lengths = try input(node, 4) {
      guard let c = lengths.constant, try c.intValues("sequence_lens").allSatisfy({ $0 == steps }) else {
        throw node.error(
          "sequence_lens must be constants equal to the \(steps) steps (shorter sequences are not supported)")
      }
    }
    if let peepholes = try input(node, 7) {
      guard let c = peepholes.constant, c.floatValues.allSatisfy({ $0 == 0 }) else {
        throw node.error("peephole weights P are not supported")
      }
    }
    // Every step's input projection at once: [T·B, I] · [I, D·4H] (+ Wb + Rb), then [T, B, D, 4H].
    let rows = try emit("reshape", [x], ["shape": .ints([steps * batch, width])], node: node, irName: "rows")
    let wt = try emit("transpose", [w], ["perm": .ints([2, 0, 1])], node: node, irName: "w_t")
    let weights = try emit(
      "reshape", [wt], ["shape": .ints([width, directions * 4 * hidden])], node: node, irName: "w")
    var projected = try emit("matmul", [rows, weights], node: node, irName: "projection")
    if let b = try input(node, 3) {
      guard shape(b) == [directions, 8 * hidden] else {
        throw node.error("B has shape \(shape(b)), expected \([directions, 8 * hidden])")
      }
      let wb = try emit(
        "slice", [b], ["starts": .ints([0]), "ends": .ints([4 * hidden]), "axes": .ints([1])], node: node,
        irName: "wb")
      let rb = try emit(
        "slice", [b], ["starts": .ints([4 * hidden]), "ends": .ints([8 * hidden]), "axes": .ints([1])], node: node,
        irName: "rb")
      let both = try emit("add", [wb, rb], node: node, irName: "bias_sum")
      let bias = try emit("reshape", [both], ["shape": .ints([directions * 4 * hidden])], node: node, irName: "bias")
      projected = try emit("add", [projected, bias], node: node, irName: "projection_bias")
    }
    let xg = try emit(
      "reshape", [projected], ["shape": .ints([steps, batch, directions, 4 * hidden])], node: node, irName: "gates_in")
    let rt = try emit("transpose", [r], ["perm": .ints([0, 2, 1])], node: node, irName: "r_t")
    var inputs = [xg, rt]
    let h0 = try input(node, 5), c0 = try input(node, 6)
    if h0 != nil || c0 != nil {
      for (k, initial) in [h0, c0].enumerated() {
        var state =
          try initial
          ?? .constant(
            ConstantTensor(
              shape: [directions, batch, hidden], floats: [Float](repeating: 0, count: directions * batch * hidden)),
            name: "")
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
    var y = try emit("lstm", inputs, ["reverse_directions": .ints(reversed)], node: node, irName: "recurrence")
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
