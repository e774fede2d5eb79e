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
        · parallel over batch x output channel vector group x output row: 2 tasks · epilogue relu; this is the reference loop nest
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
}
