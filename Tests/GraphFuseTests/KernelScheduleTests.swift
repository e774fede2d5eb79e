import Testing

@testable import GraphFuse

/// Schedules are data: decided and printed without a compiler.
@Suite struct KernelScheduleTests {
  /// x (plain input) → conv 3×3 + bias + relu → max pool 2×2 → global average pool.
  static func program() throws -> (Graph, FusionPlan, KernelPlan) {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 32, 28, 28])
    let c = try b.relu(try b.conv2d(x, weight: b.constant(Tensor.random(shape: [64, 32, 3, 3], seed: 1)), padding: 1))
    b.output(try b.globalAvgPool(try b.maxPool2d(c, kernel: 2, stride: 2)))
    let optimized = try Pipeline.optimize(try b.finish())
    let program = try Scheduler.schedule(
      optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2, winograd: false)
    return (optimized.graph, optimized.plan, program)
  }

  @Test func eachGroupRecordsItsDecisions() throws {
    let (_, plan, program) = try Self.program()
    #expect(plan.groups.count == 3)
    let conv = program.schedules[0]
    #expect(conv.map(\.kind) == [.toBlocked, .convDense])
    #expect(conv[0].value == "x" && conv[0].inputs == [.plain] && conv[0].output == .blocked(16))
    let kernel = conv[1]
    #expect(kernel.inputs == [.blocked(16), .packed, .packed])
    #expect(kernel.output == .blocked(16))
    #expect(kernel.epilogue == ["relu"])
    #expect(kernel.parallel == [.batch, .channelGroup, .row])
    // 64 channels: two vector groups of 2 × 16 channels, 28 rows each.
    #expect(kernel.tile?.vectors == 2 && kernel.tasks == 2 * 28)
    #expect(program.schedules[1].map(\.kind) == [.pool])
    #expect(program.schedules[2].map(\.kind) == [.globalAveragePool])
    #expect(program.schedules[2][0].output == .plain)
    // Every kernel launched has its schedule, with the symbol it runs as.
    let scheduled = program.schedules.flatMap { $0 }.compactMap(\.symbol)
    #expect(Set(scheduled) == Set(program.steps.map(\.symbol)))
  }

  @Test func schedulesPrintOnOneLine() throws {
    let (_, _, program) = try Self.program()
    let kernel = program.schedules[0][1]
    #expect(
      kernel.description
        == "conv dense · in NCHW16c, packed, packed -> NCHW16c · tile \(kernel.tile!.pixels) px x 2 vectors ("
        + "\(kernel.tile!.reason)) · parallel over batch x output channel vector group x output row: 56 tasks · "
        + "epilogue relu"
    )
    #expect(
      program.schedules[2][0].description.hasPrefix(
        "global average pool · in NCHW16c -> plain · parallel over batch x channel block"))
  }
}

/// The report lists where values change layout.
@Suite struct LayoutReportTests {
  /// An input to a 1×1 conv (which reads blocked input), then a reshape: the input is converted
  /// to blocked; the generic reshape group reads the conv's blocked output in place (no
  /// conversion back).
  @Test func reportListsTheConversions() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 32, 4, 4])
    let c = try b.relu(
      try b.conv2d(x, weight: b.constant(Tensor.random(shape: [32, 32, 1, 1], seed: 2)), name: "conv"))
    b.output(try b.reshape(c, to: [1, 512]))
    let report = try b.finish().optimized().report(model: "m")
    let layouts = try #require(report.layouts)
    #expect(layouts.changes.map(\.from) == ["plain"])
    #expect(layouts.changes.map(\.to) == ["NCHW\(System.vectorWidth)c"])
    #expect(layouts.changes[0].value == "x")
    #expect(report.description.contains("1 layout conversion:"))
    #expect(report.json.contains("\"vector_width\" : \(System.vectorWidth)"))
  }
}
