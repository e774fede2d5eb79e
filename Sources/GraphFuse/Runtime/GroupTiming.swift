/// The measured time of one fused group of a compiled model.
public struct GroupTiming: Sendable, Equatable {
  /// The group's name from the plan.
  public var name: String
  /// Its index in the plan.
  public var group: GroupID
  /// Median seconds per inference (including any layout change it needs).
  public var seconds: Double
  /// Seconds of its fastest run: on a shared machine the median can fall in a busy spell, the
  /// fastest run shows what the kernel does when it has the cores.
  public var bestSeconds: Double

  /// Creates a timing; `bestSeconds` defaults to `seconds`.
  public init(name: String, group: GroupID, seconds: Double, bestSeconds: Double? = nil) {
    self.name = name
    self.group = group
    self.seconds = seconds
    self.bestSeconds = bestSeconds ?? seconds
  }
}
