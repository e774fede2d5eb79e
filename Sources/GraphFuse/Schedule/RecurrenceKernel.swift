/// The loop nest of an `lstm` node (``LSTMRecurrence``): a task per direction and sequence of the
/// batch, each running every step in order with its hidden state, cell state and gate row in a
/// per-thread scratch (`2H + 4H` floats, in L1 for any usual width):
/// 1. the gate row starts as the step's projected input `xg[t, b, d, :]`;
/// 2. `g += h[k] · rt[d, k, :]` for each `k`: a row of `rt` per hidden unit, contiguous along the
///    gates, which ``InnerVectorize`` turns into vector multiply-adds;
/// 3. per hidden unit the gates' sigmoids and tanhs, the new cell and hidden state, and the step's
///    output.
///
/// The steps are sequential by definition; the sequences and directions are not, so they are the
/// tasks (sequencer-style networks run an LSTM over each row of a map: dozens of sequences).
/// ONNX Runtime's and oneDNN's LSTMs also precompute the input projection for all steps as one
/// GEMM and batch the recurrent product over the sequences of a step; here each task reads `rt`
/// (`H × 4H` floats) once per step from L1 or L2.
struct LSTMKernel {
  /// Steps, sequences, directions and hidden units.
  var steps: Int, batch: Int, directions: Int, hidden: Int
  /// Per direction, 1 when it runs from the last step to the first.
  var reversed: [Int]
  /// Whether the initial hidden and cell states are inputs (`h0`, `c0`); zeros without.
  var initialStates: Bool

  var gates: Int { 4 * hidden }
  /// Floats of scratch per thread: h, c and the gate row.
  var scratchFloats: Int { 2 * hidden + gates }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }
  private static func load(_ buffer: String, _ index: IndexExpr) -> ValueExpr { .load(buffer, index) }

  /// The loop nest. Buffers: `xg`, `rt`, `h0` and `c0` (with ``initialStates``), `scratch`, `out`.
  var nest: LoopNest {
    let (d, b, k, j, s) = (Self.v("d"), Self.v("b"), Self.v("k"), Self.v("j"), Self.v("s"))
    let (hBase, cBase, gBase) = (
      Self.v("sbase"), Self.v("sbase") + .constant(hidden), Self.v("sbase") + .constant(2 * hidden)
    )
    let state = (d * batch + b) * hidden + k
    var task: [Stmt] = [
      .let_("d", Self.v("task") / batch), .let_("b", Self.v("task") % batch),
      .let_("sbase", IndexExpr.thread * scratchFloats),
      .loop(
        variable: "k", extent: hidden, kind: .serial,
        body: [
          .store("scratch", hBase + k, initialStates ? Self.load("h0", state) : .constant(0)),
          .store("scratch", cBase + k, initialStates ? Self.load("c0", state) : .constant(0)),
        ]),
    ]
    // The step a direction is at: s, or T - 1 - s when it runs backward.
    let forward = s, backward = IndexExpr.constant(steps - 1) + s * -1
    let time: IndexExpr =
      Set(reversed).count == 1
      ? (reversed[0] != 0 ? backward : forward)
      : .select([.inRange(.table(reversed, d), 1, 2)], backward, forward)
    let g = { (offset: Int) -> ValueExpr in Self.load("scratch", gBase + .constant(offset) + k) }
    func sigmoid(_ x: ValueExpr) -> ValueExpr { .unary(.sigmoid, x) }
    let cell = ValueExpr.binary(
      .add, .binary(.mul, sigmoid(g(2 * hidden)), Self.load("scratch", cBase + k)),
      .binary(.mul, sigmoid(g(0)), .unary(.tanh, g(3 * hidden))))
    let projected = ((Self.v("t") * batch + b) * directions + d) * gates
    let step: [Stmt] = [
      .let_("t", time),
      .loop(
        variable: "j", extent: gates, kind: .serial,
        body: [.store("scratch", gBase + j, Self.load("xg", projected + j))]),
      .loop(
        variable: "k", extent: hidden, kind: .serial,
        body: [
          .declare("hk", Self.load("scratch", hBase + k)),
          .loop(
            variable: "j", extent: gates, kind: .serial,
            body: [
              .store(
                "scratch", gBase + j,
                .binary(
                  .add, Self.load("scratch", gBase + j),
                  .binary(.mul, .local("hk"), Self.load("rt", (d * hidden + k) * gates + j))))
            ]),
        ]),
      .loop(
        variable: "k", extent: hidden, kind: .serial,
        body: [
          .declare("ck", cell),
          .store("scratch", cBase + k, .local("ck")),
          .declare("hk", .binary(.mul, sigmoid(g(hidden)), .unary(.tanh, .local("ck")))),
          .store("scratch", hBase + k, .local("hk")),
          .store("out", ((Self.v("t") * directions + d) * batch + b) * hidden + k, .local("hk")),
        ]),
    ]
    task.append(.loop(variable: "s", extent: steps, kind: .serial, body: step))
    var buffers = [
      BufferDecl(name: "xg", count: 0, isOutput: false), BufferDecl(name: "rt", count: 0, isOutput: false),
    ]
    if initialStates {
      buffers += [BufferDecl(name: "h0", count: 0, isOutput: false), BufferDecl(name: "c0", count: 0, isOutput: false)]
    }
    buffers += [
      BufferDecl(name: "scratch", count: 0, isOutput: true),
      BufferDecl(name: "out", count: steps * directions * batch * hidden, isOutput: true),
    ]
    return LoopNest(
      name: "lstm", buffers: buffers,
      body: [.loop(variable: "task", extent: directions * batch, kind: .parallel, body: task)])
  }
}
