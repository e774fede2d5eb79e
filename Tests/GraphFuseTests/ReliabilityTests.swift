import Foundation
import Testing

@testable import GraphFuse

/// Bad options and plans too large for memory are refused with one line before anything is allocated;
/// wide ops (thousands of inputs) compile to code linear in size.
@Suite struct ReliabilityTests {
  typealias T = CompiledTesting

  static func tinyGraph() throws(GraphFuseError) -> Graph {
    let b = GraphBuilder()
    b.output(try b.relu(b.input("x", shape: [1, 2, 3, 3])))
    return try b.finish()
  }

  @Test(arguments: [0, -1, 3_000_000_000, 100_000_000, Int.max, Int.min])
  func threadCountsOutOfRangeAreRefused(threads: Int) throws {
    let graph = try Self.tinyGraph()
    let error = #expect(throws: GraphFuseError.self) {
      _ = try CompiledModel.compile(graph, plan: .unfused(graph), options: CompileOptions(threads: threads))
    }
    let text = error?.description ?? ""
    #expect(text.contains("threads must be between 1 and \(CompileOptions.maxThreads)"), "\(text)")
    #expect(!text.contains("\n"))
  }

  @Test func threadCountsInRangeAreAccepted() throws {
    #expect(CompileOptions.maxThreads >= 64)
    try CompileOptions(threads: 1).validate()
    try CompileOptions(threads: CompileOptions.maxThreads).validate()
    let graph = try Self.tinyGraph()
    var options = T.options
    options.threads = CompileOptions.maxThreads
    let model = try CompiledModel.compile(graph, plan: .unfused(graph), options: options)
    let x = Tensor.random(shape: [1, 2, 3, 3], seed: 1)
    let actual = try model.run([x])[0], expected = try ReferenceExecutor.run(graph, inputs: [x])[0]
    #expect(actual == expected)
  }

  @Test(arguments: [
    ("1000", 1000), ("4G", 4 << 30), ("4g", 4 << 30), ("512M", 512 << 20), ("512MiB", 512 << 20), ("2KB", 2048),
    ("1.5G", 3 << 29), ("1T", 1 << 40),
  ])
  func memorySizesParse(text: String, bytes: Int) {
    #expect(MemoryBudget.parse(text) == bytes)
  }

  @Test(arguments: ["", "G", "-4G", "four", "4X", "1e999", "0", "nan"])
  func badMemorySizesAreRejected(text: String) {
    #expect(MemoryBudget.parse(text) == nil)
  }

  @Test func availablePhysicalMemoryIsKnown() {
    #expect((MemoryBudget.availablePhysical() ?? 0) > 0)
  }

  /// The issue's reproducer: a Pad from 1×1×4×4 to 1×1×46340×46340 (8.6 GB) refused on both backends.
  static func hugePad() throws(GraphFuseError) -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 1, 4, 4])
    b.output(try b.pad(x, pads: [0, 0, 0, 0, 0, 0, 46336, 46336]))
    return try b.finish()
  }

  @Test func planLargerThanTheLimitIsRefusedOnBothBackends() throws {
    let graph = try Self.hugePad()
    let x = Tensor.random(shape: [1, 1, 4, 4], seed: 2)
    var options = T.options
    options.maxMemory = 1 << 30
    let compiled = #expect(throws: GraphFuseError.self) {
      _ = try CompiledModel.compile(graph, plan: .unfused(graph), options: options)
    }
    let compiledText = compiled?.description ?? ""
    #expect(
      compiledText.contains("needs 17.2 GB") && compiledText.contains("1.1 GB of the maxMemory option"),
      "\(compiledText)")
    let reference = #expect(throws: GraphFuseError.self) {
      _ = try ReferenceExecutor.run(graph, inputs: [x], maxMemory: 1 << 30)
    }
    #expect(
      // The 8.6 GB output, and as much again for the kernel's working array.
      reference?.description.contains("the reference run needs 17.2 GB") == true, "\(reference?.description ?? "")")
    for text in [compiledText, reference?.description ?? ""] { #expect(!text.contains("\n")) }
  }

  @Test func planAboveAvailableMemoryIsRefusedWithoutAnOption() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 1, 4, 4])
    b.output(try b.pad(x, pads: [0, 0, 0, 0, 0, 0, 1 << 20, 1 << 20]))  // 4 TB
    let graph = try b.finish()
    #expect(throws: GraphFuseError.self) {
      _ = try CompiledModel.compile(graph, plan: .unfused(graph), options: T.options)
    }
    #expect(throws: GraphFuseError.self) {
      _ = try ReferenceExecutor.run(graph, inputs: [Tensor.random(shape: [1, 1, 4, 4], seed: 3)])
    }
  }

  @Test func reasonablePlansPassTheCheck() throws {
    let graph = try Self.tinyGraph()
    var options = T.options
    options.maxMemory = 1 << 20
    _ = try CompiledModel.compile(graph, plan: .unfused(graph), options: options)
    _ = try ReferenceExecutor.run(graph, inputs: [Tensor.random(shape: [1, 2, 3, 3], seed: 4)], maxMemory: 1 << 20)
    // The input, the output and the kernel's working array for it.
    #expect(ReferenceExecutor.peakBytes(graph) == 3 * 18 * 4)
  }

  /// 2,000-input concat, sum and max: each compiles and agrees with the reference.
  @Test(arguments: ["concat", "sum", "max"])
  func twoThousandInputs(kind: String) throws {
    let b = GraphBuilder()
    let inputs = (0..<2000).map { b.input("x\($0)", shape: [1, 1, 2]) }
    switch kind {
    case "concat": b.output(try b.concat(inputs, axis: 1))
    default:
      var acc = inputs[0]
      for x in inputs.dropFirst() { acc = kind == "sum" ? try b.add(acc, x) : try b.maximum(acc, x) }
      b.output(acc)
    }
    let optimized = try b.finish().optimized()
    let data = optimized.graph.inputs.enumerated().map { k, v in
      Tensor.random(shape: optimized.graph.shape(of: v), seed: UInt64(k))
    }
    let expected = try ReferenceExecutor.run(optimized.graph, inputs: data)
    let model = try CompiledModel.compile(optimized.graph, plan: optimized.plan, options: T.options)
    let actual = try model.run(data)
    let cmp = actual[0].compared(to: expected[0])
    #expect(cmp.isWithin(relative: 1e-5), "\(kind): \(cmp)")
  }
}

/// Errors are one line: invisible characters escaped, long names and messages cut.
@Suite struct ErrorTextTests {
  @Test func controlCharactersAreEscaped() {
    let e = GraphFuseError("bad\nthing\u{1B}[31m\r\tend\u{2028}x", node: "a\nb", op: "op\u{7}", file: "f\u{0}.onnx")
    #expect(e.description == "f\\u{0}.onnx: node 'a\\nb' (op\\u{7}): bad\\nthing\\u{1B}[31m\\r\\tend\\u{2028}x")
  }

  @Test func longNamesAndMessagesAreCut() {
    let long = String(repeating: "n", count: 300)
    let e = GraphFuseError(
      "input '\(long)' is missing; " + String(repeating: "clang says ", count: 200), node: long, file: long)
    let text = e.description
    #expect(!text.contains(long))
    let short = String(repeating: "n", count: 23) + "…" + String(repeating: "n", count: 24)
    #expect(text.contains("node '\(short)'"))
    #expect(text.contains("input '\(short)' is missing"))
    #expect(text.count <= GraphFuseError.maxLineLength, "\(text.count)")
    #expect(text.hasSuffix("…"))
    #expect(!text.contains("\n"))
  }

  @Test func longNodeNamesKeepTheirTails() {
    // Exporters' names differ at the end; the middle goes.
    let node = "/features/features.16/conv/conv.0/conv.0.0/Conv" + String(repeating: "/block", count: 40) + "/Clip_17"
    let e = GraphFuseError(
      "input 2 has shape [1, 2, 3] but the op needs " + String(repeating: "a long explanation ", count: 5),
      node: node, op: "Clip", file: "/home/someone/models/" + String(repeating: "x", count: 200) + ".onnx")
    let text = e.description
    #expect(text.count <= GraphFuseError.maxLineLength, "\(text.count): \(text)")
    #expect(text.contains("/block/Clip_17' (Clip): input 2 has shape [1, 2, 3]"))
    #expect(text.hasPrefix("/home/someone/models/xxx"))
  }

  @Test func ordinaryErrorsAreUnchanged() {
    let e = GraphFuseError("needs input 1", node: "conv", op: "Conv", file: "m.onnx")
    #expect(e.description == "m.onnx: node 'conv' (Conv): needs input 1")
    #expect(GraphFuseError("it's fine, isn't it").description == "it's fine, isn't it")
  }
}
