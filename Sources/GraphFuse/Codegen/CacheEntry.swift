import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The files of one compiled library in the cache, `gf_<key>.{c,so,sum}`: written to temporary
/// names and renamed into place, so a reader sees a whole file or none; the `.sum` file holds the
/// checksums of the library and its source, and a library is loaded only when its bytes match.
enum CacheEntry {
  /// True when `stem.so` exists and its checksum matches the one recorded in `stem.sum`.
  static func verified(_ stem: String) -> Bool {
    guard let recorded = try? String(contentsOfFile: stem + ".sum", encoding: .utf8),
      let library = FileManager.default.contents(atPath: stem + ".so")
    else { return false }
    let fields = recorded.split(whereSeparator: \.isWhitespace)
    return fields.count >= 2 && fields[0] == "fnv1a128" && fields[1] == checksum(library)
  }

  /// A 128-bit FNV-1a checksum of `data` (two 64-bit streams with different seeds), in hex: it
  /// catches truncation and bit flips, not deliberate tampering.
  static func checksum(_ data: Data) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x8422_2325_cbf2_9ce4
    data.withUnsafeBytes { bytes in
      for byte in bytes {
        a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
        b = (b ^ UInt64(byte)) &* 0x100_0000_01b3
      }
    }
    let hex = { (x: UInt64) in String(repeating: "0", count: 16 - String(x, radix: 16).count) + String(x, radix: 16) }
    return hex(a) + hex(b) + String(format: "%08x", data.count & 0xffff_ffff)
  }

  /// Writes `text` to `path` through `temporary` and a rename.
  static func write(_ text: String, to path: String, temporary: String) throws(GraphFuseError) {
    do { try text.write(toFile: temporary, atomically: false, encoding: .utf8) } catch {
      unlink(temporary)
      throw GraphFuseError("cannot write \(temporary): \(error.localizedDescription)", op: "compile")
    }
    guard rename(temporary, path) == 0 else {
      unlink(temporary)
      throw GraphFuseError("cannot rename \(temporary) to \(path)", op: "compile")
    }
  }

  /// Moves a freshly linked library into place as `stem.so`, then records the checksums of it
  /// and of its source in `stem.sum` (a reader that sees the library before its checksum waits
  /// for the compile lock and looks again).
  static func publish(library temporary: String, source: String, stem: String) throws(GraphFuseError) {
    guard let bytes = FileManager.default.contents(atPath: temporary) else {
      throw GraphFuseError("the C compiler wrote no library at \(temporary)", op: "compile")
    }
    guard rename(temporary, stem + ".so") == 0 else {
      throw GraphFuseError("cannot rename \(temporary) to \(stem).so", op: "compile")
    }
    let name = URL(fileURLWithPath: stem).lastPathComponent
    let sums =
      "fnv1a128 \(checksum(bytes)) \(name).so\n"
      + "fnv1a128 \(checksum(Data(source.utf8))) source\n"
    try write(sums, to: stem + ".sum", temporary: stem + ".sum.\(getpid())")
  }

  /// Removes whatever stands at `stem.so`, `stem.sum` or `stem.c` and is not a regular file (a
  /// directory, a link, dangling or not): a compile replaces them, and a rename cannot replace a
  /// directory. Throws one line when one cannot be removed.
  static func removeNonFiles(_ stem: String) throws(GraphFuseError) {
    for path in [stem + ".so", stem + ".sum", stem + ".c"] { try removeIfNotAFile(path) }
  }

  /// Removes `path` when something other than a regular file is there.
  static func removeIfNotAFile(_ path: String) throws(GraphFuseError) {
    var info = stat()
    guard lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG else { return }
    do { try FileManager.default.removeItem(atPath: path) } catch {
      throw GraphFuseError(
        "the cache entry \(path) is not a file and cannot be removed (\(error.localizedDescription)); "
          + "remove it or set GRAPHFUSE_CACHE_DIR", op: "compile")
    }
  }

  /// Takes the exclusive lock at `path` (created if missing), waiting for other processes.
  static func lock(_ path: String) throws(GraphFuseError) -> Int32 {
    try removeIfNotAFile(path)
    let fd = open(path, O_RDWR | O_CREAT, 0o644)
    guard fd >= 0 else {
      throw GraphFuseError("cannot open the cache lock \(path): \(String(cString: strerror(errno)))", op: "compile")
    }
    while flock(fd, LOCK_EX) != 0 {
      guard errno == EINTR else {
        close(fd)
        throw GraphFuseError("cannot lock \(path): \(String(cString: strerror(errno)))", op: "compile")
      }
    }
    return fd
  }

  /// Releases a lock from ``lock(_:)``.
  static func unlock(_ fd: Int32) {
    flock(fd, LOCK_UN)
    close(fd)
  }
}
