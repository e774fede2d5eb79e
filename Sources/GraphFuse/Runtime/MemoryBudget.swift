import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The memory a model may use: checked before anything large is allocated, so a plan that does not
/// fit is refused with one line instead of being killed by the kernel or trapping in the allocator.
///
/// The limit is the smallest of: available physical memory (`MemAvailable` in `/proc/meminfo`,
/// else free pages from `sysconf`), what the address-space limit (`RLIMIT_AS`, `ulimit -v`) leaves
/// above the process's current size, what the cgroup's `memory.max` leaves above its
/// `memory.current` (cgroup v1: `memory.limit_in_bytes` and `memory.usage_in_bytes`),
/// `GRAPHFUSE_MAX_MEMORY` (bytes, suffixes K, M, G, T accepted) and ``CompileOptions/maxMemory``.
public enum MemoryBudget {
  /// The environment variable that caps the memory of a plan.
  public static let environmentVariable = "GRAPHFUSE_MAX_MEMORY"

  /// Parses a byte count: digits with an optional binary suffix (`K`, `M`, `G`, `T`, optionally
  /// followed by `B` or `iB`), e.g. `4G`, `512MiB`, `1.5G`, `1000000`. Nil when not a size.
  public static func parse(_ text: String) -> Int? {
    var s = text.trimmingCharacters(in: .whitespaces).uppercased()
    if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
    let scales: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
    var scale = 1.0
    if let last = s.last, let f = scales[last] {
      scale = f
      s.removeLast()
    }
    guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(s), value.isFinite else {
      return nil
    }
    let bytes = value * scale
    guard bytes >= 1, bytes < 9.0e18 else { return nil }
    return Int(bytes)
  }

  /// Available physical memory in bytes, if the system says.
  public static func availablePhysical() -> Int? {
    if let handle = FileHandle(forReadingAtPath: "/proc/meminfo") {
      let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
      try? handle.close()
      for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kb = Int(fields[1]), kb >= 0 {
          return kb.multipliedReportingOverflow(by: 1024).overflow ? Int.max : kb * 1024
        }
      }
    }
    #if canImport(Glibc)
      let pages = sysconf(Int32(_SC_AVPHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
      if pages > 0, size > 0 {
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? Int.max : bytes
      }
    #endif
    return nil
  }

  /// What the address-space limit (`RLIMIT_AS`) leaves above the process's current virtual
  /// size, or nil when there is no such limit.
  public static func addressSpaceHeadroom() -> Int? {
    #if canImport(Glibc)
      var limit = rlimit()
      guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
      let cap = limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
      // /proc/self/statm: the first field is the virtual size in pages.
      let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
      let pages = statm.split(separator: " ").first.flatMap { Int($0) } ?? 0
      let used = pages.multipliedReportingOverflow(by: Int(sysconf(Int32(_SC_PAGESIZE)))).partialValue
      return Swift.max(0, cap - used)
    #else
      return nil
    #endif
  }

  /// What this process's cgroup memory limit leaves above the cgroup's current use, or nil when
  /// there is no limit (v2 `memory.max` of the cgroup in `/proc/self/cgroup`, else v1).
  public static func cgroupHeadroom() -> Int? {
    func read(_ path: String) -> Int? {
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
      return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    var directories: [String] = []
    if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("0::") {
        directories.append("/sys/fs/cgroup" + line.dropFirst(3))
      }
    }
    directories.append("/sys/fs/cgroup")
    for dir in directories {
      // "max" (no limit) does not parse: then no v2 limit here.
      if let max = read(dir + "/memory.max") { return Swift.max(0, max - (read(dir + "/memory.current") ?? 0)) }
    }
    if let max = read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), max < 1 << 60 {
      return Swift.max(0, max - (read("/sys/fs/cgroup/memory/memory.usage_in_bytes") ?? 0))
    }
    return nil
  }

  /// The byte limit and what sets it, or an error when `GRAPHFUSE_MAX_MEMORY` is not a size.
  static func limit(option: Int?) throws(GraphFuseError) -> (bytes: Int, source: String) {
    var best: (bytes: Int, source: String) = (Int.max, "")
    if let physical = availablePhysical() { best = (physical, "available physical memory") }
    if let headroom = addressSpaceHeadroom(), headroom < best.bytes {
      best = (headroom, "the address-space limit (RLIMIT_AS, ulimit -v) left to this process")
    }
    if let headroom = cgroupHeadroom(), headroom < best.bytes {
      best = (headroom, "the cgroup memory limit (memory.max) left to this process")
    }
    if let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty {
      guard let bytes = parse(text) else {
        throw GraphFuseError("\(environmentVariable)='\(text)' is not a size (bytes, or a number with K, M, G or T)")
      }
      if bytes < best.bytes { best = (bytes, environmentVariable) }
    }
    if let option {
      guard option > 0 else { throw GraphFuseError("maxMemory must be positive, got \(option)") }
      if option < best.bytes { best = (option, "the maxMemory option") }
    }
    return best
  }

  /// Throws one line naming the size when `bytes` (made of the named `parts`) exceed the limit.
  static func check(_ what: String, parts: [(String, Int)], option: Int?) throws(GraphFuseError) {
    let total = sum(parts.map(\.1))
    let (limit, source) = try limit(option: option)
    guard total > limit else { return }
    let detail = parts.filter { $0.1 > 0 }.map { "\($0.0) \(format($0.1))" }.joined(separator: ", ")
    throw GraphFuseError("\(what) needs \(format(total)) (\(detail)), more than the \(format(limit)) of \(source)")
  }

  /// The sum of byte counts, saturating at `Int.max` instead of overflowing.
  static func sum(_ bytes: [Int]) -> Int {
    var total = 0
    for b in bytes {
      let (s, overflow) = total.addingReportingOverflow(b)
      if overflow { return Int.max }
      total = s
    }
    return total
  }

  /// Bytes of `count` floats, saturating instead of overflowing.
  static func floatBytes(_ count: Int) -> Int {
    let (b, overflow) = count.multipliedReportingOverflow(by: 4)
    return overflow || count < 0 ? Int.max : b
  }

  /// Bytes of a float tensor of `shape`, saturating instead of overflowing.
  static func floatBytes(shape: [Int]) -> Int {
    var n = 1
    for d in shape {
      let (p, overflow) = n.multipliedReportingOverflow(by: Swift.max(d, 0))
      if overflow { return Int.max }
      n = p
    }
    return floatBytes(n)
  }

  /// A size for people: `8.6 GB`, `512 MB`, `96 B` (decimal units).
  static func format(_ bytes: Int) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")]
    for (scale, unit) in units where Double(bytes) >= scale {
      return String(format: "%.1f %@", Double(bytes) / scale, unit)
    }
    return "\(bytes) B"
  }

  /// Allocates `bytes` aligned to 64, or throws instead of trapping when the system refuses.
  static func allocate(bytes: Int, what: String) throws(GraphFuseError) -> UnsafeMutableRawPointer {
    var p: UnsafeMutableRawPointer? = nil
    let size = Swift.max(bytes, 64)
    // Large buffers (weights, the arena) start on a 2 MiB boundary and ask for transparent huge
    // pages: one page fault per 2 MiB instead of per 4 KiB when they are first written (a cached
    // ResNet-50 load writes 100 MB of weights), and fewer TLB misses while kernels stream them.
    let huge = size >= Self.hugePageThreshold
    guard posix_memalign(&p, huge ? Self.hugePage : 64, size) == 0, let p else {
      throw GraphFuseError("cannot allocate \(format(size)) for \(what)")
    }
    #if os(Linux)
      if huge { _ = madvise(p, size, MADV_HUGEPAGE) }  // advice only: ignored where THP is off
    #endif
    return p
  }

  /// The transparent huge page size on x86-64 and arm64 Linux.
  static let hugePage = 2 << 20
  /// Buffers from this size on are huge-page aligned (at most a page of alignment per buffer, so
  /// only buffers several pages long).
  static let hugePageThreshold = 8 << 20
}
