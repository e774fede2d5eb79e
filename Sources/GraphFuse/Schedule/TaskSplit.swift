/// How the conv kernels split small feature maps into tasks so every thread gets the same work.
///
/// Tasks are handed out dynamically in chunks (`gf_parallel`), so a kernel with many tasks per
/// thread balances itself; one with few leaves a thread idle while another finishes the last task
/// (25 equal tasks on 2 threads: 13 against 12, 4 % of the kernel lost; 7 tasks: 14 %). On small
/// maps (7×7, 14×14) the flat-pixel conv has few tasks: output channel vector groups × pixel tiles.
/// See "Small maps and thread splitting" in Docs/Scheduling.md.
enum TaskSplit {
  /// Tasks per thread from which the last, unevenly shared task costs under about 3 % of the kernel.
  static let enoughPerThread = 16

  /// The tile limit for `width` items split evenly into tiles of at most `maxTile`, with `outer`
  /// independent tasks per tile (images × channel groups): `maxTile` when the tasks are many or
  /// already a multiple of `threads`; otherwise the largest limit down to ¾ of `maxTile` whose
  /// tile count makes them a multiple of `threads` (tiles a little smaller, every thread busy to
  /// the end); `maxTile` when none does.
  static func tileLimit(_ width: Int, maxTile: Int, outer: Int, threads: Int) -> Int {
    func tasks(_ limit: Int) -> Int { outer * Tiling.evenSplit(width, maxTile: limit).count }
    guard threads > 1, width > 0, maxTile > 1 else { return maxTile }
    let plain = tasks(maxTile)
    guard plain < enoughPerThread * threads, plain % threads != 0 else { return maxTile }
    let smallest = max(1, (3 * maxTile + 3) / 4)
    return stride(from: maxTile - 1, through: smallest, by: -1).first { tasks($0) % threads == 0 } ?? maxTile
  }

  /// How many chunks to split `groups` output channel groups into, given `tiles` pixel-tile tasks:
  /// one while the tiles alone give every thread two tasks, else the smallest divisor of `groups`
  /// that does (all of them when none does).
  static func chunks(_ groups: Int, tiles: Int, threads: Int) -> Int {
    (1...max(1, groups)).first { groups % $0 == 0 && tiles * $0 >= 2 * threads } ?? max(1, groups)
  }
}
