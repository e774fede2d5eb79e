import Foundation
import GraphFuse

/// `GraphFuseBench soak zoo:NAME [tasks] [calls] [inputs]`: `CompiledModel.run` from many Swift
/// tasks at once, every output compared bit for bit with a one-at-a-time run of the same input,
/// and the resident memory after warm-up against the end (the C library's twin is `bench/soak/soak.c`).
enum Soak {
  /// Resident memory in KB, from `/proc/self/statm` (-1 where there is none).
  static func residentKB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
  }

  /// Runs `calls` calls spread over `tasks` tasks, input `(task · 7 + i) mod inputs` each; returns
  /// the mismatching outputs.
  static func round(_ model: CompiledModel, _ inputs: [[Tensor]], _ expected: [[Tensor]], tasks: Int, calls: Int)
    async throws -> Int
  {
    try await withThrowingTaskGroup(of: Int.self) { group in
      for t in 0..<tasks {
        group.addTask {
          var bad = 0
          for i in 0..<(calls / tasks) {
            let s = (t * 7 + i) % inputs.count
            let outputs = try model.run(inputs[s])
            bad += zip(outputs, expected[s]).filter { $0.data != $1.data }.count
          }
          return bad
        }
      }
      return try await group.reduce(0, +)
    }
  }

  static func run(_ args: [String]) async throws {
    let name = args.count > 2 ? String(args[2].replacingOccurrences(of: "zoo:", with: "")) : "tiny"
    let tasks = int(args, 3, 8), calls = int(args, 4, 10_000), distinct = int(args, 5, 16)
    let optimized = try ModelZoo.build(name).optimized()
    let graph = optimized.graph
    let model = try CompiledModel.compile(graph, plan: optimized.plan, options: CompileOptions(threads: cores))
    let inputs = (0..<distinct).map { s in
      graph.inputs.map { Tensor.random(shape: graph.shape(of: $0), seed: UInt64(100 + s)) }
    }
    let expected = try inputs.map { try model.run($0) }
    // Warm-up: a whole round, so every arena the most concurrent calls need exists.
    var mismatches = try await round(model, inputs, expected, tasks: tasks, calls: calls)
    let warm = residentKB()
    let start = DispatchTime.now().uptimeNanoseconds
    mismatches += try await round(model, inputs, expected, tasks: tasks, calls: calls)
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    let end = residentKB()
    print(
      String(
        format: "zoo:%@: %d calls from %d tasks on %d distinct inputs in %.2f s: %d mismatches; RSS %d KB after"
          + " warm-up, %d KB at the end (%+.2f%%)", name, calls / tasks * tasks, tasks, distinct, elapsed, mismatches,
        warm, end, warm > 0 ? 100 * Double(end - warm) / Double(warm) : 0))
    if mismatches > 0 { exit(1) }
  }
}
