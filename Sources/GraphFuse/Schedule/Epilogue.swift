/// The elementwise tail of a blocked group (per-channel operands vary along axis 1: the channels
/// of a conv, the output features of a dense layer) (bias, activation, residual add, scale-shift,
/// kept-whole batch norm) as one vector expression applied in registers before the single store.
struct Epilogue {
  /// How an operand is read (``ElementwiseTail/Operand``): per channel, a constant packed and
  /// zero-padded to whole vectors (one vector load); a scalar, broadcast to every lane; a full
  /// tensor in blocked layout, one vector load at the output offset; a run-time per-channel tensor
  /// from its blocked buffer, channel c at float c; a suffix, `count` floats read at the output
  /// offset modulo `count` with one unaligned load; a broadcast, one unaligned load at ``index(_:_:)``;
  /// a row broadcast, one float at ``index(_:_:)`` splat to every lane.
  typealias Operand = ElementwiseTail.Operand

  /// The math over `.local("acc")` (the anchor's vector) and `.load("eK", _)` (operand K).
  var expr: ValueExpr
  var operands: [Operand]
  /// The group output the epilogue produces.
  var output: ValueID
  /// Floats per vector of the blocked layout (per-channel operands are padded to it).
  var vectorWidth: Int

  /// The epilogue of a group anchored at `anchor`, or nil when its tail does not fit
  /// (``ElementwiseTail/make(_:group:anchor:channelAxis:)``, which fusion decides with too).
  /// `anchor` nil builds an elementwise-only group over its inputs.
  static func make(_ graph: Graph, group: FusedGroup, anchor: NodeID?, vector v: Int, channelAxis: Int = 1) -> Epilogue?
  {
    ElementwiseTail.make(graph, group: group, anchor: anchor, channelAxis: channelAxis).map {
      Epilogue($0, in: graph, vector: v)
    }
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
      case .imageBroadcast(_, let channels, let pixels):
        let image = offset % ((channels + vectorWidth - 1) / vectorWidth * vectorWidth * pixels)
        return unaligned ? .vloadUnaligned("\(prefix)\(k)", image) : .vload("\(prefix)\(k)", image)
      case .suffix(_, let count): return .vloadUnaligned("\(prefix)\(k)", offset % count)
      case .broadcast(_, let runs): return .vloadUnaligned("\(prefix)\(k)", Self.index(offset, runs))
      case .rowBroadcast(_, let runs): return .splat(.load("\(prefix)\(k)", Self.index(offset, runs)))
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
      case .imageBroadcast(_, let channels, let pixels): return .load("\(prefix)\(k)", offset % (channels * pixels))
      case .suffix(_, let count): return .load("\(prefix)\(k)", offset % count)
      case .broadcast(_, let runs), .rowBroadcast(_, let runs): return .load("\(prefix)\(k)", Self.index(offset, runs))
      }
    }
  }

  /// The expression as a prologue applied to a loaded input: `input` stands for its one
  /// full-tensor operand, per-channel operands are read at `channelBlock`, scalars broadcast.
  func prologue(input: ValueExpr, channelBlock: IndexExpr, prefix: String) -> ValueExpr {
    substitute(acc: input) { k in
      switch operands[k] {
      case .full, .suffix, .broadcast, .rowBroadcast, .imageBroadcast: return input
      case .channel, .channelTensor: return .vload("\(prefix)\(k)", channelBlock * vectorWidth)
      case .scalar: return .splat(.load("\(prefix)\(k)", .constant(0)))
      }
    }
  }

  /// The expression with `acc` for the anchor's value and `operand(k)` for operand `k`'s read.
  func substitute(acc: ValueExpr, operand: (Int) -> ValueExpr) -> ValueExpr {
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

  /// The element of a broadcast operand the output element at `offset` reads.
  static func index(_ offset: IndexExpr, _ runs: [ElementwiseTail.BroadcastRun]) -> IndexExpr {
    var index: IndexExpr = .constant(0)
    for run in runs {
      let step = run.divisor == 1 ? offset : offset / run.divisor
      index = index + (step % run.extent) * run.stride
    }
    return index
  }

  /// The epilogue of `acc · factor`: the anchor's value scaled before the tail (an attention
  /// operand's constant scale, moved from the operand to the product).
  func scalingAccumulator(by factor: Double) -> Epilogue {
    func rewrite(_ e: ValueExpr) -> ValueExpr {
      switch e {
      case .local: return .binary(.mul, e, .constant(factor))
      case .unary(let f, let a): return .unary(f, rewrite(a))
      case .binary(let f, let a, let b): return .binary(f, rewrite(a), rewrite(b))
      case .select(let cs, let a, let b): return .select(cs, rewrite(a), rewrite(b))
      case .constant, .load, .vload, .vloadUnaligned, .vloadPartial, .splat, .lane, .shuffle: return e
      }
    }
    var scaled = self
    scaled.expr = rewrite(expr)
    return scaled
  }

  /// True when the tail is empty: the expression is the anchor's value itself.
  var isIdentity: Bool {
    if case .local = expr { return true }
    return false
  }

  /// True when some operand is a full tensor read from memory (not a per-channel or scalar value).
  var readsTensors: Bool { operands.contains { !$0.isPerChannelOrScalar } }
}

extension Epilogue {
  /// The vector expression of `tail`: the anchor is `.local("acc")`, operand K `.load("eK", _)`.
  init(_ tail: ElementwiseTail, in graph: Graph, vector v: Int) {
    func expression(_ term: ElementwiseTail.Term) -> ValueExpr {
      switch term {
      case .anchor: return .local("acc")
      case .operand(let k): return .load("e\(k)", .constant(0))
      case .node(let n, let args):
        let node = graph.nodes[n]
        let scalar = OpRegistry.definitions[node.op]!.scalar!
        return ValueExpr(scalar(node.attributes), operands: args.map(expression))
      }
    }
    self.init(expr: expression(tail.term), operands: tail.operands, output: tail.output, vectorWidth: v)
  }
}
