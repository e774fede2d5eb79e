/// The measured time of one fused group of a compiled model.
public struct GroupTiming: Sendable, Equatable {
  /// The group's name from the plan.
  public var name: String
  /// Its index in the plan.
  public var group: Int
  /// Median seconds per inference (including any layout change it needs).
  public var seconds: Double

  /// Creates a timing.
  public init(name: String, group: Int, seconds: Double) {
    self.name = name
    self.group = group
    self.seconds = seconds
  }
}

/// How to compile a model.
public struct CompileOptions: Sendable {
  /// Threads per run: the caller plus `threads − 1` pool workers (default: all cores).
  public var threads: Int
  /// Portable code: no `-march=native`.
  public var portable: Bool
  /// Where compiled libraries are cached (default `$GRAPHFUSE_CACHE_DIR` or `~/.cache/graphfuse`).
  public var cacheDirectory: String?

  /// Creates options.
  public init(threads: Int? = nil, portable: Bool = false, cacheDirectory: String? = nil) {
    self.threads = threads ?? System.coreCount
    self.portable = portable
    self.cacheDirectory = cacheDirectory
  }
}

import Foundation

/// Facts about the machine.
enum System {
  /// Active processor cores.
  static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}
