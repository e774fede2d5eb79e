import Testing

@testable import GraphFuse

/// The loop-nest printer and C emitter, compared as whole texts.
@Suite struct LoopNestTests {
  @Test func scaleShiftIsOneLoop() throws {
    let b = GraphBuilder()
    let x = b.input("data", shape: [4, 3, 5])
    b.output(
      try b.apply(
        "scale_shift",
        [
          x, b.constant(Tensor(shape: [4, 1, 1], repeating: 2), name: "scale"),
          b.constant(Tensor(shape: [4, 1, 1], repeating: 1), name: "shift"),
        ], name: "bn")[0])
    let graph = try b.finish()
    let nest = try Lowering.loops(graph, plan: .unfused(graph), group: 0)
    #expect(
      nest.description == """
        // fused_scale_shift
        // in  v_data: float[60]
        // in  v_scale: float[4]
        // in  v_shift: float[4]
        // out v_bn: float[60]
        parallel (p4, 0, 12) {
          i1 = p4/3
          i2 = p4%3
          vectorized (i3, 0, 5) {
            v_bn[i1*15 + i2*5 + i3] = ((v_data[i1*15 + i2*5 + i3] * v_scale[i1]) + v_shift[i1])
          }
        }
        """)
    #expect(nest.taskCount == 12)
  }

  @Test func convWithReluInlinesTheEpilogue() throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, 2, 4, 4])
    let c = try b.conv2d(
      x, weight: b.constant(Tensor(shape: [3, 2, 3, 3], repeating: 1), name: "w"), stride: 2, padding: 1, name: "conv")
    b.output(try b.relu(c, name: "out"))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1]]))
    let nest = try Lowering.loops(graph, plan: plan, group: 0)
    let v = try Toolchain.find(portable: false, cacheDirectory: nil).hasAVX512 ? 16 : 8
    let reason = "1 accumulators within the \(v == 16 ? 32 : 16)-register budget, rows split evenly"
    #expect(
      nest.description == """
        // fused_conv2d_relu
        // compiled as: conv dense · in plain, packed, packed -> NCHW\(v)c · tile 1 px x 1 vector (\(reason)) \
        · on the calling thread (tiny work): 2 tasks · epilogue relu; this is the reference loop nest
        // in  v_x: float[32]
        // in  v_w: float[54]
        // out v_out: float[12]
        parallel (p5, 0, 12) {
          i2 = p5/4
          i3 = p5/2%2
          i4 = p5%2
          acc6 = 0.0f
          for (ic7, 0, 2) {
            for (ky8, 0, 3) {
              iy10 = i3*2 - 1 + ky8
              if (0 <= iy10 < 4) {
                for (kx9, 0, 3) {
                  ix11 = i4*2 - 1 + kx9
                  if (0 <= ix11 < 4) {
                    acc6 += (v_x[ic7*16 + iy10*4 + ix11] * v_w[i2*18 + ic7*9 + ky8*3 + kx9])
                  }
                }
              }
            }
          }
          v_out[i2*4 + i3*2 + i4] = gf_max(acc6, 0.0f)
        }
        """)
  }

  @Test func cEmitterSplitsTheParallelLoop() {
    let nest = LoopNest(
      name: "k",
      buffers: [
        BufferDecl(name: "a", count: 8, isOutput: false, value: 0),
        BufferDecl(name: "b", count: 8, isOutput: true, value: 1),
      ],
      body: [
        .loop(
          variable: "p", extent: 8, kind: .parallel,
          body: [
            .store("b", .variable("p"), .binary(.mul, .load("a", .variable("p")), .constant(2)))
          ])
      ])
    #expect(
      CEmitter.function(nest, symbol: "f") == """
        void f(float *const *bufs, long task_begin, long task_end) {
          const float *restrict a = bufs[0];
          float *restrict b = bufs[1];
          for (long p = task_begin; p < task_end; p++) {
            b[p] = (a[p] * 2.0f);
          }
        }
        """)
  }

  @Test func indexExpressionsFoldConstants() {
    let i = IndexExpr.variable("i")
    #expect(i * 1 == i)
    #expect((i + .constant(2)) + .constant(3) == i + .constant(5))
    #expect(ExprText.index(i * 4 - 3) == "i*4 - 3")
    #expect(ExprText.condition(.inRange(i, 0, 7)) == "(unsigned long)(i) < 7ul")
  }

  @Test(
    arguments: [(1e40, "INFINITY"), (-.infinity, "-INFINITY"), (2, "2.0f"), (0.5, "0.5f"), (1e-5, "1e-05f")]
      as [(Double, String)])
  func floatLiteralsParseInC(_ value: Double, _ text: String) {
    #expect(ExprText.literal(value) == text)
  }

  /// Pointer locals (plain and border-checked), index arrays, selects and vector FMAs with a
  /// broadcast scalar, as C and as printed.
  @Test func pointersAndIndexArraysRenderAndPrint() {
    let i = IndexExpr.variable("i")
    let nest = LoopNest(
      name: "k",
      buffers: [
        BufferDecl(name: "in", count: 64, isOutput: false, value: 0),
        BufferDecl(name: "out", count: 32, isOutput: true, value: 1),
      ],
      body: [
        .loop(
          variable: "task", extent: 2, kind: .parallel,
          body: [
            .declareIndexArray("offs", 2),
            .loop(
              variable: "i", extent: 2, kind: .serial,
              body: [.setIndex("offs", i, .select([.inRange(i + .variable("task"), 0, 2)], i * 16, .constant(-1)))]),
            .pointer("row", base: "in", .variable("task") * 32, checked: []),
            .pointer(
              "px", base: "row", .element("offs", .constant(1)),
              checked: [.inRange(.element("offs", .constant(1)), 0, 32)]),
            .declareVector("acc", .vload("row", .constant(0))),
            .accumulate("acc", .sum, .binary(.mul, .local("acc"), .load("px", .constant(3)))),
            .vstore("out", .variable("task") * 16, .local("acc")),
          ])
      ])
    #expect(
      CEmitter.function(nest, symbol: "f") == """
        void f(float *const *bufs, long task_begin, long task_end) {
          const float *restrict in = bufs[0];
          float *restrict out = bufs[1];
          for (long task = task_begin; task < task_end; task++) {
            long offs[2];
            for (long i = 0; i < 2; i++) {
              offs[i] = ((unsigned long)(i + task) < 2ul ? i*16 : -1);
            }
            const float *row = in + task*32;
            const float *px = (unsigned long)(offs[1]) < 32ul ? row + offs[1] : gf_zeros;
            gf_vf acc = gf_load(row + 0);
            acc += (acc * px[3]);
            gf_store(out + task*16, acc);
          }
        }
        """)
    #expect(
      nest.description == """
        // k
        // in  in: float[64]
        // out out: float[32]
        parallel (task, 0, 2) {
          int offs[2]
          for (i, 0, 2) {
            offs[i] = ((unsigned long)(i + task) < 2ul ? i*16 : -1)
          }
          pointer row = &in[task*32]
          pointer px = 0 <= offs[1] < 32 ? &row[offs[1]] : zeros
          vector acc = gf_load(row + 0)
          acc += (acc * px[3])
          out[task*16 +: V] = acc
        }
        """)
  }

  /// Tiles of a row grouped into loops: a run ends where the width or the border check changes.
  /// A local named like a buffer hides the buffer's parameter in C (a prologue operand `p0` once
  /// clashed with the tile's first pixel `p0`): the check names it, and real kernels have none.
  @Test func localsThatHideBuffersAreFound() throws {
    let buffers = [
      BufferDecl(name: "p0", count: 4, isOutput: false),
      BufferDecl(name: "out", count: 4, isOutput: true),
    ]
    let clash = LoopNest(
      name: "clash", buffers: buffers,
      body: [
        .loop(
          variable: "task", extent: 1, kind: .parallel,
          body: [.let_("p0", .constant(0)), .store("out", .variable("p0"), .load("p0", .constant(0)))])
      ])
    #expect(clash.localsShadowingBuffers == ["p0"])
    let graph = try DenseBlockTests.denseBlock(channels: 16, growth: 16, layers: 2, height: 5, width: 6)
    let optimized = try Pipeline.optimize(graph)
    let program = try Scheduler.schedule(optimized.graph, plan: optimized.plan, vectorWidth: 16, threads: 2)
    #expect(program.functions.count > 3)
    for function in program.functions { #expect(function.nest.localsShadowingBuffers.isEmpty, "\(function.symbol)") }
  }

  @Test func tileRunsSplitAtBordersAndWidths() {
    let tiles: [(ox: Int, width: Int, checked: Bool)] = [
      (0, 12, true), (12, 11, false), (23, 11, false), (34, 11, false), (45, 11, true),
    ]
    #expect(
      Tiling.runs(tiles) == [
        .init(start: 0, count: 1, width: 12, checked: true), .init(start: 12, count: 3, width: 11, checked: false),
        .init(start: 45, count: 1, width: 11, checked: true),
      ])
    #expect(Tiling.evenSplit(56, maxTile: 12) == (5, 1, 12))
  }

  /// `lower --emit loops` shows the conv nest that runs: the unrolled register tile, hoisted
  /// pointers and the checked border pixels, headed by its schedule.
  @Test(arguments: [(16, false), (1, false), (16, true)] as [(Int, Bool)])
  func convLoopsAreTheRunningNest(_ channels: Int, _ depthwise: Bool) throws {
    let b = GraphBuilder()
    let x = b.input("x", shape: [1, channels, 30, 30])
    let weight = b.constant(
      Tensor(shape: [32 / (depthwise ? 2 : 1), depthwise ? 1 : channels, 3, 3], repeating: 0.5), name: "w")
    let conv = try b.conv2d(x, weight: weight, padding: 1, groups: depthwise ? channels : 1, name: "conv")
    b.output(try b.relu(conv, name: "out"))
    let graph = try b.finish()
    let plan = FusionPlan(groups: FusionPlan.makeGroups(graph, partition: [[0, 1]]))
    let nests = try Lowering.runningLoops(graph, plan: plan, group: 0)
    let text = nests.map(\.description).joined(separator: "\n")
    #expect(!text.contains("reference loop nest"))
    #expect(text.contains(depthwise ? "schedule: conv depthwise" : "schedule: conv dense"))
    #expect(text.contains("vector acc0_0 = gf_load(bias + "))
    if channels == 1 {
      #expect(text.contains("if (0 <= ix < 30) {"))
      #expect(text.contains("pointer px = &rowp[ix]"))
    } else {
      #expect(text.contains("pointer px0 = 0 <= ix < 30 ? &rowp[ix*\(System.vectorWidth)] : zeros"))
    }
  }
}
