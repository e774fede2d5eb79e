import Foundation

/// How to compile a model.
public struct CompileOptions: Sendable {
  /// Threads per run: the caller plus `threads − 1` pool workers (default: all cores).
  /// Must lie in `1...CompileOptions.maxThreads`; ``CompiledModel/compile(_:plan:options:)`` checks.
  public var threads: Int
  /// Portable code: no `-march=native`.
  public var portable: Bool
  /// Where compiled libraries are cached (default `$GRAPHFUSE_CACHE_DIR` or `~/.cache/graphfuse`).
  public var cacheDirectory: String?
  /// How the model's source is split into parts compiled in parallel (tests force several parts).
  var sourceSplit = ModelSource.Split.machine
  /// The most bytes the model may allocate (weights, arena, outputs); nil: available physical
  /// memory or `GRAPHFUSE_MAX_MEMORY`, whichever is smaller (see ``MemoryBudget``).
  public var maxMemory: Int?
  /// Floats per vector of the blocked layouts: 16, 8 (AVX2's width) or 4 (NEON's and SSE's);
  /// nil: `GRAPHFUSE_VECTOR_WIDTH` when set, else the CPU's (16 with AVX-512, else 8). A narrower
  /// width runs anywhere; it exists to build for, and test, narrower CPUs.
  public var vectorWidth: Int?
  /// Whether stride-1 3×3 convs with at least two vectors of channels may run as Winograd
  /// F(2×2, 3×3) or F(4×4, 3×3) (``WinogradConv``): 4/9 or 1/4 of the multiplies, rounding error
  /// of the same order as the direct conv's. Off: every conv runs the direct schedule. Default: on, unless the
  /// environment sets `GRAPHFUSE_WINOGRAD=0` (how the command line turns it off).
  public var winograd = ProcessInfo.processInfo.environment["GRAPHFUSE_WINOGRAD"] != "0"
  /// With ``winograd``: every conv that qualifies runs as Winograd, also where the cost model
  /// estimates the direct conv cheaper (deep channels on small maps). For tests and A/B timing.
  /// Default: off, unless the environment sets `GRAPHFUSE_WINOGRAD=all`.
  public var winogradEverywhere = ProcessInfo.processInfo.environment["GRAPHFUSE_WINOGRAD"] == "all"

  /// The widths a blocked layout may have.
  public static let vectorWidths = [4, 8, 16]

  /// Creates options.
  public init(
    threads: Int? = nil, portable: Bool = false, cacheDirectory: String? = nil, maxMemory: Int? = nil,
    vectorWidth: Int? = nil
  ) {
    self.threads = threads ?? System.coreCount
    self.portable = portable
    self.cacheDirectory = cacheDirectory
    self.maxMemory = maxMemory
    self.vectorWidth = vectorWidth
  }

  /// The machine the scheduler plans for under these options: the vector width (``vectorWidth``,
  /// else the CPU's; 8 for portable code) and the thread count. Read from the CPU flags and the
  /// environment: no compiler is run.
  public var target: ScheduleTarget {
    let width = vectorWidth ?? (try? System.requestedVectorWidth()) ?? (portable ? 8 : System.vectorWidth)
    return target(vectorWidth: width)
  }

  /// The target for `vectorWidth`-float vectors on this machine, with these options' threads and
  /// conv algorithms.
  func target(vectorWidth: Int) -> ScheduleTarget {
    var target = System.target(vectorWidth: vectorWidth, threads: threads)
    target.winograd = winograd
    target.winogradEverywhere = winogradEverywhere
    return target
  }

  /// The vector width to compile for with a toolchain that has (or lacks) AVX-512.
  func vectorWidth(hasAVX512: Bool) throws(GraphFuseError) -> Int {
    if let vectorWidth { return vectorWidth }
    return try System.requestedVectorWidth() ?? (hasAVX512 ? 16 : 8)
  }

  /// The largest thread count accepted: four per core, at least 64.
  public static var maxThreads: Int { max(64, 4 * System.coreCount) }

  /// Throws a one-line error when an option is out of range; called before anything is allocated.
  public func validate() throws(GraphFuseError) {
    guard (1...Self.maxThreads).contains(threads) else {
      throw GraphFuseError(
        "threads must be between 1 and \(Self.maxThreads) (4 per core, at least 64), got \(threads)", op: "compile")
    }
    if let vectorWidth, !Self.vectorWidths.contains(vectorWidth) {
      throw GraphFuseError("the vector width must be 4, 8 or 16 floats, got \(vectorWidth)", op: "compile")
    }
    _ = try System.requestedVectorWidth()
    if let maxMemory, maxMemory <= 0 {
      throw GraphFuseError("maxMemory must be a positive number of bytes, got \(maxMemory)", op: "compile")
    }
  }
}

/// Facts about the machine.
enum System {
  /// Active processor cores.
  static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }

  /// Floats per vector of the blocked layout on this CPU: 16 with AVX-512, else 8.
  static var vectorWidth: Int {
    hasAVX512(cpuInfo) ? 16 : 8
  }

  /// `GRAPHFUSE_VECTOR_WIDTH` (4, 8 or 16) when set; nil when unset or empty. Any other value
  /// is an error, not silently the default.
  static func requestedVectorWidth() throws(GraphFuseError) -> Int? {
    let text = ProcessInfo.processInfo.environment["GRAPHFUSE_VECTOR_WIDTH"] ?? ""
    guard !text.isEmpty else { return nil }
    guard let width = Int(text), CompileOptions.vectorWidths.contains(width) else {
      throw GraphFuseError("GRAPHFUSE_VECTOR_WIDTH must be 4, 8 or 16 (floats per vector), got '\(text)'")
    }
    return width
  }

  /// Bytes of the level-1 data cache of CPU 0, from sysfs (`cache/index*/level`, `type`, `size`);
  /// nil where sysfs does not say.
  static let l1DataBytes: Int? = cacheBytes(level: "1")

  /// Bytes of the level-2 cache of CPU 0 (its own share, as sysfs lists it); nil where sysfs does not say.
  static let l2Bytes: Int? = cacheBytes(level: "2")

  /// The size of CPU 0's data or unified cache at `level`, from sysfs.
  private static func cacheBytes(level wanted: String) -> Int? {
    let base = "/sys/devices/system/cpu/cpu0/cache"
    for index in 0..<8 {
      func read(_ name: String) -> String? {
        (try? String(contentsOfFile: "\(base)/index\(index)/\(name)", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      guard let level = read("level"), let type = read("type"), let size = read("size") else { continue }
      guard level == wanted, type == "Data" || type == "Unified" else { continue }
      let scale = size.hasSuffix("K") ? 1024 : size.hasSuffix("M") ? 1024 * 1024 : 1
      if let value = Int(size.filter(\.isNumber)), value > 0 { return value * scale }
    }
    return nil
  }

  /// The schedule target of this machine: its vector width (unless `portable`), `threads` and
  /// its L1 data and L2 caches.
  static func target(vectorWidth: Int, threads: Int) -> ScheduleTarget {
    var target = ScheduleTarget(vectorWidth: vectorWidth, threads: threads, l1DataBytes: l1DataBytes ?? 32 * 1024)
    if let l2Bytes { target.l2Bytes = l2Bytes }
    return target
  }

  /// `/proc/cpuinfo` (empty where there is none).
  static var cpuInfo: String { (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "" }

  /// True when CPU information text lists AVX-512 Foundation.
  static func hasAVX512(_ cpuinfo: String) -> Bool {
    cpuinfo.contains("avx512f")
  }
}
