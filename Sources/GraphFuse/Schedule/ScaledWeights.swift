/// The kernel that folds a per-input-channel scale computed at run time (a squeeze-excitation
/// gate) into a conv's packed weights: `conv(x · s, W) = conv(x, W · s)` for a conv with one
/// group, since every tap multiplies input channel `ic` by `W[oc, ic, ky, kx]` (zero padding
/// stays zero either way).
enum ScaledWeights {
  /// `out = w · s[ic]` over weights packed by `WeightPacking.conv` as
  /// `[og][ib][ky][kx][i][nv·v]`: each run of `nv·v` floats shares input channel `ib·icBlock + i`,
  /// so the scale is one broadcast per run and the multiply `nv` vector ops. `s` is read at float
  /// `ic` (its blocked `[1, C/v, 1, 1, v]` buffer, whose padded lanes are zero). One task per
  /// output-channel group.
  static func nest(
    ocGroups: Int, icBlocks: Int, icBlock: Int, kernel: Int, nv: Int, vector: Int, scaleCount: Int
  ) -> LoopNest {
    let run = nv * vector
    let perGroup = icBlocks * kernel * icBlock
    let count = ocGroups * perGroup * run
    let row = IndexExpr.variable("og") * perGroup + .variable("r")
    let ic = (.variable("r") / (kernel * icBlock)) * icBlock + .variable("r") % icBlock
    let scale = Stmt.declareVector("gate", .splat(.load("s", ic)))
    let multiply = Stmt.loop(
      variable: "j", extent: nv, kind: .unrolled,
      body: [
        .vstore(
          "out", row * run + .variable("j") * vector,
          .binary(.mul, .vload("w", row * run + .variable("j") * vector), .local("gate")))
      ])
    return LoopNest(
      name: "scale_weights",
      buffers: [
        BufferDecl(name: "w", count: count, isOutput: false),
        BufferDecl(name: "s", count: scaleCount, isOutput: false),
        BufferDecl(name: "out", count: count, isOutput: true),
      ],
      body: [
        .loop(
          variable: "og", extent: ocGroups, kind: .parallel,
          body: [.loop(variable: "r", extent: perGroup, kind: .serial, body: [scale, multiply])])
      ])
  }
}
