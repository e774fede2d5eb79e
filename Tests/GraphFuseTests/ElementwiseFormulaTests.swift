import Foundation
import Testing

@testable import GraphFuse

/// Every elementwise op of the registry against a formula written here in double precision, on
/// both backends. The reference executor and the compiled C both evaluate the registry's
/// ``ScalarExpr``, so comparing them with each other cannot catch a wrong formula; these formulas
/// are independent of it (Foundation's double functions and ONNX's definitions).
@Suite struct ElementwiseFormulaTests {
  /// One op's formula, its operands' values and the accepted error.
  struct Formula: Sendable {
    var arity = 1
    var attributes: Attributes = [:]
    /// The values each operand is drawn from.
    var domains: [Domain] = [.range(-6...6)]
    /// Operand shapes when they are not all ``shape`` (they broadcast over its trailing axes).
    var shapes: [[Int]]? = nil
    /// Accepted |error| ≤ absolute + relative·|exact|.
    var absolute = 1e-6
    var relative = 1e-6
    var exact: @Sendable ([Double]) -> Double
  }

  /// Where an operand's values come from.
  enum Domain: Sendable {
    /// Uniform in a range.
    case range(ClosedRange<Double>)
    /// A sign times a magnitude in a range (divisors away from zero).
    case signedMagnitude(ClosedRange<Double>)
    /// Drawn from a list (booleans, ties for equality, halves for rounding, non-finite values).
    case values([Double])
  }

  static let booleans = Domain.values([0, 1])
  static let smallIntegers = Domain.values([-2, -1, 0, 1, 2, 3])
  static let special = Domain.values([0, -0.0, 1.5, -3, .infinity, -.infinity, .nan, 1e30])

  static func comparison(_ f: @escaping @Sendable (Double, Double) -> Bool) -> Formula {
    Formula(arity: 2, domains: [smallIntegers, smallIntegers]) { f($0[0], $0[1]) ? 1 : 0 }
  }

  static func logic(_ f: @escaping @Sendable (Bool, Bool) -> Bool) -> Formula {
    Formula(arity: 2, domains: [booleans, booleans]) { f($0[0] != 0, $0[1] != 0) ? 1 : 0 }
  }

  /// Python's modulo: the result takes the divisor's sign.
  static func floorMod(_ a: Double, _ b: Double) -> Double {
    let r = fmod(a, b)
    return r != 0 && (r < 0) != (b < 0) ? r + b : r
  }

  static let formulas: [String: Formula] = [
    "relu": Formula { max($0[0], 0) },
    "leaky_relu": Formula(attributes: ["alpha": .float(0.1)]) { $0[0] >= 0 ? $0[0] : 0.1 * $0[0] },
    "clip": Formula(attributes: ["min": .float(-0.5), "max": .float(0.75)]) { min(max($0[0], -0.5), 0.75) },
    "sigmoid": Formula(domains: [.range(-30...30)]) { 1 / (1 + exp(-$0[0])) },
    "tanh": Formula { tanh($0[0]) },
    "exp": Formula(domains: [.range(-40...40)], absolute: 0, relative: 2e-6) { exp($0[0]) },
    "log": Formula(domains: [.range(0.001...1000)]) { log($0[0]) },
    "sqrt": Formula(domains: [.range(0...1000)]) { $0[0].squareRoot() },
    "neg": Formula { -$0[0] },
    "silu": Formula(domains: [.range(-30...30)]) { $0[0] / (1 + exp(-$0[0])) },
    "hard_sigmoid": Formula { max(0, min(1, 0.2 * $0[0] + 0.5)) },
    "hard_swish": Formula { $0[0] * max(0, min(1, $0[0] / 6 + 0.5)) },
    "identity": Formula { $0[0] },
    "cast": Formula { $0[0] },
    "is_nan": Formula(domains: [special]) { $0[0].isNaN ? 1 : 0 },
    "is_inf": Formula(domains: [special]) { $0[0].isInfinite ? 1 : 0 },
    "cast_to_bool": Formula(domains: [special]) { $0[0] != 0 ? 1 : 0 },
    "not": Formula(domains: [booleans]) { $0[0] == 0 ? 1 : 0 },
    "trunc": Formula(domains: [.values([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 3.7])]) { $0[0].rounded(.towardZero) },
    "floor": Formula(domains: [.values([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 3.7])]) { $0[0].rounded(.down) },
    "ceil": Formula(domains: [.values([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 3.7])]) { $0[0].rounded(.up) },
    // ONNX Round: halves to the even neighbour.
    "round": Formula(domains: [.values([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 3.7])]) {
      $0[0].rounded(.toNearestOrEven)
    },
    "sin": Formula(domains: [.range(-10...10)]) { sin($0[0]) },
    "cos": Formula(domains: [.range(-10...10)]) { cos($0[0]) },
    "abs": Formula { abs($0[0]) },
    "erf": Formula { erf($0[0]) },
    "gelu": Formula { 0.5 * $0[0] * (1 + erf($0[0] / 2.0.squareRoot())) },
    "add": Formula(arity: 2, domains: [.range(-6...6), .range(-6...6)]) { $0[0] + $0[1] },
    "sub": Formula(arity: 2, domains: [.range(-6...6), .range(-6...6)]) { $0[0] - $0[1] },
    "mul": Formula(arity: 2, domains: [.range(-6...6), .range(-6...6)]) { $0[0] * $0[1] },
    "div": Formula(arity: 2, domains: [.range(-6...6), .signedMagnitude(0.1...4)]) { $0[0] / $0[1] },
    "max": Formula(arity: 2, domains: [.range(-6...6), .range(-6...6)]) { max($0[0], $0[1]) },
    "min": Formula(arity: 2, domains: [.range(-6...6), .range(-6...6)]) { min($0[0], $0[1]) },
    "pow": Formula(arity: 2, domains: [.range(0.1...4), .range(-3...3)], absolute: 1e-6, relative: 2e-6) {
      pow($0[0], $0[1])
    },
    // a − b·⌊a/b⌋ in float is off the exact remainder by a rounding of the quotient: an ulp of a.
    "mod": Formula(arity: 2, domains: [.range(-20...20), .signedMagnitude(0.5...3)], absolute: 4e-6) {
      floorMod($0[0], $0[1])
    },
    "equal": comparison(==),
    "less": comparison(<),
    "less_equal": comparison(<=),
    "greater": comparison(>),
    "greater_equal": comparison(>=),
    "and": logic { $0 && $1 },
    "or": logic { $0 || $1 },
    "xor": logic { $0 != $1 },
    "where": Formula(arity: 3, domains: [booleans, .range(-6...6), .range(-6...6)]) { $0[0] != 0 ? $0[1] : $0[2] },
    // Inference batch norm over axis 1 of [5, 37]: per-channel scale, bias, mean and variance.
    "batch_norm": Formula(
      arity: 5, attributes: ["epsilon": .float(1e-3)],
      domains: [.range(-6...6), .range(-2...2), .range(-2...2), .range(-2...2), .range(0...4)],
      shapes: [shape, [37], [37], [37], [37]]
    ) { ($0[0] - $0[3]) / ($0[4] + Double(Float(1e-3))).squareRoot() * $0[1] + $0[2] },
    "scale_shift": Formula(arity: 3, domains: [.range(-6...6), .range(-2...2), .range(-2...2)]) {
      $0[0] * $0[1] + $0[2]
    },
  ]

  /// The registry's elementwise ops: those whose element is a scalar formula of their operands.
  static let registryOps = OpRegistry.definitions.values.filter { $0.scalar != nil }.map(\.name).sorted()

  @Test func everyElementwiseOpHasAFormula() {
    let missing = Set(Self.registryOps).subtracting(Self.formulas.keys)
    #expect(missing.isEmpty, "elementwise ops without an independent formula here: \(missing.sorted())")
    let stale = Set(Self.formulas.keys).subtracting(Self.registryOps)
    #expect(stale.isEmpty, "formulas for ops the registry does not have: \(stale.sorted())")
  }

  /// `count` values of `domain`, from a fixed seed (a 64-bit LCG), rounded to float.
  static func values(_ domain: Domain, count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    func next() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) / Double(1 << 53)
    }
    return (0..<count).map { _ in
      switch domain {
      case .range(let r): return Float(r.lowerBound + (r.upperBound - r.lowerBound) * next())
      case .signedMagnitude(let r):
        let m = r.lowerBound + (r.upperBound - r.lowerBound) * next()
        return Float(next() < 0.5 ? -m : m)
      case .values(let list): return Float(list[Int(next() * Double(list.count)) % list.count])
      }
    }
  }

  /// 5 rows of 37: whole vectors and a scalar tail in the compiled loops.
  static let shape = [5, 37]

  @Test(arguments: formulas.keys.sorted()) func bothBackendsMatchTheFormula(_ op: String) throws {
    let formula = try #require(Self.formulas[op])
    let count = Self.shape.reduce(1, *)
    let shapes = formula.shapes ?? Array(repeating: Self.shape, count: formula.arity)
    let inputs = (0..<formula.arity).map { k in
      let shape = shapes[k]
      return Tensor(
        shape: shape, data: Self.values(formula.domains[k], count: shape.reduce(1, *), seed: UInt64(31 + k)))
    }
    let b = GraphBuilder()
    let ids = (0..<formula.arity).map { b.input("x\($0)", shape: shapes[$0]) }
    b.output(try b.apply(op, ids, formula.attributes, name: op)[0])
    let graph = try b.finish()
    let reference = try ReferenceExecutor.run(graph, inputs: inputs)[0]
    let model = try CompiledModel.compile(graph, plan: FusionPlan.unfused(graph), options: CompiledTesting.options)
    let compiled = try model.run(inputs)[0]
    for (backend, result) in [("reference", reference), ("compiled", compiled)] {
      var worst = (error: 0.0, index: -1)
      for i in 0..<count {
        let operands = inputs.map { Double($0.data[i % $0.data.count]) }
        let exact = formula.exact(operands), got = Double(result.data[i])
        if exact.isNaN || got.isNaN {
          #expect(exact.isNaN && got.isNaN, "\(op) \(backend) at \(operands): \(got), exact \(exact)")
          continue
        }
        if exact.isInfinite || got.isInfinite {
          #expect(exact == got, "\(op) \(backend) at \(operands): \(got), exact \(exact)")
          continue
        }
        let error = abs(got - exact) / (formula.absolute + formula.relative * abs(exact))
        if error > worst.error { worst = (error, i) }
      }
      if worst.index >= 0 {
        let operands = inputs.map { Double($0.data[worst.index % $0.data.count]) }
        #expect(
          worst.error <= 1,
          """
          \(op) \(backend) at \(operands): \(result.data[worst.index]), exact \(formula.exact(operands)) \
          (\(worst.error)× the tolerance)
          """)
      }
    }
  }
}
