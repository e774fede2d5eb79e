/// How far one tensor is from another, measured elementwise.
public struct TensorComparison: Sendable, CustomStringConvertible {
  /// Whether the two shapes are equal; when they are not, the other fields are zero.
  public var shapesMatch: Bool
  /// The largest absolute difference between corresponding elements.
  public var maxAbsoluteError: Float
  /// The largest magnitude in the expected tensor.
  public var maxMagnitude: Float
  /// Whether either tensor holds a NaN where the other does not.
  public var nanMismatch: Bool
  /// Whether either tensor holds an infinity where the other does not hold the same one (±inf
  /// are compared by position and sign; they take no part in the error or the magnitude).
  public var infinityMismatch = false

  /// `maxAbsoluteError` divided by the expected tensor's largest magnitude.
  public var relativeError: Float {
    maxMagnitude > 0 ? maxAbsoluteError / maxMagnitude : maxAbsoluteError
  }

  /// Whether the tensors agree within `relative` of the expected output's magnitude, or `absolute`.
  public func isWithin(relative: Float = 1e-4, absolute: Float = 0) -> Bool {
    shapesMatch && !nanMismatch && !infinityMismatch && maxAbsoluteError <= max(absolute, relative * maxMagnitude)
  }

  public var description: String {
    guard shapesMatch else { return "shape mismatch" }
    let nan = nanMismatch ? "; NaN where the other has a number" : ""
    let infinity = infinityMismatch ? "; an infinity where the other has another value" : ""
    return "max |error| \(maxAbsoluteError) of max |value| \(maxMagnitude) (relative \(relativeError))\(nan)\(infinity)"
  }
}

extension Tensor {
  /// Compares this tensor (the actual value) with `expected`, shapes first.
  public func compared(to expected: Tensor) -> TensorComparison {
    guard shape == expected.shape else {
      return TensorComparison(shapesMatch: false, maxAbsoluteError: 0, maxMagnitude: 0, nanMismatch: false)
    }
    var maxError: Float = 0
    var magnitude: Float = 0
    var nanMismatch = false, infinityMismatch = false
    for i in 0..<data.count {
      let a = data[i], e = expected.data[i]
      if a.isNaN != e.isNaN { nanMismatch = true; continue }
      if a.isNaN { continue }
      if a.isInfinite || e.isInfinite {
        if a != e { infinityMismatch = true }
        continue
      }
      magnitude = max(magnitude, abs(e))
      maxError = max(maxError, a == e ? 0 : abs(a - e))
    }
    var comparison = TensorComparison(
      shapesMatch: true, maxAbsoluteError: maxError, maxMagnitude: magnitude, nanMismatch: nanMismatch)
    comparison.infinityMismatch = infinityMismatch
    return comparison
  }

  /// Whether this tensor equals `other` in shape and, within tolerance, in value.
  ///
  /// Passes when `|a − b| ≤ max(absolute, relative · max|other|)` for every element.
  public func isApproximatelyEqual(to other: Tensor, relative: Float = 1e-4, absolute: Float = 0) -> Bool {
    compared(to: other).isWithin(relative: relative, absolute: absolute)
  }
}
