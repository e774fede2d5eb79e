import Testing

@testable import GraphFuse

/// The softmax's `e^(a − b)` (`gf_vexp_difference` of the C prelude, 16-float vectors) against
/// `exp` in double: a C program sweeps `a − b` over [−104, 0] for row maxima `b` from −20 to 87 and
/// checks each lane within the function's stated error, and the special values a softmax meets.
@Suite struct ExpDifferenceTests {
  /// The program: prints the worst error over its bound, the lanes off and the special results.
  static let program = #"""
    #include <math.h>
    #include <stdio.h>
    int main(void) {
      const float shifts[] = {0.0f, 3.5f, -20.25f, 87.0f};
      double worst = 0; long off = 0;
      for (int s = 0; s < 4; s++) {
        float b = shifts[s];
        for (long i = 0; i < 1600000; i += GF_V) {
          gf_vf a;
          for (int l = 0; l < GF_V; l++) a[l] = b - (float)(i + l) * 6.5e-5f;
          gf_vf e = gf_vexp_difference(a, gf_splat(b));
          for (int l = 0; l < GF_V; l++) {
            double d = (double)a[l] - (double)b, ref = exp(d);
            /* the roundings of a - b and of t (each up to 6e-8 |a - b| relative once raised to e),
               log2 e in float (1.4e-8 |a - b|), and the polynomial, under 2e-7 */
            double bound = 2e-7 + 1.5e-7 * fabs(d);
            if (ref < 1.2e-38) { if (!(e[l] >= 0 && e[l] <= 1.2e-38f)) off++; continue; }
            double err = fabs((double)e[l] / ref - 1) / bound;
            if (!(err <= 1)) off++;
            if (err > worst) worst = err;
          }
        }
      }
      gf_vf a = gf_splat(0.0f);
      a[0] = -INFINITY; a[1] = NAN; a[2] = -0.0f; a[3] = -1e30f; a[4] = -3.4e38f;
      gf_vf e = gf_vexp_difference(a, gf_splat(0.0f)), n = gf_vexp_difference(a, gf_splat(-INFINITY));
      /* rows masked throughout with a large finite value: each score minus the row max is 0 */
      gf_vf m = gf_vexp_difference(gf_splat(-3.4e38f), gf_splat(-3.4e38f));
      gf_vf g = gf_vexp_difference(gf_splat(-1e10f), gf_splat(-1e10f));
      printf("%.4f %ld %g %g %g %g %g %g %g %g %g\n", worst, off, e[0], e[1], e[2], e[3], e[4], e[5], n[0], m[0],
             g[GF_V - 1]);
      return 0;
    }
    """#

  @Test func expDifferenceMatchesExpInDouble() throws {
    let output = try CompiledTesting.runWithPrelude(Self.program, name: "expdiff")
    let fields = output.split(whereSeparator: \.isWhitespace).map(String.init)
    try #require(fields.count == 11, "\(output)")
    #expect(Double(fields[0])! <= 1, "worst error over its bound: \(fields[0])")
    #expect(fields[1] == "0", "lanes off: \(fields[1])")
    // e^-inf = 0, NaN stays NaN, e^-0 = 1, e^-1e30 and e^-3.4e38 (a mask) = 0, e^0 = 1 exactly,
    // -inf - -inf (a row masked throughout with -inf) is NaN, as a - b is, and a row masked throughout
    // with -3.4e38 or -1e10 has e^0 = 1 (PyTorch's uniform probabilities), not an overflow.
    let special = fields[2...10].map { $0 == "-nan" ? "nan" : $0 }
    #expect(special == ["0", "nan", "1", "0", "0", "1", "nan", "1", "1"], "\(output)")
  }
}
