import Foundation

/// A model compiled ahead of time into a directory a C program links against: `model.h` (the
/// C API), `libmodel.so` (kernels, thread pool and the API; needs only libc, libm and pthreads),
/// `weights.bin` (the packed weights) and `model.c` (the library's source).
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

  /// Builds the same program the runtime runs, writes the four files to `directory` (created if
  /// needed) and compiles the library with the kernels' compiler and flags.
  public static func write(
    _ graph: Graph, plan: FusionPlan, to directory: String, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> Files {
    try options.validate()
    try graph.verify()
    for v in graph.inputs + graph.outputs where graph.shape(of: v).count > 8 {
      throw GraphFuseError(
        "'\(graph.values[v].name)' has rank \(graph.shape(of: v).count); the C API describes shapes of rank 8 at most",
        op: "compile")
    }
    let threads = options.threads
    let toolchain = try Toolchain.find(portable: options.portable, cacheDirectory: options.cacheDirectory)
    let program = try Scheduler.schedule(
      graph, plan: plan, target: System.target(vectorWidth: toolchain.hasAVX512 ? 16 : 8, threads: threads))
    let memory = MemoryPlan(program)

    var weights: [Float] = []
    var weightOffsets: [Int?] = []
    for buffer in program.buffers {
      guard case .constant(let recipe) = buffer.storage else {
        weightOffsets.append(nil)
        continue
      }
      weightOffsets.append(weights.count)
      weights += recipe.pack(graph)
      weights += [Float](repeating: 0, count: (16 - weights.count % 16) % 16)  // 64-byte aligned starts
    }
    let tables = DeploySource.tables(
      program, memory: memory, weightOffsets: weightOffsets, weightFloats: weights.count,
      inputShapes: graph.inputs.map(graph.shape(of:)), outputShapes: graph.outputs.map(graph.shape(of:)),
      threads: threads, graph: graph)
    let source =
      ModelSource(program, split: ModelSource.Split(maxParts: 1, bytesPerPart: Int.max)).text + "\n" + tables
      + DeploySource.api

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
    let (outcome, output) = try Subprocess.output(command, timeout: toolchain.compileTimeout)
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
