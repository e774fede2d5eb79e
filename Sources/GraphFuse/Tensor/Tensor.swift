/// A dense float32 tensor: a shape and contiguous row-major storage.
public struct Tensor: Sendable, Equatable {
  /// The extent of each axis, outermost first.
  public var shape: [Int]
  /// The elements in row-major order; `data.count == shape.product`.
  public var data: [Float]

  /// Creates a tensor from a shape and its row-major elements.
  public init(shape: [Int], data: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
    precondition(
      data.count == shape.reduce(1, *), "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
    self.shape = shape
    self.data = data
  }

  /// Creates a tensor with every element set to `value`.
  public init(shape: [Int], repeating value: Float) {
    self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
  }

  /// Creates a zero-filled tensor.
  public init(zeros shape: [Int]) { self.init(shape: shape, repeating: 0) }

  /// Creates a one-dimensional tensor.
  public init(_ values: [Float]) { self.init(shape: [values.count], data: values) }

  /// A rank-0 tensor holding one value.
  public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

  /// The number of elements.
  public var count: Int { data.count }

  /// The number of axes.
  public var rank: Int { shape.count }

  /// Row-major strides of `shape`, in elements.
  public var strides: [Int] { Tensor.strides(of: shape) }

  /// Row-major strides for a shape.
  public static func strides(of shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[axis] = running
      running *= shape[axis]
    }
    return strides
  }

  /// The element at a multi-index.
  public subscript(_ index: Int...) -> Float {
    get { data[offset(index)] }
    set { data[offset(index)] = newValue }
  }

  private func offset(_ index: [Int]) -> Int {
    precondition(index.count == shape.count, "index \(index) for shape \(shape)")
    var flat = 0
    for (axis, i) in index.enumerated() { flat = flat * shape[axis] + i }
    return flat
  }

  /// The same storage viewed with another shape of equal element count.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, data: data)
  }

  /// A tensor of deterministic pseudo-random values uniform in `range`.
  public static func random(shape: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64) -> Tensor {
    var generator = SplitMix64(seed: seed)
    let count = shape.reduce(1, *)
    let span = range.upperBound - range.lowerBound
    let data = (0..<count).map { _ in range.lowerBound + span * generator.nextUnitFloat() }
    return Tensor(shape: shape, data: data)
  }
}

/// A small deterministic generator (SplitMix64) for weights and test data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Creates a generator from a seed.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A float uniform in [0, 1).
  public mutating func nextUnitFloat() -> Float {
    Float(next() >> 40) / Float(1 << 24)
  }
}
