/// A `group_norm` on the blocked layout `NCHW[v]c`, its tail as the epilogue, in five steps:
/// 1. **sums**: a task per chunk of pixels of one image's channel block adds its pixels, a vector
///    of channels at a time, into one vector of partial sums;
/// 2. **means**: a task per image and group adds its channels' partial sums and writes the mean
///    to each of its channels;
/// 3. **deviations**: as step 1, the squared deviations from each channel's group mean;
/// 4. **affine**: a task per image turns each group's deviations into `1/σ` and each channel's
///    scale `a = γ/σ` and shift `b = β − mean·a` (zero in the lanes past the last channel);
/// 5. **normalize**: a task per chunk writes `x·a + b`, the epilogue applied, one store per vector.
///
/// The two passes over the data (mean, then deviations) keep the variance exact where a single
/// pass of sums and squares would cancel; each pass is a stream through the blocked tensor split
/// over every thread, where a group norm as a layer norm over `[N, G, C/G·H·W]` rows ran a row per
/// task (one task with one group) in plain layout.
struct GroupNormKernel {
  /// Images, channels, pixels per channel, channel groups.
  var n: Int, c: Int, pixels: Int, groups: Int
  var epsilon: Double
  /// Whether the op has a per-channel scale (`gamma`) and bias (`beta`).
  var hasScale: Bool, hasBias: Bool
  /// The tail after the norm (operands `e0…`), applied in the last step.
  var epilogue: Epilogue
  /// Threads the steps are split for.
  var threads: Int

  var width: Int { epilogue.vectorWidth }
  var blocks: Int { (c + width - 1) / width }
  var perGroup: Int { c / groups }
  /// Pixel chunks per channel block: enough that the image's channel blocks make 8 tasks per
  /// thread, each chunk at least 64 pixels (fewer would make the tasks' overhead show).
  var chunks: Int {
    let wanted = (8 * max(1, threads) + n * blocks - 1) / (n * blocks)
    let most = max(1, pixels / 64)
    let chunk = (pixels + min(wanted, most) - 1) / min(wanted, most)
    return (pixels + chunk - 1) / chunk
  }
  /// Pixels of every chunk but the last.
  var chunkPixels: Int { (pixels + chunks - 1) / chunks }
  var tasks: Int { n * blocks * chunks }
  /// Floats of the partial sums: a vector per task.
  var partialFloats: Int { tasks * width }
  /// Floats of the per-channel means and of the scale-and-shift pairs: per image, whole blocks.
  var meanFloats: Int { n * blocks * width }
  var affineFloats: Int { 2 * n * blocks * width }

  static func v(_ name: String) -> IndexExpr { .variable(name) }
  private static func buffer(_ name: String, output: Bool = false) -> BufferDecl {
    BufferDecl(name: name, count: 0, isOutput: output)
  }

  /// The five steps' nests, in order. Buffers: `x` (blocked), `partial`, `mean`, `affine`
  /// (scratch), `gamma` and `beta` (plain, `c` floats), `e…` (the epilogue's), `out` (blocked).
  var nests: [LoopNest] {
    let x = Self.buffer("x"), partial = Self.buffer("partial", output: true)
    let mean = Self.buffer("mean", output: true), affine = Self.buffer("affine", output: true)
    var parameters: [BufferDecl] = []
    if hasScale { parameters.append(Self.buffer("gamma")) }
    if hasBias { parameters.append(Self.buffer("beta")) }
    let operands = epilogue.operands.indices.map { Self.buffer("e\($0)") }
    return [
      LoopNest(name: "group_norm_sums", buffers: [x, partial], body: [chunkLoop(deviations: false)]),
      LoopNest(name: "group_norm_means", buffers: [partial, mean], body: [groupLoop(affine: false)]),
      LoopNest(name: "group_norm_deviations", buffers: [x, mean, partial], body: [chunkLoop(deviations: true)]),
      LoopNest(
        name: "group_norm_affine", buffers: [partial, mean] + parameters + [affine], body: [groupLoop(affine: true)]),
      LoopNest(
        name: "group_norm", buffers: [x, affine] + operands + [Self.buffer("out", output: true)],
        body: [normalizeLoop]),
    ]
  }

  /// Task `task`'s chunk: its image's channel block `nb`, its first pixel's element offset
  /// `base`, and its statements for each length (whole chunks, then the last one).
  private func chunk(_ body: (Int) -> [Stmt]) -> [Stmt] {
    var stmts: [Stmt] = [
      .let_("nb", Self.v("task") / chunks), .let_("k", Self.v("task") % chunks),
      .let_("base", (Self.v("nb") * pixels + Self.v("k") * chunkPixels) * width),
    ]
    let last = pixels - (chunks - 1) * chunkPixels
    if last == chunkPixels {
      stmts += body(chunkPixels)
    } else {
      stmts.append(.when([.inRange(Self.v("k"), 0, chunks - 1)], body(chunkPixels)))
      stmts.append(.when([.inRange(Self.v("k"), chunks - 1, chunks)], body(last)))
    }
    return stmts
  }

  /// Steps 1 and 3: each task's vector of partial sums of `x` (or of its squared deviations from
  /// the group means) over its chunk, in four accumulators.
  private func chunkLoop(deviations: Bool) -> Stmt {
    func term(_ p: IndexExpr) -> ValueExpr {
      let value = ValueExpr.vload("x", Self.v("base") + p * width)
      guard deviations else { return value }
      let centered = ValueExpr.binary(.sub, value, .local("mu"))
      return .binary(.mul, centered, centered)
    }
    let body = chunk { length in
      var stmts: [Stmt] = []
      if deviations { stmts.append(.declareVector("mu", .vloadUnaligned("mean", Self.v("nb") * width))) }
      stmts += VectorAccumulators.stream(length, variable: "q", start: 0, accumulate: .sum, term: term)
      let total = VectorAccumulators.total(.add)
      stmts.append(.vstoreUnaligned("partial", Self.v("task") * width, total))
      return stmts
    }
    return .loop(variable: "task", extent: tasks, kind: .parallel, body: body)
  }

  /// The sum over group `g` of image `n` of the partial sums: its channels' lanes of every chunk.
  private func groupSum(into name: String) -> [Stmt] {
    let channel = Self.v("g") * perGroup + Self.v("cc")
    let block = Self.v("n") * blocks + channel / width
    let at = (block * chunks + Self.v("kk")) * width + channel % width
    // In double: a group of 64 channels of 56×56 pixels adds 200,704 values, whose float sum
    // would carry an error of a few units in its seventh digit into the mean.
    return [
      .declareWide(name, .constant(0)),
      .loop(
        variable: "cc", extent: perGroup, kind: .serial,
        body: [
          .loop(variable: "kk", extent: chunks, kind: .serial, body: [.accumulate(name, .sum, .load("partial", at))])
        ]),
    ]
  }

  /// Steps 2 and 4: per image and group, the mean of its elements written to each of its channels;
  /// or `1/σ` and each channel's scale and shift, then zeros in the lanes past the last channel.
  private func groupLoop(affine: Bool) -> Stmt {
    let count = Double(perGroup * pixels)
    let channel = Self.v("g") * perGroup + Self.v("cc")
    let slot = Self.v("n") * (blocks * width) + channel
    var body: [Stmt] = groupSum(into: "s")
    if !affine {
      body.append(.assign("s", .binary(.div, .local("s"), .constant(count))))
      body.append(.loop(variable: "cc", extent: perGroup, kind: .serial, body: [.store("mean", slot, .local("s"))]))
      return .loop(
        variable: "task", extent: n * groups, kind: .parallel,
        body: [.let_("n", Self.v("task") / groups), .let_("g", Self.v("task") % groups)] + body)
    }
    let variance = ValueExpr.binary(.div, .local("s"), .constant(count))
    body.append(
      .declare("rstd", .binary(.div, .constant(1), .unary(.sqrt, .binary(.add, variance, .constant(epsilon))))))
    let scale = hasScale ? ValueExpr.binary(.mul, .local("rstd"), .load("gamma", channel)) : .local("rstd")
    let shift = ValueExpr.binary(.mul, .load("mean", slot), .local("a"))
    let affineBase = Self.v("n") * (2 * blocks * width)
    body.append(
      .loop(
        variable: "cc", extent: perGroup, kind: .serial,
        body: [
          .declare("a", scale),
          .store("affine", affineBase + channel, .local("a")),
          .store(
            "affine", affineBase + .constant(blocks * width) + channel,
            hasBias ? .binary(.sub, .load("beta", channel), shift) : .unary(.neg, shift)),
        ]))
    var image: [Stmt] = [.loop(variable: "g", extent: groups, kind: .serial, body: body)]
    let padding = blocks * width - c
    if padding > 0 {
      for half in 0..<2 {
        let at = affineBase + .constant(half * blocks * width + c) + Self.v("l")
        image.append(.loop(variable: "l", extent: padding, kind: .serial, body: [.store("affine", at, .constant(0))]))
      }
    }
    return .loop(variable: "n", extent: n, kind: .parallel, body: image)
  }

  /// Step 5: each chunk's pixels `x·a + b`, the epilogue applied.
  private var normalizeLoop: Stmt {
    let body = chunk { length in
      let affineBase = (Self.v("nb") / blocks) * (2 * blocks * width) + (Self.v("nb") % blocks) * width
      let at = Self.v("base") + Self.v("p") * width
      let y = ValueExpr.binary(.add, .binary(.mul, .vload("x", at), .local("a")), .local("b"))
      // The lanes past the last channel are written as zeros, as every blocked kernel writes them
      // (a tail such as `+ 1` would make them nonzero).
      let block = Self.v("nb") % blocks
      let pixel =
        [Stmt.declareVector("r", epilogue.vector(acc: y, offset: at, channelBlock: block))]
        + BlockedKernels.padLanes("r", channels: c, vector: width, block: block) + [.vstore("out", at, .local("r"))]
      return [
        .declareVector("a", .vloadUnaligned("affine", affineBase)),
        .declareVector("b", .vloadUnaligned("affine", affineBase + .constant(blocks * width))),
        .loop(variable: "p", extent: length, kind: .serial, body: pixel),
      ]
    }
    return .loop(variable: "task", extent: tasks, kind: .parallel, body: body)
  }
}
