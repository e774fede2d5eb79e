import Foundation
import Testing

@testable import GraphFuse

/// Fusion owns every fusion decision (the folds into reading convs, a conv chain as one kernel or
/// its stages): the plan records them, `report` shows them, and the scheduler carries them out
/// without deciding again — a plan edited by hand is followed as it stands.
@Suite struct FusionDecisionTests {
  typealias T = CompiledTesting

  /// The plan's folds, by kind, and the groups whose schedule folds them.
  static func folds(_ plan: FusionPlan) -> (scales: [Int], prologues: [Int]) {
    var scales: [Int] = [], prologues: [Int] = []
    for (g, group) in plan.groups.enumerated() {
      switch group.fold {
      case .channelScale: scales.append(g)
      case .inputPrologue: prologues.append(g)
      case nil: break
      }
    }
    return (scales, prologues)
  }

  static func scheduled(_ program: KernelPlan, _ kind: KernelSchedule.Kind) -> [Int] {
    program.schedules.indices.filter { g in program.schedules[g].contains { $0.kind == kind } }
  }

  @Test func squeezeExcitationFoldIsOnThePlanAndInTheReport() throws {
    let graph = try SqueezeExcitationTests.graph(SqueezeExcitationTests.blocks[0], seed: 1)
    let optimized = try graph.optimized()
    let (scales, prologues) = Self.folds(optimized.plan)
    #expect(scales.count == 1 && prologues.isEmpty, "\(optimized.plan.groups.map(\.name))")
    let group = optimized.plan.groups[scales[0]]
    guard case .channelScale(let x, let scale) = group.fold else {
      Issue.record("not a channel-scale fold: \(String(describing: group.fold))")
      return
    }
    let mul = optimized.graph.nodes[group.anchor]
    #expect(mul.op == "mul" && Set(mul.inputs) == [x, scale])
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(Self.scheduled(program, .scaleFolded) == scales)
    let report = optimized.report(model: "se")
    #expect(report.groups[scales[0]].fold?.contains("folded into the weights") == true)
    #expect(report.description.contains("folded into the convs that read them (no kernel of their own): 1"))
    #expect(report.json.contains("\"fold\""))
  }

  @Test func denseProloguesAreOnThePlan() throws {
    let graph = try DenseBlockTests.denseBlock(channels: 32, growth: 16, layers: 2, height: 8, width: 8)
    let optimized = try graph.optimized()
    let plan = optimized.plan
    let (scales, prologues) = Self.folds(plan)
    // Each layer's and the transition's concat → batch norm → relu: the concat runs, the rest folds.
    #expect(scales.isEmpty && prologues.count == 3, "\(plan.groups.map(\.name))")
    for g in prologues {
      guard case .inputPrologue(let x, let nodes) = plan.groups[g].fold else {
        Issue.record("not an input prologue: \(String(describing: plan.groups[g].fold))")
        continue
      }
      let ops = nodes.map { optimized.graph.nodes[$0].op }
      #expect(ops == ["scale_shift", "relu"], "\(ops)")
      #expect(optimized.graph.producer(of: x).map { optimized.graph.nodes[$0].op } == "concat")
    }
    let program = try Scheduler.schedule(optimized.graph, plan: plan, vectorWidth: 16, threads: 2)
    #expect(Self.scheduled(program, .prologueFolded) == prologues)
  }

  /// With the fold taken off the plan, the multiply runs as a kernel: the scheduler does not fold
  /// on its own. The result is the same either way.
  @Test func schedulerFollowsAPlanWithoutFolds() throws {
    let graph = try SqueezeExcitationTests.graph(SqueezeExcitationTests.blocks[0], seed: 1)
    let optimized = try graph.optimized()
    var plan = optimized.plan
    for g in plan.groups.indices { plan.groups[g].fold = nil }
    let program = try Scheduler.schedule(optimized.graph, plan: plan, vectorWidth: 16, threads: 2)
    #expect(Self.scheduled(program, .scaleFolded).isEmpty)
    #expect(!program.schedules.joined().contains { $0.kind == .scaleWeights })
    let input = Tensor.random(shape: graph.shape(of: graph.inputs[0]), seed: 3)
    let expected = try ReferenceExecutor.run(graph, inputs: [input])[0]
    let model = try CompiledModel.compile(optimized.graph, plan: plan, options: T.options)
    #expect(try model.run([input])[0].compared(to: expected).isWithin(relative: 1e-4))
  }

  /// A chain the plan marks as stages runs as its stages even where one kernel would balance
  /// (one thread), and the report says why.
  @Test func chainAsStagesFollowsThePlan() throws {
    let graph = try ConvChainTests.graph(ConvChainTests.Shape())
    let optimized = try graph.optimized(OptimizeOptions(threads: 1))
    var plan = optimized.plan
    try #require(plan.groups.count == 1 && plan.groups[0].chain?.asStages == nil)
    let one = try Scheduler.schedule(optimized.graph, plan: plan, vectorWidth: 16, threads: 1)
    #expect(one.schedules[0].map(\.kind).contains(.convChain))
    plan.groups[0].chain?.asStages = "marked by hand"
    let stages = try Scheduler.schedule(optimized.graph, plan: plan, vectorWidth: 16, threads: 1)
    #expect(!stages.schedules[0].map(\.kind).contains(.convChain))
    #expect(stages.schedules[0].map(\.kind).contains(.convDepthwise))
  }

  /// MobileNetV2 on two threads: its 7-row chains split into bands of 4 and 3, so they run as
  /// stages, and `report` lists them with the reason; on one thread every chain is one kernel.
  @Test func reportNamesChainsRunAsStages() throws {
    let graph = try ModelZoo.build("mobilenet_v2")
    let two = try graph.optimized(OptimizeOptions(threads: 2)).report(model: "mobilenet_v2")
    let split = two.groups.filter { $0.chainAsStages != nil }
    #expect(!split.isEmpty && split.allSatisfy { $0.chainAsStages!.contains("7 rows") })
    #expect(two.description.contains("conv chains run as their stages: \(split.count) of 17"))
    #expect(two.json.contains("\"chain_as_stages\""))
    let one = try graph.optimized(OptimizeOptions(threads: 1)).report(model: "mobilenet_v2")
    #expect(one.groups.allSatisfy { $0.chainAsStages == nil })
    #expect(!one.description.contains("run as their stages"))
  }
}
