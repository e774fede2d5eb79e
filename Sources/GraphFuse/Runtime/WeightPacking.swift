/// Weight packing for the blocked kernels, done once at compile time in plain Swift loops.
enum WeightPacking {
  /// Conv weight `[O, Cin, KH, KW]` as `[O/(nv·v)][Cin/icb][KH][KW][icb][nv][v]`, zero-padded:
  /// for each input channel, the `nv` output-channel vectors the register tile needs are adjacent.
  static func conv(_ w: Tensor, vector v: Int, nv: Int, icBlock: Int) -> [Float] {
    let blocks = (w.shape[1] + icBlock - 1) / icBlock
    let tiles = (w.shape[0] + v * nv - 1) / (v * nv)
    return conv(
      w, vector: v, nv: nv, icBlock: icBlock, groups: 1, start: Array(repeating: 0, count: tiles), count: blocks)
  }

  /// Grouped conv weight `[O, Cin/groups, KH, KW]` for the tiles of ``GroupedConvBlocks``: as
  /// `[O/(nv·v)][count][KH][KW][icb][nv][v]`, where tile `og` holds input blocks
  /// `start[og] ..< start[og] + count`, and a weight is zero where its input channel lies outside
  /// its output channel's group (block-diagonal), past the channels, or past the outputs.
  static func conv(
    _ w: Tensor, vector v: Int, nv: Int, icBlock: Int, groups: Int, start: [Int], count: Int
  ) -> [Float] {
    let (o, inPerGroup, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let outPerGroup = o / groups
    // The first input channel of each output channel's group (hoisted out of the copy loop).
    let firstInput = (0..<o).map { $0 / max(1, outPerGroup) * inPerGroup }
    var out = [Float](repeating: 0, count: start.count * count * kh * kw * icBlock * nv * v)
    let lanes = nv * v, taps = kh * kw
    w.data.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        // Source-major: each output channel's weights are read in order and scattered to their
        // lane of the tile (`[og][block][tap][i][j·v + l]`), padding left zero.
        for oc in 0..<o {
          let (og, lane) = (oc / lanes, oc % lanes)
          for local in 0..<inPerGroup {
            let ic = firstInput[oc] + local
            let ib = ic / icBlock - start[og]
            guard ib >= 0 && ib < count else { continue }
            let i = ic % icBlock
            let base = (og * count + ib) * taps * icBlock
            let from = (oc * inPerGroup + local) * taps
            for tap in 0..<taps { target[((base + tap * icBlock) + i) * lanes + lane] = source[from + tap] }
          }
        }
      }
    }
    return out
  }

  /// Depthwise weight `[C, 1, KH, KW]` as `[C/v][KH][KW][v]`, zero-padded.
  static func depthwise(_ w: Tensor, vector v: Int) -> [Float] {
    let (c, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let blocks = (c + v - 1) / v
    var out = [Float](repeating: 0, count: blocks * kh * kw * v)
    for ch in 0..<c {
      for y in 0..<kh {
        for x in 0..<kw { out[(((ch / v) * kh + y) * kw + x) * v + ch % v] = w.data[(ch * kh + y) * kw + x] }
      }
    }
    return out
  }

  /// Grouped conv weight `[C, g, KH, KW]` (groups of `g` channels, `g` dividing `v`) as
  /// `[C/v][KH][KW][g][v]` for ``RotatedGroupConv``: rotation `s` brings the sum in a group's lane
  /// `i` to its lane `(i − s) mod g`, so lane `m` of rotation `s` holds input `m`'s weight for the
  /// output channel `(m − s) mod g` of the group.
  static func rotatedGroup(_ w: Tensor, vector v: Int, groupWidth g: Int) -> [Float] {
    let (c, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    var out = [Float](repeating: 0, count: (c + v - 1) / v * kh * kw * g * v)
    for oc in 0..<c {
      let block = oc / v
      for s in 0..<g {
        // Output `oc` reads, after rotation `s`, the sum in the lane of its group's input `input`.
        let input = (oc % g + s) % g
        let lane = oc % v / g * g + input
        for tap in 0..<kh * kw {
          out[((block * kh * kw + tap) * g + s) * v + lane] = w.data[(oc * g + input) * kh * kw + tap]
        }
      }
    }
    return out
  }

  /// A per-channel vector (any shape holding C values or one value) zero-padded to whole vectors.
  static func channels(_ t: Tensor, channels c: Int, vector v: Int) -> [Float] {
    let padded = (c + v - 1) / v * v
    var out = [Float](repeating: 0, count: padded)
    for ch in 0..<c { out[ch] = t.count == 1 ? t.data[0] : t.data[ch] }
    return out
  }

  /// A plain `[n, c, h, w]` tensor in blocked `[n][c/v][h][w][v]` layout, padded channels zero.
  static func blocked(_ t: Tensor, vector v: Int) -> [Float] {
    let (n, c, hw) = (t.shape[0], t.shape[1], t.shape[2] * t.shape[3])
    let blocks = (c + v - 1) / v
    var out = [Float](repeating: 0, count: n * blocks * hw * v)
    for b in 0..<n {
      for ch in 0..<c {
        for p in 0..<hw { out[((b * blocks + ch / v) * hw + p) * v + ch % v] = t.data[(b * c + ch) * hw + p] }
      }
    }
    return out
  }
}

extension WeightPacking {
  /// A matmul's constant right-hand side `B` (`[K, N]`, or `[N, K]` when `transposed`) times
  /// alpha as `[N/(vectors·v)][K][vectors·v]`, zero-padded: a register tile's `vectors` B vectors
  /// for one k are adjacent, and each column tile streams its K rows once.
  static func matmul(_ b: Tensor, transposed: Bool, alpha: Float, vector v: Int, vectors: Int) -> [Float] {
    let rank = b.shape.count
    let (k, n) = transposed ? (b.shape[rank - 1], b.shape[rank - 2]) : (b.shape[rank - 2], b.shape[rank - 1])
    let width = v * vectors
    let tiles = (n + width - 1) / width
    var out = [Float](repeating: 0, count: tiles * k * width)
    b.data.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { target in
        for p in 0..<k {
          for j in 0..<n {
            target[((j / width) * k + p) * width + j % width] = alpha * source[transposed ? j * k + p : p * n + j]
          }
        }
      }
    }
    return out
  }
}

extension WeightPacking {
  /// A 3×3 conv weight `[O, Cin, 3, 3]` transformed to `U = G g Gᵀ` (in double, rounded once) and
  /// laid out as `[α²][O/(nv·v)][Cin/v][v][nv·v]`, zero-padded: for position ξ, output group `og`
  /// and input block `ib`, each input channel's `nv` output vectors are adjacent, as in ``conv(_:vector:nv:icBlock:)``.
  static func winograd(_ w: Tensor, transform: WinogradTransform, vector v: Int, nv: Int) -> [Float] {
    let (o, cin) = (w.shape[0], w.shape[1])
    let positions = transform.alpha * transform.alpha
    let width = nv * v
    let groups = (o + width - 1) / width, inBlocks = (cin + v - 1) / v
    var out = [Float](repeating: 0, count: positions * groups * inBlocks * v * width)
    for oc in 0..<o {
      for ic in 0..<cin {
        let base = (oc * cin + ic) * 9
        let u = transform.filter((0..<9).map { Double(w.data[base + $0]) })
        let (og, lane) = (oc / width, oc % width)
        for xi in 0..<positions {
          out[(((xi * groups + og) * inBlocks + ic / v) * v + ic % v) * width + lane] = Float(u[xi])
        }
      }
    }
    return out
  }
}

extension ConstantRecipe {
  /// The packed floats the recipe describes, read from the graph's constants.
  func pack(_ graph: Graph) -> [Float] {
    func constant(_ v: ValueID) -> Tensor {
      guard let t = graph.constant(v) else { preconditionFailure("recipe reads \(v), which is not a constant") }
      return t
    }
    switch self {
    case .plain(let v): return constant(v).data
    case .blocked(let v, let vector): return WeightPacking.blocked(constant(v), vector: vector)
    case .convWeight(let w, let vector, let nv, let icBlock, let groups, let start, let count):
      return WeightPacking.conv(
        constant(w), vector: vector, nv: nv, icBlock: icBlock, groups: groups, start: start, count: count)
    case .depthwiseWeight(let w, let vector): return WeightPacking.depthwise(constant(w), vector: vector)
    case .rotatedGroupWeight(let w, let vector, let g):
      return WeightPacking.rotatedGroup(constant(w), vector: vector, groupWidth: g)
    case .channels(let v, let scale, let channels, let vector):
      guard let v else { return [Float](repeating: 0, count: count(in: graph)) }
      let t = constant(v)
      let scaled = scale == 1 ? t : Tensor(shape: t.shape, data: t.data.map { scale * $0 })
      return WeightPacking.channels(scaled, channels: channels, vector: vector)
    case .matmulWeight(let b, let k, let n, let transposed, let alpha, let vector, let vectors):
      let matrix = Tensor(shape: transposed ? [n, k] : [k, n], data: constant(b).data)
      return WeightPacking.matmul(matrix, transposed: transposed, alpha: alpha, vector: vector, vectors: vectors)
    case .winogradWeight(let w, let transform, let vector, let nv):
      return WeightPacking.winograd(constant(w), transform: transform, vector: vector, nv: nv)
    }
  }
}
