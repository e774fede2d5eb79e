/// The smaller blocked-layout schedules: layout changes, pooling and elementwise-only groups,
/// each a parallel loop over rows with one vector per pixel.
enum BlockedTemplates {
  /// Plain `[n, c, hw]` → blocked `[n, c/v, hw, v]`, padded channels zero. Tasks: n × c/v.
  static func toBlocked(_ symbol: String, n: Int, c: Int, hw: Int, v: Int) -> (source: String, tasks: Int) {
    let cb = (c + v - 1) / v
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict in = bufs[0];
        float *restrict out = bufs[1];
        for (long task = task_begin; task < task_end; task++) {
          long b = task / \(cb), blk = task % \(cb);
          float *o = out + task*\(hw * v);
          for (long l = 0; l < \(v); l++) {
            long c = blk*\(v) + l;
            const float *src = in + (b*\(c) + c)*\(hw);
            if (c < \(c)) { for (long p = 0; p < \(hw); p++) o[p*\(v) + l] = src[p]; }
            else { for (long p = 0; p < \(hw); p++) o[p*\(v) + l] = 0.0f; }
          }
        }
      }
      """, n * cb
    )
  }

  /// Blocked → plain. Tasks: n × c/v.
  static func toPlain(_ symbol: String, n: Int, c: Int, hw: Int, v: Int) -> (source: String, tasks: Int) {
    let cb = (c + v - 1) / v
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict in = bufs[0];
        float *restrict out = bufs[1];
        for (long task = task_begin; task < task_end; task++) {
          long b = task / \(cb), blk = task % \(cb);
          const float *src = in + task*\(hw * v);
          for (long l = 0; l < \(v) && blk*\(v) + l < \(c); l++) {
            float *o = out + (b*\(c) + blk*\(v) + l)*\(hw);
            for (long p = 0; p < \(hw); p++) o[p] = src[p*\(v) + l];
          }
        }
      }
      """, n * cb
    )
  }

  /// Max or average pooling on blocked input with an elementwise epilogue. Tasks: n × c/v × oh.
  static func pool(_ symbol: String, node: Node, input: [Int], output: [Int], v: Int, epilogue: Epilogue) -> (source: String, tasks: Int) {
    let a = node.attributes
    let kernel = a.ints("kernel_shape", default: [1, 1])
    let win = Window2D(a, kernel: kernel)
    let isMax = node.op == "max_pool2d"
    let includePad = a.bool("count_include_pad", default: false)
    let (n, c, h, w) = (input[0], input[1], input[2], input[3])
    let (oh, ow) = (output[2], output[3])
    let cb = (c + v - 1) / v
    let offset = "((b*\(cb) + blk)*\(oh) + oy)*\(ow * v) + ox*\(v)"
    let countInside = isMax || includePad ? "" : "cnt += 1.0f;"
    let countPadded =
      !isMax && includePad
      ? "if (iy >= -\(win.pads[0]) && iy < \(h + win.pads[2]) && ix >= -\(win.pads[1]) && ix < \(w + win.pads[3])) cnt += 1.0f;" : ""
    let combine = isMax ? "acc = gf_vmax(acc, x);" : "acc += x;"
    let finish = isMax ? "" : "acc = acc / gf_splat(cnt > 1.0f ? cnt : 1.0f);"
    let padLanes = TemplateText.padLanes(channels: c, vector: v, block: "blk")
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict in = bufs[0];
      \(epilogue.declarations(first: 1))
        float *restrict out = bufs[\(1 + epilogue.operands.count)];
        for (long task = task_begin; task < task_end; task++) {
          long oy = task % \(oh), blk = (task / \(oh)) % \(cb), b = task / \(oh * cb);
          const float *plane = in + (b*\(cb) + blk)*\(h * w * v);
          for (long ox = 0; ox < \(ow); ox++) {
            gf_vf acc = gf_splat(\(isMax ? "-INFINITY" : "0.0f"));
            float cnt = 0.0f;
            for (long ky = 0; ky < \(kernel[0]); ky++) {
              long iy = oy*\(win.strides[0]) - \(win.pads[0]) + ky*\(win.dilations[0]);
              for (long kx = 0; kx < \(kernel[1]); kx++) {
                long ix = ox*\(win.strides[1]) - \(win.pads[1]) + kx*\(win.dilations[1]);
                \(countPadded)
                if ((unsigned long)iy >= \(h)ul || (unsigned long)ix >= \(w)ul) continue;
                gf_vf x = gf_load(plane + (iy*\(w) + ix)*\(v));
                \(combine) \(countInside)
              }
            }
            \(finish)
            gf_vf r = \(epilogue.vectorC(acc: "acc", offset: offset, channelBlock: "blk"));
            \(padLanes)
            gf_store(out + \(offset), r);
          }
        }
      }
      """, n * cb * oh
    )
  }

  /// An elementwise-only group over blocked operands. Tasks: n × c/v × h.
  static func elementwise(_ symbol: String, shape: [Int], v: Int, epilogue: Epilogue) -> (source: String, tasks: Int) {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let cb = (c + v - 1) / v
    let padLanes = TemplateText.padLanes(channels: c, vector: v, block: "blk")
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
      \(epilogue.declarations(first: 0))
        float *restrict out = bufs[\(epilogue.operands.count)];
        for (long task = task_begin; task < task_end; task++) {
          long blk = (task / \(h)) % \(cb);
          for (long x = 0; x < \(w); x++) {
            long off = task*\(w * v) + x*\(v);
            gf_vf r = \(epilogue.vectorC(acc: "gf_splat(0.0f)", offset: "off", channelBlock: "blk"));
            \(padLanes)
            gf_store(out + off, r);
          }
        }
      }
      """, n * cb * h
    )
  }

  /// Channel concatenation of blocked inputs whose channel counts are whole vectors: block copies.
  /// Tasks: n × output channel blocks.
  static func concat(_ symbol: String, n: Int, channels: [Int], hw: Int, v: Int) -> (source: String, tasks: Int) {
    let blocks = channels.map { $0 / v }
    let total = blocks.reduce(0, +)
    var cases: [String] = [], start = 0
    for (k, b) in blocks.enumerated() {
      cases.append("if (blk < \(start + b)) { src = bufs[\(k)] + (b*\(b) + blk - \(start))*\(hw * v); }")
      start += b
    }
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        float *restrict out = bufs[\(channels.count)];
        for (long task = task_begin; task < task_end; task++) {
          long b = task / \(total), blk = task % \(total);
          const float *src = 0;
          \(cases.joined(separator: "\n    else "))
          memcpy(out + task*\(hw * v), src, \(hw * v * 4));
        }
      }
      """, n * total
    )
  }

  /// Global average pooling of a blocked `[n, c/v, hw, v]` input into a plain `[n, c, 1, 1]`
  /// output: one vector sum per channel block, the epilogue applied to the mean. Tasks: n × c/v.
  static func globalAveragePool(_ symbol: String, n: Int, c: Int, hw: Int, v: Int, epilogue: Epilogue) -> (source: String, tasks: Int) {
    let cb = (c + v - 1) / v
    return (
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict in = bufs[0];
      \(epilogue.declarations(first: 1))
        float *restrict out = bufs[\(1 + epilogue.operands.count)];
        for (long task = task_begin; task < task_end; task++) {
          long b = task / \(cb), blk = task % \(cb);
          const float *src = in + task*\(hw * v);
          gf_vf s0 = gf_splat(0.0f), s1 = s0;
          long p = 0;
          for (; p + 2 <= \(hw); p += 2) { s0 += gf_load(src + p*GF_V); s1 += gf_load(src + (p + 1)*GF_V); }
          if (p < \(hw)) s0 += gf_load(src + p*GF_V);
          gf_vf acc = (s0 + s1) * gf_splat(\(ExprText.literal(1.0 / Double(hw))));
          gf_vf r = \(epilogue.vectorC(acc: "acc", offset: "0", channelBlock: "blk"));
          for (long l = 0; l < GF_V && blk*GF_V + l < \(c); l++) out[b*\(c) + blk*GF_V + l] = r[l];
        }
      }
      """, n * cb
    )
  }
}
