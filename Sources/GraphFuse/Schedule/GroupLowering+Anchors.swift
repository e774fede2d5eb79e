/// The anchor ops as reductions computed at one output index (plain layout, generic schedule).
extension GroupLowering {
  /// The anchor node `n`'s output at `idx`: statements go to `prelude`, the result is a local.
  mutating func anchor(_ n: NodeID, at idx: [IndexExpr]) throws(GraphFuseError) -> ValueExpr {
    let node = graph.nodes[n]
    let a = node.attributes
    let acc = fresh("acc")
    switch node.op {
    case "conv2d": return try conv(node, at: idx, acc: acc)
    case "conv_transpose2d": return try convTranspose(node, at: idx, acc: acc)
    case "max_pool2d", "avg_pool2d": return try pool(node, at: idx, acc: acc)
    case "global_avg_pool":
      let x = graph.shape(of: node.inputs[0])
      let vars = x.indices.dropFirst(2).map { _ in fresh("r") }
      let inIdx = [idx[0], idx[1]] + vars.map { IndexExpr.variable($0) }
      let load = try value(node.inputs[0], at: inIdx)
      prelude += [.declareWide(acc, .constant(0)), nest(vars, Array(x.dropFirst(2)), [.accumulate(acc, .sum, load)])]
      return .binary(.div, .local(acc), .constant(Double(x.dropFirst(2).reduce(1, *))))
    case "gemm": return try gemm(node, at: idx, acc: acc)
    case "matmul": return try matmul(node, at: idx, acc: acc)
    case "reduce_sum", "reduce_mean", "reduce_max":
      let x = graph.shape(of: node.inputs[0])
      let axes = Reduction.axes(a, rank: x.count) ?? []
      let keep = a.bool("keepdims", default: true)
      var inIdx: [IndexExpr] = [], vars: [String] = [], extents: [Int] = [], k = 0
      for axis in x.indices {
        if axes.contains(axis) {
          let r = fresh("r")
          vars.append(r)
          extents.append(x[axis])
          inIdx.append(.variable(r))
          if keep { k += 1 }
        } else {
          inIdx.append(idx[k])
          k += 1
        }
      }
      let isMax = node.op == "reduce_max"
      let load = try value(node.inputs[0], at: inIdx)
      prelude += [
        isMax ? .declare(acc, .constant(-.infinity)) : .declareWide(acc, .constant(0)),
        nest(vars, extents, [.accumulate(acc, isMax ? .max : .sum, load)]),
      ]
      let count = extents.reduce(1, *)
      return node.op == "reduce_mean" ? .binary(.div, .local(acc), .constant(Double(count))) : .local(acc)
    case "softmax":
      let x = graph.shape(of: node.inputs[0])
      let axis = Injective.axis(a.int("axis", default: -1), rank: x.count) ?? 0
      if let buffer = storedRows[n], let (_, inverse) = rowLocals[n] {
        return .binary(.mul, .load(buffer, Self.flat(idx, graph.shape(of: node.outputs[0]))), .local(inverse))
      }
      if let (m, s) = rowLocals[n] {
        let e = try value(node.inputs[0], at: idx)
        return .binary(.div, .binary(.expDifference, e, .local(m)), .local(s))
      }
      let (stats, locals) = try softmaxRow(n, idx: idx, axis: axis, rowVar: nil)
      prelude += stats
      let e = try value(node.inputs[0], at: idx)
      return .binary(.div, .binary(.expDifference, e, .local(locals.max)), .local(locals.sum))
    case "layer_norm": return try layerNorm(n, at: idx)
    case "cumsum":
      let x = graph.shape(of: node.inputs[0])
      let axis = Injective.axis(a.int("axis", default: 0), rank: x.count) ?? 0
      let exclusive = a.int("exclusive", default: 0) != 0, reverse = a.int("reverse", default: 0) != 0
      let r = fresh("r")
      var inIdx = idx
      inIdx[axis] = .variable(r)
      let load = try value(node.inputs[0], at: inIdx)
      // Element r of the axis counts toward element i when r ≤ i (r < i exclusive); reversed, r ≥ i.
      let (lo, hi): (IndexExpr, IndexExpr) =
        reverse
        ? (idx[axis] + .constant(exclusive ? 0 : -1), .variable(r))
        : (.variable(r), idx[axis] + .constant(exclusive ? 0 : 1))
      prelude += [
        .declareWide(acc, .constant(0)),
        .loop(
          variable: r, extent: x[axis], kind: .serial, body: [.when([.less(lo, hi)], [.accumulate(acc, .sum, load)])]),
      ]
      return .local(acc)
    case "einsum": return try einsum(node, at: idx, acc: acc)
    default:
      throw GraphFuseError("no compiled schedule for this op", node: node.name, op: node.op)
    }
  }

  /// Loops `vars[i] in 0..<extents[i]` around `body`.
  /// The innermost loop is marked vectorized: a reduction may be reassociated across lanes.
  func nest(_ vars: [String], _ extents: [Int], _ body: [Stmt]) -> Stmt {
    var inner = body
    for (k, (v, e)) in zip(vars, extents).enumerated().reversed() {
      inner = [.loop(variable: v, extent: e, kind: k == vars.count - 1 ? .vectorized : .serial, body: inner)]
    }
    return inner.count == 1 ? inner[0] : .when([], inner)
  }

  /// Statements computing a softmax row's max and sum of exponentials; records them in `rowLocals`.
  /// With `storeTo` (the group's output buffer, of the softmax's shape) the sum pass also stores
  /// each exponential there and the sum local ends as 1/sum: the output pass then multiplies
  /// instead of evaluating every exponential a second time.
  mutating func softmaxRow(_ n: NodeID, idx: [IndexExpr], axis: Int, rowVar: String?, storeTo: String? = nil)
    throws(GraphFuseError) -> ([Stmt], (max: String, sum: String))
  {
    let node = graph.nodes[n]
    let extent = graph.shape(of: node.inputs[0])[axis]
    let m = fresh("rowmax"), s = fresh("rowsum"), r = fresh("r")
    var rowIdx = idx
    rowIdx[axis] = .variable(r)
    let saved = prelude
    prelude = []
    let x1 = try value(node.inputs[0], at: rowIdx)
    let x2 = try value(node.inputs[0], at: rowIdx)
    let inner = prelude
    prelude = saved
    let exponential = ValueExpr.binary(.expDifference, x2, .local(m))
    var sumBody = inner + [.accumulate(s, .sum, exponential)]
    if let storeTo {
      let e = fresh("e")
      let index = Self.flat(rowIdx, graph.shape(of: node.outputs[0]))
      sumBody = inner + [.declare(e, exponential), .store(storeTo, index, .local(e)), .accumulate(s, .sum, .local(e))]
    }
    var stats: [Stmt] = [
      .declare(m, .constant(-.infinity)),
      .loop(variable: r, extent: extent, kind: .serial, body: inner + [.accumulate(m, .max, x1)]),
      .declare(s, .constant(0)),
      .loop(variable: r, extent: extent, kind: .serial, body: sumBody),
    ]
    if let storeTo {
      stats.append(.assign(s, .binary(.div, .constant(1), .local(s))))
      storedRows[n] = storeTo
    }
    rowLocals[n] = (m, s)
    _ = rowVar
    return (stats, (m, s))
  }

  private mutating func conv(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError) -> ValueExpr {
    let x = graph.shape(of: node.inputs[0]), w = graph.shape(of: node.inputs[1])
    let groups = node.attributes.int("group", default: 1)
    let win = Window2D(node.attributes, kernel: [w[2], w[3]])
    let og = w[0] / groups, cg = w[1]
    let (ic, ky, kx) = (fresh("ic"), fresh("ky"), fresh("kx"))
    let iy = fresh("iy"), ix = fresh("ix")
    let channel: IndexExpr = groups == 1 ? .variable(ic) : .div(idx[1], og) * cg + .variable(ic)
    let load = try value(node.inputs[0], at: [idx[0], channel, .variable(iy), .variable(ix)])
    let weight = try value(node.inputs[1], at: [idx[1], .variable(ic), .variable(ky), .variable(kx)])
    let initial: ValueExpr = node.inputs.count > 2 ? try value(node.inputs[2], at: [idx[1]]) : .constant(0)
    let inner: Stmt = .loop(
      variable: kx, extent: w[3], kind: .serial,
      body: [
        .let_(ix, idx[3] * win.strides[1] - win.pads[1] + .variable(kx) * win.dilations[1]),
        .when([.inRange(.variable(ix), 0, x[3])], [.accumulate(acc, .sum, .binary(.mul, load, weight))]),
      ])
    prelude += [
      .declare(acc, initial),
      .loop(
        variable: ic, extent: cg, kind: .serial,
        body: [
          .loop(
            variable: ky, extent: w[2], kind: .serial,
            body: [
              .let_(iy, idx[2] * win.strides[0] - win.pads[0] + .variable(ky) * win.dilations[0]),
              .when([.inRange(.variable(iy), 0, x[2])], [inner]),
            ])
        ]),
    ]
    return .local(acc)
  }

  private mutating func convTranspose(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError)
    -> ValueExpr
  {
    let x = graph.shape(of: node.inputs[0]), w = graph.shape(of: node.inputs[1])
    let groups = node.attributes.int("group", default: 1)
    let win = Window2D(node.attributes, kernel: [w[2], w[3]])
    let ogc = w[1], cg = x[1] / groups
    let (ic, ky, kx) = (fresh("ic"), fresh("ky"), fresh("kx"))
    let ty = fresh("ty"), tx = fresh("tx")
    let channel: IndexExpr = groups == 1 ? .variable(ic) : .div(idx[1], ogc) * cg + .variable(ic)
    let j: IndexExpr = groups == 1 ? idx[1] : .mod(idx[1], ogc)
    let (sy, sx) = (win.strides[0], win.strides[1])
    let iy: IndexExpr = sy == 1 ? .variable(ty) : .div(.variable(ty), sy)
    let ixe: IndexExpr = sx == 1 ? .variable(tx) : .div(.variable(tx), sx)
    let load = try value(node.inputs[0], at: [idx[0], channel, iy, ixe])
    let weight = try value(node.inputs[1], at: [channel, j, .variable(ky), .variable(kx)])
    let initial: ValueExpr = node.inputs.count > 2 ? try value(node.inputs[2], at: [idx[1]]) : .constant(0)
    func test(_ t: String, _ s: Int, _ e: IndexExpr, _ extent: Int) -> [IndexCondition] {
      s == 1
        ? [.inRange(.variable(t), 0, extent)] : [.inRange(.variable(t), 0, extent * s), .divisible(.variable(t), s)]
    }
    prelude += [
      .declare(acc, initial),
      .loop(
        variable: ic, extent: cg, kind: .serial,
        body: [
          .loop(
            variable: ky, extent: w[2], kind: .serial,
            body: [
              .let_(ty, idx[2] + .constant(win.pads[0]) + .variable(ky) * (-win.dilations[0])),
              .when(
                test(ty, sy, iy, x[2]),
                [
                  .loop(
                    variable: kx, extent: w[3], kind: .serial,
                    body: [
                      .let_(tx, idx[3] + .constant(win.pads[1]) + .variable(kx) * (-win.dilations[1])),
                      .when(test(tx, sx, ixe, x[3]), [.accumulate(acc, .sum, .binary(.mul, load, weight))]),
                    ])
                ]),
            ])
        ]),
    ]
    return .local(acc)
  }

  private mutating func pool(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError) -> ValueExpr {
    let a = node.attributes
    let x = graph.shape(of: node.inputs[0])
    let kernel = a.ints("kernel_shape", default: [1, 1])
    let win = Window2D(a, kernel: kernel)
    let isMax = node.op == "max_pool2d"
    let includePad = a.bool("count_include_pad", default: false)
    let (ky, kx, iy, ix) = (fresh("ky"), fresh("kx"), fresh("iy"), fresh("ix"))
    let count = fresh("cnt")
    let load = try value(node.inputs[0], at: [idx[0], idx[1], .variable(iy), .variable(ix)])
    var body: [Stmt] = [.accumulate(acc, isMax ? .max : .sum, load)]
    if !isMax && !includePad { body.append(.accumulate(count, .sum, .constant(1))) }
    var kxBody: [Stmt] = [
      .let_(ix, idx[3] * win.strides[1] - win.pads[1] + .variable(kx) * win.dilations[1]),
      .when([.inRange(.variable(iy), 0, x[2]), .inRange(.variable(ix), 0, x[3])], body),
    ]
    if !isMax && includePad {
      kxBody.append(
        .when(
          [
            .inRange(.variable(iy), -win.pads[0], x[2] + win.pads[2]),
            .inRange(.variable(ix), -win.pads[1], x[3] + win.pads[3]),
          ],
          [.accumulate(count, .sum, .constant(1))]))
    }
    prelude +=
      [
        .declare(acc, .constant(isMax ? -.infinity : 0))
      ] + (isMax ? [] : [.declare(count, .constant(0))]) + [

        .loop(
          variable: ky, extent: kernel[0], kind: .serial,
          body: [
            .let_(iy, idx[2] * win.strides[0] - win.pads[0] + .variable(ky) * win.dilations[0]),
            .loop(variable: kx, extent: kernel[1], kind: .serial, body: kxBody),
          ])
      ]
    return isMax ? .local(acc) : .binary(.div, .local(acc), .binary(.max, .local(count), .constant(1)))
  }

  private mutating func gemm(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError) -> ValueExpr {
    let a = node.attributes
    let transA = a.bool("transA", default: false), transB = a.bool("transB", default: false)
    let aShape = graph.shape(of: node.inputs[0])
    let k = transA ? aShape[0] : aShape[1]
    let p = fresh("k")
    let av = try value(node.inputs[0], at: transA ? [.variable(p), idx[0]] : [idx[0], .variable(p)])
    let bv = try value(node.inputs[1], at: transB ? [idx[1], .variable(p)] : [.variable(p), idx[1]])
    prelude += [
      .declare(acc, .constant(0)),
      .loop(variable: p, extent: k, kind: .vectorized, body: [.accumulate(acc, .sum, .binary(.mul, av, bv))]),
    ]
    let alpha = a.float("alpha", default: 1), beta = a.float("beta", default: 1)
    var result: ValueExpr = alpha == 1 ? .local(acc) : .binary(.mul, .local(acc), .constant(alpha))
    if node.inputs.count > 2 {
      let c = try value(node.inputs[2], at: Self.broadcast(idx, to: graph.shape(of: node.inputs[2])))
      result = .binary(.add, result, beta == 1 ? c : .binary(.mul, c, .constant(beta)))
    }
    return result
  }

  private mutating func matmul(_ node: Node, at idx: [IndexExpr], acc: String) throws(GraphFuseError) -> ValueExpr {
    let a = graph.shape(of: node.inputs[0]), b = graph.shape(of: node.inputs[1])
    let out = graph.shape(of: node.outputs[0])
    let batchRank = out.count - (a.count > 1 ? 1 : 0) - (b.count > 1 ? 1 : 0)
    let batchIdx = Array(idx[..<batchRank])
    let i: IndexExpr = a.count > 1 ? idx[batchRank] : .constant(0)
    let j: IndexExpr = b.count > 1 ? idx[out.count - 1] : .constant(0)
    let p = fresh("k")
    let k = a[a.count - 1]
    let aIdx =
      a.count == 1 ? [IndexExpr.variable(p)] : Self.broadcast(batchIdx, to: Array(a.dropLast(2))) + [i, .variable(p)]
    let bIdx =
      b.count == 1 ? [IndexExpr.variable(p)] : Self.broadcast(batchIdx, to: Array(b.dropLast(2))) + [.variable(p), j]
    let av = try value(node.inputs[0], at: aIdx), bv = try value(node.inputs[1], at: bIdx)
    prelude += [
      .declare(acc, .constant(0)),
      .loop(variable: p, extent: k, kind: .vectorized, body: [.accumulate(acc, .sum, .binary(.mul, av, bv))]),
    ]
    return .local(acc)
  }
}
