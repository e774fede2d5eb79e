/// An integer index expression inside a loop nest: loop variables, constants and affine math.
public indirect enum IndexExpr: Sendable, Hashable {
  /// A loop variable or index local.
  case variable(String)
  /// A literal.
  case constant(Int)
  /// `a + b`.
  case add(IndexExpr, IndexExpr)
  /// `a * k`.
  case mul(IndexExpr, Int)
  /// `a / k` (floor division of a non-negative value).
  case div(IndexExpr, Int)
  /// `a % k`.
  case mod(IndexExpr, Int)
  /// `table[a]`: a constant lookup (gather indices).
  case table([Int], IndexExpr)
  /// `name[a]`: an element of an index-array local (``Stmt/declareIndexArray(_:_:)``).
  case element(String, IndexExpr)
  /// `conditions ? a : b`.
  case select([IndexCondition], IndexExpr, IndexExpr)
  /// The index of the calling thread in the pool (0 ..< threads): picks per-thread scratch.
  case thread
  /// The whole number a float value holds, as an index into an axis of `extent` (negative ones
  /// count from the end): a runtime gather index. One out of range, or not whole, reads index 0
  /// and records `site` and the value in the run's status buffer (``IndexExpr/statusBuffer``),
  /// which the runtime turns into an error: never an out-of-bounds read.
  case checked(ValueExpr, extent: Int, site: Int)

  /// The buffer parameter a nest with a ``checked(_:extent:site:)`` index declares: two floats of
  /// the run's status (the failing site + 1, and the value), zero while every index is in range.
  public static let statusBuffer = "gf_status"

  /// `a + b`, folding constants and re-joining a split index: `(x/k)·k + x%k` is `x` and
  /// `(x/k)%m·k + x%k` is `x%(k·m)` (exact under C's truncating division), so a reshape followed
  /// by its inverse indexes with `x` itself.
  public static func + (a: IndexExpr, b: IndexExpr) -> IndexExpr {
    if let joined = join(a, b) { return joined }
    switch (a, b) {
    case (.constant(0), _): return b
    case (_, .constant(0)): return a
    case (.constant(let x), .constant(let y)): return .constant(x + y)
    case (.add(let p, .constant(let x)), .constant(let y)): return p + .constant(x + y)
    case (.add(let p, let q), _):
      if let joined = join(q, b) { return p + joined }
      return .add(a, b)
    default: return .add(a, b)
    }
  }

  /// `hi + lo` as one expression when they are the high and low parts of one split index.
  private static func join(_ hi: IndexExpr, _ lo: IndexExpr) -> IndexExpr? {
    guard case .mod(let x, let k) = lo else { return nil }
    switch hi {
    case .mul(.div(let y, let k1), let k2) where k1 == k && k2 == k && x == y: return x
    case .mul(.mod(.div(let y, let k1), let m), let k2) where k1 == k && k2 == k && x == y: return .mod(x, k * m)
    default: return nil
    }
  }

  /// `a * k`, folding constants.
  public static func * (a: IndexExpr, k: Int) -> IndexExpr {
    switch (a, k) {
    case (_, 0): return .constant(0)
    case (_, 1): return a
    case (.constant(let x), _): return .constant(x * k)
    case (.mul(let p, let j), _): return .mul(p, j * k)
    default: return .mul(a, k)
    }
  }

  /// `a - k`.
  public static func - (a: IndexExpr, k: Int) -> IndexExpr { a + .constant(-k) }

  /// `a / k` (floor division of a non-negative value), folding constants.
  public static func / (a: IndexExpr, k: Int) -> IndexExpr {
    if k == 1 { return a }
    if case .constant(let x) = a, x >= 0 { return .constant(x / k) }
    return .div(a, k)
  }

  /// `a % k` of a non-negative value, folding constants.
  public static func % (a: IndexExpr, k: Int) -> IndexExpr {
    if k == 1 { return .constant(0) }
    if case .constant(let x) = a, x >= 0 { return .constant(x % k) }
    return .mod(a, k)
  }
}

/// A boolean test on indices: guards padding and transposed-convolution strides.
public enum IndexCondition: Sendable, Hashable {
  /// `lower <= e < upper`.
  case inRange(IndexExpr, Int, Int)
  /// `e % k == 0` (and e ≥ 0).
  case divisible(IndexExpr, Int)
  /// `a < b` for run-time bounds (a band's last row, the last row a ring holds).
  case less(IndexExpr, IndexExpr)
  /// `a != b` for run-time values (the batch entry whose data a thread's scratch holds).
  case unequal(IndexExpr, IndexExpr)
}

/// A float expression: loads, locals, literals and the elementwise math of ``ScalarExpr``.
public indirect enum ValueExpr: Sendable, Hashable {
  /// `buffer[index]`.
  case load(String, IndexExpr)
  /// A float local declared earlier.
  case local(String)
  /// A literal.
  case constant(Double)
  /// `f(a)`.
  case unary(UnaryFunction, ValueExpr)
  /// `f(a, b)`.
  case binary(BinaryFunction, ValueExpr, ValueExpr)
  /// `conditions ? a : b`.
  case select([IndexCondition], ValueExpr, ValueExpr)
  /// The vector of `GF_V` consecutive floats of a buffer from an index that is a multiple of
  /// the vector width (an aligned vector load).
  case vload(String, IndexExpr)
  /// The same `GF_V` consecutive floats from any index (an unaligned vector load).
  case vloadUnaligned(String, IndexExpr)
  /// The first `lanes` floats from any index, zero in the other lanes: nothing past them is read.
  case vloadPartial(String, IndexExpr, lanes: Int)
  /// A scalar broadcast to every lane of a vector.
  case splat(ValueExpr)
  /// One lane of a vector local: a scalar.
  case lane(String, IndexExpr)
  /// The vector whose lane `l` is lane `mask[l]` of `a ++ b` (`mask[l] < GF_V`: from `a`, else
  /// lane `mask[l] - GF_V` of `b`): a two-source permutation with constant indices.
  case shuffle(ValueExpr, ValueExpr, [Int])

  /// Translates a ``ScalarExpr`` whose operands are already value expressions.
  public init(_ scalar: ScalarExpr, operands: [ValueExpr]) {
    switch scalar {
    case .operand(let i): self = operands[i]
    case .constant(let c): self = .constant(c)
    case .unary(let f, let a): self = .unary(f, ValueExpr(a, operands: operands))
    case .binary(let f, let a, let b):
      self = .binary(f, ValueExpr(a, operands: operands), ValueExpr(b, operands: operands))
    }
  }
}

/// How a loop runs.
public enum LoopKind: String, Sendable {
  /// One iteration after another.
  case serial
  /// Iterations split into tasks over the thread pool (the function's task range).
  case parallel
  /// Iterations mapped onto SIMD lanes.
  case vectorized
  /// Fully unrolled at compile time.
  case unrolled
}

/// How a reduction combines into a float local.
public enum Accumulate: String, Sendable {
  case sum = "+="
  case max = "max="
  /// A max that skips a NaN value (one `vmaxps`): for a softmax's row max, where a NaN score still
  /// makes its exponential, and so the row's sum and every probability, NaN.
  case maxSkippingNaN = "max_skipping_nan="
}

/// One statement of a loop nest.
public indirect enum Stmt: Sendable, Hashable {
  /// `for variable in 0..<extent` (kind says how).
  case loop(variable: String, extent: Int, kind: LoopKind, body: [Stmt])
  /// `float name = value`.
  case declare(String, ValueExpr)
  /// `double name = value`: an accumulator of a long sum, kept in double so its rounding does not
  /// grow with the number of terms (reduce_sum, reduce_mean, a global average pool).
  case declareWide(String, ValueExpr)
  /// `name = name ⊕ value`.
  case accumulate(String, Accumulate, ValueExpr)
  /// `name = value` for an existing local.
  case assign(String, ValueExpr)
  /// `buffer[index] = value`.
  case store(String, IndexExpr, ValueExpr)
  /// `if (all conditions) { body }`.
  case when([IndexCondition], [Stmt])
  /// `int name = value` — an index local.
  case let_(String, IndexExpr)
  /// `vector name = value`: a vector local of `GF_V` lanes (a register, when there are enough).
  case declareVector(String, ValueExpr)
  /// `buffer[index ..< index + GF_V] = value` for a vector value (an aligned vector store).
  case vstore(String, IndexExpr, ValueExpr)
  /// The same store at an index that need not be a multiple of the vector width.
  case vstoreUnaligned(String, IndexExpr, ValueExpr)
  /// `name[lane] = value`: one lane of a vector local.
  case setLane(String, IndexExpr, ValueExpr)
  /// `count` floats from `source[sourceIndex…]` to `target[targetIndex…]`: a block copy.
  case copy(target: String, IndexExpr, source: String, IndexExpr, count: Int)
  /// A pointer local `name = base + index` into a buffer or another pointer, hoisted out of the
  /// loops below it; with conditions, it points at the zero row instead when any fails (a padded
  /// border pixel reads zeros). Loads through it read as loads from `name`.
  case pointer(String, base: String, IndexExpr, checked: [IndexCondition])
  /// `int name[count]`: an array of index locals, set with ``setIndex(_:_:_:)`` and read with
  /// ``IndexExpr/element(_:_:)`` (offsets computed once and reused by inner loops).
  case declareIndexArray(String, Int)
  /// `name[index] = value` for an index-array local.
  case setIndex(String, IndexExpr, IndexExpr)
  /// A hint to bring `buffer[index]`'s cache line into L1 (`l1`) or L2 ahead of its use; never
  /// faults, no effect on the result.
  case prefetch(String, IndexExpr, l1: Bool)
}

/// A buffer a loop nest reads or writes, with its role and element count.
public struct BufferDecl: Sendable, Equatable {
  /// The name used in loads and stores.
  public var name: String
  /// The element count.
  public var count: Int
  /// True when the nest writes it.
  public var isOutput: Bool
  /// The graph value behind it; nil for a kernel parameter that holds none (packed weights,
  /// scratch), bound by name instead.
  public var value: ValueID?

  /// Creates a buffer declaration.
  public init(name: String, count: Int, isOutput: Bool, value: ValueID? = nil) {
    self.name = name
    self.count = count
    self.isOutput = isOutput
    self.value = value
  }
}

/// A group lowered to loops: buffers and statements; the first parallel loop is split into tasks.
public struct LoopNest: Sendable, Equatable, CustomStringConvertible {
  /// The group name (also the C function name stem).
  public var name: String
  /// Buffers read and written, inputs first.
  public var buffers: [BufferDecl]
  /// The statements.
  public var body: [Stmt]
  /// The schedule the compiled model runs for this group, when it is not this nest itself.
  public var schedule: String?

  /// Creates a loop nest.
  public init(name: String, buffers: [BufferDecl], body: [Stmt], schedule: String? = nil) {
    self.name = name
    self.buffers = buffers
    self.body = body
    self.schedule = schedule
  }

  /// The extent of the outermost parallel loop (the number of tasks), or 1.
  public var taskCount: Int {
    func find(_ stmts: [Stmt]) -> Int? {
      for s in stmts {
        switch s {
        case .loop(_, let extent, .parallel, _): return extent
        case .loop(_, _, _, let body): if let e = find(body) { return e }
        case .when(_, let body): if let e = find(body) { return e }
        default: continue
        }
      }
      return nil
    }
    if let extent = find(body) { return extent }
    // No parallel loop: one task, or none when some loop has nothing to do.
    func empty(_ stmts: [Stmt]) -> Bool {
      stmts.contains { if case .loop(_, 0, _, _) = $0 { return true } else { return false } }
    }
    return empty(body) ? 0 : 1
  }
}

extension LoopNest {
  /// The names of the nest's vector locals (declared with ``Stmt/declareVector(_:_:)``).
  var vectorLocals: Set<String> {
    var names = Set<String>()
    func scan(_ stmts: [Stmt]) {
      for s in stmts {
        switch s {
        case .declareVector(let n, _): names.insert(n)
        case .loop(_, _, _, let body), .when(_, let body): scan(body)
        default: continue
        }
      }
    }
    scan(body)
    return names
  }
}

extension LoopNest {
  /// Locals (loop variables, index and value locals, pointers, index arrays) named like one of
  /// the nest's buffers. In C the local hides the buffer parameter, so a later load through the
  /// buffer's name reads the local instead; every nest must have none (``KernelPlan`` asserts it).
  var localsShadowingBuffers: [String] {
    let buffers = Set(self.buffers.map(\.name))
    var found: [String] = []
    func scan(_ stmts: [Stmt]) {
      for s in stmts {
        switch s {
        case .loop(let v, _, _, let body):
          if buffers.contains(v) { found.append(v) }
          scan(body)
        case .when(_, let body): scan(body)
        case .declare(let n, _), .declareWide(let n, _), .let_(let n, _), .declareVector(let n, _),
          .pointer(let n, _, _, _),
          .declareIndexArray(let n, _):
          if buffers.contains(n) { found.append(n) }
        default: continue
        }
      }
    }
    scan(body)
    return found
  }
}
