import Foundation
import Testing

@testable import GraphFuse

/// The compiled model's source and its cache: identical kernels emitted once, parts compiled in
/// parallel, the source kept beside the library, corrupted libraries detected, compilers bounded.
@Suite struct CompileCacheTests {
  /// Four identical conv + relu blocks, then one of another width: 5 steps, 2 distinct kernels.
  static func repeatedBlocks() throws -> (graph: Graph, plan: FusionPlan) {
    let b = GraphBuilder()
    var x = b.input("x", shape: [1, 16, 8, 8])
    for k in 0..<4 {
      let w = b.constant(Tensor.random(shape: [16, 16, 3, 3], seed: UInt64(10 + k)))
      x = try b.relu(try b.conv2d(x, weight: w, padding: 1))
    }
    x = try b.conv2d(x, weight: b.constant(Tensor.random(shape: [32, 16, 1, 1], seed: 3)))
    b.output(x)
    let optimized = try Pipeline.optimize(try b.finish())
    return (optimized.graph, optimized.plan)
  }

  static func scratch() -> String {
    NSTemporaryDirectory() + "graphfuse-cache-\(UInt64.random(in: 0...UInt64.max))"
  }

  @Test func structuralKeyIgnoresNamesSizesAndTaskCountOnly() {
    func nest(_ name: String, tasks: Int, count: Int, scale: Double, output: String = "out") -> LoopNest {
      let body = Stmt.store(output, .variable("i"), .binary(.mul, .load("x", .variable("i")), .constant(scale)))
      return LoopNest(
        name: name,
        buffers: [
          BufferDecl(name: "x", count: count, isOutput: false), BufferDecl(name: output, count: count, isOutput: true),
        ],
        body: [.loop(variable: "i", extent: tasks, kind: .parallel, body: [body])])
    }
    let a = nest("a", tasks: 8, count: 8, scale: 2)
    // Another name, buffer sizes and task count: the same C up to the symbol.
    #expect(a.structuralKey == nest("b", tasks: 32, count: 32, scale: 2).structuralKey)
    #expect(
      CEmitter.function(a, symbol: "f") == CEmitter.function(nest("b", tasks: 32, count: 32, scale: 2), symbol: "f"))
    // A different literal or parameter name is a different function.
    #expect(a.structuralKey != nest("a", tasks: 8, count: 8, scale: 3).structuralKey)
    #expect(a.structuralKey != nest("a", tasks: 8, count: 8, scale: 2, output: "y").structuralKey)
  }

  @Test func bindingsAreCheckedAgainstTheNestParameters() throws {
    let nest = LoopNest(
      name: "copy",
      buffers: [BufferDecl(name: "x", count: 8, isOutput: false), BufferDecl(name: "out", count: 8, isOutput: true)],
      body: [
        .loop(
          variable: "i", extent: 8, kind: .parallel, body: [.store("out", .variable("i"), .load("x", .variable("i")))])
      ])
    var plan = KernelPlan()
    plan.schedules = [[]]
    let x = plan.addBuffer(BufferPlan(count: 8, storage: .arena))
    let out = plan.addBuffer(BufferPlan(count: 8, storage: .arena))
    let small = plan.addBuffer(BufferPlan(count: 4, storage: .arena))
    let schedule = KernelSchedule(.loops, group: 0, inputs: [.plain], output: .plain)
    // Bound by name: the order of the bindings does not matter.
    try plan.addStep(nest, bindings: KernelBindings(["out": out, "x": x]), schedule: schedule)
    #expect(plan.steps.map(\.buffers) == [[x, out]])
    for wrong in [
      KernelBindings(["x": x]), KernelBindings(["x": x, "out": out, "y": small]),
      KernelBindings(["x": x, "out": small]),
    ] {
      #expect(throws: GraphFuseError.self) { try plan.addStep(nest, bindings: wrong, schedule: schedule) }
    }
    #expect(plan.steps.count == 1)
  }

  @Test func identicalKernelsAreEmittedOnce() throws {
    let (g, plan) = try Self.repeatedBlocks()
    let program = try Scheduler.schedule(g, plan: plan, vectorWidth: 16, threads: 2)
    let launched = Set(program.steps.map(\.symbol))
    #expect(program.steps.count >= 5)
    #expect(program.functions.count == launched.count, "every emitted kernel is launched")
    #expect(
      program.functions.count < program.steps.count,
      "\(program.functions.map(\.symbol)) for \(program.steps.count) steps")
    // The four blocks launch one kernel with four different buffer sets (group 0 first converts
    // the graph input to the blocked layout).
    let second = try #require(program.steps.first { $0.group == 1 })
    let blocks = program.steps.filter { $0.symbol == second.symbol }
    #expect(blocks.map(\.group) == [0, 1, 2, 3])
    #expect(Set(blocks.map(\.buffers)).count == 4)
    let model = try CompiledModel.compile(g, plan: plan, options: CompiledTesting.options)
    let input = Tensor.random(shape: [1, 16, 8, 8], seed: 5)
    let expected = try ReferenceExecutor.run(g, inputs: [input])[0]
    #expect(try model.run([input])[0].compared(to: expected).isWithin(relative: 1e-4))
  }

  @Test(arguments: [1, 2, 3])
  func partsCompileInParallelAndLinkIntoOneLibrary(parts: Int) throws {
    let (g, plan) = try Self.repeatedBlocks()
    var options = CompileOptions(threads: 2, cacheDirectory: Self.scratch())
    defer { try? FileManager.default.removeItem(atPath: options.cacheDirectory!) }
    options.sourceSplit = ModelSource.Split(maxParts: parts, bytesPerPart: 1)
    let model = try CompiledModel.compile(g, plan: plan, options: options)
    let source = try Lowering.modelSource(g, plan: plan, options: options)
    #expect(model.source == source, "lower prints what runs")
    #expect(source.components(separatedBy: "#if !defined(GF_PART) || GF_PART ==").count - 1 == parts)
    // The cache keeps the source beside the library, byte for byte.
    let kept = try String(contentsOfFile: String(model.library.path.dropLast(3)) + ".c", encoding: .utf8)
    #expect(kept == source)
    let input = Tensor.random(shape: [1, 16, 8, 8], seed: 6)
    let expected = try ReferenceExecutor.run(g, inputs: [input])[0]
    #expect(try model.run([input])[0].compared(to: expected).isWithin(relative: 1e-4))
  }

  @Test func theKeptSourceCompilesAlone() throws {
    let (g, plan) = try Self.repeatedBlocks()
    var options = CompileOptions(threads: 2, cacheDirectory: Self.scratch())
    defer { try? FileManager.default.removeItem(atPath: options.cacheDirectory!) }
    options.sourceSplit = ModelSource.Split(maxParts: 2, bytesPerPart: 1)
    let model = try CompiledModel.compile(g, plan: plan, options: options)
    let toolchain = try Toolchain.find(portable: false, cacheDirectory: options.cacheDirectory)
    let object = options.cacheDirectory! + "/alone.o"
    let source = String(model.library.path.dropLast(3)) + ".c"
    let (outcome, output) = try Subprocess.output(
      [toolchain.compiler, "-c", "-O1", "-w", "-o", object, source], timeout: 120)
    #expect(outcome == .exited(0), "\(output)")
  }

  enum Damage: String, CaseIterable {
    case truncated, flipped, emptied
    /// The library, its checksums, its source or the lock replaced by a directory with a file in it.
    case libraryDirectory, checksumDirectory, sourceDirectory, lockDirectory
    /// The library replaced by a link to nothing.
    case danglingLink
  }

  @Test(arguments: Damage.allCases)
  func aDamagedLibraryIsCompiledAgain(damage: Damage) throws {
    let (g, plan) = try Self.repeatedBlocks()
    let options = CompileOptions(threads: 2, cacheDirectory: Self.scratch())
    defer { try? FileManager.default.removeItem(atPath: options.cacheDirectory!) }
    let first = try CompiledModel.compile(g, plan: plan, options: options)
    let path = first.library.path
    var bytes = try #require(FileManager.default.contents(atPath: path))
    let stem = String(path.dropLast(3))
    func directory(_ at: String) throws {
      try? FileManager.default.removeItem(atPath: at)
      try FileManager.default.createDirectory(atPath: at + "/inside", withIntermediateDirectories: true)
      try Data("x".utf8).write(to: URL(fileURLWithPath: at + "/inside/file"))
    }
    switch damage {
    case .truncated: bytes = bytes.prefix(bytes.count / 2)
    case .flipped: for i in stride(from: 100, to: bytes.count, by: 997) { bytes[i] ^= 0x5a }
    case .emptied: bytes = Data()
    case .libraryDirectory: try directory(path)
    case .checksumDirectory: try directory(stem + ".sum")
    case .sourceDirectory:
      try directory(stem + ".c")
      try directory(path)
    case .lockDirectory:
      try directory(stem + ".lock")
      try directory(path)
    case .danglingLink:
      try FileManager.default.removeItem(atPath: path)
      try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: stem + ".missing")
    }
    // Replaced, not written in place: the first model still has the library mapped.
    if [.truncated, .flipped, .emptied].contains(damage) {
      try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
    #expect(!CacheEntry.verified(String(path.dropLast(3))))
    let second = try CompiledModel.compile(g, plan: plan, options: options)
    #expect(!second.cacheHit, "a damaged library is not a cache hit")
    #expect(CacheEntry.verified(String(path.dropLast(3))))
    let input = Tensor.random(shape: [1, 16, 8, 8], seed: 7)
    #expect(try second.run([input]) == first.run([input]))
    let third = try CompiledModel.compile(g, plan: plan, options: options)
    #expect(third.cacheHit)
  }

  /// A stand-in compiler that answers `--version` and then never returns from a compile.
  @Test func aCompilerThatNeverReturnsIsStopped() throws {
    let dir = Self.scratch()
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = dir + "/hanging-cc"
    try "#!/bin/sh\nif [ \"$1\" = --version ]; then echo hanging 1.0; exit 0; fi\necho compiling >&2\nsleep 600\n"
      .write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    let real = try Toolchain.find(portable: false, cacheDirectory: dir)
    var toolchain = Toolchain(
      compiler: script, version: "hanging 1.0", flags: real.flags, cpu: real.cpu, hasAVX512: real.hasAVX512,
      cacheDirectory: dir)
    toolchain.compileTimeout = 0.5
    let start = Date()
    let error = #expect(throws: GraphFuseError.self) { try toolchain.library(for: "void f(void) {}\n") }
    #expect(Date().timeIntervalSince(start) < 30)
    let message = String(describing: error!)
    #expect(message.contains("did not finish within 0.5 s") && message.contains(".log"), "\(message)")
    #expect(!message.contains("\n"))
    #expect(
      try String(
        contentsOfFile: dir + "/"
          + (FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".log") } ?? ""), encoding: .utf8
      )
      .contains("compiling"))
  }

  @Test func aFailingCompilerGivesOneLineAndKeepsItsOutputInALog() throws {
    let dir = Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let toolchain = try Toolchain.find(portable: false, cacheDirectory: dir)
    let error = #expect(throws: GraphFuseError.self) {
      try toolchain.library(for: "int f(void) { return undeclared_thing; }\n")
    }
    let message = String(describing: error!)
    #expect(message.contains("undeclared_thing") && message.contains(".log") && !message.contains("\n"), "\(message)")
  }
}
