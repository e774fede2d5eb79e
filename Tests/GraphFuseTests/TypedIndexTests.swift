import Foundation
import Testing

@testable import GraphFuse

/// Node, value, buffer and group indices are distinct types that read their own arena and print
/// as bare integers.
@Suite struct TypedIndexTests {
  /// A conv + relu group, a pool group and a dense group.
  func planned() throws -> (Graph, FusionPlan) {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 4, 8, 8])
    let c = try b.relu(TestNets.conv(b, x, out: 8, seed: 1))
    let p = try b.globalAvgPool(c)
    b.output(try b.relu(b.flatten(p)))
    let graph = try b.finish()
    return (graph, Fusion.plan(graph))
  }

  @Test func groupIDsReadThePlanAndTheScheduleOfTheirGroup() throws {
    let (graph, plan) = try planned()
    #expect(plan.groups.ids == plan.groups.indices.map(GroupID.init))
    // The group each node is in, read back through the typed subscript, contains the node.
    for (n, g) in zip(graph.nodes.ids, plan.groupOfNode) { #expect(plan.groups[g].nodes.contains(n)) }
    let program = try Scheduler.schedule(graph, plan: plan, vectorWidth: 16)
    for g in plan.groups.ids {
      for schedule in program.schedules[g.index] { #expect(schedule.group == g) }
    }
    #expect(Set(program.steps.map(\.group)) == Set(plan.groups.ids))
  }

  @Test func bufferIDsReadTheBufferOfTheirValue() throws {
    let (graph, plan) = try planned()
    let program = try Scheduler.schedule(graph, plan: plan, vectorWidth: 16)
    for (v, b) in program.plain {
      #expect(program.buffers[b].value == v)
      #expect(program.buffers[b].count == graph.shape(of: v).reduce(1, *))
    }
    #expect(program.inputBuffers.map { program.buffers[$0].value } == graph.inputs)
    #expect(program.outputBuffers.map { program.buffers[$0].value } == graph.outputs)
    // The conv reads its packed weights: a constant buffer that belongs to no value.
    let conv = try #require(program.steps.first { $0.buffers.count > 3 })
    #expect(program.buffers[conv.buffers[1]].value == nil)
    #expect(program.buffers[conv.buffers[1]].storage != .arena)
  }

  @Test func nodeIDsReadTheNodeThatProducesAValue() throws {
    let (graph, plan) = try planned()
    #expect(graph.nodes.ids == graph.nodes.indices.map(NodeID.init))
    for n in graph.nodes.ids {
      for v in graph.nodes[n].outputs { #expect(graph.producer(of: v) == n) }
      for v in graph.nodes[n].inputs { #expect(graph.consumers()[v.index].contains(n)) }
    }
    // Each group's anchor is one of its members, and the conv group is anchored at the conv.
    for group in plan.groups { #expect(group.nodes.contains(group.anchor)) }
    #expect(graph.nodes[plan.groups[0].anchor].op == "conv2d")
    // Removing a node by id keeps the others, renumbered densely.
    let relu = try #require(graph.nodes.ids.last { graph.nodes[$0].op == "relu" })
    var pruned = graph
    pruned.replaceUses(of: graph.nodes[relu].outputs[0], with: graph.nodes[relu].inputs[0])
    #expect(
      pruned.removingNodes([relu]).nodes.map(\.op) == graph.nodes.filter { $0.name != graph.nodes[relu].name }.map(\.op)
    )
  }

  @Test func valueIDsReadTheValueOfTheirGraph() throws {
    let (graph, _) = try planned()
    #expect(graph.values.ids == graph.values.indices.map(ValueID.init))
    for v in graph.values.ids { #expect(graph.shape(of: v) == graph.values[v].shape) }
    for v in graph.inputs { #expect(graph.values[v].source == .input) }
    for (v, tensor) in graph.constants { #expect(graph.values[v].shape == tensor.shape) }
    // Node outputs point back to their node and output position.
    for n in graph.nodes.ids {
      for (k, v) in graph.nodes[n].outputs.enumerated() { #expect(graph.values[v].source == .node(n, output: k)) }
    }
    // The printer and errors name a value by its bare integer.
    let x = graph.inputs[0]
    #expect(graph.ssaName(x) == "%\(x.index)")
    var bad = graph
    let missing = ValueID(graph.values.count)
    let error = #expect(throws: GraphFuseError.self) { try bad.addNode(op: "relu", inputs: [missing]) }
    #expect(error?.message == "reads %\(graph.values.count), which does not exist")
    let v: ValueID = 7
    #expect(String(data: try JSONEncoder().encode([v]), encoding: .utf8) == "[7]")
  }

  @Test func indicesPrintAndEncodeAsBareIntegers() throws {
    let g: GroupID = 12
    #expect("\(g)" == "12")
    #expect(String(data: try JSONEncoder().encode([g]), encoding: .utf8) == "[12]")
    #expect(try JSONDecoder().decode([GroupID].self, from: Data("[3, 1]".utf8)) == [3, 1])
    #expect([GroupID(3), 1, 2].sorted() == [1, 2, 3])
  }
}
