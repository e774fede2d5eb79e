/// The blocked direct-convolution schedule (in the spirit of TVM's `conv2d_NCHWc` and MLAS):
/// output in `NCHW[v]c`, a register tile of `tile` output pixels × `nv` channel vectors, FMA over
/// input channels and the kernel window, the epilogue applied to the registers before one store.
///
/// Tile sizes come from the register file: with 32 vector registers (AVX-512), `nv = 2` channel
/// vectors × 12 pixels keeps 24 accumulators + 2 weight vectors + 1 broadcast in registers and
/// issues 2 + 12 loads per 24 FMAs (below the 2 loads/cycle limit); with `nv = 1` up to 14 pixels.
/// A row is split evenly so every tile is `size` or `size − 1` wide; tiles touching a border are
/// "checked": their pixels outside the input point at a zero vector. (Plain-layout input, used by
/// first layers with fewer channels than a vector, takes single checked pixels at the borders.)
/// Measured here: 2 × 12 ≈ 3 × 8 ≈ 4 × 6 within noise, 1 × 24 slower — the tile is not the limit.
struct ConvTemplate {
  var symbol: String
  /// Input `[n, cin, h, w]`, output `[n, cout, oh, ow]`, kernel `[kh, kw]`.
  var n, cin, h, w, cout, oh, ow, kh, kw: Int
  var sh, sw, pt, pl, dh, dw: Int
  /// Input layout: blocked `NCHW[v]c` or plain NCHW (first layers with few channels).
  var inputBlocked: Bool
  /// Depthwise (groups == cin == cout): vectorize over channels, no input-channel reduction.
  var depthwise: Bool
  var v: Int
  var epilogue: Epilogue
  /// A grouped conv: the run of input blocks each tile reads (block-diagonal weights).
  var grouped: GroupedConvBlocks? = nil

  var outBlocks: Int { (cout + v - 1) / v }
  var inBlocks: Int { (cin + v - 1) / v }
  /// Channel vectors per register tile.
  var nv: Int { grouped?.vectors ?? (!depthwise && outBlocks % 2 == 0 && v == 16 ? 2 : 1) }
  /// Input channels per packed weight block.
  var icBlock: Int { inputBlocked ? v : cin }
  var interior: (begin: Int, end: Int) {
    let begin = min(ow, (pl + sw - 1) / sw)
    let last = w - 1 + pl - (kw - 1) * dw
    let end = last < 0 ? begin : max(begin, min(ow, last / sw + 1))
    return (begin, end)
  }
  /// Pixels per register tile: the largest register budget, split evenly over the interior.
  var tile: Int {
    let width = interior.end - interior.begin
    return width > 0 ? TemplateText.evenSplit(width, maxTile: maxTile).size : 1
  }
  var tasks: Int { n * (outBlocks / nv) * oh }
  /// The input blocks a tile reads: the C expression of the first and the count (all blocks,
  /// or for a grouped conv a run starting at `<symbol>_ib0[og]`).
  var blockRun: (first: String, count: Int) {
    guard let grouped else { return ("0", inputBlocked ? inBlocks : 1) }
    return ("\(symbol)_ib0[og]", grouped.count)
  }
  /// The table of first input blocks of a grouped conv (empty otherwise).
  var blockTable: String {
    guard let grouped else { return "" }
    let entries = grouped.start.map(String.init).joined(separator: ", ")
    return "static const long \(symbol)_ib0[\(grouped.start.count)] = {\(entries)};\n"
  }
  /// For blocked input, the whole row split evenly: (tiles, tiles of the larger size, larger size).
  var rowTiles: (count: Int, big: Int, size: Int) { TemplateText.evenSplit(ow, maxTile: maxTile) }

  var source: String {
    let (x0, x1) = interior
    let t = tile
    let pix = inputBlocked || depthwise ? v : 1
    let ics = inputBlocked || depthwise ? 1 : h * w
    let row = w * pix
    let batchStride = (inputBlocked || depthwise ? inBlocks * v : cin) * h * w
    let groups = outBlocks / nv
    let offset = "((n*\(outBlocks) + cb)*\(oh) + oy)*\(ow * v) + (ox + t)*\(v)"
    let inner: String
    if depthwise {
      inner = """
              const float *wp = wt + ((og*\(kh) + ky)*\(kw) + kx)*GF_V;
              gf_vf w0 = gf_load(wp);
              for (int t = 0; t < T; t++) acc[0][t] += gf_load(PX(t)) * w0;
        """
    } else {
      let (wLoads, fmas) = TemplateText.broadcastFMA(nv: nv)
      inner = """
              const float *wp = wt + (((og*\(blockRun.count) + ib - ib0)*\(kh) + ky)*\(kw) + kx)*\(icBlock * nv)*GF_V;
              for (long i = 0; i < \(icBlock); i++) {
                \(wLoads)
                for (int t = 0; t < T; t++) { float xv = PX(t)[i*\(ics)]; \(fmas) }
              }
        """
    }
    // Blocked input: a checked tile points pixels outside the input at a zero vector, so a row's
    // border pixels share the full-width tile. Plain input: checked tiles are single pixels.
    let pixelPointers =
      inputBlocked
      ? """
              const float *pxs[16];
              for (int t = 0; t < T; t++) {
                long ixt = ix + t*\(sw);
                pxs[t] = CHECK && (unsigned long)ixt >= \(w)ul ? gf_zeros : rowp + ixt*\(pix);
              }
              #define PX(t) pxs[t]
      """
      : """
              if (CHECK && (unsigned long)ix >= \(w)ul) continue;
              const float *px = rowp + ix*\(pix);
              #define PX(t) (px + (t)*\(sw * pix))
      """
    let icLoop =
      depthwise
      ? "for (long ib = og; ib < og + 1; ib++)" : "for (long ib = ib0; ib < ib0 + \(blockRun.count); ib++)"
    let call = "\(symbol)_tile(in, wt, bias, bufs, out, n, og, oy, ox"
    let rowSchedule: String
    if inputBlocked {
      // The whole row in tiles of `rowTile` or `rowTile − 1` pixels; tiles touching a border are checked.
      let (count, big, size) = rowTiles
      rowSchedule = """
              long ox = 0;
              for (long k = 0; k < \(count); k++) {
                long width = k < \(big) ? \(size) : \(size - 1);
                int check = ox < \(x0) || ox + width > \(x1);
                if (width == \(size)) { if (check) \(call), \(size), 1); else \(call), \(size), 0); }
                else { if (check) \(call), \(max(size - 1, 1)), 1); else \(call), \(max(size - 1, 1)), 0); }
                ox += width;
              }
        """
    } else {
      rowSchedule = """
              long ox = 0;
              for (; ox < \(x0); ox++) \(call), 1, 1);
              long rest = \(x1) - ox;
              for (; rest > 0 && rest % \(t) != 0; rest -= \(max(t - 1, 1)), ox += \(max(t - 1, 1))) \(call), \(max(t - 1, 1)), 0);
              for (; ox < \(x1); ox += \(t)) \(call), \(t), 0);
              for (; ox < \(ow); ox++) \(call), 1, 1);
        """
    }
    return """
      \(blockTable)static inline __attribute__((always_inline)) void \(symbol)_tile(const float *restrict in, const float *restrict wt,
          const float *restrict bias, float *const *bufs, float *restrict out, long n, long og, long oy, long ox, const int T, const int CHECK) {
      \(epilogue.declarations(first: 3))
      \(tileAccumulatorInit)
      \(depthwise ? "" : "  const long ib0 = \(blockRun.first);")
        \(icLoop) {
          for (long ky = 0; ky < \(kh); ky++) {
            long iy = oy*\(sh) - \(pt) + ky*\(dh);
            if ((unsigned long)iy >= \(h)ul) continue;
            const float *rowp = in + n*\(batchStride) + ib*\(icBlock * h * w) + iy*\(row);
            for (long kx = 0; kx < \(kw); kx++) {
              long ix = ox*\(sw) - \(pl) + kx*\(dw);
      \(pixelPointers)
      \(inner)
            }
          }
        }
        #undef PX
      \(tileStores(offset: offset))
      }

      \(entryPoint("    long oy = task % \(oh), og = (task / \(oh)) % \(groups), n = task / \(oh * groups);\n" + rowSchedule))
      """
  }

  /// The start of a register tile: `nv × T` accumulators initialized to the bias.
  var tileAccumulatorInit: String {
    """
      gf_vf acc[\(nv)][16];
      for (int j = 0; j < \(nv); j++) for (int t = 0; t < T; t++) acc[j][t] = gf_load(bias + (og*\(nv) + j)*GF_V);
    """
  }

  /// The end of a register tile: the epilogue applied in registers, padding lanes zeroed, one
  /// store per accumulator vector at `offset`.
  func tileStores(offset: String) -> String {
    let store = epilogue.vectorC(acc: "acc[j][t]", offset: offset, channelBlock: "cb")
    let padLanes = TemplateText.padLanes(channels: cout, vector: v, block: "cb")
    return """
        for (int j = 0; j < \(nv); j++) {
          long cb = og*\(nv) + j;
          for (int t = 0; t < T; t++) {
            gf_vf r = \(store);
            \(padLanes)
            gf_store(out + \(offset), r);
          }
        }
      """
  }

  /// The entry point over a task range: unpacks the buffers and runs `body` once per task.
  func entryPoint(_ body: String) -> String {
    """
    void \(symbol)(float *const *bufs, long task_begin, long task_end) {
      const float *restrict in = bufs[0], *restrict wt = bufs[1], *restrict bias = bufs[2];
      float *restrict out = bufs[\(3 + epilogue.operands.count)];
      for (long task = task_begin; task < task_end; task++) {
    \(body)
      }
    }
    """
  }
}
