/// The loop nests of the smaller blocked-layout kernels: layout changes, pooling,
/// elementwise-only groups and channel concatenation (the global average pool is a
/// ``SpatialReduction``). Each is a parallel loop over rows or channel blocks with one
/// `GF_V`-lane vector per pixel, rendered to C by ``CEmitter``.
enum BlockedKernels {
  static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Zeroes the lanes of vector `r` that hold padded channels when `block` is the last channel
  /// block; nothing when the channels fill whole vectors.
  static func padLanes(_ r: String, channels c: Int, vector: Int, block: IndexExpr) -> [Stmt] {
    guard c % vector != 0 else { return [] }
    let blocks = (c + vector - 1) / vector
    let lanes = Stmt.loop(
      variable: "l", extent: vector - c % vector, kind: .serial,
      body: [.setLane(r, v("l") + .constant(c % vector), .constant(0))])
    return [.when([.inRange(block, blocks - 1, blocks)], [lanes])]
  }

  /// Pixels a layout-change task moves at most (``LayoutChange``).
  static let layoutChunk = 1024

  /// Plain `[n, c, hw]` → blocked `[n, c/v, hw, v]`, padded channels zero (``LayoutChange``).
  static func toBlocked(n: Int, c: Int, hw: Int, vector: Int) -> LoopNest {
    LayoutChange(n: n, c: c, hw: hw, vector: vector, toBlocked: true).nest
  }

  /// Blocked `[n, c/v, hw, v]` → plain `[n, c, hw]` (``LayoutChange``).
  static func toPlain(n: Int, c: Int, hw: Int, vector: Int) -> LoopNest {
    LayoutChange(n: n, c: c, hw: hw, vector: vector, toBlocked: false).nest
  }

  /// Max or average pooling of a blocked input, the epilogue applied to each output vector.
  /// Tasks: n × c/v × output rows. A row runs in tiles of up to ``poolTile`` output pixels with
  /// one accumulator each (independent max/sum chains instead of one chain of `kh·kw` steps per
  /// pixel); tiles whose windows lie inside the input columns test no column, the rest test each
  /// (runs of equal tiles, split at the padded borders as in the conv rows).
  static func pool(_ node: Node, input: [Int], output: [Int], epilogue: Epilogue) -> LoopNest {
    let a = node.attributes
    let kernel = a.ints("kernel_shape", default: [1, 1])
    let win = Window2D(a, kernel: kernel)
    let isMax = node.op == "max_pool2d"
    let includePad = a.bool("count_include_pad", default: false)
    let vector = epilogue.vectorWidth
    let (n, c, h, w) = (input[0], input[1], input[2], input[3])
    let (oh, ow) = (output[2], output[3])
    let (sw, pl, dw) = (win.strides[1], win.pads[1], win.dilations[1])
    let cb = (c + vector - 1) / vector
    let padCounted = !isMax && includePad
    // Output columns whose whole window is inside the input: [begin, end).
    let begin = min(ow, (pl + sw - 1) / sw)
    let last = w - 1 + pl - (kernel[1] - 1) * dw
    let end = last < 0 ? begin : max(begin, min(ow, last / sw + 1))
    var tiles: [(ox: Int, width: Int, checked: Bool)] = []
    for (from, to, checked) in [(0, begin, true), (begin, end, padCounted), (end, ow, true)] where to > from {
      let (count, big, size) = Tiling.evenSplit(to - from, maxTile: poolTile)
      var ox = from
      for k in 0..<count {
        let width = k < big ? size : size - 1
        tiles.append((ox, width, checked))
        ox += width
      }
    }
    func tile(_ pixels: Int, checked: Bool) -> [Stmt] {
      var body: [Stmt] = []
      for t in 0..<pixels {
        body.append(.declareVector("acc\(t)", .constant(isMax ? -Double.infinity : 0)))
        if !isMax { body.append(.declare("cnt\(t)", .constant(0))) }
      }
      var window: [Stmt] = []
      for t in 0..<pixels {
        let ix = v("ix\(t)")
        window.append(.let_("ix\(t)", (v("ox") + .constant(t)) * sw - pl + v("kx") * dw))
        let x = ValueExpr.vload("in", v("plane") + (v("iy") * w + ix) * vector)
        var inside: [Stmt] = [.accumulate("acc\(t)", isMax ? .max : .sum, x)]
        if !isMax && !includePad { inside.append(.accumulate("cnt\(t)", .sum, .constant(1))) }
        if padCounted {
          let padded: [IndexCondition] = [
            .inRange(v("iy"), -win.pads[0], h + win.pads[2]), .inRange(ix, -pl, w + win.pads[3]),
          ]
          window.append(.when(padded, [.accumulate("cnt\(t)", .sum, .constant(1))]))
          window.append(.when([.inRange(v("iy"), 0, h), .inRange(ix, 0, w)], inside))
        } else {
          // Rows outside the input are skipped whole; checked tiles test each column.
          window += checked ? [.when([.inRange(ix, 0, w)], inside)] : inside
        }
      }
      let columns = Stmt.loop(variable: "kx", extent: kernel[1], kind: .serial, body: window)
      body.append(
        .loop(
          variable: "ky", extent: kernel[0], kind: .serial,
          body: [
            .let_("iy", v("oy") * win.strides[0] - win.pads[0] + v("ky") * win.dilations[0]),
            padCounted ? columns : .when([.inRange(v("iy"), 0, h)], [columns]),
          ]))
      for t in 0..<pixels {
        let offset = ((v("b") * cb + v("blk")) * oh + v("oy")) * (ow * vector) + (v("ox") + .constant(t)) * vector
        var acc = ValueExpr.local("acc\(t)")
        if !isMax { acc = .binary(.div, acc, .binary(.max, .local("cnt\(t)"), .constant(1))) }
        body.append(.declareVector("r\(t)", epilogue.vector(acc: acc, offset: offset, channelBlock: v("blk"))))
        body += padLanes("r\(t)", channels: c, vector: vector, block: v("blk"))
        body.append(.vstore("out", offset, .local("r\(t)")))
      }
      return body
    }
    var task: [Stmt] = [
      .let_("oy", v("task") % oh), .let_("blk", (v("task") / oh) % cb), .let_("b", v("task") / (oh * cb)),
      .let_("plane", (v("b") * cb + v("blk")) * (h * w * vector)),
    ]
    task += Tiling.rowLoops(tiles) { width, checked in tile(width, checked: checked) }
    return LoopNest(
      name: node.op,
      buffers: [buffer("in", n * cb * vector * h * w)] + operandBuffers(epilogue) + [
        buffer("out", n * cb * vector * oh * ow, output: true)
      ],
      body: [.loop(variable: "task", extent: n * cb * oh, kind: .parallel, body: task)])
  }

  /// Output pixels per pool tile: independent accumulators enough to hide the latency of the
  /// max (a compare and a blend for NaN propagation) and add chains, few enough for registers.
  static let poolTile = 8

  /// An elementwise-only group over blocked operands of `shape`. Tasks: n × c/v × h.
  static func elementwise(shape: [Int], epilogue: Epilogue) -> LoopNest {
    let vector = epilogue.vectorWidth
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let cb = (c + vector - 1) / vector
    let offset = v("task") * (w * vector) + v("x") * vector
    let pixel: [Stmt] =
      [.declareVector("r", epilogue.vector(acc: .splat(.constant(0)), offset: offset, channelBlock: v("blk")))]
      + padLanes("r", channels: c, vector: vector, block: v("blk")) + [.vstore("out", offset, .local("r"))]
    return LoopNest(
      name: "elementwise", buffers: operandBuffers(epilogue) + [buffer("out", n * cb * vector * h * w, output: true)],
      body: [
        .loop(
          variable: "task", extent: n * cb * h, kind: .parallel,
          body: [.let_("blk", (v("task") / h) % cb), .loop(variable: "x", extent: w, kind: .serial, body: pixel)])
      ])
  }

  /// Channel concatenation of blocked inputs whose channel counts are whole vectors: one block
  /// copy per output channel block. Tasks: n × output channel blocks.
  static func concat(n: Int, channels: [Int], hw: Int, vector: Int) -> LoopNest {
    let blocks = channels.map { $0 / vector }
    let total = blocks.reduce(0, +)
    var cases: [Stmt] = []
    var start = 0
    for (k, count) in blocks.enumerated() {
      let source = (v("b") * count + v("blk") - start) * (hw * vector)
      cases.append(
        .when(
          [.inRange(v("blk"), start, start + count)],
          [.copy(target: "out", v("task") * (hw * vector), source: "x\(k)", source, count: hw * vector)]))
      start += count
    }
    let inputs = blocks.enumerated().map { k, count in buffer("x\(k)", n * count * vector * hw) }
    return LoopNest(
      name: "concat", buffers: inputs + [buffer("out", n * total * vector * hw, output: true)],
      body: [
        .loop(
          variable: "task", extent: n * total, kind: .parallel,
          body: [.let_("b", v("task") / total), .let_("blk", v("task") % total)] + cases)
      ])
  }

  static func buffer(_ name: String, _ count: Int, output: Bool = false) -> BufferDecl {
    BufferDecl(name: name, count: count, isOutput: output)
  }

  /// The epilogue operands as buffers `e0…`, read-only.
  private static func operandBuffers(_ epilogue: Epilogue) -> [BufferDecl] {
    epilogue.operands.indices.map { buffer("e\($0)", 0) }
  }
}
