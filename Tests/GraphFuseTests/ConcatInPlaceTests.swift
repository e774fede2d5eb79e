import Foundation
import Testing

@testable import GraphFuse

/// A channel concat of blocked batch-1 tensors runs no kernel: its inputs are written into their
/// slices of the output (`Scheduler.concatInPlace`, `MemoryPlan` views).
@Suite struct ConcatInPlaceTests {
  typealias T = CompiledTesting

  /// Compiles `graph` with one group per node, checks it against the reference executor and
  /// returns the model.
  static func compiled(_ graph: Graph, sourceLocation: SourceLocation = #_sourceLocation) throws -> CompiledModel {
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    let inputs = graph.inputs.enumerated().map { k, v in Tensor.random(shape: graph.shape(of: v), seed: UInt64(5 + k)) }
    let expected = try ReferenceExecutor.run(graph, inputs: inputs)
    // Twice: the second run reuses the arena the first one left behind.
    for _ in 0..<2 {
      for (a, e) in zip(try model.run(inputs), expected) {
        let c = a.compared(to: e)
        #expect(c.isWithin(relative: 1e-5), "\(c)", sourceLocation: sourceLocation)
      }
    }
    return model
  }

  static func schedules(_ model: CompiledModel, op: String) -> [[KernelSchedule.Kind]] {
    model.plan.groups.indices.filter { model.graph.nodes[model.plan.groups[$0].anchor].op == op }.map {
      model.program.schedules[$0].map(\.kind)
    }
  }

  @Test func fireModuleConcatRunsNoKernel() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 24, 9, 9])
    let s = try b.relu(try b.conv2d(x, weight: T.weight(b, [16, 24, 1, 1], seed: 1)))
    let e1 = try b.relu(try b.conv2d(s, weight: T.weight(b, [32, 16, 1, 1], seed: 2)))
    let e3 = try b.relu(try b.conv2d(s, weight: T.weight(b, [16, 16, 3, 3], seed: 3), padding: 1))
    b.output(try b.conv2d(try b.concat([e1, e3], axis: 1), weight: T.weight(b, [16, 48, 1, 1], seed: 4)))
    let graph = try b.finish()
    let model = try Self.compiled(graph)
    #expect(Self.schedules(model, op: "concat").allSatisfy { $0.contains(.concatInPlace) })
    let concatGroup = try GroupID(
      #require(model.plan.groups.firstIndex { model.graph.nodes[$0.anchor].op == "concat" }))
    #expect(!model.program.steps.contains { $0.group == concatGroup })
    #expect(model.launchingGroups == model.plan.groups.count - 1)
    // The concat output (1×48×9×9 floats) is no longer written by a kernel of its own.
    let all = model.plan.groups.flatMap(\.outputs).filter { !graph.outputs.contains($0) }.reduce(0) {
      $0 + graph.shape(of: $1).reduce(1, *) * 4
    }
    #expect(model.intermediateBytes == all - 48 * 81 * 4)
    // The relus wrote into the concat's buffer: their buffers are views at offsets 0 and 32 channels.
    let views = model.program.buffers.compactMap(\.view)
    #expect(views.map(\.offset).sorted() == [0, 32 * 81])
  }

  @Test func nestedConcatsAndAnInputThatIsAlsoAGraphOutput() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 16, 6, 7])
    let a = try b.conv2d(x, weight: T.weight(b, [16, 16, 3, 3], seed: 5), padding: 1)
    let c = try b.relu(try b.conv2d(x, weight: T.weight(b, [32, 16, 1, 1], seed: 6)))
    let inner = try b.concat([a, c], axis: 1)
    let d = try b.sigmoid(try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 7)))
    let outer = try b.concat([d, inner], axis: 1)
    b.output(try b.conv2d(outer, weight: T.weight(b, [8, 64, 1, 1], seed: 8)))
    b.output(a)
    b.output(try b.add(c, c))
    let graph = try b.finish()
    let model = try Self.compiled(graph)
    #expect(Self.schedules(model, op: "concat").allSatisfy { $0.contains(.concatInPlace) })
    // a and c are views into inner, inner and d views into outer: one view of a view at least.
    let views = model.program.buffers.compactMap(\.view)
    #expect(views.count == 4)
    #expect(views.contains { model.program.buffers[$0.base].view != nil })
  }

  struct Fallback: Sendable, CustomStringConvertible {
    var description: String
    var build: @Sendable (GraphBuilder) throws(GraphFuseError) -> Void
  }

  /// Cases that must keep the copying concat: the same value twice, a value in two concats
  /// (the second copies), channels that are not whole blocks, a graph input as an operand.
  static let fallbacks: [Fallback] = [
    Fallback(description: "same input twice") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 4, 4])
      let a = try b.relu(try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 9)))
      b.output(try b.concat([a, a], axis: 1))
    },
    Fallback(description: "one value in two concats") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 4, 4])
      let a = try b.relu(try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 10)))
      let c = try b.sigmoid(a)
      b.output(try b.concat([a, c], axis: 1))
      b.output(try b.concat([c, try b.tanh(a)], axis: 1))
    },
    Fallback(description: "20 channels") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 4, 4])
      let a = try b.conv2d(x, weight: T.weight(b, [20, 16, 1, 1], seed: 11))
      b.output(try b.concat([a, try b.relu(a)], axis: 1))
    },
    Fallback(description: "graph input operand") { b throws(GraphFuseError) in
      let x = b.input("x", shape: [1, 16, 4, 4])
      let a = try b.conv2d(x, weight: T.weight(b, [16, 16, 1, 1], seed: 12))
      b.output(try b.concat([a, x], axis: 1))
    },
  ]

  @Test(arguments: fallbacks) func fallsBackToCopies(_ c: Fallback) throws {
    let b = GraphBuilder()
    try c.build(b)
    let model = try Self.compiled(try b.finish())
    if c.description == "one value in two concats" {
      #expect(Self.schedules(model, op: "concat").filter { $0.contains(.concatInPlace) }.count == 1)
    } else {
      #expect(!Self.schedules(model, op: "concat").contains { $0.contains(.concatInPlace) })
    }
  }
}
