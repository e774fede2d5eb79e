/// A sum, mean or max over a run of axes before the last axis of a plain tensor, viewed as
/// `[outer, rows, columns]` and reduced over `rows` into `[outer, columns]`: the global response
/// norm of a channels-last ConvNeXt-V2 (`[N, H, W, C]` over H and W), a mean over the tokens of
/// `[N, T, C]`, the sum over the branches stacked as `[N, branches, C, H, W]` of a selective-kernel
/// block. A task per outer index and block of `v` columns adds whole rows of `v` contiguous
/// columns into four vector accumulators, then applies the epilogue and stores the vector; the
/// last block's columns past a whole vector are reduced one by one. An elementwise prologue (`x²`)
/// is evaluated on each vector as it is read. The generic reduction instead took one column per
/// task, reading a float from every row `columns` floats apart.
struct ColumnReduction {
  var outer: Int, rows: Int, columns: Int
  var operation: SpatialReduction.Operation
  /// The elementwise stage before the reduction over operands `x0…` (the channel axis the last);
  /// nil when the reduction reads buffer `in` directly.
  var prologue: Epilogue?
  /// The tail after the reduction (operands `e0…`, the channel axis the last).
  var epilogue: Epilogue

  static func v(_ name: String) -> IndexExpr { .variable(name) }
  var width: Int { epilogue.vectorWidth }
  var blocks: Int { (columns + width - 1) / width }

  var nest: LoopNest {
    let whole = columns / width, lanes = columns % width
    var body: [Stmt] = [.let_("o", Self.v("task") / blocks), .let_("cb", Self.v("task") % blocks)]
    if whole > 0 {
      let vectorCase = vectorBlock
      body.append(lanes == 0 ? .when([], vectorCase) : .when([.inRange(Self.v("cb"), 0, whole)], vectorCase))
    }
    if lanes > 0 { body.append(.when([.inRange(Self.v("cb"), whole, blocks)], scalarColumns(lanes))) }
    func buffer(_ name: String, output: Bool = false) -> BufferDecl {
      BufferDecl(name: name, count: 0, isOutput: output)
    }
    let inputs = prologue.map { p in p.operands.indices.map { buffer("x\($0)") } } ?? [buffer("in")]
    return LoopNest(
      name: "column_reduction",
      buffers: inputs + epilogue.operands.indices.map { buffer("e\($0)") } + [buffer("out", output: true)],
      body: [.loop(variable: "task", extent: outer * blocks, kind: .parallel, body: body)])
  }

  private var accumulate: Accumulate { operation == .max ? .max : .sum }
  private var start: Double { operation == .max ? -.infinity : 0 }
  private var scale: Double { operation == .mean ? 1 / Double(rows) : 1 }

  /// The input element offset of row `r`, column `column` of the task's outer index.
  private func offset(_ r: IndexExpr, _ column: IndexExpr) -> IndexExpr {
    (Self.v("o") * rows + r) * columns + column
  }

  /// A whole vector of columns: four accumulators over the rows, combined, the epilogue, a store.
  private var vectorBlock: [Stmt] {
    let column = Self.v("cb") * width
    func term(_ r: IndexExpr) -> ValueExpr {
      guard let prologue else { return .vloadUnaligned("in", offset(r, column)) }
      return prologue.vector(
        acc: .splat(.constant(0)), offset: offset(r, column), channelBlock: Self.v("cb"), prefix: "x", unaligned: true)
    }
    var stmts = VectorAccumulators.stream(rows, variable: "r", start: start, accumulate: accumulate, term: term)
    var total = VectorAccumulators.total(operation == .max ? .max : .add)
    if scale != 1 { total = .binary(.mul, total, .constant(scale)) }
    let out = Self.v("o") * columns + column
    stmts.append(
      .vstoreUnaligned(
        "out", out, epilogue.vector(acc: total, offset: out, channelBlock: Self.v("cb"), unaligned: true)))
    return stmts
  }

  /// The last block's `lanes` columns, each reduced alone.
  private func scalarColumns(_ lanes: Int) -> [Stmt] {
    let column = Self.v("cb") * width + Self.v("l")
    let x = offset(Self.v("r"), column)
    let term =
      prologue?.scalar(acc: .constant(0), offset: x, channel: column, prefix: "x") ?? .load("in", x)
    let out = Self.v("o") * columns + column
    var value = ValueExpr.local("s")
    if scale != 1 { value = .binary(.mul, value, .constant(scale)) }
    return [
      .loop(
        variable: "l", extent: lanes, kind: .serial,
        body: [
          .declare("s", .constant(start)),
          .loop(variable: "r", extent: rows, kind: .serial, body: [.accumulate("s", accumulate, term)]),
          .store("out", out, epilogue.scalar(acc: value, offset: out, channel: column)),
        ])
    ]
  }
}
