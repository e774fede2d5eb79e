/// The schedule of a ``ConvChain`` (`[1×1 →] depthwise → 1×1`, each with its epilogue) as one
/// loop nest over bands of output rows. Per output row, the expanded input rows the depthwise
/// window needs are computed into a per-thread ring of `kh` rows (each row once per band), the
/// depthwise row goes to a per-thread row buffer, and the 1×1 projection reads that buffer and
/// stores the only tensor the chain writes. Neither the expanded tensor nor the depthwise output
/// is ever written to memory: they live in L1/L2.
///
/// Tasks are `n × bands`; a band restarts the ring, so the `kh − sh` halo rows at its top are the
/// only recomputed work. The register tiles are the blocked conv template's: `nv` channel vectors
/// × up to 12–14 pixels, FMA with broadcast inputs, the epilogue in registers before one store.
struct ConvChainTemplate {
  var symbol: String
  var v: Int
  /// Chain input `[n, cin, h, w]` (blocked), output `[n, cout, oh, ow]`.
  var n, cin, h, w, cout, oh, ow: Int
  /// Channels between the stages (the expansion's output, or `cin` without one).
  var mid: Int
  var hasExpand: Bool
  /// The depthwise window: kernel, strides and top/left pads (dilation 1).
  var kh, kw, sh, sw, pt, pl: Int
  /// Epilogues of the expansion (if any), the depthwise conv and the projection.
  var expandEpilogue: Epilogue?
  var depthwiseEpilogue: Epilogue
  var projectEpilogue: Epilogue
  /// Row bands per image.
  var bands: Int

  var inBlocks: Int { (cin + v - 1) / v }
  var midBlocks: Int { (mid + v - 1) / v }
  var outBlocks: Int { (cout + v - 1) / v }
  /// Channel vectors per register tile of the expansion and of the projection.
  var expandVectors: Int { midBlocks % 2 == 0 && v == 16 ? 2 : 1 }
  var projectVectors: Int { outBlocks % 2 == 0 && v == 16 ? 2 : 1 }
  var tasks: Int { n * bands }

  /// Row bands per image: a multiple of the thread count (so every thread gets equal work), two
  /// per thread while bands keep ≥ 4 rows (a band recomputes its `kh − sh` halo rows, so thinner
  /// bands cost more expansion work).
  static func bands(rows: Int, threads: Int) -> Int {
    let t = max(1, threads)
    return max(1, min(rows, t * max(1, min(2, rows / (4 * t)))))
  }

  /// Floats of the ring of expanded rows and of the depthwise row buffer, per thread.
  var ringFloats: Int { hasExpand ? kh * midBlocks * w * v : 0 }
  var scratchFloats: Int { (ringFloats + midBlocks * ow * v + 15) / 16 * 16 }

  /// Buffer indices: input, [expand weights, bias, operands], depthwise weights, bias, operands,
  /// projection weights, bias, operands, scratch, output.
  var layout: (expand: Int, depthwise: Int, project: Int, scratch: Int, output: Int) {
    let expand = 1
    let depthwise = expand + (expandEpilogue.map { 2 + $0.operands.count } ?? 0)
    let project = depthwise + 2 + depthwiseEpilogue.operands.count
    let scratch = project + 2 + projectEpilogue.operands.count
    return (expand, depthwise, project, scratch, scratch + 1)
  }

  /// Calls `call(T)` for every tile of a row, with `T` a literal so the tile function specializes.
  private func rowTiles(_ width: Int, maxTile: Int, _ call: (String) -> String) -> String {
    let (count, big, size) = Tiling.evenSplit(width, maxTile: maxTile)
    return """
      for (long k = 0, ox = 0; k < \(count); k++) {
            if (k < \(big)) { \(call("\(size)")); ox += \(size); } else { \(call("\(max(size - 1, 1))")); ox += \(max(size - 1, 1)); }
          }
      """
  }

  /// A 1×1 conv tile: `T` pixels × `nv` vectors from `src` (channel-block stride `srcStride`).
  private func pointwiseTile(
    _ name: String, weights: Int, inBlocks blocks: Int, nv: Int, epilogue: Epilogue, prefix: String,
    srcStride: Int, dst: String, dstOffset: String, channels: Int
  ) -> String {
    let (wLoads, fmas) = TemplateText.broadcastFMA(nv: nv)
    let store = epilogue.vectorC(acc: "acc[j][t]", offset: dstOffset, channelBlock: "cb", prefix: prefix)
    return """
      static inline __attribute__((always_inline)) void \(symbol)_\(name)(float *const *bufs, const float *restrict src,
          float *restrict \(dst), long n, long oy, long og, long ox, const int T) {
        const float *restrict wt = bufs[\(weights)], *restrict bias = bufs[\(weights + 1)];
      \(epilogue.declarations(first: weights + 2, prefix: prefix))
        gf_vf acc[\(nv)][16];
        for (int j = 0; j < \(nv); j++) for (int t = 0; t < T; t++) acc[j][t] = gf_load(bias + (og*\(nv) + j)*GF_V);
        for (long ib = 0; ib < \(blocks); ib++) {
          const float *px = src + ib*\(srcStride) + ox*GF_V;
          const float *wp = wt + (og*\(blocks) + ib)*\(v * nv)*GF_V;
          for (long i = 0; i < GF_V; i++) {
            \(wLoads)
            for (int t = 0; t < T; t++) { float xv = px[t*GF_V + i]; \(fmas) }
          }
        }
        for (int j = 0; j < \(nv); j++) {
          long cb = og*\(nv) + j;
          for (int t = 0; t < T; t++) {
            gf_vf r = \(store);
            \(TemplateText.padLanes(channels: channels, vector: v, block: "cb"))
            gf_store(\(dst) + \(dstOffset), r);
          }
        }
      }
      """
  }

  var source: String {
    let l = layout
    let x0 = min(ow, (pl + sw - 1) / sw)
    let last = w - 1 + pl - (kw - 1)
    let x1 = last < 0 ? x0 : max(x0, min(ow, last / sw + 1))
    let cbStride = hasExpand ? w * v : h * w * v
    let d = l.depthwise
    let dwStore = depthwiseEpilogue.vectorC(acc: "acc[t]", offset: "0", channelBlock: "cb", prefix: "b")
    var parts: [String] = []
    if let e = expandEpilogue {
      parts.append(
        pointwiseTile(
          "expand", weights: l.expand, inBlocks: inBlocks, nv: expandVectors, epilogue: e, prefix: "a",
          srcStride: h * w * v, dst: "ring", dstOffset: "(cb*\(w) + ox + t)*GF_V", channels: mid))
    }
    parts.append(
      """
      static inline __attribute__((always_inline)) void \(symbol)_depthwise(float *const *bufs, const float *const *rows,
          float *restrict drow, long cb, long ox, const int T, const int CHECK) {
        const float *restrict wt = bufs[\(d)], *restrict bias = bufs[\(d + 1)];
      \(depthwiseEpilogue.declarations(first: d + 2, prefix: "b"))
        gf_vf acc[16];
        for (int t = 0; t < T; t++) acc[t] = gf_load(bias + cb*GF_V);
        for (long ky = 0; ky < \(kh); ky++) {
          if (!rows[ky]) continue;
          const float *rp = rows[ky] + cb*\(cbStride);
          for (long kx = 0; kx < \(kw); kx++) {
            gf_vf w0 = gf_load(wt + ((cb*\(kh) + ky)*\(kw) + kx)*GF_V);
            for (int t = 0; t < T; t++) {
              long ix = (ox + t)*\(sw) - \(pl) + kx;
              const float *p = CHECK && (unsigned long)ix >= \(w)ul ? gf_zeros : rp + ix*GF_V;
              acc[t] += gf_load(p) * w0;
            }
          }
        }
        for (int t = 0; t < T; t++) {
          gf_vf r = \(dwStore);
          \(TemplateText.padLanes(channels: mid, vector: v, block: "cb"))
          gf_store(drow + (cb*\(ow) + ox + t)*GF_V, r);
        }
      }
      """)
    parts.append(
      pointwiseTile(
        "project", weights: l.project, inBlocks: midBlocks, nv: projectVectors, epilogue: projectEpilogue,
        prefix: "c", srcStride: ow * v, dst: "out",
        dstOffset: "((n*\(outBlocks) + cb)*\(oh) + oy)*\(ow * v) + (ox + t)*GF_V",
        channels: cout))
    let rowSource: String
    if hasExpand {
      let expandRow = rowTiles(w, maxTile: expandVectors == 2 ? 12 : 14) {
        "\(symbol)_expand(bufs, xin + iy*\(w * v), dst, n, iy, og, ox, \($0))"
      }
      rowSource = """
              long slot = iy % \(kh);
              float *dst = ring + slot*\(midBlocks * w * v);
              if (held[slot] != iy) {
                for (long og = 0; og < \(midBlocks / expandVectors); og++) {
                  \(expandRow)
                }
                held[slot] = iy;
              }
              rows[ky] = dst;
        """
    } else {
      rowSource = "      rows[ky] = xin + iy*\(w * v);"
    }
    let dwRow = rowTiles(ow, maxTile: 14) {
      "if (ox < \(x0) || ox + \($0) > \(x1)) \(symbol)_depthwise(bufs, rows, drow, cb, ox, \($0), 1); else "
        + "\(symbol)_depthwise(bufs, rows, drow, cb, ox, \($0), 0)"
    }
    let projectRow = rowTiles(ow, maxTile: projectVectors == 2 ? 12 : 14) {
      "\(symbol)_project(bufs, drow, out, n, oy, og, ox, \($0))"
    }
    parts.append(
      """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict in = bufs[0];
        float *restrict out = bufs[\(l.output)];
        float *scratch = bufs[\(l.scratch)] + (long)gf_thread_index * \(scratchFloats);
        float *ring = scratch, *drow = scratch + \(ringFloats);
        (void)ring;
        for (long task = task_begin; task < task_end; task++) {
          long band = task % \(bands), n = task / \(bands);
          long y0 = band*\(oh) / \(bands), y1 = (band + 1)*\(oh) / \(bands);
          const float *xin = in + n*\(inBlocks * h * w * v);
          long held[\(kh)];
          for (int k = 0; k < \(kh); k++) held[k] = -1;
          (void)held;
          for (long oy = y0; oy < y1; oy++) {
            const float *rows[\(kh)];
            for (long ky = 0; ky < \(kh); ky++) {
              long iy = oy*\(sh) - \(pt) + ky;
              if ((unsigned long)iy >= \(h)ul) { rows[ky] = 0; continue; }
        \(rowSource)
            }
            for (long cb = 0; cb < \(midBlocks); cb++) {
              \(dwRow)
            }
            for (long og = 0; og < \(outBlocks / projectVectors); og++) {
              \(projectRow)
            }
          }
        }
      }
      """)
    return parts.joined(separator: "\n\n")
  }
}
