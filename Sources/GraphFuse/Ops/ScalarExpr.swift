import Foundation

/// A unary scalar function.
public enum UnaryFunction: String, Sendable {
  case neg, exp, log, sqrt, tanh, abs, erf, floor, trunc, ceil, sin, cos
  /// Round half to even (ONNX `Round`, C `rintf` in the default rounding mode).
  case round
  /// `exp` of an argument that is ≤ 0 or NaN (a softmax's scores minus their row max): the vector
  /// form skips the range checks that only other arguments need, and returns a NaN argument.
  case expNonPositive = "exp_nonpositive"
  /// `1 / (1 + e^−x)`, as one function so vector code can take e^−|x| (``expNonPositive``'s half
  /// of the steps) instead of a full exponential.
  case sigmoid
  /// GELU with the exact erf, `x · Φ(x)` (Φ the standard normal CDF), as one function so vector
  /// code takes Φ from one rational function (``GeluFusion``) instead of erf and three more ops.
  case gelu
}

/// A binary scalar function.
public enum BinaryFunction: String, Sendable {
  case add, sub, mul, div, max, min, pow
  /// `a == b ? 1 : 0`.
  case eq
  /// `a < b ? 1 : 0`.
  case lt
  /// `a <= b ? 1 : 0`.
  case le
  /// `a != 0 ? b : 0` (a select without multiplying, so infinities and NaNs in the other branch do not leak).
  case keep
  /// `e^(a − b)` for `a ≤ b` or NaN (a softmax's scores and their row max): with AVX-512 the vector
  /// form needs no clamp (`t − ⌊t⌋` by `vreduceps`, `2^⌊t⌋` by `vscalefps`), 9 operations.
  case expDifference = "exp_difference"
}

/// The per-element math of an elementwise or broadcast op, over its operands.
///
/// One definition serves the reference executor (``evaluate(_:)``) and code generation
/// (printed as C), so an elementwise op is written once.
public indirect enum ScalarExpr: Sendable, Equatable {
  /// The element of operand `i` of the op.
  case operand(Int)
  /// A literal.
  case constant(Double)
  /// `f(a)`.
  case unary(UnaryFunction, ScalarExpr)
  /// `f(a, b)`.
  case binary(BinaryFunction, ScalarExpr, ScalarExpr)

  /// Evaluates the expression in Double with the given operand values.
  public func evaluate(_ operands: [Double]) -> Double {
    switch self {
    case .operand(let i): return operands[i]
    case .constant(let c): return c
    case .unary(let f, let a):
      let x = a.evaluate(operands)
      switch f {
      case .neg: return -x
      case .exp, .expNonPositive: return Foundation.exp(x)
      case .sigmoid: return 1 / (1 + Foundation.exp(-x))
      case .gelu: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
      case .log: return Foundation.log(x)
      case .sqrt: return x.squareRoot()
      case .tanh: return Foundation.tanh(x)
      case .abs: return Swift.abs(x)
      case .erf: return Foundation.erf(x)
      case .floor: return x.rounded(.down)
      case .trunc: return x.rounded(.towardZero)
      case .ceil: return x.rounded(.up)
      case .round: return x.rounded(.toNearestOrEven)
      case .sin: return Foundation.sin(x)
      case .cos: return Foundation.cos(x)
      }
    case .binary(let f, let a, let b):
      let x = a.evaluate(operands), y = b.evaluate(operands)
      switch f {
      case .add: return x + y
      case .sub: return x - y
      case .mul: return x * y
      case .div: return x / y
      case .max: return nanMax(x, y)
      case .min: return nanMin(x, y)
      case .pow: return Foundation.pow(x, y)
      case .eq: return x == y ? 1 : 0
      case .lt: return x < y ? 1 : 0
      case .le: return x <= y ? 1 : 0
      case .keep: return x != 0 ? y : 0
      case .expDifference: return Foundation.exp(x - y)
      }
    }
  }

  /// Replaces each `operand(i)` with `operands[i]`.
  public func substituting(_ operands: [ScalarExpr]) -> ScalarExpr {
    switch self {
    case .operand(let i): return operands[i]
    case .constant: return self
    case .unary(let f, let a): return .unary(f, a.substituting(operands))
    case .binary(let f, let a, let b): return .binary(f, a.substituting(operands), b.substituting(operands))
    }
  }

  // Building blocks, so op definitions read like math.
  static let x = ScalarExpr.operand(0)
  static func + (a: ScalarExpr, b: ScalarExpr) -> ScalarExpr { .binary(.add, a, b) }
  static func - (a: ScalarExpr, b: ScalarExpr) -> ScalarExpr { .binary(.sub, a, b) }
  static func * (a: ScalarExpr, b: ScalarExpr) -> ScalarExpr { .binary(.mul, a, b) }
  static func / (a: ScalarExpr, b: ScalarExpr) -> ScalarExpr { .binary(.div, a, b) }
  static prefix func - (a: ScalarExpr) -> ScalarExpr { .unary(.neg, a) }
  static func max(_ a: ScalarExpr, _ b: ScalarExpr) -> ScalarExpr { .binary(.max, a, b) }
  static func min(_ a: ScalarExpr, _ b: ScalarExpr) -> ScalarExpr { .binary(.min, a, b) }
  static func exp(_ a: ScalarExpr) -> ScalarExpr { .unary(.exp, a) }
  static func c(_ v: Double) -> ScalarExpr { .constant(v) }
}

/// The larger of two values, NaN when either is NaN (PyTorch's `maximum`, `relu`, `max_pool2d`).
@inline(__always) func nanMax<T: FloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }

/// The smaller of two values, NaN when either is NaN (PyTorch's `minimum`, `clamp`).
@inline(__always) func nanMin<T: FloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
