/// The register tile every blocked conv kernel builds its inner loops from (``BlockedConv``,
/// its prologue form, and the 1×1 stages of ``ConvChainKernel``): `vectors` output-channel
/// vectors × `pixels` output pixels of accumulators `acc<j>_<t>`, one weight vector `w<j>` and
/// one broadcast input `x<t>` per step, the epilogue applied in registers before one store per
/// accumulator. Output channel vector `j` of the tile is block `og·vectors + j`.
struct RegisterTile {
  /// Output pixels.
  var pixels: Int
  /// Output-channel vectors.
  var vectors: Int
  /// Floats per vector.
  var vector: Int
  /// Compensated (Kahan) sums: each accumulator carries `cmp<j>_<t>`, the rounding its additions
  /// lost so far, fed back into the next term and subtracted at the end. The error then stays near
  /// one rounding step whatever the number of terms, at three more vector operations per FMA.
  var compensated = false
  /// The output's channel blocks when they are not a whole number of tiles (an odd count with two
  /// vectors per tile): the last tile's vectors past them are computed on zero weights, start from
  /// block 0's bias and are never stored. Nil: every block of every tile exists.
  var blocks: Int? = nil

  private static func v(_ name: String) -> IndexExpr { .variable(name) }

  /// Channel vectors per tile over `blocks` output channel blocks of `vector` floats: two with 32
  /// registers (16-float vectors) when the blocks pair up or number at least 5, else one
  /// (``BlockedConv/nv`` has the measurements behind it).
  static func vectors(blocks: Int, vector: Int) -> Int { vector == 16 && (blocks % 2 == 0 || blocks >= 5) ? 2 : 1 }

  /// Channel vectors per tile of a matrix-vector product (one output pixel, one matmul row) summed
  /// with compensation: each term's four steps wait on the last, so a tile takes as many independent
  /// sums as the registers hold an accumulator and a compensation for, up to 8, while leaving at
  /// least 8 tiles to split over the threads. With 2 vectors a 2048 → 1000 classifier ran in
  /// 0.12–0.13 ms against ONNX Runtime's 0.06; with 7, 0.07 (`Docs/Scheduling.md`).
  static func matrixVectorVectors(blocks: Int, vector: Int) -> Int {
    let most = min(8, ((vector == 16 ? 32 : 16) - 4) / 2)
    return max(1, min(blocks, most, max(2, blocks / 8)))
  }

  /// The most pixels a tile of `vectors` channel vectors keeps in the register budget: 2 × 12 or
  /// 1 × 14 of 32 registers, 1 × 6 of 16.
  static func maxPixels(vectors: Int, vector: Int) -> Int { vectors == 2 ? 12 : (vector == 16 ? 14 : 6) }

  /// The channel block of accumulator vector `j`.
  private func block(_ j: Int) -> IndexExpr { Self.v("og") * vectors + .constant(j) }

  /// Whether vector `j` of the last tile may lie past the output's blocks.
  private func mayOverrun(_ j: Int) -> Bool { blocks.map { $0 % vectors != 0 && j >= $0 % vectors } ?? false }

  /// Accumulators initialized to their channel vector of the `bias` buffer (and zero compensations).
  func accumulators(bias: String) -> [Stmt] {
    (0..<vectors).flatMap { j in
      let index = mayOverrun(j) ? .select([.inRange(block(j), 0, blocks!)], block(j), .constant(0)) : block(j)
      return (0..<pixels).flatMap { t in
        [Stmt.declareVector("acc\(j)_\(t)", .vload(bias, index * vector))]
          + (compensated ? [.declareVector("cmp\(j)_\(t)", .splat(.constant(0)))] : [])
      }
    }
  }

  /// Accumulators starting at zero (a product with no bias, such as Winograd's per-position ones).
  func zeroAccumulators() -> [Stmt] {
    (0..<vectors).flatMap { j in
      (0..<pixels).flatMap { t in
        [Stmt.declareVector("acc\(j)_\(t)", .splat(.constant(0)))]
          + (compensated ? [.declareVector("cmp\(j)_\(t)", .splat(.constant(0)))] : [])
      }
    }
  }

  /// Adds `term` to accumulator `j, t`: one FMA, or Kahan's four steps when ``compensated``.
  private func add(_ term: ValueExpr, j: Int, t: Int) -> [Stmt] {
    let acc = "acc\(j)_\(t)"
    guard compensated else { return [.accumulate(acc, .sum, term)] }
    let cmp = "cmp\(j)_\(t)", y = "y\(j)_\(t)", sum = "s\(j)_\(t)"
    return [
      .declareVector(y, .binary(.sub, term, .local(cmp))),
      .declareVector(sum, .binary(.add, .local(acc), .local(y))),
      .assign(cmp, .binary(.sub, .binary(.sub, .local(sum), .local(acc)), .local(y))),
      .assign(acc, .local(sum)),
    ]
  }

  /// The value of accumulator `j, t` at the end: with compensation, the lost part taken back.
  private func total(j: Int, t: Int) -> ValueExpr {
    compensated ? .binary(.sub, .local("acc\(j)_\(t)"), .local("cmp\(j)_\(t)")) : .local("acc\(j)_\(t)")
  }

  /// How far ahead of the weights a step reads the tile hints the next ones into L1: 8 KiB, about
  /// 600 cycles of a 2 × 10 tile's FMAs, a DRAM latency and more. The weights of one channel group
  /// lie in one run, read once per pixel tile; at batch 1 a network's weights (100 MB for
  /// ResNet-50) come from DRAM or L3 each inference, and a conv on a 7×7 or 14×14 map reads each
  /// weight a few times only, so it waits on them. The hints took ResNet-50's 7×7 3×3 convs from
  /// 1.53–1.69 ms to 1.18–1.34 with weights in DRAM and 0.93 → 0.84 ms with them in L3 (2026-12-04,
  /// Intel Xeon, 2 threads; `Docs/Scheduling.md`, "Weights hinted ahead"). A hint never faults.
  static let weightsAhead = 2048

  /// The FMAs over `extent` input channels `i` of the weight block at `wp`: per channel, the
  /// tile's weight vectors and one broadcast input per pixel (`pixel(t)`), `vectors × pixels` FMAs,
  /// with a hint for the weights ``weightsAhead`` floats on; `weights` names the pointer.
  func fma(extent: Int, hints: [Stmt] = [], weights: String = "wp", pixel: (Int) -> ValueExpr) -> Stmt {
    let step = Self.v("i") * (vectors * vector)
    // One hint per cache line of weights the step reads, `weightsAhead` floats further on.
    var body: [Stmt] =
      hints
      + stride(from: 0, to: vectors * vector, by: ScheduleTarget.cacheLineFloats).map { line in
        .prefetch(weights, step + .constant(line + Self.weightsAhead), l1: true)
      }
    body += (0..<vectors).map { j in
      .declareVector("w\(j)", .vload(weights, (Self.v("i") * vectors + .constant(j)) * vector))
    }
    for t in 0..<pixels {
      body.append(.declare("x\(t)", pixel(t)))
      for j in 0..<vectors {
        body += add(.binary(.mul, .local("w\(j)"), .local("x\(t)")), j: j, t: t)
      }
    }
    return .loop(variable: "i", extent: extent, kind: .serial, body: body)
  }

  /// The end of the tile: `epilogue` (operands `prefix0…`) applied in registers, the lanes past
  /// `channels` zeroed, one store per accumulator vector to `target` at `offset(block, t)`.
  func stores(
    _ epilogue: Epilogue, prefix: String = "e", channels: Int, target: String,
    offset: (IndexExpr, Int) -> IndexExpr
  ) -> [Stmt] {
    var body: [Stmt] = []
    for j in 0..<vectors {
      let cb = block(j)
      var vector: [Stmt] = []
      for t in 0..<pixels {
        let r = "r\(j)_\(t)", at = offset(cb, t)
        vector.append(
          .declareVector(r, epilogue.vector(acc: total(j: j, t: t), offset: at, channelBlock: cb, prefix: prefix)))
        vector += BlockedKernels.padLanes(r, channels: channels, vector: self.vector, block: cb)
        vector.append(.vstore(target, at, .local(r)))
      }
      // A vector past the output's blocks reads no epilogue operand and stores nothing.
      body += mayOverrun(j) ? [.when([.inRange(cb, 0, blocks!)], vector)] : vector
    }
    return body
  }
}
