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

  /// Creates options.
  public init(threads: Int? = nil, portable: Bool = false, cacheDirectory: String? = nil, maxMemory: Int? = nil) {
    self.threads = threads ?? System.coreCount
    self.portable = portable
    self.cacheDirectory = cacheDirectory
    self.maxMemory = maxMemory
  }

  /// The machine the scheduler plans for under these options: this CPU's vector width (8 for
  /// portable code) and the thread count. Read from the CPU flags: no compiler is run.
  public var target: ScheduleTarget {
    System.target(vectorWidth: portable ? 8 : System.vectorWidth, threads: threads)
  }

  /// The largest thread count accepted: four per core, at least 64.
  public static var maxThreads: Int { max(64, 4 * System.coreCount) }

  /// Throws a one-line error when an option is out of range; called before anything is allocated.
  public func validate() throws(GraphFuseError) {
    guard (1...Self.maxThreads).contains(threads) else {
      throw GraphFuseError(
        "threads must be between 1 and \(Self.maxThreads) (4 per core, at least 64), got \(threads)", op: "compile")
    }
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

  /// Bytes of the level-1 data cache of CPU 0, from sysfs (`cache/index*/level`, `type`, `size`);
  /// nil where sysfs does not say.
  static let l1DataBytes: Int? = {
    let base = "/sys/devices/system/cpu/cpu0/cache"
    for index in 0..<8 {
      func read(_ name: String) -> String? {
        (try? String(contentsOfFile: "\(base)/index\(index)/\(name)", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      guard let level = read("level"), let type = read("type"), let size = read("size") else { continue }
      guard level == "1", type == "Data" || type == "Unified" else { continue }
      let scale = size.hasSuffix("K") ? 1024 : size.hasSuffix("M") ? 1024 * 1024 : 1
      if let value = Int(size.filter(\.isNumber)), value > 0 { return value * scale }
    }
    return nil
  }()

  /// The schedule target of this machine: its vector width (unless `portable`), `threads` and
  /// its L1 data cache.
  static func target(vectorWidth: Int, threads: Int) -> ScheduleTarget {
    ScheduleTarget(vectorWidth: vectorWidth, threads: threads, l1DataBytes: l1DataBytes ?? 32 * 1024)
  }

  /// `/proc/cpuinfo` (empty where there is none).
  static var cpuInfo: String { (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "" }

  /// True when CPU information text lists AVX-512 Foundation.
  static func hasAVX512(_ cpuinfo: String) -> Bool {
    cpuinfo.contains("avx512f")
  }
}
