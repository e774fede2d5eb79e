/// The elementwise tail of a group as fusion sees it: which members form one expression over the
/// anchor's value and which values it reads from outside (per channel, scalar, of the output's
/// shape, a broadcast suffix, a run-time per-channel tensor). Fusion decides with it whether a tail
/// fits a tiled kernel (conv chains, folds into readers); the scheduler turns it into the vector
/// expression of an epilogue. No layout or vector width enters: the facts are the graph's.
public struct ElementwiseTail: Sendable, Equatable {
  /// How an operand of the tail is read for one output element.
  public enum Operand: Sendable, Equatable {
    /// One value per channel, a graph constant (padded to `channels` rounded up to whole vectors
    /// when packed).
    case channel(ValueID, channels: Int)
    /// A single value broadcast to every element (read at run time).
    case scalar(ValueID)
    /// A tensor of the output's shape.
    case full(ValueID)
    /// One value per channel computed at run time (`[1, C, 1, 1]`, e.g. a squeeze-excitation
    /// scale).
    case channelTensor(ValueID)
    /// A row-major tensor of the output's trailing shape, broadcast over the leading axes (an
    /// attention bias `[heads, N, N]` added to scores `[windows, heads, N, N]`), `count` floats.
    /// Matmul tails only.
    case suffix(ValueID, count: Int)
    /// A row-major tensor broadcast to the output along some axes other than the last (a Swin
    /// shifted-window mask `[windows, 1, N, N]` added to scores `[windows, heads, N, N]`): read at
    /// the sum over its runs of unbroadcast axes of `(offset / divisor) % extent · stride`. The
    /// last axis is never broadcast, so consecutive columns are consecutive floats. Matmul tails only.
    case broadcast(ValueID, runs: [BroadcastRun])
    /// A row-major tensor broadcast along the last axis, one value per output row (XCiT's
    /// per-head temperature `[heads, 1, 1]` scaling its `[1, heads, d, d]` scores): read at the
    /// output element's ``broadcast(_:runs:)`` index, the same value across a vector of
    /// consecutive columns. Matmul tails only.
    case rowBroadcast(ValueID, runs: [BroadcastRun])
    /// A tensor of one image's shape, `[1, C, H, W]`, broadcast over the batch of an NCHW output
    /// (TNT's pixel position embedding added to its `[196, 24, 4, 4]` pixel-embedding conv; any
    /// such constant once a model runs at a batch above 1): read at the output's offset modulo one
    /// image (`channels` × `pixels`, the channels padded to whole vectors in blocked layout). NCHW
    /// tails only.
    case imageBroadcast(ValueID, channels: Int, pixels: Int)

    /// Per channel or a scalar: not a tensor of the output's shape.
    public var isPerChannelOrScalar: Bool {
      switch self {
      case .full, .suffix, .broadcast, .rowBroadcast, .imageBroadcast: return false
      case .channel, .scalar, .channelTensor: return true
      }
    }
  }

  /// A run of consecutive output axes a ``Operand/broadcast(_:runs:)`` operand is not broadcast
  /// along: the output element at `offset` reads `(offset / divisor) % extent · stride` of it.
  public struct BroadcastRun: Sendable, Equatable {
    /// The output's elements per step of the run's innermost axis.
    public var divisor: Int
    /// The elements of the run (the product of its axes).
    public var extent: Int
    /// The operand's elements per step of the run's innermost axis.
    public var stride: Int
  }

  /// One term of the tail's expression.
  public indirect enum Term: Sendable, Equatable {
    /// The anchor's value (the accumulator of a conv or matmul; for a tail with no anchor, never).
    case anchor
    /// Operand `k` of ``operands``.
    case operand(Int)
    /// Member node `node` applied to its inputs' terms.
    case node(NodeID, [Term])
  }

  /// The expression producing ``output``.
  public var term: Term
  /// The values read from outside, in first-use order.
  public var operands: [Operand]
  /// The group output the tail produces.
  public var output: ValueID

  /// The tail of `group` anchored at `anchor`, or nil when some member or operand does not fit
  /// (not elementwise, a different shape, a run-time per-channel operand of a matmul, several outputs).
  /// `anchor` nil reads a group of elementwise ops only over its inputs. Per-channel operands vary
  /// along `channelAxis` (1: the channels of NCHW; the last axis for a matmul's output features).
  public static func make(_ graph: Graph, group: FusedGroup, anchor: NodeID?, channelAxis: Int = 1)
    -> ElementwiseTail?
  {
    let anchorOut = anchor.map { graph.nodes[$0].outputs[0] } ?? -1
    guard let last = group.outputs.first else { return nil }
    let shape = graph.shape(of: anchor == nil ? last : anchorOut)
    guard shape.count >= 2, group.outputs.count == 1 else { return nil }
    let rank = shape.count
    let members = Set(group.nodes)
    var operands: [Operand] = [], operandOf: [ValueID: Int] = [:]
    var memo: [ValueID: Term] = [:]
    func build(_ value: ValueID) -> Term? {
      if value == anchorOut { return .anchor }
      if let e = memo[value] { return e }
      guard let n = graph.producer(of: value), members.contains(n) else { return nil }
      let node = graph.nodes[n]
      guard let def = OpRegistry.definitions[node.op], def.scalar != nil,
        def.pattern(node.attributes) <= .broadcast, node.outputs.count == 1,
        // A member may be smaller than the output (a mask computed from its own operands), as long
        // as it broadcasts to it: its operands are then read at the output's broadcast offsets.
        Broadcasting.shape(graph.shape(of: value), shape) == shape
      else { return nil }
      let viewed = def.broadcastShapes(node.attributes, node.inputs.map { graph.shape(of: $0) })
      var args: [Term] = []
      for (k, input) in node.inputs.enumerated() {
        if input == anchorOut || (graph.producer(of: input).map { members.contains($0) } ?? false) {
          guard let e = build(input) else { return nil }
          args.append(e)
          continue
        }
        if let existing = operandOf[input] { args.append(.operand(existing)); continue }
        let aligned = [Int](repeating: 1, count: max(0, rank - viewed[k].count)) + viewed[k]
        guard let operand = classify(graph, input, aligned: aligned, shape: shape, channelAxis: channelAxis) else {
          return nil
        }
        operandOf[input] = operands.count
        args.append(.operand(operands.count))
        operands.append(operand)
      }
      let e = Term.node(n, args)
      memo[value] = e
      return e
    }
    // Every member other than the anchor must be part of the chain to the one output.
    guard let output = group.outputs.first, let term = build(output) else { return nil }
    guard group.nodes.allSatisfy({ $0 == anchor || memo[graph.nodes[$0].outputs[0]] != nil }) else { return nil }
    return ElementwiseTail(term: term, operands: operands, output: output)
  }

  /// How `input`, viewed at `aligned` (its shape broadcast-aligned to the output's rank), is read
  /// for each element of an output of `shape`; nil when no operand kind fits.
  static func classify(_ graph: Graph, _ input: ValueID, aligned: [Int], shape: [Int], channelAxis: Int)
    -> Operand?
  {
    let rank = shape.count
    if graph.shape(of: input).reduce(1, *) == 1 { return .scalar(input) }
    // A constant per channel is one even where the output has one element per channel (a 1×1
    // map): read as a tensor, a `[C, 1, 1]` constant would need a blocked rank-4 copy.
    if aligned.count == rank, channelAxis < rank, aligned[channelAxis] == shape[channelAxis],
      aligned.indices.allSatisfy({ $0 == channelAxis || aligned[$0] == 1 }), graph.constant(input) != nil
    {
      return .channel(input, channels: shape[channelAxis])
    }
    if aligned == shape { return .full(input) }
    if channelAxis == rank - 1, rank >= 3, let lead = aligned.firstIndex(where: { $0 != 1 }), lead > 0,
      Array(aligned[lead...]) == Array(shape[lead...])
    {
      return .suffix(input, count: shape[lead...].reduce(1, *))
    }
    if channelAxis == rank - 1, rank >= 3, aligned.count == rank, aligned.last == shape.last,
      aligned.indices.allSatisfy({ aligned[$0] == 1 || aligned[$0] == shape[$0] })
    {
      return .broadcast(input, runs: broadcastRuns(aligned, of: shape))
    }
    if channelAxis == rank - 1, rank >= 3, aligned.count == rank, aligned.last == 1,
      aligned.indices.allSatisfy({ aligned[$0] == 1 || aligned[$0] == shape[$0] })
    {
      return .rowBroadcast(input, runs: broadcastRuns(aligned, of: shape))
    }
    if channelAxis == 1, rank == 4, aligned[1] == shape[1], graph.shape(of: input).count == 4,
      aligned.indices.allSatisfy({ $0 == 1 || aligned[$0] == 1 })
    {
      return .channelTensor(input)
    }
    if channelAxis == 1, rank == 4, shape[0] > 1, graph.shape(of: input).count == 4, aligned[0] == 1,
      Array(aligned[1...]) == Array(shape[1...])
    {
      return .imageBroadcast(input, channels: shape[1], pixels: shape[2] * shape[3])
    }
    return nil
  }

  /// The runs of `aligned` (an operand's shape, broadcastable to `shape`, of the same rank) along
  /// which it is not broadcast, innermost first; axes of size 1 in both join any run.
  static func broadcastRuns(_ aligned: [Int], of shape: [Int]) -> [BroadcastRun] {
    var runs: [BroadcastRun] = []
    var outStride = 1, operandStride = 1, open = false
    for axis in shape.indices.reversed() where shape[axis] != 1 {
      if aligned[axis] == shape[axis] {
        if open {
          runs[runs.count - 1].extent *= shape[axis]
        } else {
          runs.append(BroadcastRun(divisor: outStride, extent: shape[axis], stride: operandStride))
          open = true
        }
        operandStride *= shape[axis]
      } else {
        open = false
      }
      outStride *= shape[axis]
    }
    return runs
  }

  /// True when some operand is a tensor read from memory (not a per-channel or scalar value).
  public var readsTensors: Bool { operands.contains { !$0.isPerChannelOrScalar } }
}
