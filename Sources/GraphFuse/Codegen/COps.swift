/// The one table from loop-IR math to C, for scalar `float` and for `gf_vf` vectors of `GF_V`
/// lanes (clang's vector extension: `+ - * /` work lanewise; functions come from the prelude).
/// Every kernel that the renderer writes, scalar or vector, takes its math from here.
enum COps {
  /// `f(a)` in C.
  static func unary(_ f: UnaryFunction, _ a: String, vector: Bool) -> String {
    switch f {
    case .neg: return "(-\(a))"
    case .abs: return vector ? "gf_vabs(\(a))" : "fabsf(\(a))"
    case .exp, .tanh, .erf: return vector ? "gf_v\(f.rawValue)(\(a))" : "gf_\(f.rawValue)(\(a))"
    case .log, .sqrt, .floor, .trunc, .ceil, .sin, .cos:
      return vector ? "gf_v\(f.rawValue)(\(a))" : "\(f.rawValue)f(\(a))"
    case .round: return vector ? "gf_vround(\(a))" : "rintf(\(a))"
    case .expNonPositive: return vector ? "gf_vexp_nonpositive(\(a))" : "gf_exp(\(a))"
    case .sigmoid: return vector ? "gf_vsigmoid(\(a))" : "gf_sigmoid(\(a))"
    case .gelu: return vector ? "gf_vgelu(\(a))" : "gf_gelu(\(a))"
    }
  }

  /// `f(a, b)` in C; for vectors both operands are vectors.
  static func binary(_ f: BinaryFunction, _ a: String, _ b: String, vector: Bool) -> String {
    switch f {
    case .add: return "(\(a) + \(b))"
    case .sub: return "(\(a) - \(b))"
    case .mul: return "(\(a) * \(b))"
    case .div: return "(\(a) / \(b))"
    case .max: return vector ? "gf_vmax(\(a), \(b))" : "gf_max(\(a), \(b))"
    case .min: return vector ? "gf_vmin(\(a), \(b))" : "gf_min(\(a), \(b))"
    case .pow: return vector ? "gf_vpow(\(a), \(b))" : "powf(\(a), \(b))"
    case .eq: return vector ? "gf_veq(\(a), \(b))" : "(\(a) == \(b) ? 1.0f : 0.0f)"
    case .lt: return vector ? "gf_vlt(\(a), \(b))" : "(\(a) < \(b) ? 1.0f : 0.0f)"
    case .le: return vector ? "gf_vle(\(a), \(b))" : "(\(a) <= \(b) ? 1.0f : 0.0f)"
    case .keep: return vector ? "gf_vkeep(\(a), \(b))" : "(\(a) != 0.0f ? \(b) : 0.0f)"
    case .expDifference: return vector ? "gf_vexp_difference(\(a), \(b))" : "gf_exp(\(a) - \(b))"
    }
  }

  /// `acc = max(acc, x)` for a running reduction, NaN-propagating like ``binary(_:_:_:vector:)``'s
  /// max; the vector form is a single select, which keeps a max pool's loop-carried chain short.
  static func accumulateMax(_ acc: String, _ x: String, vector: Bool) -> String {
    vector ? "gf_vmaxacc(\(acc), \(x))" : "gf_max(\(acc), \(x))"
  }

  /// `acc = x > acc ? x : acc`: a NaN `x` is skipped (one `vmaxps` for vectors, no NaN test), for
  /// maxima whose NaNs reach the result by another path (``Accumulate/maxSkippingNaN``).
  static func accumulateMaxSkippingNaN(_ acc: String, _ x: String, vector: Bool) -> String {
    vector ? "gf_vmaxnum(\(acc), \(x))" : "(\(x) > \(acc) ? \(x) : \(acc))"
  }

  /// A scalar broadcast to a vector.
  static func splat(_ a: String) -> String { "gf_splat(\(a))" }

  /// The C type of a local.
  static func type(vector: Bool) -> String { vector ? "gf_vf" : "float" }
}
