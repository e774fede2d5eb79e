import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The C compiler GraphFuse uses, its flags, and a content-hashed cache of compiled libraries
/// (in the spirit of tinygrad's `compiler_cpu.py`).
struct Toolchain: Sendable {
  /// The clang executable.
  let compiler: String
  /// `clang --version`, part of the cache key.
  let version: String
  /// Flags for every compile, each with its reason.
  let flags: [String]
  /// The CPU model and feature flags, part of the cache key.
  let cpu: String
  /// True when the target has AVX-512 (16-float vectors).
  let hasAVX512: Bool
  /// Where compiled libraries live.
  let cacheDirectory: String

  /// Finds clang: `$CC`, then the clang next to the running Swift toolchain, then `PATH`.
  static func find(portable: Bool, cacheDirectory: String?) throws(GraphFuseError) -> Toolchain {
    let env = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    if let cc = env["CC"], !cc.isEmpty { candidates.append(cc) }
    if let toolchain = swiftToolchainBin() { candidates.append(toolchain + "/clang") }
    for dir in (env["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/clang") }
    candidates.append("/opt/swift/usr/bin/clang")
    guard let compiler = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
      throw GraphFuseError("no C compiler found; searched $CC, \(candidates.joined(separator: ", ")); set CC to a clang executable", op: "compile")
    }
    let version = (try? run(compiler, ["--version"]).output) ?? "unknown"
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let cpuLines = cpuinfo.split(separator: "\n").filter { $0.hasPrefix("model name") || $0.hasPrefix("flags") }.prefix(2)
    let cpu = cpuLines.joined(separator: "\n")
    let avx512 = !portable && cpu.contains("avx512f")
    var flags = [
      "-O3",  // full optimization: unrolling, vectorization of the generated loops
      "-ffp-contract=fast",  // fuse a*b+c into one FMA
      "-fPIC", "-shared",  // a position-independent shared library for dlopen
      "-fno-math-errno",  // lets sqrtf/fmaxf become instructions
      "-std=gnu11",  // vector extensions and statement expressions
      "-w",  // generated code: warnings are noise
    ]
    if !portable { flags.append("-march=native") }  // every instruction this CPU has (AVX-512, FMA)
    if avx512 { flags.append("-mprefer-vector-width=512") }  // keep 16-float vectors whole (96 → 182 GFLOP/s/core)
    let dir = cacheDirectory ?? env["GRAPHFUSE_CACHE_DIR"] ?? (NSHomeDirectory() + "/.cache/graphfuse")
    return Toolchain(compiler: compiler, version: version, flags: flags, cpu: cpu, hasAVX512: avx512, cacheDirectory: dir)
  }

  /// The `bin` directory of the Swift toolchain this process runs on: found from where the
  /// Swift runtime library is mapped (`<toolchain>/usr/lib/swift/linux/libswiftCore.so`).
  static func swiftToolchainBin() -> String? {
    // /proc files report size 0: read to the end rather than by size.
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps") else { return nil }
    let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    try? handle.close()
    guard let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/libswiftCore.so") }),
      let slash = line.firstIndex(of: "/")
    else { return nil }
    let library = URL(fileURLWithPath: String(line[slash...])).resolvingSymlinksInPath()
    // …/usr/lib/swift/linux/libswiftCore.so → …/usr/bin
    let usr = library.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return usr.appendingPathComponent("bin").path
  }

  /// The cache key: source, flags, compiler version and CPU.
  func key(_ source: String) -> String {
    var h = FNV1a()
    h.add(source)
    h.add(flags.joined(separator: " "))
    h.add(version)
    h.add(cpu)
    var h2 = FNV1a(value: 0x84222325cbf29ce4)
    h2.add(source + cpu + version)
    return h.hex + h2.hex
  }

  /// The path of a compiled library for `source`, compiling it when not cached.
  /// Returns the path and whether it came from the cache.
  func library(for source: String) throws(GraphFuseError) -> (path: String, cached: Bool) {
    let k = key(source)
    let path = "\(cacheDirectory)/gf_\(k).so"
    if FileManager.default.fileExists(atPath: path) { return (path, true) }
    do {
      try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
    } catch {
      throw GraphFuseError("cannot create cache directory \(cacheDirectory): \(error)", op: "compile")
    }
    let unique = "\(getpid())_\(UInt64.random(in: 0...UInt64.max))"
    let cPath = "\(cacheDirectory)/gf_\(k)_\(unique).c"
    let tmpLib = "\(cacheDirectory)/gf_\(k)_\(unique).so.tmp"
    do { try source.write(toFile: cPath, atomically: true, encoding: .utf8) } catch {
      throw GraphFuseError("cannot write \(cPath): \(error)", op: "compile")
    }
    defer { try? FileManager.default.removeItem(atPath: cPath) }
    let result: (status: Int32, output: String)
    do { result = try Self.run(compiler, flags + ["-o", tmpLib, cPath, "-lm"]) } catch {
      throw GraphFuseError("cannot run \(compiler): \(error)", op: "compile")
    }
    guard result.status == 0 else {
      try? FileManager.default.removeItem(atPath: tmpLib)
      throw GraphFuseError("clang failed (\(result.status)): \(result.output.prefix(2000))", op: "compile")
    }
    // Atomic publish: readers see either no file or a complete library.
    guard rename(tmpLib, path) == 0 else { throw GraphFuseError("cannot rename \(tmpLib) to \(path)", op: "compile") }
    return (path, false)
  }

  /// Runs a program and returns its status and combined output.
  static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

/// A loaded shared library; `deinit` closes it.
final class SharedLibrary: @unchecked Sendable {
  private let handle: UnsafeMutableRawPointer
  /// The file it was loaded from.
  let path: String

  /// Loads a private copy of the library at `path` so `dlopen` never returns stale code.
  init(path: String) throws(GraphFuseError) {
    // A unique file name per load: dlopen caches by name.
    let copy = "\(path).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).so"
    if link(path, copy) != 0 {
      guard (try? FileManager.default.copyItem(atPath: path, toPath: copy)) != nil else {
        throw GraphFuseError("cannot copy \(path) for loading", op: "load")
      }
    }
    defer { unlink(copy) }
    guard let h = dlopen(copy, RTLD_NOW | RTLD_LOCAL) else {
      throw GraphFuseError("dlopen failed: \(String(cString: dlerror()))", op: "load")
    }
    handle = h
    self.path = path
  }

  /// The address of a symbol.
  func symbol(_ name: String) throws(GraphFuseError) -> UnsafeMutableRawPointer {
    guard let p = dlsym(handle, name) else { throw GraphFuseError("symbol \(name) missing from \(path)", op: "load") }
    return p
  }

  deinit { dlclose(handle) }
}
