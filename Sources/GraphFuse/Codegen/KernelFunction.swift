/// One C kernel function of a model's source: its entry symbol and its text (helpers included).
struct KernelFunction: Equatable, Sendable {
  /// The entry point, `void symbol(float *const *bufs, long task_begin, long task_end)`.
  var symbol: String
  /// The C text: static helpers and tables first, then the entry point.
  var text: String

  /// The function `scheduled` renders to.
  init(_ scheduled: ScheduledFunction) {
    symbol = scheduled.symbol
    text = CEmitter.function(scheduled.nest, symbol: scheduled.symbol)
  }
}
