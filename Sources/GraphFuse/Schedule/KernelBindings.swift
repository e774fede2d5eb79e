/// The buffers a kernel's parameters are bound to, by parameter name (`in`, `wt`, `e0`, `out`).
/// ``KernelPlan/addStep(_:bindings:schedule:)`` orders them as the nest declares its parameters
/// and refuses a name the nest lacks, a parameter left unbound, or a buffer too small for it.
struct KernelBindings {
  private(set) var pairs: [(name: String, buffer: BufferID)] = []

  /// Bindings of the given names.
  init(_ pairs: KeyValuePairs<String, BufferID> = [:]) { self.pairs = pairs.map { ($0.key, $0.value) } }

  /// `prefix0`, `prefix1`, … bound to `buffers` in order (epilogue operands, concat inputs).
  static func numbered(_ prefix: String, _ buffers: [BufferID]) -> KernelBindings {
    var result = KernelBindings()
    result.pairs = buffers.enumerated().map { ("\(prefix)\($0.offset)", $0.element) }
    return result
  }

  /// `prefix<k>` bound to `buffers[i]` for the given indices `k` (a subset of operands).
  static func numbered(_ prefix: String, _ buffers: [BufferID], indices: [Int]) -> KernelBindings {
    var result = KernelBindings()
    result.pairs = zip(indices, buffers).map { ("\(prefix)\($0)", $1) }
    return result
  }

  /// Both sets of bindings.
  static func + (a: KernelBindings, b: KernelBindings) -> KernelBindings {
    var result = a
    result.pairs += b.pairs
    return result
  }

  /// The bindings of `nest`'s parameters only: a schedule of several steps binds its buffers once.
  func restricted(to nest: LoopNest) -> KernelBindings {
    let names = Set(nest.buffers.map(\.name))
    var result = KernelBindings()
    result.pairs = pairs.filter { names.contains($0.name) }
    return result
  }

  /// The bound buffers in the order of `nest`'s parameters, checked against them.
  func ordered(for nest: LoopNest, in plan: KernelPlan) throws(GraphFuseError) -> [BufferID] {
    func fail(_ what: String) -> GraphFuseError {
      GraphFuseError("internal: kernel \(nest.name): \(what)", op: "schedule")
    }
    var byName: [String: BufferID] = [:]
    for (name, buffer) in pairs {
      guard byName.updateValue(buffer, forKey: name) == nil else { throw fail("parameter '\(name)' bound twice") }
    }
    var result: [BufferID] = []
    for parameter in nest.buffers {
      guard let b = byName.removeValue(forKey: parameter.name) else {
        throw fail("no buffer bound to parameter '\(parameter.name)'")
      }
      let buffer = plan.buffers[b]
      guard buffer.count >= parameter.count else {
        throw fail("parameter '\(parameter.name)' needs \(parameter.count) floats, buffer \(b) has \(buffer.count)")
      }
      if parameter.isOutput, buffer.storage != .arena {
        throw fail("output parameter '\(parameter.name)' bound to constant buffer \(b)")
      }
      result.append(b)
    }
    if let extra = byName.keys.sorted().first { throw fail("no parameter named '\(extra)'") }
    return result
  }
}
