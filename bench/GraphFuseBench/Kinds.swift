import GraphFuse

/// Small one-group graphs, one per anchor kind, for printing their loop nests (`GraphFuseBench loops`).
enum Kinds {
  static func all() throws -> [(String, Graph, FusionPlan)] {
    var result: [(String, Graph, FusionPlan)] = []
    func add(_ name: String, _ partition: [[NodeID]]? = nil, _ build: (GraphBuilder) throws -> Void) throws {
      let b = GraphBuilder()
      try build(b)
      let g = try b.finish()
      result.append(
        (name, g, partition.map { FusionPlan(groups: FusionPlan.makeGroups(g, partition: $0)) } ?? .unfused(g)))
    }
    let w = { (b: GraphBuilder, s: [Int]) in b.constant(Tensor.random(shape: s, seed: 1), name: "w") }
    try add("max pool 3x3 s2 + relu", [[0, 1]]) { b in
      b.output(try b.relu(try b.maxPool2d(b.input("x", shape: [1, 8, 16, 16]), kernel: 3, stride: 2, padding: 1)))
    }
    try add("dense (gemm transB) + bias + relu", [[0, 1]]) { b in
      b.output(
        try b.relu(
          try b.dense(
            b.input("x", shape: [1, 512]), weight: w(b, [1000, 512]), bias: b.constant(Tensor(zeros: [1000]), name: "b")
          )))
    }
    try add("softmax over classes") { b in b.output(try b.softmax(b.input("x", shape: [1, 1000]), axis: 1)) }
    try add("reduce_mean over H, W") { b in
      b.output(try b.reduceMean(b.input("x", shape: [1, 8, 7, 7]), axes: [2, 3]))
    }
    try add("transpose + reshape (injective)", [[0, 1]]) { b in
      b.output(try b.reshape(try b.transpose(b.input("x", shape: [2, 3, 4]), perm: [0, 2, 1]), to: [8, 3]))
    }
    return result
  }
}
