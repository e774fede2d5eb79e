extension BlockedKernels {
  /// How the split of a channel remap's pixels into tasks is chosen: at least this many tasks
  /// when the map is large enough, each a run of at least `minimumRun` pixels.
  static let remapTasks = 16, minimumRun = 16

  /// A ``ChannelRemap`` over blocked `[n, c/v, hw, v]` inputs `x0…` into a blocked output: per
  /// output channel block, each pixel's vector is assembled from the source vectors its lanes
  /// come from (aligned loads at the same pixel) by two-source lane shuffles with constant
  /// indices; lanes past the channel count are zero. A block that is one whole source block in
  /// order is a block copy. Tasks: n × output channel blocks × runs of pixels.
  static func channelRemap(_ remap: ChannelRemap, sourceChannels: [Int], vector: Int) -> LoopNest {
    let (n, c, hw) = (remap.shape[0], remap.shape[1], remap.shape[2] * remap.shape[3])
    let cb = (c + vector - 1) / vector
    let runs = pixelRuns(hw: hw, blocks: n * cb)
    let run = hw / runs
    let blocksOf = sourceChannels.map { ($0 + vector - 1) / vector }
    /// The flat offset of pixel `p` of channel block `block` of batch `b` in a tensor of `blocks` blocks.
    func offset(blocks: Int, block: Int, pixel: IndexExpr) -> IndexExpr {
      (n == 1 ? .constant(0) : v("b")) * (blocks * hw * vector) + .constant(block * hw * vector) + pixel * vector
    }
    var cases: [Stmt] = []
    for block in 0..<cb {
      // Each lane's source vector (input, channel block) and lane in it; nil: a padding lane.
      let lanes: [(source: Int, block: Int, lane: Int)?] = (0..<vector).map { l in
        let channel = block * vector + l
        guard channel < c else { return nil }
        let (k, f) = remap.channels[channel]
        return (k, f / vector, f % vector)
      }
      var vectors: [(source: Int, block: Int)] = []
      for case let lane? in lanes where !vectors.contains(where: { $0 == (lane.source, lane.block) }) {
        vectors.append((lane.source, lane.block))
      }
      let start = v("r") * run
      let target = offset(blocks: cb, block: block, pixel: start)
      let first = vectors[0]
      let whole = vectors.count == 1 && lanes.enumerated().allSatisfy { $1?.lane == $0 }
      var body: [Stmt]
      if whole {
        let source = offset(blocks: blocksOf[first.source], block: first.block, pixel: start)
        body = [.copy(target: "out", target, source: "x\(first.source)", source, count: run * vector)]
      } else {
        let pixel = start + v("q")
        var operands: [ValueExpr] = vectors.map {
          .vload("x\($0.source)", offset(blocks: blocksOf[$0.source], block: $0.block, pixel: pixel))
        }
        if lanes.contains(where: { $0 == nil }) { operands.append(.splat(.constant(0))) }
        // Which operand and lane each output lane takes (padding: lane 0 of the zero vector).
        let picks = lanes.map { lane -> (Int, Int) in
          guard let lane else { return (operands.count - 1, 0) }
          return (vectors.firstIndex { $0 == (lane.source, lane.block) } ?? 0, lane.lane)
        }
        var r = operands[0]
        if operands.count == 1 {
          r = .shuffle(r, r, picks.map { $0.1 })
        } else {
          r = .shuffle(r, operands[1], picks.map { $0.0 == 1 ? vector + $0.1 : $0.0 == 0 ? $0.1 : 0 })
          for j in 2..<max(2, operands.count) {
            r = .shuffle(r, operands[j], picks.enumerated().map { l, p in p.0 == j ? vector + p.1 : l })
          }
        }
        body = [
          .loop(
            variable: "q", extent: run, kind: .serial,
            body: [.vstore("out", offset(blocks: cb, block: block, pixel: pixel), r)])
        ]
      }
      cases.append(.when([.inRange(v("blk"), block, block + 1)], body))
    }
    let inputs = blocksOf.enumerated().map { k, blocks in buffer("x\(k)", n * blocks * vector * hw) }
    return LoopNest(
      name: "channel_remap", buffers: inputs + [buffer("out", n * cb * vector * hw, output: true)],
      body: [
        .loop(
          variable: "task", extent: n * cb * runs, kind: .parallel,
          body: [
            .let_("b", v("task") / (cb * runs)), .let_("blk", (v("task") / runs) % cb), .let_("r", v("task") % runs),
          ] + cases)
      ])
  }

  /// How many runs to split each channel block's `hw` pixels into: the smallest divisor of `hw`
  /// that makes at least ``remapTasks`` tasks over `blocks` blocks with runs of at least
  /// ``minimumRun`` pixels, else the largest such divisor (1 when none).
  static func pixelRuns(hw: Int, blocks: Int) -> Int {
    var best = 1
    for d in 1...max(1, hw) where hw % d == 0 && hw / d >= minimumRun {
      best = d
      if blocks * d >= remapTasks { break }
    }
    return best
  }
}
