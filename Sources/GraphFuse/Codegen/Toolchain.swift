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
  /// Flags for linking objects into a library for `dlopen`.
  var linkFlags: [String] { ["-shared", "-pthread"] }
  /// The CPU model and feature flags, part of the cache key.
  let cpu: String
  /// True when the target has AVX-512 (16-float vectors).
  let hasAVX512: Bool
  /// Where compiled libraries live.
  let cacheDirectory: String
  /// Seconds one compiler run may take before it is stopped (`$GRAPHFUSE_COMPILE_TIMEOUT`).
  var compileTimeout = Subprocess.compileTimeout

  /// Finds clang: `$CC`, then the clang next to the running Swift toolchain, then `PATH`.
  static func find(portable: Bool, cacheDirectory: String?) throws(GraphFuseError) -> Toolchain {
    let env = ProcessInfo.processInfo.environment
    var candidates: [String] = []
    if let cc = env["CC"], !cc.isEmpty { candidates.append(cc) }
    if let toolchain = swiftToolchainBin() { candidates.append(toolchain + "/clang") }
    for dir in (env["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/clang") }
    candidates.append("/opt/swift/usr/bin/clang")
    guard let compiler = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
      throw GraphFuseError(
        "no C compiler found; searched $CC, \(candidates.joined(separator: ", ")); set CC to a clang executable",
        op: "compile")
    }
    let probe = try? Subprocess.output([compiler, "--version"], timeout: min(60, Subprocess.compileTimeout))
    guard let probe, probe.0 == .exited(0) else {
      throw GraphFuseError(
        "the C compiler \(compiler) does not answer --version; set CC to a working clang", op: "compile")
    }
    let version = probe.1
    let cpuinfo = System.cpuInfo
    let cpuLines = cpuinfo.split(separator: "\n").filter { $0.hasPrefix("model name") || $0.hasPrefix("flags") }.prefix(
      2)
    let cpu = cpuLines.joined(separator: "\n")
    let avx512 = !portable && System.hasAVX512(cpu)
    var flags = [
      "-O3",  // full optimization: unrolling, vectorization of the generated loops
      "-ffp-contract=fast",  // fuse a*b+c into one FMA
      "-fPIC",  // position-independent code for a shared library loaded with dlopen
      "-fno-math-errno",  // lets sqrtf/fmaxf become instructions
      "-std=gnu11",  // vector extensions and statement expressions
      "-w",  // generated code: warnings are noise
    ]
    if !portable { flags.append("-march=native") }  // every instruction this CPU has (AVX-512, FMA)
    if avx512 { flags.append("-mprefer-vector-width=512") }  // keep 16-float vectors whole (96 → 182 GFLOP/s/core)
    let dir = cacheDirectory ?? env["GRAPHFUSE_CACHE_DIR"] ?? (NSHomeDirectory() + "/.cache/graphfuse")
    return Toolchain(
      compiler: compiler, version: version, flags: flags, cpu: cpu, hasAVX512: avx512, cacheDirectory: dir)
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
    let usr = library.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    return usr.appendingPathComponent("bin").path
  }

  /// The cache key: source, flags, compiler version and CPU.
  func key(_ source: String) -> String {
    var h = FNV1a()
    h.add(source)
    h.add(flags.joined(separator: " "))
    h.add(version)
    h.add(cpu)
    var h2 = FNV1a(value: 0x8422_2325_cbf2_9ce4)
    h2.add(source + cpu + version)
    return h.hex + h2.hex
  }

  /// The path of a compiled library for `source`, compiling it when not cached.
  /// Returns the path and whether it came from the cache.
  func library(for source: String) throws(GraphFuseError) -> (path: String, cached: Bool) {
    try library(for: ModelSource(text: source))
  }

  /// The path of the compiled library of `source`, compiled (its parts in parallel) unless the
  /// cache holds it. The cache keeps `gf_<key>.c` (the source), `gf_<key>.so` and `gf_<key>.sum`
  /// (checksums of both); a library whose checksum does not match is compiled again. Compiles of
  /// one key are serialized across processes by a lock file; files are published by rename.
  func library(for source: ModelSource) throws(GraphFuseError) -> (path: String, cached: Bool) {
    let stem = "\(cacheDirectory)/gf_\(key(source.text))"
    let path = stem + ".so"
    if CacheEntry.verified(stem) { return (path, true) }
    do {
      try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
    } catch {
      throw GraphFuseError(
        "cannot create cache directory \(cacheDirectory): \(error.localizedDescription)", op: "compile")
    }
    let lock = try CacheEntry.lock(stem + ".lock")
    defer { CacheEntry.unlock(lock) }
    // Another process may have compiled it while this one waited for the lock.
    if CacheEntry.verified(stem) { return (path, true) }
    if FileManager.default.fileExists(atPath: path) {
      FileHandle.standardError.write(
        Data("graphfuse: cached library \(path) failed its checksum; compiling it again\n".utf8))
    }
    // A directory or a link where a file of the entry belongs would make every rename fail.
    try CacheEntry.removeNonFiles(stem)
    try compile(source, stem: stem)
    return (path, false)
  }

  /// Compiles `source` to `stem.so` (parts in parallel, then one link) and publishes it with its
  /// source and checksums.
  private func compile(_ source: ModelSource, stem: String) throws(GraphFuseError) {
    let unique = "\(getpid())_\(UInt64.random(in: 0...UInt64.max))"
    let temporary = "\(stem)_\(unique)"
    let log = stem + ".log"
    unlink(log)
    try CacheEntry.write(source.text, to: stem + ".c", temporary: temporary + ".c")
    var objects: [String] = []
    defer {
      for o in objects { unlink(o) }
      unlink(temporary + ".so")
    }
    let timeout = compileTimeout
    if source.parts == 1 {
      try check(
        Subprocess.run(
          [[compiler] + flags + linkFlags + ["-o", temporary + ".so", stem + ".c", "-lm"]], log: log, timeout: timeout),
        log: log)
    } else {
      var commands: [[String]] = []
      for part in 0..<source.parts {
        objects.append("\(temporary)_\(part).o")
        commands.append([compiler] + flags + ["-DGF_PART=\(part)", "-c", "-o", objects[part], stem + ".c"])
      }
      try check(Subprocess.run(commands, log: log, timeout: timeout), log: log)
      try check(
        Subprocess.run(
          [[compiler] + linkFlags + ["-o", temporary + ".so"] + objects + ["-lm"]], log: log, timeout: timeout),
        log: log)
    }
    try CacheEntry.publish(library: temporary + ".so", source: source.text, stem: stem)
    unlink(log)
  }

  /// Throws one line for the first compiler run that did not succeed, naming the log.
  private func check(_ outcomes: [Subprocess.Outcome], log: String) throws(GraphFuseError) {
    for outcome in outcomes {
      let what: String
      switch outcome {
      case .exited(0): continue
      case .exited(let status): what = "failed with status \(status)"
      case .signaled(let signal): what = "was killed by signal \(signal)"
      case .timedOut:
        what =
          "did not finish within \(String(format: "%g", compileTimeout)) s (GRAPHFUSE_COMPILE_TIMEOUT) and was stopped"
      }
      let text = String(decoding: (FileManager.default.contents(atPath: log) ?? Data()).prefix(4096), as: UTF8.self)
      let first = text.split(separator: "\n").first { $0.contains("error") } ?? text.split(separator: "\n").first ?? ""
      // The log's path first, then the compiler's first error (`line L:C: error: …`, the source
      // being the log's neighbour): a line cut to fit the error's length loses only its end.
      let source = String(log.dropLast(4)) + ".c:"
      let line = first.replacingOccurrences(of: source, with: "line ")
      let detail = line.isEmpty ? "" : ": \(line.prefix(160))"
      throw GraphFuseError("the C compiler \(what) (output in \(log))\(detail)", op: "compile")
    }
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
