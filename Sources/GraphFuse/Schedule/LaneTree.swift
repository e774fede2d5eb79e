/// A vector reduced across its lanes in log₂(width) steps: the vector ⊕= itself rotated by
/// width/2, then width/4, …, 1 lanes, after which lane 0 (and every lane) holds the whole
/// reduction. Each step is one shuffle and one vector operation: 8 operations for 16 lanes, with
/// a dependent chain of 4 steps, where adding the lanes one by one takes 15 shuffles and 16
/// dependent scalar operations (what clang makes of a loop over the lanes).
enum LaneTree {
  /// The steps that reduce the vector local `name` by `op` in place.
  static func reduce(_ name: String, _ op: Accumulate, width: Int) -> [Stmt] {
    var steps: [Stmt] = []
    var h = width / 2
    while h >= 1 {
      let rotation = (0..<width).map { ($0 + h) % width }
      steps.append(.accumulate(name, op, .shuffle(.local(name), .local(name), rotation)))
      h /= 2
    }
    return steps
  }
}
