import Foundation
import Testing

@testable import GraphFuse

/// The compiler driver: content-hashed cache, portable flags, flag choices.
@Suite struct CompiledToolchainTests {
  static func graph() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 6, 6])
    b.output(
      try b.relu(try b.conv2d(x, weight: b.constant(Tensor.random(shape: [16, 16, 3, 3], seed: 4)), padding: 1)))
    return try b.finish()
  }

  @Test func secondCompileHitsTheCache() throws {
    let dir = NSTemporaryDirectory() + "graphfuse-cache-test-\(UInt64.random(in: 0...UInt64.max))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let g = try Self.graph()
    let first = try CompiledModel.compile(
      g, plan: .unfused(g), options: CompileOptions(threads: 1, cacheDirectory: dir))
    let second = try CompiledModel.compile(
      g, plan: .unfused(g), options: CompileOptions(threads: 1, cacheDirectory: dir))
    #expect(!first.cacheHit)
    #expect(second.cacheHit)
    let files = try FileManager.default.contentsOfDirectory(atPath: dir)
    // The library, its source, its checksums and the compile lock.
    #expect(Set(files.map { ($0 as NSString).pathExtension }) == ["so", "c", "sum", "lock"], "\(files)")
    let input = Tensor.random(shape: [1, 16, 6, 6], seed: 1)
    #expect(try first.run([input]) == second.run([input]))
  }

  /// The peak is a rate, so only its sanity is checked (timing tests are noise here): a
  /// positive, finite GFLOP/s for one and two threads, and bad thread counts are errors.
  @Test func machinePeakIsMeasured() throws {
    for threads in [1, 2] {
      let peak = try MachinePeak.measure(threads: threads, seconds: 0.01, repeats: 1)
      #expect(peak > 0.1 && peak.isFinite, "\(threads) threads: \(peak) GFLOP/s")
    }
    #expect(throws: GraphFuseError.self) { try MachinePeak.measure(threads: 0) }
    #expect(throws: GraphFuseError.self) { try MachinePeak.measure(threads: 257, seconds: 0.001, repeats: 1) }
  }

  @Test func portableBuildMatchesTheReference() throws {
    let g = try Self.graph()
    let model = try CompiledModel.compile(
      g, plan: .unfused(g),
      options: CompileOptions(threads: 2, portable: true, cacheDirectory: CompiledTesting.options.cacheDirectory))
    let input = Tensor.random(shape: [1, 16, 6, 6], seed: 2)
    #expect(
      try model.run([input])[0].compared(to: ReferenceExecutor.run(g, inputs: [input])[0]).isWithin(relative: 1e-4))
  }

  @Test func findsTheClangNextToTheSwiftToolchain() throws {
    let bin = try #require(Toolchain.swiftToolchainBin())
    #expect(
      FileManager.default.isExecutableFile(atPath: bin + "/swift")
        || FileManager.default.isExecutableFile(atPath: bin + "/swift-frontend"), "\(bin)")
  }

  @Test func flagsAreWrittenOutAndKeyedOnTheCPU() throws {
    let t = try Toolchain.find(portable: false, cacheDirectory: "/tmp/unused")
    #expect(t.flags.contains("-O3") && t.flags.contains("-march=native") && t.flags.contains("-ffp-contract=fast"))
    #expect(t.hasAVX512 == t.flags.contains("-mprefer-vector-width=512"))
    let portable = try Toolchain.find(portable: true, cacheDirectory: "/tmp/unused")
    #expect(!portable.flags.contains("-march=native"))
    #expect(t.key("int x;") != portable.key("int x;"))
    #expect(t.key("int x;") != t.key("int y;"))
  }
}
