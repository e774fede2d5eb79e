import Foundation

/// What the optimizer did, as a value: prints as a table, encodes as JSON (`graphfuse report --json`).
public struct FusionReport: Sendable, Codable, CustomStringConvertible {
  /// One fused group as reported.
  public struct Group: Sendable, Codable, Equatable {
    public var name: String
    /// The anchor node's name.
    public var anchor: String
    public var pattern: String
    /// Member op names in order.
    public var ops: [String]
    /// Member node names in order.
    public var nodes: [String]
    public var inputShapes: [[Int]]
    public var outputShapes: [[Int]]
    public var flops: Int
    /// The kind of each member conv2d, in order (``ConvKind``).
    public var convs: [ConvKind] = []
    /// For a conv chain, the node names of each stage ([1×1 →] depthwise → 1×1); nil otherwise.
    public var chain: [[String]]? = nil
    /// For a conv chain that runs as its stages, why (``ConvChain/asStages``); nil otherwise.
    public var chainAsStages: String? = nil
    /// For a group folded into the convs that read it (``InputFold``), what the fold is; nil
    /// for a group that runs as kernels.
    public var fold: String? = nil

    enum CodingKeys: String, CodingKey {
      case name, anchor, pattern, ops, nodes, flops, convs, chain, fold
      case chainAsStages = "chain_as_stages"
      case inputShapes = "input_shapes"
      case outputShapes = "output_shapes"
    }
  }

  /// A batch norm that was not folded, and why.
  public struct Unfolded: Sendable, Codable, Equatable {
    public var node: String
    public var reason: String
  }

  /// A batch norm that was folded, and into which node.
  public struct Folded: Sendable, Codable, Equatable {
    public var node: String
    public var into: String
  }

  /// Batch-norm counts and decisions.
  public struct BatchNorms: Sendable, Codable, Equatable {
    public var total: Int
    public var folded: Int
    public var foldedInto: [Folded]
    public var unfolded: [Unfolded]

    enum CodingKeys: String, CodingKey {
      case total, folded, unfolded
      case foldedInto = "folded_into"
    }
  }

  /// Intermediate tensors written to memory per inference.
  public struct Intermediates: Sendable, Codable, Equatable {
    public var unfusedTensors: Int
    public var unfusedBytes: Int
    public var fusedTensors: Int
    public var fusedBytes: Int

    enum CodingKeys: String, CodingKey {
      case unfusedTensors = "unfused_tensors"
      case unfusedBytes = "unfused_bytes"
      case fusedTensors = "fused_tensors"
      case fusedBytes = "fused_bytes"
    }
  }

  public var model: String
  /// Op count of the source graph.
  public var sourceOps: Int
  /// Op count after the passes.
  public var ops: Int
  public var batchNorm: BatchNorms
  public var intermediates: Intermediates
  public var groups: [Group]
  /// The layout assignment: values kept in the blocked layout and the conversions between layouts.
  public var layouts: Layouts?
  /// The convs that sums of parallel branches were folded into (structural re-parameterization);
  /// nil when there is none.
  public var reparameterized: [String]? = nil
  /// Sums of parallel branches left unfolded, `root add: reason`; nil when there is none.
  public var reparameterizationsLeft: [String]? = nil

  /// The layouts the compiled backend gives the values (on this machine's vector width).
  public struct Layouts: Codable, Sendable {
    /// One layout conversion kernel: the value it converts and the plan group that runs it.
    public struct Change: Codable, Sendable {
      public var value: String
      public var from: String
      public var to: String
      public var group: String
    }
    /// Floats per vector of the blocked layout.
    public var vectorWidth: Int
    /// Kernels that read or write the blocked layout.
    public var blockedKernels: Int
    /// Every conversion, in launch order.
    public var changes: [Change]
    /// Groups holding a conv, gemm or matmul that run it as generic loops instead of a
    /// register-tiled kernel (``KernelPlan/offFastPath(_:plan:)``); nil when there is none.
    public var offFastPath: [String]? = nil
    /// Groups whose 3×3 conv runs as Winograd (``CompileOptions/winograd``); nil when none.
    public var winograd: [String]? = nil

    enum CodingKeys: String, CodingKey {
      case changes, winograd
      case offFastPath = "off_fast_path"
      case vectorWidth = "vector_width"
      case blockedKernels = "blocked_kernels"
    }
  }

  enum CodingKeys: String, CodingKey {
    case model, ops, groups, intermediates, layouts, reparameterized
    case reparameterizationsLeft = "reparameterizations_left"
    case sourceOps = "source_ops"
    case batchNorm = "batch_norm"
  }

  /// The report of an optimized graph.
  public init(_ optimized: OptimizedGraph, model: String) {
    let graph = optimized.graph
    self.model = model
    sourceOps = optimized.source.nodes.count
    ops = graph.nodes.count
    reparameterized = optimized.reparameterized.isEmpty ? nil : optimized.reparameterized
    reparameterizationsLeft = optimized.reparameterizationsLeft.isEmpty ? nil : optimized.reparameterizationsLeft
    let decisions = optimized.batchNorms
    batchNorm = BatchNorms(
      total: decisions.count, folded: decisions.filter { $0.foldedInto != nil }.count,
      foldedInto: decisions.compactMap { d in d.foldedInto.map { Folded(node: d.node, into: $0) } },
      unfolded: decisions.compactMap { d in d.reason.map { Unfolded(node: d.node, reason: $0.description) } })
    let unfused = FusionReport.intermediates(optimized.source, plan: .unfused(optimized.source))
    let fused = FusionReport.intermediates(graph, plan: optimized.plan)
    intermediates = Intermediates(
      unfusedTensors: unfused.tensors, unfusedBytes: unfused.bytes, fusedTensors: fused.tensors, fusedBytes: fused.bytes
    )
    groups = optimized.plan.groups.map { g in
      Group(
        name: g.name, anchor: graph.nodes[g.anchor].name, pattern: g.pattern.description,
        ops: g.nodes.map { graph.nodes[$0].op }, nodes: g.nodes.map { graph.nodes[$0].name },
        inputShapes: g.inputs.filter { graph.constant($0) == nil }.map(graph.shape(of:)),
        outputShapes: g.outputs.map(graph.shape(of:)),
        flops: g.nodes.reduce(0) { $0 + OpRegistry.flops(of: graph.nodes[$1], in: graph) },
        convs: g.nodes.compactMap { ConvKind.of(graph.nodes[$0], in: graph) },
        chain: g.chain.map { $0.stages.map { stage in stage.map { graph.nodes[$0].name } } },
        chainAsStages: g.chain?.asStages, fold: g.fold.map { fold in Self.describe(fold, in: graph) })
    }
    layouts = Self.layouts(graph, plan: optimized.plan)
  }

  /// The layout decisions of the compiled backend for `plan` (nil when it cannot be built).
  static func layouts(_ graph: Graph, plan: FusionPlan) -> Layouts? {
    let width = (try? System.requestedVectorWidth()) ?? System.vectorWidth
    let target = CompileOptions(threads: 1).target(vectorWidth: width)
    guard let program = try? Scheduler.schedule(graph, plan: plan, target: target) else { return nil }
    let all = program.schedules.flatMap { $0 }
    let changes = all.filter { $0.kind == .toBlocked || $0.kind == .toPlain }.map { s in
      Layouts.Change(
        value: s.value ?? "", from: s.inputs.first?.description ?? "", to: s.output.description,
        group: plan.groups[s.group].name)
    }
    // Kernels that run (a concat in place or a folded stage launches none).
    let blocked = all.filter { s in
      s.symbol != nil && ![.toBlocked, .toPlain].contains(s.kind) && (s.inputs + [s.output]).contains(.blocked(width))
    }
    let slow = program.offFastPath(graph, plan: plan).map { plan.groups[$0].name }
    let winograd = all.filter { $0.kind == .convWinograd }.map { plan.groups[$0.group].name }
    return Layouts(
      vectorWidth: width, blockedKernels: blocked.count, changes: changes, offFastPath: slow.isEmpty ? nil : slow,
      winograd: winograd.isEmpty ? nil : winograd)
  }

  /// What `fold` does, naming the values: `× /Sigmoid_output_0 folded into the weights of the
  /// convs reading it`.
  static func describe(_ fold: InputFold, in graph: Graph) -> String {
    switch fold {
    case .channelScale(_, let scale):
      return "× \(graph.values[scale].name) folded into the weights of the convs reading it"
    case .inputPrologue(_, let nodes):
      let ops = nodes.map { graph.nodes[$0].op }.joined(separator: " ")
      return "\(ops) folded into the input tiles of the 1×1 convs reading it"
    }
  }

  /// Tensors (and their float32 bytes) that groups write to memory and other groups read back.
  static func intermediates(_ graph: Graph, plan: FusionPlan) -> (tensors: Int, bytes: Int) {
    let outputs = Set(graph.outputs)
    var tensors = 0, bytes = 0
    for group in plan.groups {
      for v in group.outputs where !outputs.contains(v) {
        tensors += 1
        bytes += 4 * graph.shape(of: v).reduce(1, *)
      }
    }
    return (tensors, bytes)
  }

  /// The report as pretty-printed JSON with sorted keys.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// The summary and the table of groups.
  public var description: String {
    var lines: [String] = []
    lines.append(
      "\(model): \(sourceOps) ops → \(ops) after folding → \(groups.count) fused group"
        + (groups.count == 1 ? "" : "s"))
    lines.append("batch norms: \(batchNorm.folded) of \(batchNorm.total) folded")
    if let reparameterized {
      let n = reparameterized.count
      lines.append("re-parameterized: \(n) sum\(n == 1 ? "" : "s") of parallel branches, each folded into one conv")
    }
    if let left = reparameterizationsLeft {
      lines.append("sums of parallel branches left as they are: \(left.count)")
      for entry in left.prefix(12) { lines.append("  \(entry)") }
      if left.count > 12 { lines.append("  … \(left.count - 12) more (report --json lists all)") }
    }
    let savedTensors = intermediates.unfusedTensors - intermediates.fusedTensors
    let savedBytes = intermediates.unfusedBytes - intermediates.fusedBytes
    lines.append(
      "intermediates written: \(intermediates.unfusedTensors) tensors (\(megabytes(intermediates.unfusedBytes))) "
        + "unfused → "
        + "\(intermediates.fusedTensors) (\(megabytes(intermediates.fusedBytes))) fused; \(savedTensors) tensors, "
        + "\(megabytes(savedBytes)) no longer written"
    )
    let kinds = groups.flatMap(\.convs)
    if !kinds.isEmpty {
      let counts = ConvKind.allCases.compactMap { kind in
        let n = kinds.filter { $0 == kind }.count
        return n == 0
          ? nil : "\(n) \(kind == .dense ? "dense k×k" : kind.rawValue.replacingOccurrences(of: "x", with: "×"))"
      }
      lines.append("convolutions: \(kinds.count) — " + counts.joined(separator: ", "))
    }
    lines.append("")
    let rows = groups.enumerated().map { i, g in
      var convs = g.convs.makeIterator()
      let ops = g.ops.map { $0 == "conv2d" ? (convs.next()?.label ?? $0) : $0 }
      return [
        String(i), g.name, g.anchor, ops.joined(separator: " "),
        g.inputShapes.map(shapeText).joined(separator: " ") + " → "
          + g.outputShapes.map(shapeText).joined(separator: " "),
        String(format: "%.1f", Double(g.flops) / 1e6),
      ]
    }
    lines += table(header: ["#", "group", "anchor", "ops", "shapes", "MFLOP"], rows: rows, rightAligned: [0, 5])
    lines += decisions
    if let layouts {
      lines.append("")
      let count = layouts.changes.count
      lines.append(
        "layouts: \(layouts.blockedKernels) kernels in NCHW\(layouts.vectorWidth)c; \(count) layout "
          + "conversion\(count == 1 ? "" : "s")"
          + (count == 0 ? "" : ":"))
      for c in layouts.changes.prefix(12) { lines.append("  \(c.value): \(c.from) -> \(c.to) (in \(c.group))") }
      if count > 12 { lines.append("  … \(count - 12) more (report --json lists all)") }
      if let winograd = layouts.winograd {
        let shown = winograd.prefix(6).joined(separator: ", ") + (winograd.count > 6 ? ", …" : "")
        lines.append(
          "Winograd: \(winograd.count) conv\(winograd.count == 1 ? "" : "s") (\(shown))"
        )
      }
      if let slow = layouts.offFastPath {
        lines.append("")
        lines.append(
          "off the fast path: \(slow.count) group\(slow.count == 1 ? "" : "s") run a conv or matmul as generic loops:")
        for name in slow.prefix(12) { lines.append("  \(name)") }
        if slow.count > 12 { lines.append("  … \(slow.count - 12) more (report --json lists all)") }
      }
    }
    if !batchNorm.unfolded.isEmpty {
      lines.append("")
      lines.append("batch norms not folded:")
      for u in batchNorm.unfolded { lines.append("  \(u.node): \(u.reason)") }
    }
    return lines.joined(separator: "\n")
  }
}

extension FusionReport {
  /// The lines naming what fusion decided beyond the partition: groups folded into their readers
  /// and conv chains that run as their stages (empty when there is none).
  var decisions: [String] {
    var lines: [String] = []
    let folded = groups.filter { $0.fold != nil }
    if !folded.isEmpty {
      lines += section(
        "folded into the convs that read them (no kernel of their own): \(folded.count)",
        folded.map { "\($0.name): \($0.fold!)" })
    }
    let chains = groups.filter { $0.chain != nil }
    let split = chains.filter { $0.chainAsStages != nil }
    if !split.isEmpty {
      lines += section(
        "conv chains run as their stages: \(split.count) of \(chains.count)",
        split.map { "\($0.name): \($0.chainAsStages!)" })
    }
    return lines
  }

  /// A blank line, `title`, and the first 12 `entries` indented (the rest counted).
  func section(_ title: String, _ entries: [String]) -> [String] {
    ["", title] + entries.prefix(12).map { "  " + $0 }
      + (entries.count > 12 ? ["  … \(entries.count - 12) more (report --json lists all)"] : [])
  }
}

/// `[1,64,56,56]`.
func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

/// Bytes in MB with one decimal, or in KB below 0.1 MB.
func megabytes(_ bytes: Int) -> String {
  bytes < 100_000 ? String(format: "%.1f KB", Double(bytes) / 1e3) : String(format: "%.1f MB", Double(bytes) / 1e6)
}

/// Left-aligned columns (right-aligned where asked), separated by two spaces.
func table(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
  let all = [header] + rows
  let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
  return all.map { row in
    row.enumerated().map { c, cell in
      let pad = String(repeating: " ", count: widths[c] - cell.count)
      return rightAligned.contains(c) ? pad + cell : (c == row.count - 1 ? cell : cell + pad)
    }.joined(separator: "  ")
  }
}

extension OptimizedGraph {
  /// The fused-group report of this graph.
  public func report(model: String = "graph") -> FusionReport { FusionReport(self, model: model) }
}
