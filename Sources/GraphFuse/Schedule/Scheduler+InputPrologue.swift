/// An elementwise stage `y = f(x)` (f per channel: a batch norm that cannot fold backward as a
/// scale-shift, then relu, in DenseNet) that fusion folded (``InputFold/inputPrologue(x:nodes:)``):
/// every 1×1 conv reading `y` applies `f` to its input tile as it loads it
/// (``BlockedConv/prologueNest``) and reads `x`.
struct InputPrologue {
  /// The blocked activation `[N, C, H, W]` the convs read.
  var x: ValueID
  /// `f` as an epilogue expression: its one full-tensor operand is `x`, the others are per
  /// channel or scalar.
  var function: Epilogue
  /// The IR op names of `f`, in order (for the schedule).
  var ops: [String]
}
