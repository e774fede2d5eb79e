/// The loop nest of an `lstm` or `gru` node (``LSTMRecurrence``, ``GRURecurrence``): a task per
/// direction and sequence of the batch, each running every step in order with its states and gate
/// row in a per-thread scratch (LSTM: h, c and `4H` gates; GRU: h and `3H`; in L1 for any usual
/// width):
/// 1. the gate row starts as the step's projected input `xg[t, b, d, :]` (LSTM) or the recurrent
///    bias (GRU, whose reset gate scales the candidate's recurrent part with it);
/// 2. `g += h[k] · rt[d, k, :]` for each `k`: a row of `rt` per hidden unit, contiguous along the
///    gates, which ``InnerVectorize`` turns into vector multiply-adds;
/// 3. per hidden unit the gates' sigmoids and tanhs, the new states, and the step's output.
///
/// The steps are sequential by definition; the sequences and directions are not, so they are the
/// tasks (sequencer-style networks run an LSTM over each row of a map: dozens of sequences).
/// ONNX Runtime's and oneDNN's RNNs also precompute the input projection for all steps as one
/// GEMM and batch the recurrent product over the sequences of a step; here each task reads `rt`
/// (`H × gates·H` floats) once per step from L1 or L2.
struct RecurrenceKernel {
  /// The recurrent cell.
  enum Cell { case lstm, gru }
  var cell: Cell
  /// Steps, sequences, directions and hidden units.
  var steps: Int, batch: Int, directions: Int, hidden: Int
  /// Per direction, 1 when it runs from the last step to the first.
  var reversed: [Int]
  /// Whether the initial states are inputs (`h0`, and `c0` for an LSTM); zeros without.
  var initialStates: Bool

  var gates: Int { (cell == .lstm ? 4 : 3) * hidden }
  /// Floats of scratch per thread: h (and an LSTM's c), then the gate row.
  var scratchFloats: Int { gateOffset + gates }
  private var gateOffset: Int { cell == .lstm ? 2 * hidden : hidden }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }
  private static func load(_ buffer: String, _ index: IndexExpr) -> ValueExpr { .load(buffer, index) }
  private static func sigmoid(_ x: ValueExpr) -> ValueExpr { .unary(.sigmoid, x) }

  /// The loop nest. Buffers: `xg`, `rt`, `rb` (GRU), `h0` and `c0` (LSTM) with ``initialStates``,
  /// `scratch`, `out`.
  var nest: LoopNest {
    let (d, b, k, j, s) = (Self.v("d"), Self.v("b"), Self.v("k"), Self.v("j"), Self.v("s"))
    let hBase = Self.v("sbase"), cBase = Self.v("sbase") + .constant(hidden)
    let gBase = Self.v("sbase") + .constant(gateOffset)
    let state = (d * batch + b) * hidden + k
    var initial: [Stmt] = [.store("scratch", hBase + k, initialStates ? Self.load("h0", state) : .constant(0))]
    if cell == .lstm {
      initial.append(.store("scratch", cBase + k, initialStates ? Self.load("c0", state) : .constant(0)))
    }
    var task: [Stmt] = [
      .let_("d", Self.v("task") / batch), .let_("b", Self.v("task") % batch),
      .let_("sbase", IndexExpr.thread * scratchFloats),
      .loop(variable: "k", extent: hidden, kind: .serial, body: initial),
    ]
    // The step a direction is at: s, or T - 1 - s when it runs backward.
    let forward = s, backward = IndexExpr.constant(steps - 1) + s * -1
    let time: IndexExpr =
      Set(reversed).count == 1
      ? (reversed[0] != 0 ? backward : forward)
      : .select([.inRange(.table(reversed, d), 1, 2)], backward, forward)
    let projected = ((Self.v("t") * batch + b) * directions + d) * gates
    let g = { (offset: Int) -> ValueExpr in Self.load("scratch", gBase + .constant(offset) + k) }
    let x = { (offset: Int) -> ValueExpr in Self.load("xg", projected + .constant(offset) + k) }
    let first: ValueExpr = cell == .lstm ? Self.load("xg", projected + j) : Self.load("rb", d * gates + j)
    var step: [Stmt] = [
      .let_("t", time),
      .loop(variable: "j", extent: gates, kind: .serial, body: [.store("scratch", gBase + j, first)]),
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
    ]
    let output = ((Self.v("t") * directions + d) * batch + b) * hidden + k
    var update: [Stmt]
    switch cell {
    case .lstm:
      // c = σ(f)·c + σ(i)·tanh(c̃), h = σ(o)·tanh(c); gates i, o, f, c̃.
      let c = ValueExpr.binary(
        .add, .binary(.mul, Self.sigmoid(g(2 * hidden)), Self.load("scratch", cBase + k)),
        .binary(.mul, Self.sigmoid(g(0)), .unary(.tanh, g(3 * hidden))))
      update = [
        .declare("ck", c), .store("scratch", cBase + k, .local("ck")),
        .declare("hk", .binary(.mul, Self.sigmoid(g(hidden)), .unary(.tanh, .local("ck")))),
      ]
    case .gru:
      // z = σ(x_z + g_z), r = σ(x_r + g_r), n = tanh(x_n + r·g_n), h = n + z·(h − n).
      let z = Self.sigmoid(.binary(.add, x(0), g(0)))
      let r = Self.sigmoid(.binary(.add, x(hidden), g(hidden)))
      let n = ValueExpr.unary(.tanh, .binary(.add, x(2 * hidden), .binary(.mul, r, g(2 * hidden))))
      update = [
        .declare("nk", n),
        .declare(
          "hk",
          .binary(
            .add, .local("nk"), .binary(.mul, z, .binary(.sub, Self.load("scratch", hBase + k), .local("nk"))))),
      ]
    }
    update += [.store("scratch", hBase + k, .local("hk")), .store("out", output, .local("hk"))]
    step.append(.loop(variable: "k", extent: hidden, kind: .serial, body: update))
    task.append(.loop(variable: "s", extent: steps, kind: .serial, body: step))
    var names = ["xg", "rt"] + (cell == .gru ? ["rb"] : [])
    if initialStates { names += cell == .lstm ? ["h0", "c0"] : ["h0"] }
    let buffers =
      names.map { BufferDecl(name: $0, count: 0, isOutput: false) } + [
        BufferDecl(name: "scratch", count: 0, isOutput: true),
        BufferDecl(name: "out", count: steps * directions * batch * hidden, isOutput: true),
      ]
    return LoopNest(
      name: cell == .lstm ? "lstm" : "gru", buffers: buffers,
      body: [.loop(variable: "task", extent: directions * batch, kind: .parallel, body: task)])
  }
}
