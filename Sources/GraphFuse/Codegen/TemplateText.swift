/// C text and tiling arithmetic shared by the blocked-layout templates.
enum TemplateText {
  /// Zeroes the lanes of `r` that hold padded channels, when `block` (C text) is the last
  /// channel block; empty when the channels fill whole vectors.
  static func padLanes(channels c: Int, vector v: Int, block: String) -> String {
    c % v == 0 ? "" : "if (\(block) == \((c + v - 1) / v - 1)) for (int l = \(c % v); l < GF_V; l++) r[l] = 0.0f;"
  }

  /// For input channel `i` of a register tile: the `nv` weight-vector loads from `wp`, and the
  /// FMAs of broadcast input `xv` into `acc[j][t]`.
  static func broadcastFMA(nv: Int) -> (loads: String, fmas: String) {
    (
      (0..<nv).map { "gf_vf w\($0) = gf_load(wp + (i*\(nv) + \($0))*GF_V);" }.joined(separator: " "),
      (0..<nv).map { "acc[\($0)][t] += w\($0) * xv;" }.joined(separator: " ")
    )
  }
}
