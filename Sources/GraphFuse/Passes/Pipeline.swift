/// The optimization pipeline: a flat list of named passes, then fusion.
public enum Pipeline {
  /// The passes in order. Folding passes consult `options.fold` and `options.keep` themselves,
  /// so the list reads the same for every configuration.
  public static let passes: [Pass] = [
    foldConstantsPass,
    divisionByConstantPass,
    geluFusionPass,
    denseAsMatmulPass,
    matmulAcrossAxisPass,
    probabilitiesFirstPass,
    foldPadIntoConvPass,
    cropDeadConvTapsPass,
    removeIdentitiesPass,
    expandIntoBroadcastPass,
    stackedSumPass,
    spatialMeanAsGlobalPoolPass,
    groupNormPass,
    removeReshapePairsPass,
    moveGathersBeforeLayoutOpsPass,
    foldBatchNormPass,
    simplifyBatchNormPass,
    foldChannelAffinePass,
    convTransposeAsConvPass,
    reparameterizePass,
    channelMultiplierPass,
    eliminateDeadCodePass,
  ]

  /// Runs the passes and fusion on `graph`.
  public static func optimize(_ graph: Graph, options: OptimizeOptions = .init()) throws(GraphFuseError)
    -> OptimizedGraph
  {
    var ctx = PassContext(graph: graph, options: options)
    for pass in passes {
      try pass.run(&ctx)
      ctx.log.append(pass.name)
      if options.verifyEachPass {
        do { try ctx.graph.verify() } catch {
          throw GraphFuseError("after pass \(pass.name): \(error.message)", node: error.node, op: error.op)
        }
      }
    }
    let plan = Fusion.plan(ctx.graph, options: options)
    return OptimizedGraph(
      source: graph, graph: ctx.graph, plan: plan, batchNorms: ctx.batchNorms,
      reparameterized: ctx.reparameterized, reparameterizationsLeft: ctx.reparameterizationsLeft, options: options)
  }
}

/// A graph after the pipeline: the rewritten graph, its fused groups and the batch-norm decisions.
public struct OptimizedGraph: Sendable {
  /// The graph as given.
  public var source: Graph
  /// The graph after the passes.
  public var graph: Graph
  /// Its partition into fused groups.
  public var plan: FusionPlan
  /// One decision per batch norm of the source graph.
  public var batchNorms: [BatchNormDecision]
  /// The convs that sums of parallel branches were folded into (``Reparameterization``).
  public var reparameterized: [String] = []
  /// Sums of parallel branches left unfolded, each as `root add: reason`.
  public var reparameterizationsLeft: [String] = []
  /// The options used.
  public var options: OptimizeOptions
}

extension Graph {
  /// Runs the optimization pipeline: folding, simplification and fusion.
  public func optimized(_ options: OptimizeOptions = .init()) throws(GraphFuseError) -> OptimizedGraph {
    try Pipeline.optimize(self, options: options)
  }
}
