/// A copy whose output's last axis is strided in its source while another output axis is the
/// source's contiguous one: a 2-d transpose, repeated over the other axes (XCiT's and CoaT's
/// `reshape → transpose` of a `[tokens, 3·heads·d]` projection into `[3, heads, d, tokens]`).
/// Element by element each vector of the output gathers 16 floats a cache line apart; here a
/// task takes `width` positions of the contiguous axis and, `width` output columns at a time,
/// loads a vector per column (contiguous in the source), turns the block over in registers
/// (``RegisterTranspose``) and stores a vector per row (contiguous in the output). The columns
/// past the last whole block and a partial last block of the contiguous axis go element by element.
struct TransposedCopy {
  /// The output's shape, outermost first.
  var shape: [Int]
  /// Source elements per step of each output axis, and the source element at output index 0.
  var sourceStrides: [Int], offset: Int
  /// The output axis the source is contiguous along (source stride 1); never the last.
  var unitAxis: Int
  /// A factor every element is multiplied by (1: none).
  var scale: Double
  /// Floats per vector.
  var width: Int

  private var last: Int { shape.count - 1 }
  /// The axes other than the last and the unit axis, whose indices a task fixes.
  private var outerAxes: [Int] { shape.indices.filter { $0 != last && $0 != unitAxis } }
  private var unitBlocks: Int { (shape[unitAxis] + width - 1) / width }
  /// Tasks: one per index of the outer axes and block of the unit axis.
  var tasks: Int { outerAxes.map { shape[$0] }.reduce(1, *) * unitBlocks }

  /// The copy for a view, or nil when it is no transpose: the output's last axis contiguous in the
  /// source already, no output axis contiguous in it, or either of the two shorter than a vector.
  static func of(_ view: OperandView, shape: [Int], width: Int) -> TransposedCopy? {
    guard shape.count >= 2, let lastStride = view.strides.last, lastStride != 1, shape.last! >= width,
      let unit = view.strides.indices.dropLast().first(where: { view.strides[$0] == 1 && shape[$0] >= width })
    else { return nil }
    return TransposedCopy(
      shape: shape, sourceStrides: view.strides, offset: view.offset, unitAxis: unit, scale: view.scale, width: width)
  }

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  private func scaled(_ e: ValueExpr) -> ValueExpr { scale == 1 ? e : .binary(.mul, e, .constant(scale)) }

  /// The loop nest. Buffers: `in` (the source), `out`.
  var nest: LoopNest {
    let outStrides = Tensor.strides(of: shape)
    let outer = outerAxes
    var task: [Stmt] = [.let_("ub", Self.v("task") % unitBlocks)]
    var sbase = IndexExpr.constant(offset), dbase = IndexExpr.constant(0)
    if !outer.isEmpty {
      let rest = Self.v("task") / unitBlocks
      let idx = GroupLowering.unflatten(rest, outer.map { shape[$0] })
      for (k, axis) in outer.enumerated() {
        task.append(.let_("o\(k)", idx[k]))
        sbase = sbase + Self.v("o\(k)") * sourceStrides[axis]
        dbase = dbase + Self.v("o\(k)") * outStrides[axis]
      }
    }
    task += [.let_("sbase", sbase), .let_("dbase", dbase)]
    let (n, u) = (shape[last], shape[unitAxis])
    let (sLast, dUnit) = (sourceStrides[last], outStrides[unitAxis])
    let u0 = Self.v("ub") * width
    /// Element by element: columns `columns`, unit positions `0 ..< lanes` of the block.
    func elements(columns: Range<Int>, lanes: Int) -> [Stmt] {
      guard !columns.isEmpty, lanes > 0 else { return [] }
      let j = Self.v("j") + .constant(columns.lowerBound), c = Self.v("c")
      let store = Stmt.store(
        "out", Self.v("dbase") + (u0 + c) * dUnit + j,
        scaled(.load("in", Self.v("sbase") + j * sLast + u0 + c)))
      let inner = Stmt.loop(variable: "c", extent: lanes, kind: .serial, body: [store])
      return [.loop(variable: "j", extent: columns.count, kind: .serial, body: [inner])]
    }
    let whole = n / width * width
    var full: [Stmt] = []
    if whole > 0 {
      let column0 = Self.v("jb") * width
      var block: [Stmt] = (0..<width).map { r in
        .declareVector("tr\(r)", scaled(.vloadUnaligned("in", Self.v("sbase") + (column0 + .constant(r)) * sLast + u0)))
      }
      let (turn, rows) = RegisterTranspose.statements((0..<width).map { "tr\($0)" }, prefix: "tt")
      block += turn
      for (c, name) in rows.enumerated() {
        block.append(.vstoreUnaligned("out", Self.v("dbase") + (u0 + .constant(c)) * dUnit + column0, .local(name)))
      }
      full.append(.loop(variable: "jb", extent: whole / width, kind: .serial, body: block))
    }
    full += elements(columns: whole..<n, lanes: width)
    let wholeUnits = u / width
    if wholeUnits == unitBlocks {
      task += full
    } else {
      if wholeUnits > 0 { task.append(.when([.inRange(Self.v("ub"), 0, wholeUnits)], full)) }
      task.append(.when([.inRange(Self.v("ub"), wholeUnits, unitBlocks)], elements(columns: 0..<n, lanes: u % width)))
    }
    let buffers = [
      BufferDecl(name: "in", count: 0, isOutput: false),
      BufferDecl(name: "out", count: shape.reduce(1, *), isOutput: true),
    ]
    return LoopNest(
      name: "transposed_copy", buffers: buffers,
      body: [.loop(variable: "task", extent: tasks, kind: .parallel, body: task)])
  }
}
