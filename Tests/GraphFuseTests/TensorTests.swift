import Testing

@testable import GraphFuse

/// Tensor storage, indexing, random data, tolerance comparison, and error formatting.
@Suite struct TensorTests {
  @Test func initializersAndIndexing() {
    var t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
    #expect(t.count == 24 && t.rank == 3)
    #expect(t.strides == [12, 4, 1])
    #expect(t[1, 2, 3] == 23 && t[0, 1, 0] == 4 && t[1, 0, 2] == 14)
    t[1, 1, 1] = -1
    #expect(t.data[17] == -1)
    #expect(Tensor(zeros: [2, 2]).data == [0, 0, 0, 0])
    #expect(Tensor(shape: [3], repeating: 7).data == [7, 7, 7])
    #expect(Tensor([1, 2]).shape == [2])
    #expect(Tensor(scalar: 5).shape == [] && Tensor(scalar: 5).count == 1)
    #expect(Tensor.strides(of: []) == [])
  }

  @Test func reshapeKeepsStorage() {
    let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]).reshaped([3, 2])
    #expect(t.shape == [3, 2] && t[2, 0] == 5)
  }

  @Test func randomIsDeterministicAndInRange() {
    let a = Tensor.random(shape: [1000], in: -0.5...2, seed: 9)
    #expect(a == Tensor.random(shape: [1000], in: -0.5...2, seed: 9))
    #expect(a != Tensor.random(shape: [1000], in: -0.5...2, seed: 10))
    #expect(a.data.allSatisfy { (-0.5...2).contains($0) })
    let mean = a.data.reduce(0, +) / 1000
    #expect(abs(mean - 0.75) < 0.1, "mean \(mean) of uniform [-0.5, 2]")
  }

  @Test func splitMixMatchesTheReferenceSequence() {
    // SplitMix64 seeded with 0: the published first outputs.
    var g = SplitMix64(seed: 0)
    #expect(g.next() == 0xE220_A839_7B1D_CDAF)
    #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    var h = SplitMix64(seed: 1)
    let u = (0..<1000).map { _ in h.nextUnitFloat() }
    #expect(u.allSatisfy { $0 >= 0 && $0 < 1 })
  }

  struct ComparisonCase: Sendable, CustomTestStringConvertible {
    var name: String
    var actual: Tensor
    var expected: Tensor
    var relative: Float
    var absolute: Float
    var within: Bool
    var testDescription: String { name }
  }

  static let comparisons: [ComparisonCase] = [
    ComparisonCase(
      name: "equal", actual: Tensor([1, 2]), expected: Tensor([1, 2]), relative: 0, absolute: 0, within: true),
    ComparisonCase(
      name: "shape differs", actual: Tensor([1, 2]), expected: Tensor(shape: [1, 2], data: [1, 2]), relative: 1,
      absolute: 1, within: false),
    // error 0.01 against magnitude 100: relative 1e-4
    ComparisonCase(
      name: "relative passes", actual: Tensor([100.01, 0]), expected: Tensor([100, 0]), relative: 2e-4, absolute: 0,
      within: true),
    ComparisonCase(
      name: "relative fails", actual: Tensor([100.1, 0]), expected: Tensor([100, 0]), relative: 2e-4, absolute: 0,
      within: false),
    ComparisonCase(
      name: "absolute passes", actual: Tensor([0.001]), expected: Tensor([0]), relative: 0, absolute: 0.01, within: true
    ),
    ComparisonCase(
      name: "NaN against number", actual: Tensor([.nan]), expected: Tensor([1]), relative: 1, absolute: 1, within: false
    ),
    ComparisonCase(
      name: "NaN against NaN", actual: Tensor([.nan, 1]), expected: Tensor([.nan, 1]), relative: 0, absolute: 0,
      within: true),
    ComparisonCase(
      name: "infinities", actual: Tensor([.infinity]), expected: Tensor([.infinity]), relative: 0, absolute: 0,
      within: true),
    // An expected infinity must not turn every error into a fraction of an infinite magnitude.
    ComparisonCase(
      name: "infinity beside a wrong value", actual: Tensor([.infinity, 5]), expected: Tensor([.infinity, 1]),
      relative: 1e-4, absolute: 0, within: false),
    ComparisonCase(
      name: "number against infinity", actual: Tensor([3e38, 1]), expected: Tensor([.infinity, 1]), relative: 1,
      absolute: 1, within: false),
    ComparisonCase(
      name: "infinities of opposite signs", actual: Tensor([-.infinity]), expected: Tensor([.infinity]), relative: 1,
      absolute: 1, within: false),
    ComparisonCase(
      name: "infinities in place, finite values close", actual: Tensor([-.infinity, 2.0001]),
      expected: Tensor([-.infinity, 2]), relative: 1e-4, absolute: 0, within: true),
  ]

  @Test(arguments: comparisons) func comparison(_ c: ComparisonCase) {
    #expect(
      c.actual.isApproximatelyEqual(to: c.expected, relative: c.relative, absolute: c.absolute) == c.within,
      "\(c.actual.compared(to: c.expected))")
  }

  @Test func comparisonReportsErrorAndMagnitude() {
    let r = Tensor([1, -4, 2.5]).compared(to: Tensor([1, -3, 2]))
    #expect(r.shapesMatch && !r.nanMismatch)
    #expect(r.maxAbsoluteError == 1 && r.maxMagnitude == 3)
    #expect(abs(r.relativeError - 1.0 / 3) < 1e-6)
    #expect(r.description.contains("max |error| 1.0"))
  }

  @Test(arguments: [
    (GraphFuseError("bad", node: "n", op: "relu", file: "m.onnx"), "m.onnx: node 'n' (relu): bad"),
    (GraphFuseError("bad", node: "n"), "node 'n': bad"),
    (GraphFuseError("bad", op: "relu"), "op relu: bad"),
    (GraphFuseError("bad"), "bad"),
    (GraphFuseError("bad", node: "n").inFile("a.onnx").inFile("b.onnx"), "a.onnx: node 'n': bad"),
  ])
  func errorDescriptions(_ error: GraphFuseError, _ text: String) {
    #expect(error.description == text)
  }
}
