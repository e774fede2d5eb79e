/// One C kernel function of a model's source: its entry symbol and its text (helpers included).
struct KernelFunction: Equatable, Sendable {
  /// The entry point, `void symbol(float *const *bufs, long task_begin, long task_end)`.
  var symbol: String
  /// The C text: static helpers and tables first, then the entry point.
  var text: String
  /// The loop nest the text was rendered from (every kernel is rendered from one).
  var nest: LoopNest

  /// `text` with every occurrence of the identifier `symbol` (not a longer identifier that starts
  /// with it, such as `gf_k1` in `gf_k12`) replaced by a marker: two kernels with equal blanked
  /// texts compute the same thing.
  static func blanking(_ symbol: String, in text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    var rest = text[...]
    while let range = rest.range(of: symbol) {
      result += rest[..<range.lowerBound]
      let next = rest[range.upperBound...].first
      if let next, next.isNumber {
        result += rest[range]
      } else {
        result += "\u{1}"
      }
      rest = rest[range.upperBound...]
    }
    result += rest
    return result
  }
}
