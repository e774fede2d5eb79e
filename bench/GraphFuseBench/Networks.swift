import GraphFuse

/// Networks built with GraphBuilder for benchmarks, batch norms already folded (conv with bias).
enum Networks {
  nonisolated(unsafe) static var seed: UInt64 = 1
  static func w(_ b: GraphBuilder, _ shape: [Int], scale: Float) -> ValueID {
    seed += 1
    return b.constant(Tensor.random(shape: shape, in: -scale...scale, seed: seed))
  }

  static func conv(_ b: GraphBuilder, _ x: ValueID, _ cin: Int, _ cout: Int, k: Int, s: Int, p: Int, groups: Int = 1) throws -> ValueID {
    let fan = Float(cin / groups * k * k)
    return try b.conv2d(x, weight: w(b, [cout, cin / groups, k, k], scale: (3 / fan).squareRoot()), bias: w(b, [cout], scale: 0.1),
                        stride: s, padding: p, groups: groups)
  }

  /// Two 3×3 convolutions 64→64 at 56×56 with bias and relu, then a global pool: the second
  /// group is the conv alone on blocked input (layout changes fall to the first and last groups).
  static func conv3x3() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 64, 56, 56])
    let c = try b.relu(try conv(b, try b.relu(try conv(b, x, 64, 64, k: 3, s: 1, p: 1)), 64, 64, k: 3, s: 1, p: 1))
    b.output(try b.globalAvgPool(c))
    return try b.finish()
  }

  /// ResNet-18 (224×224, 1000 classes) with folded batch norms.
  static func resnet18() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("input", shape: [1, 3, 224, 224])
    var h = try b.maxPool2d(try b.relu(try conv(b, x, 3, 64, k: 7, s: 2, p: 3)), kernel: 3, stride: 2, padding: 1)
    var cin = 64
    for (stage, cout) in [64, 128, 256, 512].enumerated() {
      for block in 0..<2 {
        let s = stage > 0 && block == 0 ? 2 : 1
        let c1 = try b.relu(try conv(b, h, cin, cout, k: 3, s: s, p: 1))
        let c2 = try conv(b, c1, cout, cout, k: 3, s: 1, p: 1)
        let shortcut = s != 1 || cin != cout ? try conv(b, h, cin, cout, k: 1, s: s, p: 0) : h
        h = try b.relu(try b.add(c2, shortcut))
        cin = cout
      }
    }
    let pooled = try b.flatten(try b.globalAvgPool(h))
    b.output(try b.dense(pooled, weight: w(b, [1000, 512], scale: 0.05), bias: w(b, [1000], scale: 0.1)))
    return try b.finish()
  }

  /// ResNet-50 (bottleneck blocks), for compile-time measurements.
  static func resnet50() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("input", shape: [1, 3, 224, 224])
    var h = try b.maxPool2d(try b.relu(try conv(b, x, 3, 64, k: 7, s: 2, p: 3)), kernel: 3, stride: 2, padding: 1)
    var cin = 64
    for (stage, (width, blocks)) in [(64, 3), (128, 4), (256, 6), (512, 3)].enumerated() {
      for block in 0..<blocks {
        let s = stage > 0 && block == 0 ? 2 : 1
        let c1 = try b.relu(try conv(b, h, cin, width, k: 1, s: 1, p: 0))
        let c2 = try b.relu(try conv(b, c1, width, width, k: 3, s: s, p: 1))
        let c3 = try conv(b, c2, width, width * 4, k: 1, s: 1, p: 0)
        let shortcut = block == 0 ? try conv(b, h, cin, width * 4, k: 1, s: s, p: 0) : h
        h = try b.relu(try b.add(c3, shortcut))
        cin = width * 4
      }
    }
    let pooled = try b.flatten(try b.globalAvgPool(h))
    b.output(try b.dense(pooled, weight: w(b, [1000, 2048], scale: 0.05), bias: w(b, [1000], scale: 0.1)))
    return try b.finish()
  }

  /// MobileNetV2 (224×224) with folded batch norms and relu6.
  static func mobilenetV2() throws -> Graph {
    let b = GraphBuilder()
    let x = b.input("input", shape: [1, 3, 224, 224])
    var h = try b.relu6(try conv(b, x, 3, 32, k: 3, s: 2, p: 1))
    var cin = 32
    let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for (t, c, n, s) in settings {
      for i in 0..<n {
        let stride = i == 0 ? s : 1
        let hidden = cin * t
        var y = h
        if t != 1 { y = try b.relu6(try conv(b, y, cin, hidden, k: 1, s: 1, p: 0)) }
        y = try b.relu6(try conv(b, y, hidden, hidden, k: 3, s: stride, p: 1, groups: hidden))
        y = try conv(b, y, hidden, c, k: 1, s: 1, p: 0)
        h = stride == 1 && cin == c ? try b.add(y, h) : y
        cin = c
      }
    }
    h = try b.relu6(try conv(b, h, cin, 1280, k: 1, s: 1, p: 0))
    let pooled = try b.flatten(try b.globalAvgPool(h))
    b.output(try b.dense(pooled, weight: w(b, [1000, 1280], scale: 0.05), bias: w(b, [1000], scale: 0.1)))
    return try b.finish()
  }

  /// A small stand-in for the fusion pass: each elementwise/broadcast node joins its first
  /// input's group when that input is the group's last value and has no other reader.
  static func fusedPlan(_ graph: Graph) -> FusionPlan {
    let consumers = graph.consumers()
    var groups: [[Int]] = []
    var groupOf: [Int: Int] = [:]
    for (i, node) in graph.nodes.enumerated() {
      let pattern = OpRegistry.pattern(of: node)
      if pattern <= .broadcast, let first = node.inputs.first, let p = graph.producer(of: first), let g = groupOf[p],
        groups[g].last == p, consumers[first].count == 1, !graph.outputs.contains(first) {
        groups[g].append(i)
        groupOf[i] = g
      } else {
        groups.append([i])
        groupOf[i] = groups.count - 1
      }
    }
    return FusionPlan(groups: FusionPlan.makeGroups(graph, partition: groups))
  }
}
