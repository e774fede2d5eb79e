/// Offsets of arena buffers chosen by liveness: buffers whose step ranges do not overlap share
/// memory. Greedy best-fit by decreasing size, offsets aligned to 64 bytes.
struct MemoryPlan {
  /// Offset in floats of each buffer in the arena (nil for constants).
  var offsets: [Int?]
  /// Arena size in floats.
  var size: Int

  init(_ program: ModelProgram) {
    let n = program.buffers.count
    var first = [Int](repeating: Int.max, count: n), last = [Int](repeating: -1, count: n)
    for (s, step) in program.steps.enumerated() {
      for b in step.buffers {
        first[b] = min(first[b], s)
        last[b] = max(last[b], s)
      }
    }
    for b in program.inputBuffers { first[b] = -1; last[b] = max(last[b], -1) }
    for b in program.outputBuffers { last[b] = program.steps.count; first[b] = min(first[b], program.steps.count) }
    let arena = (0..<n).filter { program.buffers[$0].storage == .arena && last[$0] >= first[$0] }
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
    self.offsets = offsets
    self.size = size
  }
}
