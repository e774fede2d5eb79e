/// The matrices of a Winograd minimal filtering algorithm F(m×m, 3×3) (Lavin and Gray, 2015): an
/// output tile of `m × m` pixels from an input tile of `α × α`, `α = m + 2`, as
/// `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`: α² elementwise products per channel pair instead of 9 m².
///
/// F(2×2, 3×3) uses the points 0, ±1 (its input and output transforms only add and subtract, G
/// halves); F(4×4, 3×3) adds ±2, whose larger coefficients (up to 8) cost some accuracy. The filter transform runs
/// once at compile time in double; the input and output transforms run as vector code
/// (``sandwich(_:input:name:)``), coefficients 0 and ±1 as no operation, add and subtract.
struct WinogradTransform: Equatable, Sendable {
  /// Output tile side.
  let m: Int
  /// `Bᵀ`, α × α: the input transform.
  let bt: [[Double]]
  /// `G`, α × 3: the filter transform.
  let g: [[Double]]
  /// `Aᵀ`, m × α: the output transform.
  let at: [[Double]]

  /// Input tile side, `m + 2`.
  var alpha: Int { m + 2 }

  /// F(2×2, 3×3).
  static let f2 = WinogradTransform(
    m: 2,
    bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    at: [[1, 1, 1, 0], [0, 1, -1, -1]])

  /// F(4×4, 3×3).
  static let f4 = WinogradTransform(
    m: 4,
    bt: [
      [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    g: [
      [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
      [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
    ],
    at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])

  /// Vector operations of `M · X · Mᵀ` (``sandwich(_:input:name:)``): one per nonzero coefficient
  /// and output of each stage.
  static func operations(_ mt: [[Double]]) -> Int {
    let nonzero = mt.joined().filter { $0 != 0 }.count
    return nonzero * (mt.count + mt[0].count)
  }

  /// What one packed weight float read from memory costs, in FMAs of one lane. At batch 1 a
  /// network's weights come from L3 or DRAM every inference. Fitted to ResNet-50's 3×3 convs timed
  /// direct and as Winograd inside the network on the Intel Xeon host (direct ÷ Winograd 0.87–0.88
  /// at 7×7 × 512, 1.38–1.42 at 14×14 × 256, 1.95–2.01 at 28×28 × 128): 40–45. With its cores' 88 G
  /// lane-FMAs per second, that is the cost of weights arriving at about 9 GB/s per core. DRAM's
  /// 10–15 GB/s per core on servers whose cores issue 50–60 G lane-FMAs per second gives 13–24.
  static let weightCost = 40

  /// The direct conv's estimate in the same units: 9 FMAs per output pixel and channel pair, and its
  /// weights (9 floats per filter) streamed once at ``weightCost``.
  static func directCost(cin: Int, cout: Int, oh: Int, ow: Int) -> Int {
    9 * cin * cout * (oh * ow + weightCost)
  }

  /// The estimated cost of a conv `cin → cout` with an `oh × ow` output under this transform, in
  /// lane-FMAs: the products (α² per tile and channel pair), `U` streamed from memory
  /// (``weightCost`` per float), and the input and output transforms with their loads and stores
  /// (per tile and channel vector of `v` lanes).
  func cost(cin: Int, cout: Int, oh: Int, ow: Int, vector v: Int) -> Int {
    let tiles = ((oh + m - 1) / m) * ((ow + m - 1) / m)
    let a2 = alpha * alpha
    let products = a2 * cin * cout * (tiles + Self.weightCost)
    let transforms =
      tiles * v
      * (((cin + v - 1) / v) * (Self.operations(bt) + 2 * a2) + ((cout + v - 1) / v) * (Self.operations(at) + a2))
    return products + transforms
  }

  /// The cheaper of F(2×2, 3×3) and F(4×4, 3×3) for a conv by ``cost(cin:cout:oh:ow:vector:)``: F(4×4)
  /// on large maps (a quarter of the direct conv's multiplies), F(2×2) on small ones, where F(4×4)'s
  /// 36 products over few tiles read more weights than they save.
  static func cheapest(cin: Int, cout: Int, oh: Int, ow: Int, vector v: Int) -> WinogradTransform {
    [f2, f4].min {
      $0.cost(cin: cin, cout: cout, oh: oh, ow: ow, vector: v)
        < $1.cost(cin: cin, cout: cout, oh: oh, ow: ow, vector: v)
    }!
  }

  /// `G g Gᵀ` for one 3×3 filter `g` (row-major), in double: α² values, row-major.
  func filter(_ k: [Double]) -> [Double] {
    let a = alpha
    var left = [Double](repeating: 0, count: a * 3)  // G g
    for i in 0..<a {
      for x in 0..<3 { left[i * 3 + x] = (0..<3).reduce(0) { $0 + g[i][$1] * k[$1 * 3 + x] } }
    }
    var out = [Double](repeating: 0, count: a * a)
    for i in 0..<a {
      for j in 0..<a { out[i * a + j] = (0..<3).reduce(0) { $0 + left[i * 3 + $1] * g[j][$1] } }
    }
    return out
  }

  /// `M · X · Mᵀ` for a constant matrix `M` (`rows × cols`) and a `cols × cols` tile of vectors
  /// `input(y, x)`, as vector locals `<name>_<a>_<b>` (rows × rows) declared by the statements
  /// returned, through row sums `<name>t_<a>_<x>`; zero coefficients are skipped.
  static func sandwich(_ mt: [[Double]], input: (Int, Int) -> ValueExpr, name: String) -> [Stmt] {
    let rows = mt.count, cols = mt[0].count
    var body: [Stmt] = []
    for a in 0..<rows {
      for x in 0..<cols {
        body.append(.declareVector("\(name)t_\(a)_\(x)", combination((0..<cols).map { (mt[a][$0], input($0, x)) })))
      }
    }
    for a in 0..<rows {
      for b in 0..<rows {
        let terms = (0..<cols).map { (mt[b][$0], ValueExpr.local("\(name)t_\(a)_\($0)")) }
        body.append(.declareVector("\(name)_\(a)_\(b)", combination(terms)))
      }
    }
    return body
  }

  /// `Σ cₖ·eₖ` over the nonzero coefficients, ±1 as a plain add or subtract.
  static func combination(_ terms: [(Double, ValueExpr)]) -> ValueExpr {
    var result: ValueExpr?
    for (c, e) in terms where c != 0 {
      let magnitude = abs(c) == 1 ? e : .binary(.mul, e, .splat(.constant(abs(c))))
      if let r = result {
        result = .binary(c > 0 ? .add : .sub, r, magnitude)
      } else {
        result = c > 0 ? magnitude : .unary(.neg, magnitude)
      }
    }
    return result ?? .splat(.constant(0))
  }
}
