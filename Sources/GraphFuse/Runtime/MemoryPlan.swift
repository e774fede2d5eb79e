/// Offsets of arena buffers chosen by liveness: buffers whose step ranges do not overlap share
/// memory. Greedy best-fit by decreasing size, offsets aligned to 64 bytes. A buffer that is a
/// view into another (`BufferPlan.view`) gets no memory of its own: its live range is added to
/// its root buffer's, and its offset is the root's plus the view's.
struct MemoryPlan {
  /// Offset in floats of each buffer in the arena (nil for constants).
  var offsets: [Int?]
  /// Arena size in floats.
  var size: Int

  init(_ program: KernelPlan) {
    let n = program.buffers.count
    var first = [Int](repeating: Int.max, count: n), last = [Int](repeating: -1, count: n)
    for (s, step) in program.steps.enumerated() {
      for b in step.buffers.map(\.index) {
        first[b] = min(first[b], s)
        last[b] = max(last[b], s)
      }
    }
    for b in program.inputBuffers.map(\.index) { first[b] = -1; last[b] = max(last[b], -1) }
    if let b = program.status?.index { first[b] = -1; last[b] = program.steps.count }
    for b in program.outputBuffers.map(\.index) {
      last[b] = program.steps.count; first[b] = min(first[b], program.steps.count)
    }
    // Views: the root buffer and the offset in it, following views of views (nested concats).
    let roots: [(root: Int, offset: Int)] = (0..<n).map { b in
      var (root, offset) = (b, 0)
      while let view = program.buffers[root].view { (root, offset) = (view.base.index, offset + view.offset) }
      return (root, offset)
    }
    for b in 0..<n where roots[b].root != b && last[b] >= first[b] {
      first[roots[b].root] = min(first[roots[b].root], first[b])
      last[roots[b].root] = max(last[roots[b].root], last[b])
    }
    let arena = (0..<n).filter {
      program.buffers[$0].storage == .arena && roots[$0].root == $0 && last[$0] >= first[$0]
    }
    let order = arena.sorted { program.buffers[$0].count > program.buffers[$1].count }
    var placed: [(offset: Int, end: Int, first: Int, last: Int)] = []
    var offsets = [Int?](repeating: nil, count: n)
    var size = 0
    for b in order {
      let count = (program.buffers[b].count + 15) / 16 * 16
      let conflicts = placed.filter { $0.first <= last[b] && first[b] <= $0.last }.sorted { $0.offset < $1.offset }
      var offset = 0
      for c in conflicts where offset + count > c.offset {
        offset = max(offset, c.end)
      }
      placed.append((offset, offset + count, first[b], last[b]))
      offsets[b] = offset
      size = max(size, offset + count)
    }
    for b in 0..<n where roots[b].root != b {
      offsets[b] = offsets[roots[b].root].map { $0 + roots[b].offset }
    }
    self.offsets = offsets
    self.size = size
  }
}
