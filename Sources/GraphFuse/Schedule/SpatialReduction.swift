/// A sum, mean or max over the two spatial axes of a blocked `[N, C/v, H·W, v]` tensor into a
/// plain `[N, C]` result, a vector of `v` channels at a time: a task per image and channel block
/// streams its pixels into four vector accumulators, then applies the epilogue and stores each
/// channel. An elementwise prologue (`x²` before ONNX's `ReduceL2` or `ReduceSumSquare`, an
/// activation) is evaluated on each pixel's vector as it is read, from its blocked operands. The
/// generic reduction instead summed one channel per task, reading a lane of every vector of the
/// blocked tensor: each cache line sixteen times over.
struct SpatialReduction {
  enum Operation { case sum, mean, max }

  var n: Int, c: Int, pixels: Int
  var operation: Operation
  /// The elementwise stage before the reduction, over operands `x0…` (blocked, per channel or
  /// scalar); nil when the reduction reads its input, buffer `in`, directly.
  var prologue: Epilogue?
  /// The tail after the reduction (operands `e0…`, per channel or scalar).
  var epilogue: Epilogue

  static func v(_ name: String) -> IndexExpr { .variable(name) }

  var nest: LoopNest {
    let width = epilogue.vectorWidth
    let blocks = (c + width - 1) / width
    let base = Self.v("task") * (pixels * width)
    func term(_ p: IndexExpr) -> ValueExpr {
      let offset = base + p * width
      guard let prologue else { return .vload("in", offset) }
      return prologue.vector(acc: .splat(.constant(0)), offset: offset, channelBlock: Self.v("blk"), prefix: "x")
    }
    let accumulate: Accumulate = operation == .max ? .max : .sum
    var body: [Stmt] = [.let_("b", Self.v("task") / blocks), .let_("blk", Self.v("task") % blocks)]
    body += VectorAccumulators.stream(
      pixels, variable: "p", start: operation == .max ? -.infinity : 0, accumulate: accumulate, term: term)
    var total = VectorAccumulators.total(operation == .max ? .max : .add)
    if operation == .mean { total = .binary(.mul, total, .constant(1.0 / Double(pixels))) }
    body.append(.declareVector("acc", total))
    body.append(
      .declareVector("r", epilogue.vector(acc: .local("acc"), offset: .constant(0), channelBlock: Self.v("blk"))))
    let store = Stmt.when(
      [.inRange(Self.v("blk") * width + Self.v("l"), 0, c)],
      [.store("out", Self.v("b") * c + Self.v("blk") * width + Self.v("l"), .lane("r", Self.v("l")))])
    body.append(.loop(variable: "l", extent: width, kind: .serial, body: [store]))
    func buffer(_ name: String, output: Bool = false) -> BufferDecl {
      BufferDecl(name: name, count: 0, isOutput: output)
    }
    let inputs = prologue.map { p in p.operands.indices.map { buffer("x\($0)") } } ?? [buffer("in")]
    let names: [Operation: String] = [.sum: "spatial_sum", .mean: "global_avg_pool", .max: "spatial_max"]
    return LoopNest(
      name: names[operation]!,
      buffers: inputs + epilogue.operands.indices.map { buffer("e\($0)") } + [buffer("out", output: true)],
      body: [.loop(variable: "task", extent: n * blocks, kind: .parallel, body: body)])
  }
}
