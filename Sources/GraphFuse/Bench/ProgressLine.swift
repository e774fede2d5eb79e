import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A one-line progress indicator on stderr: redrawn in place on a terminal, plain lines otherwise.
///
/// ```swift
/// let progress = ProgressLine()
/// progress.update("compiling fused (23 groups)…")
/// progress.update("timing fused 12/50")
/// progress.finish()
/// ```
///
/// On a terminal (`isatty(2)`) every update rewrites the line with `\r` and the clear-line
/// escape, cut to the terminal width so it never wraps. Elsewhere (CI logs, files) each
/// message becomes one line with the elapsed time. Updates that only change a counter
/// (`timing fused 12/50`) are drawn at most 10 times a second, printed at most once a second.
public final class ProgressLine: @unchecked Sendable {
  /// Whether updates redraw one line in place.
  public let isTerminal: Bool
  private let write: (String) -> Void
  private let width: Int
  private let start: UInt64
  private let lock = NSLock()
  private var drawn = false
  private var lastKey = ""
  private var lastTime: UInt64 = 0

  /// Progress on stderr; a terminal is detected with `isatty(2)`.
  public convenience init() {
    self.init(isTerminal: isatty(2) != 0, width: ProgressLine.terminalColumns(), write: writeToStandardError)
  }

  /// Progress written through `write` (tests pass a closure that records the text).
  public init(isTerminal: Bool, width: Int = 100, write: @escaping (String) -> Void) {
    self.isTerminal = isTerminal
    self.width = max(20, width)
    self.write = write
    self.start = Timing.now()
  }

  /// Shows `message` as the current state.
  public func update(_ message: String) {
    lock.withLock {
      let now = Timing.now()
      // Messages that differ only in digits are counters: redraw them at most 10 times a
      // second on a terminal, print them at most once a second elsewhere.
      let key = String(message.filter { !$0.isNumber })
      let interval: UInt64 = isTerminal ? 100_000_000 : 1_000_000_000
      if key == lastKey, now &- lastTime < interval { return }
      lastKey = key
      lastTime = now
      let line = "[\(elapsed(now))] \(message)"
      if isTerminal {
        write("\r\u{1B}[2K" + String(line.prefix(width - 1)))
        drawn = true
      } else {
        write(line + "\n")
      }
    }
  }

  /// Clears the line (terminal) and prints `message`, if any, as a final plain line.
  public func finish(_ message: String? = nil) {
    lock.withLock {
      if isTerminal, drawn { write("\r\u{1B}[2K") }
      drawn = false
      if let message { write("[\(elapsed(Timing.now()))] \(message)\n") }
    }
  }

  /// Seconds since creation: `12.3s`.
  private func elapsed(_ now: UInt64) -> String {
    let seconds = Double(now &- start) / 1e9
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)s"
  }

  /// `$COLUMNS`, or 100.
  static func terminalColumns() -> Int {
    if let text = getenv("COLUMNS"), let n = Int(String(cString: text)), n > 0 { return n }
    return 100
  }
}

/// Writes `text` to file descriptor 2 unbuffered, so it interleaves correctly with other stderr output.
private func writeToStandardError(_ text: String) {
  var text = text
  text.withUTF8 { buffer in
    guard let base = buffer.baseAddress else { return }
    var offset = 0
    while offset < buffer.count {
      let n = write(2, base + offset, buffer.count - offset)
      if n <= 0 { break }
      offset += n
    }
  }
}
