/// The dense (gemm) schedule: weights packed once as `[N/v][K][v]` (alpha folded in), one task per
/// output row × output-feature vector, four independent accumulators over K, the bias and the
/// group's elementwise tail applied to the vector before one store.
///
/// With one input row (a classifier head) the layer streams its weights once and is bound by
/// memory bandwidth; the four accumulators hide the FMA latency.
struct DenseTemplate {
  var symbol: String
  var m, k, n: Int
  var transA: Bool
  var v: Int
  var epilogue: Epilogue

  var blocks: Int { (n + v - 1) / v }
  var tasks: Int { m * blocks }

  /// `B'` (`[K, N]` after transB) times alpha, as `[N/v][K][v]`, zero-padded.
  static func pack(_ b: Tensor, transB: Bool, alpha: Float, vector v: Int) -> [Float] {
    let (k, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    let blocks = (n + v - 1) / v
    var out = [Float](repeating: 0, count: blocks * k * v)
    for j in 0..<n {
      for p in 0..<k {
        out[((j / v) * k + p) * v + j % v] = alpha * (transB ? b.data[j * k + p] : b.data[p * n + j])
      }
    }
    return out
  }

  var source: String {
    let a = { (p: String) in transA ? "a[(\(p))*\(m) + row]" : "a[row*\(k) + (\(p))]" }
    let offset = "row*\(n) + jb*\(v)"
    let tail = n % v
    let store =
      tail == 0
      ? "gf_storeu(out + \(offset), r);"
      : "if (jb < \(blocks - 1)) gf_storeu(out + \(offset), r); else for (int l = 0; l < \(tail); l++) out[\(offset) + l] = r[l];"
    return """
      void \(symbol)(float *const *bufs, long task_begin, long task_end) {
        const float *restrict a = bufs[0], *restrict wt = bufs[1], *restrict bias = bufs[2];
      \(epilogue.declarations(first: 3))
        float *restrict out = bufs[\(3 + epilogue.operands.count)];
        for (long task = task_begin; task < task_end; task++) {
          long row = task / \(blocks), jb = task % \(blocks);
          const float *w = wt + jb*\(k * v);
          gf_vf acc0 = gf_load(bias + jb*GF_V), acc1 = gf_splat(0.0f), acc2 = acc1, acc3 = acc1;
          long p = 0;
          for (; p + 4 <= \(k); p += 4) {
            acc0 += gf_load(w + p*GF_V) * \(a("p"));
            acc1 += gf_load(w + (p + 1)*GF_V) * \(a("p + 1"));
            acc2 += gf_load(w + (p + 2)*GF_V) * \(a("p + 2"));
            acc3 += gf_load(w + (p + 3)*GF_V) * \(a("p + 3"));
          }
          for (; p < \(k); p++) acc0 += gf_load(w + p*GF_V) * \(a("p"));
          gf_vf acc = (acc0 + acc1) + (acc2 + acc3);
          gf_vf r = \(epilogue.vectorC(acc: "acc", offset: offset, channelBlock: "jb"));
          \(store)
        }
      }
      """
  }
}
