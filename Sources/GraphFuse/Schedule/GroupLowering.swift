/// Lowers one fused group to plain row-major (NCHW) loop nests by inlining: every member's value
/// at an index is an expression of its inputs at remapped indices, so elementwise members become
/// math at the anchor's store, injective members become index remaps, and the anchor's reduction
/// becomes a small loop computed just before the store.
struct GroupLowering {
  let graph: Graph
  let group: FusedGroup
  let members: Set<NodeID>
  /// Buffer name of each group input and output value.
  private(set) var names: [ValueID: String] = [:]
  private var buffers: [BufferDecl] = []
  private var counter = 0
  /// Statements to run before the expression being built (reductions), in order.
  var prelude: [Stmt] = []
  /// Softmax row statistics computed outside the row loop, by node.
  var rowLocals: [NodeID: (max: String, sum: String)] = [:]
  /// Softmax rows whose exponentials the statistics pass already stored in the output buffer
  /// (the local `sum` then holds 1/sum): node → output buffer name.
  var storedRows: [NodeID: String] = [:]
  /// Group inputs read in the blocked `NCHW[v]c` layout a template wrote them in (value → v),
  /// instead of a plain copy made by a layout change first.
  var blockedInputs: [ValueID: Int] = [:]
  /// Write the group's one rank-4 output in the blocked `NCHW[v]c` layout (the v given) instead of
  /// plain NCHW: for a group without a reduction whose readers are convs. Its channels must be
  /// whole vectors.
  var blockedOutput: Int? = nil

  /// Indices of a reduction group's leading output axes below which its innermost axis joins the
  /// parallel loop too: a dense layer with one row has 1, and its tasks come from the columns.
  static let innerSplitBelow = 64

  init(graph: Graph, group: FusedGroup) {
    self.graph = graph
    self.group = group
    self.members = Set(group.nodes)
    var used = Set<String>()
    for v in group.inputs { declare(v, output: false, used: &used) }
    for v in group.outputs { declare(v, output: true, used: &used) }
  }

  private mutating func declare(_ v: ValueID, output: Bool, used: inout Set<String>) {
    var base = String(graph.values[v].name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    if base.isEmpty || base.first!.isNumber || base.count > 40 { base = "t\(v)" }
    base = "v_" + base
    var name = base, k = 1
    while used.contains(name) { name = "\(base)_\(k)"; k += 1 }
    used.insert(name)
    names[v] = name
    buffers.append(BufferDecl(name: name, count: graph.shape(of: v).reduce(1, *), isOutput: output, value: v))
  }

  /// Declares the run's status buffer (``IndexExpr/statusBuffer``) once, for checked indices.
  mutating func declareStatus() {
    guard !buffers.contains(where: { $0.name == IndexExpr.statusBuffer }) else { return }
    buffers.append(BufferDecl(name: IndexExpr.statusBuffer, count: 2, isOutput: true, value: nil))
  }

  /// A fresh local or loop variable name.
  mutating func fresh(_ stem: String) -> String {
    counter += 1
    return "\(stem)\(counter)"
  }

  // MARK: Index helpers

  /// The row-major flat offset of an index into a shape (extent-1 axes contribute nothing).
  static func flat(_ idx: [IndexExpr], _ shape: [Int]) -> IndexExpr {
    let strides = Tensor.strides(of: shape)
    var e = IndexExpr.constant(0)
    for a in shape.indices where shape[a] != 1 { e = e + idx[a] * strides[a] }
    return e
  }

  /// The offset of NCHW index `idx` in the blocked `[n][c/v][h][w][v]` layout of a rank-4 `shape`.
  static func blockedIndex(_ idx: [IndexExpr], _ shape: [Int], width v: Int) -> IndexExpr {
    let blocks = (shape[1] + v - 1) / v
    let pixel = idx[2] * shape[3] + idx[3]
    return ((idx[0] * blocks + idx[1] / v) * (shape[2] * shape[3]) + pixel) * v + idx[1] % v
  }

  /// The multi-index of a flat offset into a shape.
  static func unflatten(_ f: IndexExpr, _ shape: [Int]) -> [IndexExpr] {
    let strides = Tensor.strides(of: shape)
    let outermost = shape.firstIndex { $0 != 1 } ?? 0
    return shape.indices.map { a in
      if shape[a] == 1 { return .constant(0) }
      let q = strides[a] == 1 ? f : IndexExpr.div(f, strides[a])
      return a == outermost ? q : .mod(q, shape[a])
    }
  }

  /// The index into an operand of `shape` broadcast (numpy, right-aligned) to an output index.
  static func broadcast(_ idx: [IndexExpr], to shape: [Int]) -> [IndexExpr] {
    let offset = idx.count - shape.count
    return shape.indices.map { shape[$0] == 1 ? .constant(0) : idx[$0 + offset] }
  }

  // MARK: Values

  /// The value `v` at multi-index `idx` (in `v`'s shape); may append reduction statements to `prelude`.
  mutating func value(_ v: ValueID, at idx: [IndexExpr]) throws(GraphFuseError) -> ValueExpr {
    guard let n = graph.producer(of: v), members.contains(n) else {
      guard let name = names[v] else {
        throw GraphFuseError("value \(graph.values[v].name) has no buffer", op: "lowering")
      }
      if let width = blockedInputs[v] { return .load(name, Self.blockedIndex(idx, graph.shape(of: v), width: width)) }
      return .load(name, Self.flat(idx, graph.shape(of: v)))
    }
    let node = graph.nodes[n]
    let def = try OpRegistry.definition(of: node.op, node: node.name)
    let pattern = def.pattern(node.attributes)
    if let scalar = def.scalar, pattern <= .broadcast {
      let shapes = node.inputs.map { graph.shape(of: $0) }
      let viewed = def.broadcastShapes(node.attributes, shapes)
      var operands: [ValueExpr] = []
      for (k, input) in node.inputs.enumerated() {
        var i = Self.broadcast(idx, to: viewed[k])
        if viewed[k] != shapes[k] { i = Self.unflatten(Self.flat(i, viewed[k]), shapes[k]) }
        operands.append(try value(input, at: i))
      }
      return ValueExpr(scalar(node.attributes), operands: operands)
    }
    if pattern == .injective { return try injective(node, at: idx) }
    return try anchor(n, at: idx)
  }

  // MARK: Loop nests

  /// One loop nest per group output.
  mutating func lower() throws(GraphFuseError) -> [LoopNest] {
    let anchorNode = graph.nodes[group.anchor]
    if anchorNode.op == "batch_norm" && BatchNorm.isTraining(anchorNode.attributes) {
      blockedInputs = [:]  // its nest indexes its buffers directly, in plain layout
      return [try trainingBatchNorm(anchorNode)]
    }
    var nests: [LoopNest] = []
    for (k, out) in group.outputs.enumerated() {
      prelude = []
      rowLocals = [:]
      storedRows = [:]
      let body: [Stmt]
      if let v = blockedOutput { body = try blockedOutputLoops(out, width: v) } else { body = try outputLoops(out) }
      let suffix = group.outputs.count > 1 ? "_out\(k)" : ""
      nests.append(LoopNest(name: group.name + suffix, buffers: buffers, body: body))
    }
    return nests
  }

  /// True when every member downstream of the anchor is elementwise over the output's shape, so
  /// the output at an index reads the anchor's value at that same index only.
  private func elementwiseTail(_ out: ValueID) -> Bool {
    var upstream = Set<NodeID>(), stack = [group.anchor]
    while let n = stack.popLast() {
      for input in graph.nodes[n].inputs {
        if let p = graph.producer(of: input), members.contains(p), upstream.insert(p).inserted { stack.append(p) }
      }
    }
    let shape = graph.shape(of: out)
    return group.nodes.allSatisfy { n in
      if n == group.anchor || upstream.contains(n) { return true }
      let node = graph.nodes[n]
      guard let def = OpRegistry.definitions[node.op], def.scalar != nil else { return false }
      return def.pattern(node.attributes) <= .broadcast && node.outputs.allSatisfy { graph.shape(of: $0) == shape }
    }
  }

  /// Loops over the output's index space: leading axes flattened into one parallel loop,
  /// the innermost axis vectorized when no reduction sits inside it.
  private mutating func outputLoops(_ out: ValueID) throws(GraphFuseError) -> [Stmt] {
    let shape = graph.shape(of: out)
    let name = names[out]!
    // A softmax anchor whose row is the output row computes its statistics once per row.
    let anchorNode = graph.nodes[group.anchor]
    var rowAxis: Int? = nil
    if anchorNode.op == "softmax", graph.shape(of: anchorNode.outputs[0]) == shape, shape.count > 0 {
      rowAxis = Injective.axis(anchorNode.attributes.int("axis", default: -1), rank: shape.count)
    }
    // So does a layer norm over the last axis: mean and 1/σ once per row.
    if anchorNode.op == "layer_norm", graph.shape(of: anchorNode.outputs[0]) == shape, shape.count > 0,
      LayerNorm.axis(anchorNode.attributes, rank: shape.count) == shape.count - 1
    {
      rowAxis = shape.count - 1
    }
    let vars = shape.indices.map { _ in fresh("i") }
    // Extent-1 axes get no loop.
    var idx = shape.indices.map { shape[$0] == 1 ? IndexExpr.constant(0) : .variable(vars[$0]) }
    // Parallel loop over the leading axes until there is enough work to split.
    // A group with a reduction may split its innermost axis too (a dense layer with one row), when
    // the axes before it hold fewer than ``innerSplitBelow`` indices; with more, the innermost axis
    // stays a serial loop that ``InnerVectorize`` can run across (Funnel's `bnij,bjnd->bind` with
    // 64 × 2 leading indices: 8,192 scalar dot products at 2 % of peak, 0.27 ms, before).
    var lead = 0, product = 1
    let leading = shape.dropLast().reduce(1, *)
    let limit =
      group.pattern >= .commReduce && rowAxis == nil && leading < Self.innerSplitBelow ? shape.count : shape.count - 1
    while lead < limit, product < 256, lead != rowAxis { product *= shape[lead]; lead += 1 }
    if shape.isEmpty { lead = 0 }
    let p = fresh("p")
    // Tasks of a few elements (the last parallel axis long, the axes inside it short) take a run of
    // that axis each instead of one index (``TaskRun``).
    let run = rowAxis == nil && group.pattern <= .injective ? TaskRun(shape: shape, lead: lead) : nil
    var task = IndexExpr.variable(p)
    if let run { task = task / run.blocks }
    // The parallel loop runs over the flattened leading axes; their indices are locals.
    var leadLocals: [Stmt] = []
    let parallelAxes = run?.axis ?? lead
    if parallelAxes > 0 {
      let leadIdx = Self.unflatten(task, Array(shape[..<parallelAxes]))
      for a in 0..<parallelAxes {
        if case .constant = leadIdx[a] { idx[a] = leadIdx[a]; continue }
        if case .variable = leadIdx[a] { idx[a] = leadIdx[a]; continue }
        leadLocals.append(.let_(vars[a], leadIdx[a]))
      }
    }
    if let run { idx[run.axis] = .variable(vars[run.axis]) }
    var inner: [Stmt]
    if let r = rowAxis {
      let (stats, _) =
        anchorNode.op == "softmax"
        ? try softmaxRow(
          group.anchor, idx: idx, axis: r, rowVar: vars[r], storeTo: elementwiseTail(out) ? name : nil)
        : try layerNormRow(group.anchor, idx: idx, axis: r)
      prelude = []
      let e = try value(out, at: idx)
      let store = prelude + [.store(name, Self.flat(idx, shape), e)]
      inner = stats + [.loop(variable: vars[r], extent: shape[r], kind: .serial, body: store)]
      for a in stride(from: shape.count - 1, through: lead, by: -1) where a != r && shape[a] != 1 {
        inner = [.loop(variable: vars[a], extent: shape[a], kind: .serial, body: inner)]
      }
    } else {
      let e = try value(out, at: idx)
      let vectorize = prelude.isEmpty
      inner = prelude + [.store(name, Self.flat(idx, shape), e)]
      for a in stride(from: shape.count - 1, through: lead, by: -1) where shape[a] != 1 {
        let kind: LoopKind = a == shape.count - 1 && vectorize && shape[a] > 1 ? .vectorized : .serial
        inner = [.loop(variable: vars[a], extent: shape[a], kind: kind, body: inner)]
      }
    }
    if let run { inner = run.loop(vars[run.axis], task: .variable(p), fresh: fresh("j"), body: inner) }
    let tasks = run.map { product / shape[$0.axis] * $0.blocks } ?? product
    return lead > 0 ? [.loop(variable: p, extent: tasks, kind: .parallel, body: leadLocals + inner)] : inner
  }

  /// Loops over a rank-4 output in its blocked order `[n][c/v][h][w][v]`: one parallel task per
  /// (image, channel block, row), the channel lanes innermost and vectorized, so a channels-last
  /// input (`[n, h·w, c]` transposed to NCHW, as PVT and ConvNeXt write before a depthwise conv)
  /// is read one contiguous vector at a time instead of one cache line per element. When the
  /// channels are not whole vectors, the lanes past the last channel are written as zeros (the
  /// value is computed at the last channel there, so nothing reads out of bounds).
  private mutating func blockedOutputLoops(_ out: ValueID, width v: Int) throws(GraphFuseError) -> [Stmt] {
    let shape = graph.shape(of: out)
    let name = names[out]!
    let (channels, h, w) = (shape[1], shape[2], shape[3])
    let blocks = (channels + v - 1) / v
    let p = fresh("p"), n = fresh("n"), cb = fresh("cb"), y = fresh("y"), x = fresh("x"), l = fresh("l")
    let task = IndexExpr.variable(p)
    let lets: [Stmt] = [
      .let_(n, task / (blocks * h)), .let_(cb, (task / h) % blocks), .let_(y, task % h),
    ]
    let channel = IndexExpr.variable(cb) * v + .variable(l)
    let inside: [IndexCondition] = [.inRange(channel, 0, channels)]
    let pixel = IndexExpr.variable(y) * w + .variable(x)
    let offset = ((IndexExpr.variable(n) * blocks + .variable(cb)) * (h * w) + pixel) * v + .variable(l)
    // A row of pixels of one channel block, its lanes computed at `channel` (clamped into range
    // for the last, partial block, whose extra lanes are written as zeros).
    func row(clamped: Bool) throws(GraphFuseError) -> Stmt {
      let idx: [IndexExpr] = [
        .variable(n), clamped ? .select(inside, channel, .constant(channels - 1)) : channel, .variable(y), .variable(x),
      ]
      prelude = []
      let computed = try value(out, at: idx)
      let e = clamped ? ValueExpr.select(inside, computed, .constant(0)) : computed
      guard prelude.isEmpty else {
        throw GraphFuseError("internal: a reduction in a group written in blocked layout", op: "lowering")
      }
      let lanes = Stmt.loop(variable: l, extent: v, kind: .vectorized, body: [.store(name, offset, e)])
      return .loop(variable: x, extent: w, kind: .serial, body: [lanes])
    }
    // Whole blocks need no clamp: without it their lanes index their own channels directly and
    // compile to vector loads (GhostNetV2's gate over 72 channels: four of its five blocks).
    var body = lets
    if channels % v == 0 {
      body.append(try row(clamped: false))
    } else {
      if blocks > 1 { body.append(.when([.inRange(.variable(cb), 0, blocks - 1)], [try row(clamped: false)])) }
      body.append(.when([.inRange(.variable(cb), blocks - 1, blocks)], [try row(clamped: true)]))
    }
    return [.loop(variable: p, extent: shape[0] * blocks * h, kind: .parallel, body: body)]
  }
}
