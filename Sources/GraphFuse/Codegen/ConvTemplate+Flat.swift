// swift-format-ignore-file
// (swift-format 6.3 re-indents the nested multi-line string literal below wrongly.)
/// The flat-pixel variant of the blocked conv schedule for small feature maps (rows narrower than
/// two register tiles, e.g. 14×14 and 7×7): a tile is any run of consecutive output pixels, even
/// across rows, so every tile is full width and each weight vector loaded serves `size` pixels.
/// Window offsets are computed once per tile and kernel position; pixels outside the input read a
/// zero vector.
extension ConvTemplate {
  /// Blocked input, a full conv (not depthwise), and rows too narrow for whole tiles.
  var usesFlatPixels: Bool { inputBlocked && !depthwise && ow < 2 * maxTile }

  /// Register budget (see the type's documentation): 2 vectors × 12 pixels, or 1 × 14.
  var maxTile: Int { nv == 2 ? 12 : (v == 16 ? 14 : 6) }

  /// The output pixels split evenly: (tiles, tiles of the larger size, larger size).
  var flatTiles: (count: Int, big: Int, size: Int) { TemplateText.evenSplit(oh * ow, maxTile: maxTile) }

  /// The C source and task count of the schedule this conv uses.
  var compiled: (source: String, tasks: Int) {
    usesFlatPixels ? (flatSource, n * (outBlocks / nv) * flatTiles.count) : (source, tasks)
  }

  var flatSource: String {
    let (count, big, size) = flatTiles
    let groups = outBlocks / nv
    let window = kh * kw
    let offset = "((n*\(outBlocks) + cb)*\(oh * ow) + p0 + t)*\(v)"
    let (wLoads, fmas) = TemplateText.broadcastFMA(nv: nv)
    let call = "\(symbol)_ftile(in, wt, bias, bufs, out, n, og, p0"
    return """
    \(blockTable)static inline __attribute__((always_inline)) void \(symbol)_ftile(const float *restrict in, const float *restrict wt,
        const float *restrict bias, float *const *bufs, float *restrict out, long n, long og, long p0, const int T) {
    \(epilogue.declarations(first: 3))
    \(tileAccumulatorInit)
      long offs[\(window)][16];
      for (long k = 0; k < \(window); k++) {
        long ky = k / \(kw), kx = k % \(kw);
        for (int t = 0; t < T; t++) {
          long p = p0 + t, oy = p / \(ow), ox = p % \(ow);
          long iy = oy*\(sh) - \(pt) + ky*\(dh), ix = ox*\(sw) - \(pl) + kx*\(dw);
          offs[k][t] = (unsigned long)iy < \(h)ul && (unsigned long)ix < \(w)ul ? (iy*\(w) + ix)*\(v) : -1;
        }
      }
      const long ib0 = \(blockRun.first);
      for (long ib = ib0; ib < ib0 + \(blockRun.count); ib++) {
        const float *plane = in + (n*\(inBlocks) + ib)*\(h * w * v);
        for (long k = 0; k < \(window); k++) {
          const float *pxs[16];
          for (int t = 0; t < T; t++) pxs[t] = offs[k][t] < 0 ? gf_zeros : plane + offs[k][t];
          const float *wp = wt + ((og*\(blockRun.count) + ib - ib0)*\(window) + k)*\(v * nv)*GF_V;
          for (long i = 0; i < \(v); i++) {
            \(wLoads)
            for (int t = 0; t < T; t++) { float xv = pxs[t][i]; \(fmas) }
          }
        }
      }
    \(tileStores(offset: offset))
    }

    \(entryPoint("""
        long k = task % \(count), og = (task / \(count)) % \(groups), n = task / \(count * groups);
        long p0 = k*\(size - 1) + (k < \(big) ? k : \(big));
        if (k < \(big)) \(call), \(size)); else \(call), \(max(size - 1, 1)));
    """))
    """
  }
}
