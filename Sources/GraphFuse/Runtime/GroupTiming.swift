/// The measured time of one fused group of a compiled model.
public struct GroupTiming: Sendable, Equatable {
  /// The group's name from the plan.
  public var name: String
  /// Its index in the plan.
  public var group: GroupID
  /// Median seconds per inference (including any layout change it needs).
  public var seconds: Double

  /// Creates a timing.
  public init(name: String, group: GroupID, seconds: Double) {
    self.name = name
    self.group = group
    self.seconds = seconds
  }
}
