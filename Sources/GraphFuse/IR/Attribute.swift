/// One attribute value of a node: an integer, float, string or a list of them.
public enum Attribute: Sendable, Equatable, CustomStringConvertible {
  case int(Int)
  case ints([Int])
  case float(Double)
  case floats([Double])
  case string(String)

  public var description: String {
    switch self {
    case .int(let v): return "\(v)"
    case .ints(let v): return "[" + v.map(String.init).joined(separator: ",") + "]"
    case .float(let v): return formatNumber(v)
    case .floats(let v): return "[" + v.map(formatNumber).joined(separator: ",") + "]"
    case .string(let v): return "\"\(v)\""
    }
  }
}

/// Formats a number without a trailing `.0` when it is integral.
func formatNumber(_ v: Double) -> String {
  if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
  return "\(v)"
}

/// The attributes of a node, keyed by name, printed in name order.
public struct Attributes: Sendable, Equatable, CustomStringConvertible, ExpressibleByDictionaryLiteral {
  /// The raw attribute values.
  public var values: [String: Attribute]

  /// Creates attributes from a dictionary.
  public init(_ values: [String: Attribute] = [:]) { self.values = values }

  public init(dictionaryLiteral elements: (String, Attribute)...) {
    values = Dictionary(elements, uniquingKeysWith: { $1 })
  }

  /// The raw value of one attribute.
  public subscript(_ name: String) -> Attribute? {
    get { values[name] }
    set { values[name] = newValue }
  }

  /// An integer attribute, or `defaultValue` when absent.
  public func int(_ name: String, default defaultValue: Int) -> Int {
    switch values[name] {
    case .int(let v)?: return v
    case .float(let v)?: return Int(v)
    default: return defaultValue
    }
  }

  /// An integer-list attribute, or `defaultValue` when absent.
  public func ints(_ name: String, default defaultValue: [Int]) -> [Int] {
    switch values[name] {
    case .ints(let v)?: return v
    case .int(let v)?: return [v]
    default: return defaultValue
    }
  }

  /// A float attribute, or `defaultValue` when absent.
  public func float(_ name: String, default defaultValue: Double) -> Double {
    switch values[name] {
    case .float(let v)?: return v
    case .int(let v)?: return Double(v)
    default: return defaultValue
    }
  }

  /// A string attribute, or `defaultValue` when absent.
  public func string(_ name: String, default defaultValue: String) -> String {
    if case .string(let v)? = values[name] { return v }
    return defaultValue
  }

  /// A float-list attribute, or `defaultValue` when absent.
  public func floats(_ name: String, default defaultValue: [Double]) -> [Double] {
    switch values[name] {
    case .floats(let v)?: return v
    case .ints(let v)?: return v.map(Double.init)
    default: return defaultValue
    }
  }

  /// A boolean attribute stored as an integer, or `defaultValue` when absent.
  public func bool(_ name: String, default defaultValue: Bool) -> Bool {
    int(name, default: defaultValue ? 1 : 0) != 0
  }

  /// `{a=1, b=[2,2]}` in name order, or the empty string when there are none.
  public var description: String {
    guard !values.isEmpty else { return "" }
    return "{" + values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: ", ") + "}"
  }
}
