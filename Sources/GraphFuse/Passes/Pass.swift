import Foundation

/// Options that steer the optimization pipeline, mirroring the CLI flags.
public struct OptimizeOptions: Sendable, Equatable {
  /// Fold inference batch norms (and per-channel constant mul/add) into the producing conv or dense layer.
  public var fold: Bool = true
  /// Partition the graph into fused groups; off gives one group per op.
  public var fuse: Bool = true
  /// Ops kept whole: `batch_norm` stays one broadcast-pattern unit op, never folded or decomposed.
  public var keep: Set<String> = []
  /// Ops the user marks opaque: never fused with anything.
  public var opaque: Set<String> = []
  /// The largest number of ops in one fused group (TVM's default is 256).
  public var maxGroupSize: Int = 256
  /// After TVM's phases, fuse depthwise conv chains (`[1×1 →] depthwise → 1×1`) into one group
  /// (see ``ConvChain``) and peel side inputs off conv groups whose tail they keep off the tiled
  /// kernel (``SideInputPeel``); off gives TVM's partition exactly.
  public var chainConvs: Bool = true
  /// After TVM's phases, fuse attention (`Q·Kᵀ` → softmax → `·V`, see ``AttentionChain``) into one
  /// group; off keeps the three groups TVM's rules make.
  public var fuseAttention: Bool = true
  /// Fold sums of parallel conv / identity branches on one input into one conv (structural
  /// re-parameterization, ``Reparameterization``); applies only when `fold` is on.
  public var reparameterize: Bool = true
  /// Run the graph verifier after every pass (tests turn this on).
  public var verifyEachPass: Bool = false
  /// The threads the model will run with: fusion's choices that depend on them (a conv chain as
  /// one kernel or its stages) are made for this many (default: the core count).
  public var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  /// The full pipeline: fold and fuse.
  public init(
    fold: Bool = true, fuse: Bool = true, keep: Set<String> = [], opaque: Set<String> = [], maxGroupSize: Int = 256,
    chainConvs: Bool = true, fuseAttention: Bool = true,
    verifyEachPass: Bool = false, threads: Int? = nil
  ) {
    self.fold = fold
    self.fuse = fuse
    self.keep = keep
    self.opaque = opaque
    self.maxGroupSize = maxGroupSize
    self.chainConvs = chainConvs
    self.fuseAttention = fuseAttention
    self.verifyEachPass = verifyEachPass
    if let threads { self.threads = max(1, threads) }
  }

  /// The "unfused" bench configuration: no folding, no fusion.
  public static let unfused = OptimizeOptions(fold: false, fuse: false)
  /// The "folded" bench configuration: batch norms folded, no fusion.
  public static let folded = OptimizeOptions(fold: true, fuse: false)
}

/// Why a batch norm was not folded into its producer.
public enum BatchNormReason: Sendable, Equatable, CustomStringConvertible {
  case trainingMode
  case batchStatistics
  case producerConsumers(Int)
  case producerIsGraphOutput
  case noProducer(follows: String?)
  case nonConstantParameters
  case keptWhole
  case foldingDisabled

  public var description: String {
    switch self {
    case .trainingMode: return "training mode"
    case .batchStatistics: return "batch statistics (no running stats)"
    case .producerConsumers(let n): return "producer has \(n) consumers"
    case .producerIsGraphOutput: return "producer output is a graph output"
    case .noProducer(let op?): return "no conv/dense producer (follows \(op))"
    case .noProducer(nil): return "no conv/dense producer (is first)"
    case .nonConstantParameters: return "non-constant parameters"
    case .keptWhole: return "kept whole by request"
    case .foldingDisabled: return "folding disabled (--no-fold)"
    }
  }
}

/// What happened to one batch norm: folded into a node, or kept with a reason.
public struct BatchNormDecision: Sendable, Equatable {
  /// The batch_norm node's name.
  public var node: String
  /// The conv / conv_transpose / dense node it was folded into, if folded.
  public var foldedInto: String?
  /// Why it was not folded, if not.
  public var reason: BatchNormReason?
}

/// The state threaded through the pipeline: the graph and the decisions made so far.
public struct PassContext: Sendable {
  /// The graph being rewritten.
  public var graph: Graph
  /// The pipeline's options.
  public var options: OptimizeOptions
  /// One entry per batch norm of the input graph.
  public var batchNorms: [BatchNormDecision] = []
  /// The passes that ran, in order.
  public var log: [String] = []
  /// The convs that sums of parallel branches were folded into (``Reparameterization``).
  public var reparameterized: [String] = []
  /// Sums of parallel branches left unfolded, each as `root add: reason`.
  public var reparameterizationsLeft: [String] = []

  /// Creates a context.
  public init(graph: Graph, options: OptimizeOptions) {
    self.graph = graph
    self.options = options
  }
}

/// One named graph → graph rewrite.
public struct Pass: Sendable {
  /// The pass's name, as logged and documented in `Docs/Passes/`.
  public var name: String
  /// The rewrite.
  public var run: @Sendable (inout PassContext) throws(GraphFuseError) -> Void

  /// Creates a pass.
  public init(_ name: String, _ run: @escaping @Sendable (inout PassContext) throws(GraphFuseError) -> Void) {
    self.name = name
    self.run = run
  }
}
