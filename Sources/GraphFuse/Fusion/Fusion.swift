/// Operator fusion: partitions a graph into fused groups by op pattern (TVM FuseOps), then
/// merges depthwise conv chains (``ConvChain``), the elementwise producers of layer norms
/// (``NormalizationPrologue``), layer norms into the matmuls reading them (``NormalizedInput``),
/// matmuls stored back to channels first (``ChannelsFirstStore``) and
/// attention (``AttentionChain``), GraphFuse's own phases.
public enum Fusion {
  /// The fused groups of `graph`; with `options.fuse` off, every node is its own group.
  public static func plan(_ graph: Graph, options: OptimizeOptions = .init()) -> FusionPlan {
    guard options.fuse else { return .unfused(graph) }
    var partitioner = GraphPartitioner(
      IndexedForwardGraph(graph, opaque: options.opaque), maxGroupSize: options.maxGroupSize)
    var partition = partitioner.partition().map { $0.map(NodeID.init) }
    if options.chainConvs {
      partition = SideInputPeel.apply(graph, partition: partition)
      partition = ConvChain.merge(
        graph, partition: partition, maxGroupSize: options.maxGroupSize, opaque: options.opaque)
    }
    partition = NormalizationPrologue.merge(
      graph, partition: partition, maxGroupSize: options.maxGroupSize, opaque: options.opaque)
    partition = NormalizedInput.merge(
      graph, partition: partition, maxGroupSize: options.maxGroupSize, opaque: options.opaque)
    partition = ChannelsFirstStore.merge(
      graph, partition: partition, maxGroupSize: options.maxGroupSize, opaque: options.opaque)
    if options.fuseAttention {
      partition = AttentionChain.merge(
        graph, partition: partition, maxGroupSize: options.maxGroupSize, opaque: options.opaque)
    }
    var plan = FusionPlan(graph, partition: partition)
    // A chain whose row bands split unevenly over the threads runs as its stages.
    for g in plan.groups.indices {
      guard let chain = plan.groups[g].chain else { continue }
      let rows = graph.shape(of: graph.nodes[chain.depthwise[0]].outputs[0])
      plan.groups[g].chain?.asStages = ConvChain.stagesReason(rows: rows[2], images: rows[0], threads: options.threads)
    }
    return plan
  }
}
