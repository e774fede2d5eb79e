import Foundation

/// A model compiled ahead of time into a directory a C program links against: `model.h` (the
/// C API), `libmodel.so` (kernels, thread pool and the API; needs only libc, libm and pthreads),
/// `weights.bin` (the packed weights) and `model.c` (the library's source). Built for one set of
/// shapes, or for every batch size up to a largest one (``write(batches:to:options:)``).
///
/// ```swift
/// let optimized = try graph.optimized()
/// let files = try DeployLibrary.write(optimized.graph, plan: optimized.plan, to: "out", options: .init(threads: 4))
/// // cc main.c -Iout -Lout -lmodel -Wl,-rpath,'$ORIGIN/out' -o app
/// ```
public enum DeployLibrary {
  /// The files written.
  public struct Files: Sendable {
    public var header: String
    public var library: String
    public var weights: String
    public var source: String
  }

  /// The model at one batch size, for a library that runs any batch up to the largest given
  /// (``write(batches:to:options:)``): the graph imported with axis 0 of every input set to
  /// `batch`, and its fusion plan.
  public struct BatchVariant {
    public var batch: Int
    public var graph: Graph
    public var plan: FusionPlan

    /// Creates a variant.
    public init(batch: Int, graph: Graph, plan: FusionPlan) {
      self.batch = batch
      self.graph = graph
      self.plan = plan
    }
  }

  /// The batch sizes a library for batches up to `maxBatch` is compiled for: the powers of two
  /// below it and `maxBatch` itself. A batch runs as chunks of these sizes, largest first
  /// (7 of at most 8 = 4 + 2 + 1), so no call computes more samples than it was given.
  public static func batchSizes(upTo maxBatch: Int) -> [Int] {
    var sizes: [Int] = []
    var size = 1
    while size < maxBatch {
      sizes.append(size)
      size *= 2
    }
    return sizes + [max(1, maxBatch)]
  }

  /// Builds the same program the runtime runs, writes the four files to `directory` (created if
  /// needed) and compiles the library with the kernels' compiler and flags. The shapes are fixed:
  /// `gf_model_run` runs them and `gf_model_max_batch` is 0.
  public static func write(
    _ graph: Graph, plan: FusionPlan, to directory: String, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> Files {
    try write([BatchVariant(batch: 0, graph: graph, plan: plan)], to: directory, options: options)
  }

  /// A library that runs any batch from 1 to the largest variant's: one program per variant
  /// (its own schedules, chosen for its shapes), the weights packed once where the variants pack
  /// them alike. `variants` are the same model at different batch sizes (axis 0 of every input
  /// and output is the batch); `gf_model_run_batch` splits a batch into chunks of their sizes.
  public static func write(
    batches variants: [BatchVariant], to directory: String, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> Files {
    guard !variants.isEmpty else { throw GraphFuseError("no batch sizes to compile", op: "compile") }
    let sorted = variants.sorted { $0.batch < $1.batch }
    try checkBatchAxes(sorted)
    return try write(sorted, to: directory, options: options)
  }

  /// Checks that the variants are one model at their batch sizes: the same inputs and outputs
  /// (names, element types), each with axis 0 equal to the batch and the other axes alike.
  private static func checkBatchAxes(_ variants: [BatchVariant]) throws(GraphFuseError) {
    guard let first = variants.first else { return }
    for variant in variants {
      guard variant.batch >= 1 else {
        throw GraphFuseError("a batch size must be at least 1, got \(variant.batch)", op: "compile")
      }
      let graph = variant.graph
      guard graph.inputs.count == first.graph.inputs.count, graph.outputs.count == first.graph.outputs.count else {
        throw GraphFuseError(
          "the model at batch \(variant.batch) has other inputs or outputs than at batch \(first.batch)", op: "compile")
      }
      for (role, values, firstValues) in [
        ("input", graph.inputs, first.graph.inputs), ("output", graph.outputs, first.graph.outputs),
      ] {
        for (v, w) in zip(values, firstValues) {
          let name = graph.values[v].name
          let shape = graph.shape(of: v), firstShape = first.graph.shape(of: w)
          guard shape.first == variant.batch, shape.count == firstShape.count,
            shape.dropFirst() == firstShape.dropFirst(), graph.dataType(of: v) == first.graph.dataType(of: w)
          else {
            throw GraphFuseError(
              "\(role) '\(name)' has shape \(shape) at batch \(variant.batch) (\(firstShape) at batch "
                + "\(first.batch)); a batched library needs axis 0 of every input and output to be the batch",
              op: "compile")
          }
        }
      }
    }
  }

  private static func write(
    _ variants: [BatchVariant], to directory: String, options: CompileOptions
  ) throws(GraphFuseError) -> Files {
    try options.validate()
    for variant in variants {
      let graph = variant.graph
      try graph.verify()
      for v in graph.inputs + graph.outputs where graph.shape(of: v).count > 8 {
        throw GraphFuseError(
          "'\(graph.values[v].name)' has rank \(graph.shape(of: v).count);"
            + " the C API describes shapes of rank 8 at most",
          op: "compile")
      }
    }
    let threads = options.threads
    let toolchain = try Toolchain.find(portable: options.portable, cacheDirectory: options.cacheDirectory)
    let target = options.target(vectorWidth: try options.vectorWidth(hasAVX512: toolchain.hasAVX512))

    // Weights packed alike by several programs are stored once: found by the hash of their
    // floats, confirmed against the stored copy (only hashes are kept on the side).
    var weights: [Float] = []
    var storedOfHash: [Int: [(offset: Int, count: Int)]] = [:]
    var programs: [DeployProgram] = []
    var functions: [KernelFunction] = []
    for (p, variant) in variants.enumerated() {
      var plan = try Scheduler.schedule(variant.graph, plan: variant.plan, target: target)
      if variants.count > 1 { plan.prefixSymbols("gf_p\(p)") }
      var weightOffsets: [Int?] = []
      for buffer in plan.buffers {
        guard case .constant(let recipe) = buffer.storage else {
          weightOffsets.append(nil)
          continue
        }
        let packed = recipe.pack(variant.graph)
        let hash = variants.count > 1 ? packed.hashValue : 0
        let stored = storedOfHash[hash]?.first { entry in
          entry.count == packed.count && weights[entry.offset..<(entry.offset + entry.count)].elementsEqual(packed)
        }
        if let stored {
          weightOffsets.append(stored.offset)
          continue
        }
        if variants.count > 1 { storedOfHash[hash, default: []].append((weights.count, packed.count)) }
        weightOffsets.append(weights.count)
        weights += packed
        weights += [Float](repeating: 0, count: (16 - weights.count % 16) % 16)  // 64-byte aligned starts
      }
      functions += plan.functions.map(KernelFunction.init)
      programs.append(
        DeployProgram(
          batch: variant.batch, graph: variant.graph, plan: plan, memory: MemoryPlan(plan),
          weightOffsets: weightOffsets))
    }
    let tables = DeploySource.tables(programs, weightFloats: weights.count, threads: threads)
    let kernels = ModelSource(
      functions: functions, vectorWidth: target.vectorWidth,
      split: ModelSource.Split(maxParts: 1, bytesPerPart: Int.max))
    let source = kernels.text + "\n" + tables + DeploySource.api

    let files = Files(
      header: directory + "/model.h", library: directory + "/libmodel.so", weights: directory + "/weights.bin",
      source: directory + "/model.c")
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw GraphFuseError("cannot create the directory", file: directory)
    }
    try write(Data(DeploySource.header.utf8), to: files.header)
    try write(Data(source.utf8), to: files.source)
    var bytes = Data(DeploySource.weightsMagic.utf8)
    withUnsafeBytes(of: UInt64(weights.count).littleEndian) { bytes.append(contentsOf: $0) }
    weights.withUnsafeBytes { bytes.append(contentsOf: $0) }
    try write(bytes, to: files.weights)

    let command =
      [toolchain.compiler] + toolchain.flags + [
        "-fvisibility=hidden", "-shared", "-pthread", "-o", files.library, files.source, "-lm",
      ]
    let (outcome, output) = try Subprocess.output(command, timeout: toolchain.compileTimeout * Double(variants.count))
    guard outcome == .exited(0) else {
      let first =
        output.split(separator: "\n").first(where: { $0.contains("error") }) ?? output.split(separator: "\n").first
        ?? ""
      throw GraphFuseError("the C compiler failed on \(files.source): \(first)", op: "compile")
    }
    return files
  }

  private static func write(_ data: Data, to path: String) throws(GraphFuseError) {
    guard FileManager.default.createFile(atPath: path, contents: data) else {
      throw GraphFuseError("cannot write the file", file: path)
    }
  }
}
