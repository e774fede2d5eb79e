/// What a constant buffer of a kernel plan holds, as a description: which graph constant, laid
/// out how. The scheduler writes recipes and their sizes; the runtime packs them
/// (`Runtime/WeightPacking.swift`) once, straight into the memory the kernels read.
enum ConstantRecipe: Equatable, Sendable {
  /// A graph constant as it is (row-major).
  case plain(ValueID)
  /// A rank-4 constant `[n, c, h, w]` in the blocked `[n][c/v][h][w][v]` layout, padding zero.
  case blocked(ValueID, vector: Int)
  /// A conv weight `[O, Cin/groups, KH, KW]` as `[tiles][count][KH][KW][icBlock][nv][v]`: tile
  /// `og` holds input blocks `start[og] ..< start[og] + count` (all zero starts for one group).
  case convWeight(ValueID, vector: Int, nv: Int, icBlock: Int, groups: Int, start: [Int], count: Int)
  /// A depthwise weight `[C, 1, KH, KW]` as `[C/v][KH][KW][v]`.
  case depthwiseWeight(ValueID, vector: Int)
  /// A grouped conv weight `[C, g, KH, KW]` with groups of `g` < `v` channels as `[C/v][KH][KW][g][v]`
  /// for ``RotatedGroupConv``: lane `m` of rotation `s` holds input lane `m`'s weight for the output
  /// lane rotation `s` brings it to.
  case rotatedGroupWeight(ValueID, vector: Int, groupWidth: Int)
  /// One value per channel (a bias, a per-channel epilogue operand; a single value broadcast),
  /// times `scale`, zero-padded to whole vectors; nil: all zeros (a conv without bias).
  case channels(ValueID?, scale: Float, channels: Int, vector: Int)
  /// A matmul right-hand side read as `[k, n]` (`[n, k]` when transposed) times `alpha`, as
  /// `[n/(vectors·v)][k][vectors·v]`.
  case matmulWeight(ValueID, k: Int, n: Int, transposed: Bool, alpha: Float, vector: Int, vectors: Int)
  /// A 3×3 conv weight `[O, Cin, 3, 3]` through a Winograd filter transform `G g Gᵀ`, as
  /// `[α²][O/(nv·v)][Cin/v][v][nv·v]` (``WinogradConv``).
  case winogradWeight(ValueID, transform: WinogradTransform, vector: Int, nv: Int)

  /// Floats the packed buffer holds, computed from shapes alone.
  func count(in graph: Graph) -> Int {
    func padded(_ c: Int, _ v: Int) -> Int { (c + v - 1) / v * v }
    switch self {
    case .plain(let x): return graph.shape(of: x).reduce(1, *)
    case .blocked(let x, let v):
      let s = graph.shape(of: x)
      return s[0] * padded(s[1], v) * s[2] * s[3]
    case .convWeight(let w, let v, let nv, let icBlock, _, let start, let count):
      let s = graph.shape(of: w)
      return start.count * count * s[2] * s[3] * icBlock * nv * v
    case .depthwiseWeight(let w, let v):
      let s = graph.shape(of: w)
      return padded(s[0], v) * s[2] * s[3]
    case .rotatedGroupWeight(let w, let v, let g):
      let s = graph.shape(of: w)
      return padded(s[0], v) * s[2] * s[3] * g
    case .channels(_, _, let c, let v): return padded(c, v)
    case .matmulWeight(_, let k, let n, _, _, let v, let vectors): return padded(n, v * vectors) * k
    case .winogradWeight(let w, let transform, let v, let nv):
      let s = graph.shape(of: w)
      return transform.alpha * transform.alpha * padded(s[0], v * nv) * padded(s[1], v)
    }
  }

  /// The recipe of a one-group conv weight `w` (`[O, Cin, KH, KW]`) for tiles of `nv` vectors.
  static func convWeight(_ w: ValueID, in graph: Graph, vector v: Int, nv: Int, icBlock: Int) -> ConstantRecipe {
    let s = graph.shape(of: w)
    let blocks = (s[1] + icBlock - 1) / icBlock
    let tiles = (s[0] + v * nv - 1) / (v * nv)
    return .convWeight(
      w, vector: v, nv: nv, icBlock: icBlock, groups: 1, start: Array(repeating: 0, count: tiles), count: blocks)
  }
}
