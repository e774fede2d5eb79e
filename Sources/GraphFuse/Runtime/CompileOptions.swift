import Foundation

/// How to compile a model.
public struct CompileOptions: Sendable {
  /// Threads per run: the caller plus `threads − 1` pool workers (default: all cores).
  public var threads: Int
  /// Portable code: no `-march=native`.
  public var portable: Bool
  /// Where compiled libraries are cached (default `$GRAPHFUSE_CACHE_DIR` or `~/.cache/graphfuse`).
  public var cacheDirectory: String?
  /// How the model's source is split into parts compiled in parallel (tests force several parts).
  var sourceSplit = ModelSource.Split.machine

  /// Creates options.
  public init(threads: Int? = nil, portable: Bool = false, cacheDirectory: String? = nil) {
    self.threads = threads ?? System.coreCount
    self.portable = portable
    self.cacheDirectory = cacheDirectory
  }
}

/// Facts about the machine.
enum System {
  /// Active processor cores.
  static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}
