/// The loop nest of an `lstm` or `gru` node (``LSTMRecurrence``, ``GRURecurrence``): a task per
/// direction and group of ``sequences`` sequences of the batch, each running every step in order
/// with each sequence's states and gate row in a per-thread scratch (LSTM: h, c and `4H` gates;
/// GRU: h and `3H`; in L1 for any usual width):
/// 1. the recurrent product, in register tiles of the sequences × up to ``tileVectors`` vectors
///    of gates: the accumulators start as the step's projected input `xg[t, b, d, :]` (LSTM) or the
///    recurrent bias (GRU, whose reset gate scales the candidate's recurrent part with it), take
///    `h[k] · rt[d, k, :]` for each hidden unit `k` (a vector of `rt` loaded once for all the
///    sequences of the task), and are stored into the gate rows once;
/// 2. per hidden unit the gates' sigmoids and tanhs, the new states, and the step's output
///    (vectorized along the hidden units by ``InnerVectorize``).
///
/// The steps are sequential by definition; the sequences and directions are not, so they are the
/// tasks (sequencer-style networks run an LSTM over each row of a map: dozens of sequences).
/// ONNX Runtime's and oneDNN's RNNs also precompute the input projection for all steps as one
/// GEMM and batch the recurrent product over the sequences of a step, as the tiles here do over
/// the sequences of a task.
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
  /// Floats per vector.
  var width = 16

  var gates: Int { (cell == .lstm ? 4 : 3) * hidden }
  /// Sequences a task runs side by side, sharing each load of `rt`: two when the batch has them
  /// (each vector of `rt` then feeds two multiply-adds; one sequence per task loaded a vector per
  /// multiply-add and stored the gate row back after every hidden unit).
  var sequences: Int { min(2, batch) }
  /// Sequence groups per direction; the last may hold fewer (``sequences``).
  var groups: Int { (batch + sequences - 1) / sequences }
  /// Vectors of one gate row (the last partial when the gates are not whole vectors).
  var gateVectors: Int { (gates + width - 1) / width }
  /// Gate vectors per register tile: at most 24 accumulators over the sequences (with a broadcast
  /// per sequence and a vector of `rt`, within 32 registers; 12 and 6 with 16), balanced so the
  /// last tile is not a sliver.
  var tileVectors: Int {
    let most = max(1, (width == 16 ? 24 : 12) / sequences)
    let tiles = (gateVectors + most - 1) / most
    return (gateVectors + tiles - 1) / tiles
  }
  /// Floats of scratch per sequence: h (and an LSTM's c), then the gate row; per thread, one
  /// such block per sequence of a task.
  var sequenceFloats: Int { gateOffset + gates }
  var scratchFloats: Int { sequences * sequenceFloats }
  private var gateOffset: Int { cell == .lstm ? 2 * hidden : hidden }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }
  private static func load(_ buffer: String, _ index: IndexExpr) -> ValueExpr { .load(buffer, index) }
  private static func sigmoid(_ x: ValueExpr) -> ValueExpr { .unary(.sigmoid, x) }

  /// The loop nest. Buffers: `xg`, `rt`, `rb` (GRU), `h0` and `c0` (LSTM) with ``initialStates``,
  /// `scratch`, `out`.
  var nest: LoopNest {
    let tail = batch - (groups - 1) * sequences
    var task: [Stmt] = [
      .let_("d", Self.v("task") / groups), .let_("bg", Self.v("task") % groups),
      .let_("sbase", IndexExpr.thread * scratchFloats),
    ]
    if tail == sequences {
      task += taskSteps(sequences)
    } else {
      if groups > 1 { task.append(.when([.inRange(Self.v("bg"), 0, groups - 1)], taskSteps(sequences))) }
      task.append(.when([.inRange(Self.v("bg"), groups - 1, groups)], taskSteps(tail)))
    }
    var names = ["xg", "rt"] + (cell == .gru ? ["rb"] : [])
    if initialStates { names += cell == .lstm ? ["h0", "c0"] : ["h0"] }
    let buffers =
      names.map { BufferDecl(name: $0, count: 0, isOutput: false) } + [
        BufferDecl(name: "scratch", count: 0, isOutput: true),
        BufferDecl(name: "out", count: steps * directions * batch * hidden, isOutput: true),
      ]
    return LoopNest(
      name: cell == .lstm ? "lstm" : "gru", buffers: buffers,
      body: [.loop(variable: "task", extent: directions * groups, kind: .parallel, body: task)])
  }

  /// Sequence `q` of the task's group: its index in the batch and its scratch block.
  private func sequence(_ q: Int) -> (b: IndexExpr, base: IndexExpr) {
    (Self.v("bg") * sequences + .constant(q), Self.v("sbase") + .constant(q * sequenceFloats))
  }

  /// The task's statements for a group of `count` sequences: the initial states, then the steps.
  private func taskSteps(_ count: Int) -> [Stmt] {
    let (d, k, s) = (Self.v("d"), Self.v("k"), Self.v("s"))
    var initial: [Stmt] = []
    for q in 0..<count {
      let (b, base) = sequence(q)
      let state = (d * batch + b) * hidden + k
      var body: [Stmt] = [.store("scratch", base + k, initialStates ? Self.load("h0", state) : .constant(0))]
      if cell == .lstm {
        body.append(
          .store("scratch", base + .constant(hidden) + k, initialStates ? Self.load("c0", state) : .constant(0)))
      }
      initial.append(.loop(variable: "k", extent: hidden, kind: .serial, body: body))
    }
    // The step a direction is at: s, or T - 1 - s when it runs backward.
    let forward = s, backward = IndexExpr.constant(steps - 1) + s * -1
    let time: IndexExpr =
      Set(reversed).count == 1
      ? (reversed[0] != 0 ? backward : forward)
      : .select([.inRange(.table(reversed, d), 1, 2)], backward, forward)
    var step: [Stmt] = [.let_("t", time)]
    var first = 0
    while first < gateVectors {
      let vectors = min(tileVectors, gateVectors - first)
      step.append(.when([], product(count, firstVector: first, vectors: vectors)))
      first += vectors
    }
    step += InnerVectorize.apply((0..<count).map(update), width: width)
    return InnerVectorize.apply(initial, width: width)
      + [.loop(variable: "s", extent: steps, kind: .serial, body: step)]
  }

  /// The offset of sequence `b`'s projected row at step `t` in `xg`.
  private func projected(_ b: IndexExpr) -> IndexExpr {
    ((Self.v("t") * batch + b) * directions + Self.v("d")) * gates
  }

  /// Step 1 for gate vectors `firstVector ..< firstVector + vectors` of `count` sequences (a block
  /// of its own, so each tile's accumulators are its own locals): the accumulators from the
  /// projected input (LSTM) or the recurrent bias (GRU), `h[k] · rt[d, k, :]` added for every
  /// hidden unit, then stored into each sequence's gate row (the real lanes of a partial last
  /// vector one by one).
  private func product(_ count: Int, firstVector: Int, vectors: Int) -> [Stmt] {
    let lastLanes = gates - (gateVectors - 1) * width
    func lanes(_ j: Int) -> Int { firstVector + j == gateVectors - 1 ? lastLanes : width }
    func load(_ buffer: String, _ at: IndexExpr, _ j: Int) -> ValueExpr {
      lanes(j) < width ? .vloadPartial(buffer, at, lanes: lanes(j)) : .vloadUnaligned(buffer, at)
    }
    func column(_ j: Int) -> Int { (firstVector + j) * width }
    func acc(_ q: Int, _ j: Int) -> String { "g\(q)_\(j)" }
    var stmts: [Stmt] = []
    for q in 0..<count {
      let b = sequence(q).b
      for j in 0..<vectors {
        let start =
          cell == .lstm
          ? load("xg", projected(b) + .constant(column(j)), j)
          : load("rb", Self.v("d") * gates + .constant(column(j)), j)
        stmts.append(.declareVector(acc(q, j), start))
      }
    }
    let row = (Self.v("d") * hidden + Self.v("k")) * gates
    var inner: [Stmt] = (0..<count).map { q in
      .declareVector("hb\(q)", .splat(Self.load("scratch", sequence(q).base + Self.v("k"))))
    }
    for j in 0..<vectors {
      inner.append(.declareVector("r\(j)", load("rt", row + .constant(column(j)), j)))
      for q in 0..<count {
        inner.append(.accumulate(acc(q, j), .sum, .binary(.mul, .local("hb\(q)"), .local("r\(j)"))))
      }
    }
    stmts.append(.loop(variable: "k", extent: hidden, kind: .serial, body: inner))
    for q in 0..<count {
      let gate = sequence(q).base + .constant(gateOffset)
      for j in 0..<vectors {
        let at = gate + .constant(column(j))
        if lanes(j) < width {
          let store = Stmt.store("scratch", at + Self.v("l"), .lane(acc(q, j), Self.v("l")))
          stmts.append(.loop(variable: "l", extent: lanes(j), kind: .serial, body: [store]))
        } else {
          stmts.append(.vstoreUnaligned("scratch", at, .local(acc(q, j))))
        }
      }
    }
    return stmts
  }

  /// Step 2 for sequence `q`: per hidden unit the gates, the new states and the output.
  private func update(_ q: Int) -> Stmt {
    let (b, base) = sequence(q)
    let k = Self.v("k")
    let cBase = base + .constant(hidden), gBase = base + .constant(gateOffset)
    let g = { (offset: Int) -> ValueExpr in Self.load("scratch", gBase + .constant(offset) + k) }
    let x = { (offset: Int) -> ValueExpr in Self.load("xg", projected(b) + .constant(offset) + k) }
    let output = ((Self.v("t") * directions + Self.v("d")) * batch + b) * hidden + k
    var body: [Stmt]
    switch cell {
    case .lstm:
      // c = σ(f)·c + σ(i)·tanh(c̃), h = σ(o)·tanh(c); gates i, o, f, c̃.
      let c = ValueExpr.binary(
        .add, .binary(.mul, Self.sigmoid(g(2 * hidden)), Self.load("scratch", cBase + k)),
        .binary(.mul, Self.sigmoid(g(0)), .unary(.tanh, g(3 * hidden))))
      body = [
        .declare("ck", c), .store("scratch", cBase + k, .local("ck")),
        .declare("hk", .binary(.mul, Self.sigmoid(g(hidden)), .unary(.tanh, .local("ck")))),
      ]
    case .gru:
      // z = σ(x_z + g_z), r = σ(x_r + g_r), n = tanh(x_n + r·g_n), h = n + z·(h − n).
      let z = Self.sigmoid(.binary(.add, x(0), g(0)))
      let r = Self.sigmoid(.binary(.add, x(hidden), g(hidden)))
      let n = ValueExpr.unary(.tanh, .binary(.add, x(2 * hidden), .binary(.mul, r, g(2 * hidden))))
      body = [
        .declare("nk", n),
        .declare(
          "hk",
          .binary(.add, .local("nk"), .binary(.mul, z, .binary(.sub, Self.load("scratch", base + k), .local("nk"))))),
      ]
    }
    body += [.store("scratch", base + k, .local("hk")), .store("out", output, .local("hk"))]
    return .loop(variable: "k", extent: hidden, kind: .serial, body: body)
  }
}
