/// The elementwise tail of a blocked group (per-channel operands vary along axis 1: the channels
/// of a conv, the output features of a dense layer) (bias, activation, residual add, scale-shift,
/// kept-whole batch norm) as one vector expression applied in registers before the single store.
struct Epilogue {
  /// How an operand of the epilogue is read for one output vector.
  enum Operand: Equatable {
    /// One value per channel, a graph constant packed and zero-padded to `channels` rounded up
    /// to whole vectors (``ConstantRecipe/channels(_:scale:channels:vector:)``): one vector load.
    case channel(ValueID, channels: Int)
    /// A single value broadcast to every lane (read at run time).
    case scalar(ValueID)
    /// A tensor of the output's shape in blocked layout: one vector load at the output offset.
    case full(ValueID)
    /// One value per channel computed at run time (`[1, C, 1, 1]`, e.g. a squeeze-excitation
    /// scale), read from its blocked buffer, where channel c sits at float c: one vector load.
    case channelTensor(ValueID)
    /// A row-major tensor of the output's trailing shape, broadcast over the leading axes (an
    /// attention bias `[heads, N, N]` added to scores `[windows, heads, N, N]`): `count` floats
    /// read at the output offset modulo `count`, one unaligned vector load. Matmul epilogues only.
    case suffix(ValueID, count: Int)
  }

  /// The math over `.local("acc")` (the anchor's vector) and `.load("eK", _)` (operand K).
  var expr: ValueExpr
  var operands: [Operand]
  /// The group output the epilogue produces.
  var output: ValueID
  /// Floats per vector of the blocked layout (per-channel operands are padded to it).
  var vectorWidth: Int

  /// The epilogue of a group anchored at `anchor`, or nil when some member or operand does not fit
  /// (not elementwise, a different shape, a run-time per-channel operand of a matmul, several outputs).
  /// `anchor` nil builds an elementwise-only group over its inputs. Per-channel operands vary
  /// along `channelAxis` (1: the channels of NCHW; the last axis for a matmul's output features).
  static func make(_ graph: Graph, group: FusedGroup, anchor: NodeID?, vector v: Int, channelAxis: Int = 1) -> Epilogue?
  {
    let anchorOut = anchor.map { graph.nodes[$0].outputs[0] } ?? -1
    guard let last = group.outputs.first else { return nil }
    let shape = graph.shape(of: anchor == nil ? last : anchorOut)
    guard shape.count >= 2, group.outputs.count == 1 else { return nil }
    let rank = shape.count
    let members = Set(group.nodes)
    var operands: [Operand] = [], operandOf: [ValueID: Int] = [:]
    var memo: [ValueID: ValueExpr] = [:]
    func build(_ value: ValueID) -> ValueExpr? {
      if value == anchorOut { return .local("acc") }
      if let e = memo[value] { return e }
      guard let n = graph.producer(of: value), members.contains(n) else { return nil }
      let node = graph.nodes[n]
      guard let def = OpRegistry.definitions[node.op], let scalar = def.scalar,
        def.pattern(node.attributes) <= .broadcast, node.outputs.count == 1,
        // A member may be smaller than the output (a mask computed from its own operands), as long
        // as it broadcasts to it: its operands are then read at the output's broadcast offsets.
        Broadcasting.shape(graph.shape(of: value), shape) == shape
      else { return nil }
      let viewed = def.broadcastShapes(node.attributes, node.inputs.map { graph.shape(of: $0) })
      var args: [ValueExpr] = []
      for (k, input) in node.inputs.enumerated() {
        if input == anchorOut || (graph.producer(of: input).map { members.contains($0) } ?? false) {
          guard let e = build(input) else { return nil }
          args.append(e)
          continue
        }
        if let existing = operandOf[input] { args.append(.load("e\(existing)", .constant(0))); continue }
        let aligned = [Int](repeating: 1, count: max(0, rank - viewed[k].count)) + viewed[k]
        let operand: Operand
        if graph.shape(of: input).reduce(1, *) == 1 {
          operand = .scalar(input)
        } else if aligned == shape {
          operand = .full(input)
        } else if aligned.count == rank, channelAxis < rank, aligned[channelAxis] == shape[channelAxis],
          aligned.indices.allSatisfy({ $0 == channelAxis || aligned[$0] == 1 }),
          graph.constant(input) != nil
        {
          operand = .channel(input, channels: shape[channelAxis])
        } else if channelAxis == rank - 1, rank >= 3, let lead = aligned.firstIndex(where: { $0 != 1 }), lead > 0,
          Array(aligned[lead...]) == Array(shape[lead...])
        {
          operand = .suffix(input, count: shape[lead...].reduce(1, *))
        } else if channelAxis == 1, rank == 4, aligned[1] == shape[1], graph.shape(of: input).count == 4,
          aligned.indices.allSatisfy({ $0 == 1 || aligned[$0] == 1 })
        {
          operand = .channelTensor(input)
        } else {
          return nil
        }
        operandOf[input] = operands.count
        args.append(.load("e\(operands.count)", .constant(0)))
        operands.append(operand)
      }
      let e = ValueExpr(scalar(node.attributes), operands: args)
      memo[value] = e
      return e
    }
    // Every member other than the anchor must be part of the chain to the one output.
    guard let output = group.outputs.first, let expr = build(output) else { return nil }
    guard group.nodes.allSatisfy({ $0 == anchor || memo[graph.nodes[$0].outputs[0]] != nil }) else { return nil }
    return Epilogue(expr: expr, operands: operands, output: output, vectorWidth: v)
  }

  /// The epilogue as a vector expression of the loop IR: `acc` is the anchor's vector, `offset`
  /// the output element offset (for full-tensor operands), `channelBlock` the channel-block index
  /// (for per-channel operands); operand `k` is the buffer `prefix` + `k`.
  /// `unaligned` reads full-tensor operands with unaligned loads (a plain-layout output whose
  /// rows are not whole vectors).
  func vector(
    acc: ValueExpr, offset: IndexExpr, channelBlock: IndexExpr, prefix: String = "e", unaligned: Bool = false
  ) -> ValueExpr {
    func operand(_ k: Int) -> ValueExpr {
      switch operands[k] {
      case .channel, .channelTensor: return .vload("\(prefix)\(k)", channelBlock * vectorWidth)
      case .scalar: return .splat(.load("\(prefix)\(k)", .constant(0)))
      case .full: return unaligned ? .vloadUnaligned("\(prefix)\(k)", offset) : .vload("\(prefix)\(k)", offset)
      case .suffix(_, let count): return .vloadUnaligned("\(prefix)\(k)", offset % count)
      }
    }
    return substitute(acc: acc, operand: operand)
  }

  /// The epilogue for one scalar element: `acc` its anchor value, `offset` its element offset in a
  /// plain-layout output, `channel` its channel (index into the padded per-channel operands).
  func scalar(acc: ValueExpr, offset: IndexExpr, channel: IndexExpr, prefix: String = "e") -> ValueExpr {
    substitute(acc: acc) { k in
      switch operands[k] {
      case .channel, .channelTensor: return .load("\(prefix)\(k)", channel)
      case .scalar: return .load("\(prefix)\(k)", .constant(0))
      case .full: return .load("\(prefix)\(k)", offset)
      case .suffix(_, let count): return .load("\(prefix)\(k)", offset % count)
      }
    }
  }

  /// The expression as a prologue applied to a loaded input: `input` stands for its one
  /// full-tensor operand, per-channel operands are read at `channelBlock`, scalars broadcast.
  func prologue(input: ValueExpr, channelBlock: IndexExpr, prefix: String) -> ValueExpr {
    substitute(acc: input) { k in
      switch operands[k] {
      case .full, .suffix: return input
      case .channel, .channelTensor: return .vload("\(prefix)\(k)", channelBlock * vectorWidth)
      case .scalar: return .splat(.load("\(prefix)\(k)", .constant(0)))
      }
    }
  }

  private func substitute(acc: ValueExpr, operand: (Int) -> ValueExpr) -> ValueExpr {
    func rewrite(_ e: ValueExpr) -> ValueExpr {
      switch e {
      case .local: return acc
      case .load(let name, _): return operand(Int(name.dropFirst())!)
      case .unary(let f, let a): return .unary(f, rewrite(a))
      case .binary(let f, let a, let b): return .binary(f, rewrite(a), rewrite(b))
      case .select(let cs, let a, let b): return .select(cs, rewrite(a), rewrite(b))
      case .constant, .vload, .vloadUnaligned, .vloadPartial, .splat, .lane, .shuffle: return e
      }
    }
    return rewrite(expr)
  }

  /// True when some operand is a full tensor read from memory (not a per-channel or scalar value).
  var readsTensors: Bool { operands.contains { !$0.isPerChannelOrScalar } }
}

extension Epilogue.Operand {
  /// Per channel or a scalar: not a tensor of the output's shape.
  var isPerChannelOrScalar: Bool {
    switch self {
    case .full, .suffix: return false
    case .channel, .scalar, .channelTensor: return true
    }
  }
}
