import Testing

@testable import GraphFuse

/// A ConvNeXt block (depthwise 7×7 → channels last → layer norm → MLP → channels first → layer
/// scale → residual) stays in the blocked layout: the transpose before the norm joins the norm's
/// group and reads the conv's blocks in place (``NormalizationPrologue``), the norm joins the first
/// matmul (``NormalizedInput``), the transpose after the second matmul joins the matmul's group,
/// which stores into blocks (``ChannelsFirstStore``).
@Suite struct ChannelsLastBlockTests {
  typealias T = CompiledTesting

  /// The block over `images` maps of `channels` × `size` × `size`; `tail` false ends it at the
  /// transpose (no layer scale or residual); `sharedHidden` also outputs the second matmul's result.
  static func block(channels c: Int, size: Int, images: Int = 1, tail: Bool = true, sharedHidden: Bool = false)
    throws -> Graph
  {
    let b = GraphBuilder()
    let x = b.input("x", shape: [images, c, size, size])
    let dw = try b.conv2d(
      x, weight: T.weight(b, [c, 1, 7, 7], seed: 1, range: -0.2...0.2), bias: T.weight(b, [c], seed: 2), padding: 3,
      groups: c)
    let last = try b.transpose(dw, perm: [0, 2, 3, 1])
    let norm = try b.apply(
      "layer_norm", [last, T.weight(b, [c], seed: 3), T.weight(b, [c], seed: 4)],
      ["axis": .int(-1), "epsilon": .float(1e-6)])[0]
    let hidden = try b.relu(
      try b.add(try b.matmul(norm, T.weight(b, [c, 4 * c], seed: 5, range: -0.3...0.3)), T.weight(b, [4 * c], seed: 6))
    )
    let y = try b.add(
      try b.matmul(hidden, T.weight(b, [4 * c, c], seed: 7, range: -0.2...0.2)), T.weight(b, [c], seed: 8))
    let first = try b.transpose(y, perm: [0, 3, 1, 2])
    b.output(tail ? try b.add(try b.mul(first, T.weight(b, [c, 1, 1], seed: 9)), x) : first)
    if sharedHidden { b.output(y) }
    return try b.finish()
  }

  static func inputs(_ graph: Graph) -> [Tensor] {
    [Tensor.random(shape: graph.shape(of: graph.inputs[0]), in: -1...1, seed: 11)]
  }

  static func ops(_ graph: Graph, _ group: FusedGroup) -> [String] { group.nodes.map { graph.nodes[$0].op } }

  /// The block's groups: the depthwise conv; its channels-last view, the norm and the first matmul
  /// (the norm applied to the matmul's rows as they are read); the second matmul with the
  /// transpose back, the layer scale and the residual, stored into blocks. With 2 threads and
  /// 16-float vectors, 196 rows (17 row tiles) are normalized per task; 162 or 25 rows (fewer than
  /// 16 row tiles) in a first copy into panels.
  @Test(arguments: [(32, 14, 1, false), (32, 9, 2, true), (48, 5, 1, true)])
  func blockRunsAsTwoMatmulsBetweenBlockedTensors(_ channels: Int, _ size: Int, _ images: Int, _ panels: Bool)
    throws
  {
    let graph = try Self.block(channels: channels, size: size, images: images)
    let optimized = try Pipeline.optimize(graph)
    let (g, plan) = (optimized.graph, optimized.plan)
    #expect(plan.groups.map { Self.ops(g, $0).first } == ["conv2d", "transpose", "matmul"])
    let first = try #require(plan.groups.firstIndex { $0.normalizedInput != nil })
    #expect(Self.ops(g, plan.groups[first]) == ["transpose", "layer_norm", "matmul", "add", "relu"])
    #expect(g.nodes[plan.groups[first].anchor].op == "matmul")
    let store = try #require(plan.groups.firstIndex { $0.channelsFirstStore != nil })
    #expect(Self.ops(g, plan.groups[store]) == ["matmul", "add", "transpose", "mul", "add"])
    let program = try Scheduler.schedule(g, plan: plan, vectorWidth: 16, threads: 2, winograd: false)
    // The norm reads the conv's blocks in place: no layout change before it.
    let normalizing = program.schedules[first]
    #expect(normalizing.map(\.kind) == (panels ? [.packPanels, .matmul] : [.matmul]), "\(normalizing)")
    #expect(normalizing[0].inputs.first == .blocked(16))
    // The second matmul stores into blocks (the graph output is then converted to plain, as always).
    let kernels = program.schedules[store]
    #expect(kernels.map(\.kind) == [.matmul, .toPlain], "\(kernels)")
    #expect(kernels[0].output == .blocked(16) && kernels[0].epilogue == ["add", "transpose", "mul", "add"])
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "ConvNeXt block \(channels)")
  }

  /// Features that are not whole vectors run the merged group as its two stages; an output at the
  /// transpose itself, and a matmul result read elsewhere too, still give the reference's answer.
  @Test(arguments: [(20, false, false), (32, false, false), (32, true, true)])
  func otherFormsMatchTheReference(_ channels: Int, _ tail: Bool, _ sharedHidden: Bool) throws {
    let graph = try Self.block(channels: channels, size: 6, images: 2, tail: tail, sharedHidden: sharedHidden)
    let plan = Fusion.plan(graph)
    if sharedHidden { #expect(!plan.groups.contains { $0.channelsFirstStore != nil }) }
    try T.fusedAndUnfusedMatchReference(graph, inputs: Self.inputs(graph), context: "form \(channels) \(tail)")
  }
}
