import Foundation

/// A model compiled to native code: one shared library for all groups, weights packed once,
/// intermediates in a liveness-planned arena (one per concurrent run), a persistent thread pool.
public final class CompiledModel: @unchecked Sendable {
  typealias Parallel =
    @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int) -> Void
  typealias PoolCreate = @convention(c) (Int32) -> UnsafeMutableRawPointer?
  typealias PoolDestroy = @convention(c) (UnsafeMutableRawPointer?) -> Void

  let graph: Graph
  let plan: FusionPlan
  let program: KernelPlan
  let memory: MemoryPlan
  let library: SharedLibrary
  private let kernels: [UnsafeMutableRawPointer]
  private let parallel: Parallel
  private let destroyPool: PoolDestroy
  private let pool: UnsafeMutableRawPointer
  private let constants: [UnsafeMutableRawPointer?]
  /// The one allocation the constants live in (64-byte aligned slices of it).
  private let constantSlab: UnsafeMutableRawPointer
  private var arenas: [Arena] = []
  private let lock = NSLock()
  /// The C source of the model.
  public let source: String
  /// True when the library came from the cache.
  public let cacheHit: Bool

  /// Per-run memory: the arena and, per step, the array of buffer pointers its kernel receives.
  final class Arena {
    let base: UnsafeMutableRawPointer
    let pointers: [UnsafeMutablePointer<UnsafeMutablePointer<Float>?>]
    let buffers: [UnsafeMutablePointer<Float>?]

    init(_ model: CompiledModel) throws(GraphFuseError) {
      let base = try MemoryBudget.allocate(
        bytes: MemoryBudget.floatBytes(max(model.memory.size, 16)), what: "the arena")
      self.base = base
      let buffers: [UnsafeMutablePointer<Float>?] = model.program.buffers.indices.map { b in
        if let c = model.constants[b] { return c.assumingMemoryBound(to: Float.self) }
        guard let offset = model.memory.offsets[b] else { return nil }
        return (base + offset * 4).assumingMemoryBound(to: Float.self)
      }
      self.buffers = buffers
      pointers = model.program.steps.map { step in
        let p = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: max(step.buffers.count, 1))
        for (i, b) in step.buffers.enumerated() { p[i] = buffers[b.index] }
        return p
      }
    }

    deinit {
      free(base)
      for p in pointers { p.deallocate() }
    }
  }

  /// Compiles every group of the plan into one library (cached by content) and prepares the runtime.
  public static func compile(_ graph: Graph, plan: FusionPlan, options: CompileOptions = .init()) throws(GraphFuseError)
    -> CompiledModel
  {
    try options.validate()
    try graph.verify()
    let start = DispatchTime.now().uptimeNanoseconds
    let toolchain = try Toolchain.find(portable: options.portable, cacheDirectory: options.cacheDirectory)
    let program = try Scheduler.schedule(
      graph, plan: plan,
      target: options.target(vectorWidth: try options.vectorWidth(hasAVX512: toolchain.hasAVX512)))
    let memory = MemoryPlan(program)
    try Self.checkMemory(graph, program: program, memory: memory, options: options)
    let modelSource = ModelSource(program, split: options.sourceSplit)
    let source = modelSource.text
    let (path, cached) = try toolchain.library(for: modelSource)
    let kernelCount = program.steps.count
    let model = try CompiledModel(
      graph: graph, plan: plan, program: program, memory: memory, source: source,
      library: SharedLibrary(path: path),
      cached: cached,
      threads: options.threads)
    // GRAPHFUSE_DEBUG=1: one line per compile; 2: per-group times of every run;
    // 3: the schedule and loop nest of every group; 4: also the generated C.
    let debug = debugLevel
    if debug >= 3 {
      // The plan this model runs: scheduled once, not once per group.
      for g in plan.groups.ids {
        let nest = try Lowering.loops(graph, plan: plan, group: g, kernels: program)
        FileHandle.standardError.write(Data("\(nest)\n\n".utf8))
      }
    }
    if debug >= 1 {
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      let line =
        "graphfuse: \(plan.groups.count) groups, \(kernelCount) kernels, "
        + "\(cached ? "cached" : "compiled") in \(String(format: "%.2f", seconds)) s: \(path)\n"
      FileHandle.standardError.write(Data(line.utf8))
    }
    if debug >= 4 { FileHandle.standardError.write(Data(source.utf8)) }
    return model
  }

  private init(
    graph: Graph, plan: FusionPlan, program: KernelPlan, memory: MemoryPlan, source: String,
    library: SharedLibrary, cached: Bool, threads: Int
  ) throws(GraphFuseError) {
    self.graph = graph
    self.plan = plan
    self.source = source
    self.library = library
    self.cacheHit = cached
    self.memory = memory
    var kernels: [UnsafeMutableRawPointer] = []
    for step in program.steps { kernels.append(try library.symbol(step.symbol)) }
    self.kernels = kernels
    parallel = unsafeBitCast(try library.symbol("gf_parallel"), to: Parallel.self)
    destroyPool = unsafeBitCast(try library.symbol("gf_pool_destroy"), to: PoolDestroy.self)
    let create = unsafeBitCast(try library.symbol("gf_pool_create"), to: PoolCreate.self)
    // Every constant in one slab, each slice 64-byte aligned: one allocation (huge pages for a
    // large model, see MemoryBudget.allocate) instead of one per weight tensor.
    var offsets: [Int?] = []
    var total = 0
    for b in program.buffers {
      guard case .constant = b.storage else {
        offsets.append(nil)
        continue
      }
      offsets.append(total)
      total += (MemoryBudget.floatBytes(b.count) + 63) / 64 * 64
    }
    let slab = try MemoryBudget.allocate(bytes: total, what: "weights")
    var constants: [UnsafeMutableRawPointer?] = []
    for b in program.buffers.indices {
      guard let offset = offsets[b], case .constant(let recipe) = program.buffers[b].storage else {
        constants.append(nil)
        continue
      }
      // Packed from its recipe here, once; the packed array lives only until it is copied.
      let data = recipe.pack(graph)
      precondition(data.count == program.buffers[b].count, "recipe \(recipe) packs \(data.count) floats")
      let p = slab + offset
      data.withUnsafeBufferPointer { src in
        if let base = src.baseAddress { p.copyMemory(from: base, byteCount: data.count * 4) }
      }
      constants.append(p)
    }
    guard let pool = create(Int32(clamping: max(1, threads))) else {
      free(slab)
      throw GraphFuseError("cannot create thread pool", op: "compile")
    }
    self.pool = pool
    self.constants = constants
    self.constantSlab = slab
    self.program = program
  }

  /// Refuses a plan whose weights, arena and output copies exceed the memory budget.
  static func checkMemory(_ graph: Graph, program: KernelPlan, memory: MemoryPlan, options: CompileOptions)
    throws(GraphFuseError)
  {
    let weights = MemoryBudget.sum(
      program.buffers.map { b in
        if case .constant = b.storage { return MemoryBudget.floatBytes(b.count) }
        return 0
      })
    let outputs = MemoryBudget.sum(graph.outputs.map { MemoryBudget.floatBytes(shape: graph.shape(of: $0)) })
    let pointers = program.steps.reduce(0) { $0 + $1.buffers.count * 8 }
    try MemoryBudget.check(
      "the compiled model",
      parts: [
        ("weights", weights), ("arena", MemoryBudget.floatBytes(memory.size)), ("outputs", outputs),
        ("launch tables", pointers),
      ],
      option: options.maxMemory)
  }

  deinit {
    destroyPool(pool)
    free(constantSlab)
  }

  /// Indices of the plan groups that launch at least one kernel (an in-place concat launches none).
  private var launching: Set<GroupID> { Set(program.steps.map(\.group)) }

  /// Plan groups that launch at least one kernel per inference.
  public var launchingGroups: Int { launching.count }

  /// Names of the plan groups whose conv runs as Winograd: fewer multiplications than the direct
  /// conv's FLOPs, by which `bench` counts them, so their % of peak may pass 100 % legitimately.
  public var winogradGroups: Set<String> {
    Set(program.schedules.flatMap { $0 }.filter { $0.kind == .convWinograd }.map { plan.groups[$0.group].name })
  }

  /// Bytes of intermediate tensors written to memory per inference: outputs of groups that run
  /// a kernel (an in-place concat runs none: its inputs were written in place), not graph outputs.
  public var intermediateBytes: Int {
    let outputs = Set(graph.outputs)
    return plan.groups.ids.filter(launching.contains).flatMap { plan.groups[$0].outputs }.filter {
      !outputs.contains($0)
    }
    .reduce(0) { $0 + graph.shape(of: $1).reduce(1, *) * 4 }
  }

  /// Runs one inference; safe to call from several threads at once.
  public func run(_ inputs: [Tensor]) throws(GraphFuseError) -> [Tensor] {
    guard Self.debugLevel >= 2 else { return try execute(inputs, timings: nil) }
    var t = [Double](repeating: 0, count: plan.groups.count)
    let outputs = try execute(inputs, timings: &t)
    let lines = plan.groups.indices.map { String(format: "  %8.3f ms  %@", t[$0] * 1e3, plan.groups[$0].name) }
    FileHandle.standardError.write(Data(("graphfuse: run\n" + lines.joined(separator: "\n") + "\n").utf8))
    return outputs
  }

  /// `GRAPHFUSE_DEBUG`, read once.
  static let debugLevel = Int(ProcessInfo.processInfo.environment["GRAPHFUSE_DEBUG"] ?? "") ?? 0

  /// Per-group median (and fastest) seconds over `runs` inferences, in plan order.
  public func profile(_ inputs: [Tensor], runs: Int) throws(GraphFuseError) -> [GroupTiming] {
    var samples = [[Double]](repeating: [], count: plan.groups.count)
    _ = try execute(inputs, timings: nil)
    for _ in 0..<max(1, runs) {
      var t = [Double](repeating: 0, count: plan.groups.count)
      _ = try execute(inputs, timings: &t)
      for g in t.indices { samples[g].append(t[g]) }
    }
    return plan.groups.enumerated().map { g, group in
      let s = samples[g].sorted()
      return GroupTiming(name: group.name, group: GroupID(g), seconds: s[s.count / 2], bestSeconds: s[0])
    }
  }

  private func execute(_ inputs: [Tensor], timings: UnsafeMutablePointer<[Double]>?) throws(GraphFuseError) -> [Tensor]
  {
    guard inputs.count == graph.inputs.count else {
      throw GraphFuseError("expected \(graph.inputs.count) inputs, got \(inputs.count)", op: "run")
    }
    for (k, v) in graph.inputs.enumerated() where inputs[k].shape != graph.shape(of: v) {
      throw GraphFuseError(
        "input '\(graph.values[v].name)' has shape \(inputs[k].shape), expected \(graph.shape(of: v))", op: "run")
    }
    lock.lock()
    let pooled = arenas.popLast()
    lock.unlock()
    let arena: Arena
    if let pooled { arena = pooled } else { arena = try Arena(self) }
    defer {
      lock.lock()
      arenas.append(arena)
      lock.unlock()
    }
    for (k, b) in program.inputBuffers.enumerated() {
      guard let dst = arena.buffers[b.index] else { continue }
      inputs[k].data.withUnsafeBufferPointer { src in dst.update(from: src.baseAddress!, count: src.count) }
    }
    let status = program.status.flatMap { arena.buffers[$0.index] }
    status?.update(repeating: 0, count: 2)
    for (s, step) in program.steps.enumerated() {
      let start = timings == nil ? 0 : DispatchTime.now().uptimeNanoseconds
      parallel(pool, kernels[s], UnsafeMutableRawPointer(arena.pointers[s]), step.launchTasks)
      if let timings {
        timings.pointee[step.group.index] += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      }
    }
    if let status, status[0] != 0 { throw Take.siteError(graph, site: Int(status[0]) - 1, value: status[1]) }
    return zip(graph.outputs, program.outputBuffers).map { v, b in
      let count = graph.shape(of: v).reduce(1, *)
      let data = [Float](unsafeUninitializedCapacity: count) { out, n in
        if let src = arena.buffers[b.index] { out.baseAddress!.update(from: src, count: count) }
        n = count
      }
      return Tensor(shape: graph.shape(of: v), data: data)
    }
  }
}
