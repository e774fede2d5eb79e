import Foundation
import GraphFuse

/// `graphfuse bench MODEL`: unfused, folded and fused on the compiled backend in one process,
/// and a per-group profile (options: ``Command/bench``).
enum BenchCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    let batch = args.value(.batch).flatMap { Int($0) }
    let paths = args.value(.input).map { $0.split(separator: ",").map(String.init) } ?? []
    // An .npy file's own shape fills an input's symbolic dimensions, as in `run`.
    let fileShapes = paths.map { $0.hasSuffix(".npy") ? (try? NPYFile.readTyped(path: $0))?.tensor.shape : nil }
    let graph = try ModelLoader.load(model, shapes: args.shapes(), batch: batch, inputShapes: fileShapes)
    let options = try benchOptions(args)
    let inputs = paths.isEmpty ? nil : try RunCommand.readInputs(graph, paths: paths)
    var report = try measure(graph, model: model, options: options, inputs: inputs, check: try check(args, graph))
    // Samples per inference: axis 0 of the inputs, when all agree and it is above 1.
    let leading = Set(graph.inputs.map { graph.shape(of: $0).first ?? 1 })
    if leading.count == 1, let samples = leading.first, samples > 1 { report.batch = samples }
    if let svg = args.value(.svg) {
      do { try SVGChart(report).svg.write(toFile: svg, atomically: true, encoding: .utf8) } catch {
        throw GraphFuseError("cannot write the chart: \(error.localizedDescription)", file: svg)
      }
    }
    print(args.flag(.json) ? report.json : report.description)
  }

  /// What every configuration's outputs are checked against (`--check`).
  enum Check {
    /// The reference executor on the unoptimized graph (the default).
    case reference
    /// Expected outputs from files (PyTorch's, say), for the inputs given with `--input`.
    case golden([Tensor])
    /// Only against each other (the unfused configuration's outputs): no reference run.
    case none
  }

  /// `--check reference|none|FILE[,FILE…]`; golden files need `--input`, the inputs they belong to.
  static func check(_ args: Arguments, _ graph: Graph) throws(GraphFuseError) -> Check {
    switch args.value(.check) ?? "reference" {
    case "reference": return .reference
    case "none": return .none
    case let spec:
      guard args.value(.input) != nil else {
        throw GraphFuseError("--check FILE needs --input: the expected outputs belong to the inputs that made them")
      }
      var golden: [Tensor] = []
      for (k, path) in try TensorFiles.paths(spec, count: graph.outputs.count, option: "--check").enumerated() {
        golden.append(
          try TensorFiles.read(path, shape: graph.shape(of: graph.outputs[k]), what: "expected output \(k)"))
      }
      return .golden(golden)
    }
  }

  static func benchOptions(_ args: Arguments, runs: Int = 50, warmup: Int = 5) throws(GraphFuseError) -> BenchOptions {
    let threads = args.int(.threads, default: ProcessInfo.processInfo.activeProcessorCount)
    let timed = args.int(.runs, default: runs)
    // Warm-up scales down with fewer timed runs (a fifth of them, at least one), so --runs 5 on a
    // big model does not spend longer warming up than timing.
    var options = BenchOptions(
      runs: timed, warmup: args.int(.warmup, default: min(warmup, max(1, timed / 5))), threads: threads,
      optimize: try args.optimizeOptions(), interleaved: args.flag(.interleave))
    try peak(args, into: &options)
    return options
  }

  /// `--peak GFLOPS|measure|none` (default `$GRAPHFUSE_PEAK_GFLOPS`, else `measure`): the FMA
  /// peak the profile's "% of peak" is against. `measure` times FMA chains on `threads` threads
  /// with the kernels' compiler and flags (`MachinePeak`), about 0.4 s.
  static func peak(_ args: Arguments, into options: inout BenchOptions) throws(GraphFuseError) {
    let text = args.value(.peak) ?? ProcessInfo.processInfo.environment["GRAPHFUSE_PEAK_GFLOPS"] ?? "measure"
    switch text {
    case "none": return
    case "measure":
      let progress = ProgressLine()
      progress.update("measuring the FMA peak on \(options.threads) thread\(options.threads == 1 ? "" : "s")…")
      let peak = try MachinePeak.measureSpread(threads: options.threads)
      options.peakGFLOPS = peak.best
      options.peakSpread = peak.best > 0 ? peak.worst / peak.best : nil
      options.peakMeasured = true
      progress.finish()
    default:
      guard let value = Double(text), value > 0 else {
        throw GraphFuseError("--peak takes GFLOP/s, 'measure' or 'none', got '\(text)'")
      }
      options.peakGFLOPS = value
    }
  }

  /// Compiles each configuration (outside the timed loop) and times it with the bench harness.
  /// Every configuration is checked against `reference` (computed here when nil): the reference
  /// executor's outputs on the unoptimized graph for the same inputs.
  static func measure(
    _ graph: Graph, model: String, options: BenchOptions, inputs given: [Tensor]? = nil, check: Check = .reference
  ) throws(GraphFuseError) -> BenchReport {
    let inputs = given ?? graph.sampleInputs()
    let compileOptions = CompileOptions(threads: options.threads)
    let progress = ProgressLine()
    let reference: [Tensor]?
    switch check {
    case .reference:
      progress.update("running the reference executor (the outputs every configuration is checked against)…")
      reference = try ReferenceExecutor.run(graph, inputs: inputs)
    case .golden(let expected): reference = expected
    case .none: reference = nil
    }
    return try BenchRunner.run(
      graph: graph, model: model, options: options, progress: progress, reference: reference
    ) { _, optimized throws(GraphFuseError) in
      let compiled = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: compileOptions)
      return BenchRunnable(
        run: { () throws(GraphFuseError) in _ = try compiled.run(inputs) },
        outputs: { () throws(GraphFuseError) in try compiled.run(inputs) },
        profile: { () throws(GraphFuseError) in
          try compiled.profile(inputs, runs: 20).map { ($0.name, $0.seconds * 1e3, $0.bestSeconds * 1e3) }
        },
        intermediateBytes: compiled.intermediateBytes, kernels: compiled.launchingGroups, cached: compiled.cacheHit,
        winogradGroups: compiled.winogradGroups)
    }
  }
}

/// `graphfuse lower MODEL [--group G] [--emit loops|c]`: the loop nest or C of fused groups.
enum LowerCommand {
  static func run(_ args: Arguments) throws(GraphFuseError) {
    let model = try args.model()
    let optimized = try ModelLoader.load(model, shapes: args.shapes()).optimized(args.optimizeOptions())
    let groups = optimized.plan.groups
    var selected = groups.ids
    if let name = args.value(.group) {
      // A group is named as the report lists it: by its index or its name.
      let index = Int(name).flatMap { groups.indices.contains($0) ? $0 : nil }
      guard let index = index ?? groups.firstIndex(where: { $0.name == name }) else {
        let known = groups.prefix(8).map(\.name).joined(separator: ", ")
        throw GraphFuseError(
          "no fused group named '\(name)' (an index 0..<\(groups.count) or a name: \(known)"
            + "\(groups.count > 8 ? ", …" : ""))", file: model)
      }
      selected = [GroupID(index)]
    }
    let emit = args.value(.emit) ?? "loops"
    let threads = args.value(.threads).flatMap { Int($0) }
    if emit == "c" && args.value(.group) == nil {
      // The whole translation unit, byte for byte what `run` with these threads compiles.
      let options = CompileOptions(threads: threads)
      print(try Lowering.modelSource(optimized.graph, plan: optimized.plan, options: options), terminator: "")
      return
    }
    if emit == "c" {
      for index in selected {
        print(try Lowering.cSource(optimized.graph, plan: optimized.plan, group: index, threads: threads))
        print("")
      }
      return
    }
    // Every selected group from one schedule of the model.
    let lowered = try Lowering.runningKernels(
      optimized.graph, plan: optimized.plan, groups: selected, options: CompileOptions(threads: threads))
    for (index, (nests, kernelFree)) in zip(selected, lowered) {
      for schedule in kernelFree { print("// \(groups[index].name): no kernel: \(schedule.kind.rawValue)") }
      print(nests.map(\.description).joined(separator: "\n\n"))
      print("")
    }
  }
}
