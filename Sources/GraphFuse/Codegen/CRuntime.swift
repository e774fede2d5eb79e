/// The C code every compiled model library starts with: a header of math helpers and vector
/// types that every translation unit includes, and a persistent thread pool (N−1 workers plus the
/// caller; tasks are index ranges handed out by an atomic counter in shrinking chunks, or dealt in
/// contiguous shares with stealing; workers spin briefly, then block on a condition variable)
/// compiled once, in the first part of the source.
enum CRuntime {
  /// The header and the thread pool as one translation unit's start.
  static var prelude: String { header + "\n" + threadPool }

  /// Includes, math helpers, vector types and the kernel signature: shared by every part.
  static let header = #"""
    #include <math.h>
    #include <pthread.h>
    #include <stdatomic.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sched.h>
    #if defined(__AVX512F__)
    #include <immintrin.h>
    #endif

    /* NaN-propagating max/min, matching the reference executor. */
    static inline float gf_max(float a, float b) { return (a > b || a != a) ? a : b; }
    static inline float gf_min(float a, float b) { return (a < b || a != a) ? a : b; }

    /* The SIMD vector of the blocked layout (GF_V floats) and lanewise helpers for epilogues. */
    #ifndef GF_V
    #define GF_V 16
    #endif
    typedef float gf_vf __attribute__((vector_size(GF_V * 4)));
    static const float gf_zeros[64] __attribute__((aligned(64))) = {0};
    static inline gf_vf gf_load(const float *p) { return *(const gf_vf *)p; }
    static inline void gf_store(float *p, gf_vf v) { *(gf_vf *)p = v; }
    typedef float gf_vfu __attribute__((vector_size(GF_V * 4), aligned(4)));
    static inline void gf_storeu(float *p, gf_vf v) { *(gf_vfu *)p = v; }
    static inline gf_vf gf_loadu(const float *p) { return *(const gf_vfu *)p; }
    /* The first n floats at p, zero in the other lanes; nothing past p[n - 1] is read (a masked load). */
    #if defined(__AVX512F__) && GF_V == 16
    static inline gf_vf gf_loadu_first(const float *p, int n) {
      return (gf_vf)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
    }
    #else
    static inline gf_vf gf_loadu_first(const float *p, int n) {
      gf_vf r = {0};
      for (int l = 0; l < n; l++) r[l] = p[l];
      return r;
    }
    #endif
    /* Read hints into L1 (prefetcht0) and L2 (prefetcht1): they never fault and change no result. */
    #if defined(__GNUC__)
    static inline void gf_prefetch_l1(const float *p) { __builtin_prefetch(p, 0, 3); }
    static inline void gf_prefetch_l2(const float *p) { __builtin_prefetch(p, 0, 2); }
    #else
    static inline void gf_prefetch_l1(const float *p) { (void)p; }
    static inline void gf_prefetch_l2(const float *p) { (void)p; }
    #endif
    /* x - 0 is x for every float (-0 and NaN included), so clang folds it to a plain broadcast, which
       reads its operand straight from memory on a load port; (gf_vf){} + x is not an identity (+0 for
       -0) and cost an add and a shuffle-port broadcast per use, on the port AVX-512 FMAs share. */
    static inline gf_vf gf_splat(float x) { return x - (gf_vf){}; }
    /* Lanewise max/min that propagate NaN like PyTorch (relu(NaN) = NaN, max_pool2d keeps NaN):
       the hardware max, then a NaN of either operand blended back in. clang folds this to vmaxps,
       one unordered compare and a masked move; a single select on (a > b) | (a != a) measured
       5-8 % slower on MobileNetV2, whose every conv ends in relu6. */
    typedef int gf_vi __attribute__((vector_size(GF_V * 4)));
    static inline gf_vf gf_vnan(gf_vf a, gf_vf b, gf_vf m) {
      gf_vi na = a != a, nb = b != b;
      gf_vi r = ((gf_vi)m & ~(na | nb)) | ((gf_vi)a & na) | ((gf_vi)b & (nb & ~na));
      return (gf_vf)r;
    }
    #if defined(__clang__)
    static inline gf_vf gf_vmax(gf_vf a, gf_vf b) { return gf_vnan(a, b, __builtin_elementwise_max(a, b)); }
    static inline gf_vf gf_vmin(gf_vf a, gf_vf b) { return gf_vnan(a, b, __builtin_elementwise_min(a, b)); }
    #else  /* other C compilers (the file also compiles with gcc): lane by lane */
    static inline gf_vf gf_vmax(gf_vf a, gf_vf b) {
      gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = gf_max(a[l], b[l]); return r;
    }
    static inline gf_vf gf_vmin(gf_vf a, gf_vf b) {
      gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = gf_min(a[l], b[l]); return r;
    }
    #endif
    /* The same max as a running reduction (max pool): acc keeps its NaN, a NaN x is taken. One select
       on (x > acc) | (x != x) keeps the loop-carried chain short: 2-3x faster in max pools than gf_vmax. */
    static inline gf_vf gf_vmaxacc(gf_vf acc, gf_vf x) {
      gf_vi p = (x > acc) | (x != x);
      return (gf_vf)((p & (gf_vi)x) | (~p & (gf_vi)acc));
    }
    /* A running max that skips a NaN x (one vmaxps, a short loop-carried chain): for a softmax's row
       max, whose NaN scores still turn the row's sum, and so every probability, into NaN. */
    static inline gf_vf gf_vmaxnum(gf_vf acc, gf_vf x) {
      gf_vi p = x > acc;
      return (gf_vf)((p & (gf_vi)x) | (~p & (gf_vi)acc));
    }
    #define GF_LANEWISE(name, f) \
      static inline gf_vf name(gf_vf a) { gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = f(a[l]); return r; }
    GF_LANEWISE(gf_vlog, logf)
    GF_LANEWISE(gf_vsqrt, sqrtf)
    GF_LANEWISE(gf_vfloor, floorf)
    /* exp, tanh and erf in registers (sigmoid, SiLU and GELU epilogues), with the special values of
       expf: NaN stays NaN, exp(+inf) = inf, exp(-inf) = 0, overflow to inf above 88.72, subnormals
       down to -103.97 (which kernels then flush to zero: gf_fp_enter below). Measured max relative
       error against exp in double over every 7th float: exp 8.4e-8, tanh 1.4e-7, erf 3.9e-7,
       sigmoid 1.5e-7 (Docs/Scheduling.md). */
    static inline gf_vf gf_vsel(gf_vi m, gf_vf a, gf_vf b) { return (gf_vf)((m & (gf_vi)a) | (~m & (gf_vi)b)); }
    static inline gf_vf gf_vabs(gf_vf a) { return (gf_vf)((gf_vi)a & 0x7fffffff); }
    /* 1/q for q in [1, 2^100] (the denominators of sigmoid and erf). With AVX-512: vrcp14ps (relative
       error under 2^-14) and one Newton step r + r(1 - qr), whose FMAs leave under half an ulp more
       than the division: by the published instruction tables a vdivps keeps the divider busy about
       10 cycles a vector. Otherwise the division. */
    #if defined(__AVX512F__) && GF_V == 16
    static inline gf_vf gf_vrecip(gf_vf q) {
      gf_vf r = (gf_vf)_mm512_rcp14_ps((__m512)q);
      return r * (1.0f - q * r) + r;
    }
    #else
    static inline gf_vf gf_vrecip(gf_vf q) { return 1.0f / q; }
    #endif
    /* The polynomials of exp, tanh, erf and GELU, written once for the vector forms below and their
       scalar twins (the argument a gf_vf or a float): Horner's rule, a multiply-add per step. */
    #define GF_EXP_POLY(r) \
      (((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) + 4.1665795894e-2f) * (r) \
        + 1.6666665459e-1f) * (r) + 5.0000001201e-1f)
    #define GF_TANH_POLY(z) \
      ((((-5.70498872745e-3f * (z) + 2.06390887954e-2f) * (z) + -5.37397155531e-2f) * (z) + 1.33314422036e-1f) \
        * (z) + -3.33332819422e-1f)
    #define GF_ERF_P(t) \
      ((((((1.911514724e-08f * (t) - 1.94233037e-06f) * (t) + 1.47244423e-04f) * (t) + 3.988506227e-03f) * (t) \
        + 5.15181025e-02f) * (t) + 2.070747274e-01f) * (t) + 1.128379094f)
    #define GF_ERF_Q(t) \
      ((((1.020637773e-03f * (t) + 1.495376434e-02f) * (t) + 1.179497978e-01f) * (t) + 5.168464502e-01f) * (t) + 1.0f)
    #define GF_GELU_P(t) \
      ((((((1.0559726747e-10f * (t) - 2.1459921499e-08f) * (t) + 3.2536728124e-06f) * (t) + 1.7626873749e-04f) \
        * (t) + 4.5535999540e-03f) * (t) + 3.6605985989e-02f) * (t) + 3.9894225456e-01f)
    #define GF_GELU_Q(t) \
      ((((6.3789860812e-05f * (t) + 1.8692205425e-03f) * (t) + 2.9487449450e-02f) * (t) + 2.5842322510e-01f) * (t) \
        + 1.0f)
    /* e^r for r = c - nf ln2 (ln2 in two parts, so r is exact; |r| <= ln2/2 for nf = round(c log2 e)),
       by Cephes' degree-6 polynomial. */
    static inline gf_vf gf_vexp_reduced(gf_vf c, gf_vf nf) {
      gf_vf r = c - nf * 0.693359375f;
      r = r - nf * -2.12194440e-4f;
      return GF_EXP_POLY(r) * (r * r) + r + 1.0f;
    }
    /* x = n ln2 + r; e^r by gf_vexp_reduced; 2^n in the exponent bits as 2^(n/2) 2^(n - n/2), so
       results from the subnormals (n = -150) to overflow round once. */
    static inline gf_vf gf_vexp(gf_vf x) {
      gf_vi nan = x != x;
      gf_vf c = gf_vsel(x > 88.8f, gf_splat(88.8f), x);
      c = gf_vsel(c < -104.0f, gf_splat(-104.0f), c);
      c = gf_vsel(nan, gf_splat(0.0f), c);
      gf_vi n = __builtin_convertvector(c * 1.44269504088896341f + 256.5f, gf_vi) - 256;  /* round */
      gf_vf nf = __builtin_convertvector(n, gf_vf);
      gf_vf p = gf_vexp_reduced(c, nf);
      gf_vi n1 = n >> 1, n2 = n - n1;
      p = p * (gf_vf)((n1 + 127) << 23) * (gf_vf)((n2 + 127) << 23);
      return gf_vsel(nan, x, p);
    }
    /* exp for x <= 0 or NaN (a softmax's scores minus the row max), in about half of gf_vexp's steps:
       x is raised to -87 (e^-87 = 1.6e-38 stands for the smaller results, which the row's sum of at
       least 1 does not see) and a NaN runs through as NaN. With AVX-512: n = round(x log2 e) by
       vrndscaleps, r = x log2 e - n in two parts by FMAs (exact to a rounding), 2^r by a degree-6
       polynomial on [-1/2, 1/2] and 2^n by vscalefps: 12 operations, and about 2 % off ViT-B/16's
       attention. Otherwise n by the 1.5 * 2^23 shift, the reduction and polynomial of gf_vexp
       (gf_vexp_reduced) and one scaling by 2^n in the exponent bits, a normal float for n >= -126. */
    #if defined(__AVX512F__) && GF_V == 16
    /* 2^r 2^n for r in [-1/2, 1/2]: 2^r by a degree-6 polynomial (Horner, fitted for relative
       error), 2^n by vscalefps. */
    static inline gf_vf gf_vexp2_scaled(gf_vf r, __m512 n) {
      gf_vf p = gf_splat(1.4990873751230538e-4f);
      p = p * r + 1.3393086846917868e-3f;
      p = p * r + 9.61967371404171e-3f;
      p = p * r + 5.5503472685813904e-2f;
      p = p * r + 2.402263730764389e-1f;
      p = p * r + 6.931471824645996e-1f;
      p = p * r + 1.0f;
      return (gf_vf)_mm512_scalef_ps((__m512)p, n);
    }
    static inline gf_vf gf_vexp_nonpositive(gf_vf x) {
      __m512 c = _mm512_max_ps(_mm512_set1_ps(-87.0f), (__m512)x);  /* the second operand if NaN */
      __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      gf_vf r = (gf_vf)_mm512_fmsub_ps(c, _mm512_set1_ps(1.4426950216293335f), n);
      r = (gf_vf)c * 1.925963033500011e-8f + r;
      return gf_vexp2_scaled(r, n);
    }
    #else
    static inline gf_vf gf_vexp_nonpositive(gf_vf x) {
      gf_vf c = gf_vsel(x < -87.0f, gf_splat(-87.0f), x);
      gf_vf t = c * 1.44269504088896341f + 12582912.0f;
      gf_vf nf = t - 12582912.0f;
      gf_vi n = (gf_vi)t - 0x4B400000;
      gf_vf p = gf_vexp_reduced(c, nf);
      return p * (gf_vf)((n + 127) << 23);
    }
    #endif
    #if defined(__AVX512DQ__) && GF_V == 16
    /* e^(a - b) for a <= b or NaN (a softmax's scores and their row max): t = (a - b) log2 e, r =
       t - floor(t) in [0, 1) by vreduceps, 2^r by a degree-5 polynomial with 2^0 = 1 exact (relative
       error 1.6e-7 in float), and 2^floor(t) by vscalefps, which floors t itself: 9 operations
       where gf_vexp_nonpositive takes 12 (no clamp: vreduceps takes -inf to 0 and vscalefps 2^-inf
       to 0). The difference comes first: a - b is 0 when a = b however large (a row masked
       throughout with -3.4e38 gives e^0 = 1, as in PyTorch), where a log2 e - b log2 e as one FMA
       rounds b log2 e by up to 2^102 and overflows. A NaN runs through; -inf - -inf is NaN. */
    static inline gf_vf gf_vexp_difference(gf_vf a, gf_vf b) {
      __m512 t = (__m512)((a - b) * 1.44269504088896341f);
      gf_vf r = (gf_vf)_mm512_reduce_ps(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      gf_vf p = gf_splat(1.8671305152e-03f);
      p = p * r + 9.0170297772e-03f;
      p = p * r + 5.5799912661e-02f;
      p = p * r + 2.4016444385e-01f;
      p = p * r + 6.9315129519e-01f;
      p = p * r + 1.0f;
      return (gf_vf)_mm512_scalef_ps((__m512)p, t);
    }
    #else
    static inline gf_vf gf_vexp_difference(gf_vf a, gf_vf b) { return gf_vexp_nonpositive(a - b); }
    #endif
    /* sigmoid. 0 below x = -87, where the result is under 1.7e-38 (the kernels flush floats under
       1.2e-38 to zero anyway); NaN stays NaN, -0 gives 0.5.
       With AVX-512: 1 / (1 + e^-c) for c = x held to [-87, 87] (NaN passes), so 1 + e^-c stays
       under 6.1e37, whose reciprocal gf_vrecip takes: e^-c by gf_vexp_nonpositive's reduction with
       -log2 e in its constants, its degree-6 polynomial and vscalefps. clang emits 18 vector
       instructions where the form below takes 21, constants apart (no |x|, no select of the
       numerator, no multiply by it); max relative error 1.5e-7 over every 13th float of [-87, 87]
       (SiLU 2.0e-7).
       Otherwise from e = e^-|x| in (0, 1] (gf_vexp_nonpositive, about half of gf_vexp's steps, and
       no overflow to guard): 1 / (1 + e) for x >= 0, e / (1 + e) below, one reciprocal (gf_vrecip)
       either way. */
    #if defined(__AVX512F__) && GF_V == 16
    static inline gf_vf gf_vsigmoid(gf_vf x) {
      __m512 c = _mm512_min_ps(_mm512_set1_ps(87.0f), _mm512_max_ps(_mm512_set1_ps(-87.0f), (__m512)x));
      __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(-1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      gf_vf r = (gf_vf)_mm512_fmsub_ps(c, _mm512_set1_ps(-1.4426950216293335f), n);
      r = (gf_vf)c * -1.925963033500011e-8f + r;
      gf_vf s = gf_vrecip(1.0f + gf_vexp2_scaled(r, n));
      return gf_vsel(x < -87.0f, gf_splat(0.0f), s);
    }
    #else
    static inline gf_vf gf_vsigmoid(gf_vf x) {
      gf_vf e = gf_vexp_nonpositive(-gf_vabs(x));
      gf_vf s = gf_vsel(x < 0.0f, e, gf_splat(1.0f)) * gf_vrecip(1.0f + e);
      return gf_vsel(x < -87.0f, gf_splat(0.0f), s);
    }
    #endif
    /* tanh: Cephes' odd polynomial below |x| = 0.625 (no cancellation near 0), 1 - 2/(e^2|x| + 1)
       with the sign of x above. With AVX-512 that is 1 - 2e/(1 + e) for e = e^-2|x| in (0, 1]
       (gf_vexp_nonpositive, no overflow to guard) and one reciprocal (gf_vrecip) instead of the full
       gf_vexp and a vdivps: 0.81 of the time in a loop over 4,096 floats; max relative error 1.5e-7
       over every 13th float, as before (1.4e-7). */
    static inline gf_vf gf_vtanh(gf_vf x) {
      gf_vf a = gf_vabs(x), z = x * x;
      gf_vf p = GF_TANH_POLY(z) * z * x + x;
    #if defined(__AVX512F__) && GF_V == 16
      gf_vf e = gf_vexp_nonpositive(a * -2.0f);
      gf_vf q = 1.0f - (e + e) * gf_vrecip(1.0f + e);
    #else
      gf_vf q = 1.0f - 2.0f / (gf_vexp(a + a) + 1.0f);
    #endif
      q = (gf_vf)((gf_vi)q | ((gf_vi)x & (int)0x80000000));
      return gf_vsel(a < 0.625f, p, q);
    }
    /* erf as x·P(x²)/Q(x²) on [-4, 4] and ±1 beyond: a rational fit of our own (bench/fit_erf.py,
       least squares reweighted toward equal relative error), one reciprocal (gf_vrecip), no exp. */
    static inline gf_vf gf_verf(gf_vf x) {
      gf_vf c = gf_vsel(x > 4.0f, gf_splat(4.0f), x);
      c = gf_vsel(c < -4.0f, gf_splat(-4.0f), c);
      gf_vf t = c * c;
      gf_vf r = c * GF_ERF_P(t) * gf_vrecip(GF_ERF_Q(t));
      r = gf_vsel(r > 1.0f, gf_splat(1.0f), r);
      return gf_vsel(r < -1.0f, gf_splat(-1.0f), r);
    }
    /* GELU x·Φ(x). With AVX-512: Φ piecewise on [-4√2, 4√2), 32 intervals of √2/4, each a degree-4
       polynomial in the position u in [0, 1) within it (bench/fit_pieces.py: the least maximum error
       of Φ, 1.5e-7; the first interval's polynomial is 0, Φ < 5.8e-8 there, so GELU is -0 below
       -3.75√2 and NaN at -inf, as 0.5·x·(1 + erf) is), its coefficients looked up by vpermt2ps from
       two registers' 32 floats: x held to ±(4√2 - 6e-6) by vrangeps (NaN stays NaN), s = 16 + 2√2·x
       in [0, 32), its interval by vcvttps2dq and u = s - floor(s) by vreduceps, then Horner and × x:
       14 vector operations where the rational function below takes 20; ConvNeXt-T's first-stage MLP
       (K = 96, a GELU on every output vector) 0.92 of the time. Otherwise Φ = 1/2 - 2^-25 +
       c·P(c²)/Q(c²) by gf_verf's rational function with the 1/√2 and the 1/2 folded into its
       coefficients, c = x held to ±4√2, Φ held at 0 from below, then × x (the 2^-25, under Φ's own
       error, takes Φ at -4√2 to 0). Both within 3.1e-7 of |x| of GELU in double; NaN stays NaN. */
    #if defined(__AVX512DQ__) && GF_V == 16
    static const float gf_gelu_phi[5][32] __attribute__((aligned(64))) = {
      {
        0.000000000e+00f, 5.690235128e-08f, 3.717084951e-07f, 2.151948138e-06f, 1.104689818e-05f,
        5.031500405e-05f, 2.034839854e-04f, 7.313701790e-04f, 2.338878345e-03f, 6.664162036e-03f,
        1.694739796e-02f, 3.854987770e-02f, 7.864954323e-02f, 1.444221586e-01f, 2.397501022e-01f,
        3.618369102e-01f, 5.000001192e-01f, 6.381632090e-01f, 7.602499127e-01f, 8.555777669e-01f,
        9.213503599e-01f, 9.614500403e-01f, 9.830525517e-01f, 9.933358431e-01f, 9.976611733e-01f,
        9.992686510e-01f, 9.997965097e-01f, 9.999496937e-01f, 9.999889731e-01f, 9.999978542e-01f,
        9.999996424e-01f, 9.999999404e-01f
      },
      {
        0.000000000e+00f, 1.083338432e-07f, 6.673003554e-07f, 3.621755241e-06f, 1.732677447e-05f,
        7.308772911e-05f, 2.718941541e-04f, 8.922012639e-04f, 2.582824556e-03f, 6.596954539e-03f,
        1.486769598e-02f, 2.956801280e-02f, 5.189163610e-02f, 8.036777377e-02f, 1.098457798e-01f,
        1.324968934e-01f, 1.410424113e-01f, 1.324994862e-01f, 1.098490134e-01f, 8.036953211e-02f,
        5.189138278e-02f, 2.956665494e-02f, 1.486643963e-02f, 6.596345454e-03f, 2.582776127e-03f,
        8.923837449e-04f, 2.720778866e-04f, 7.319933502e-05f, 1.737758066e-05f, 3.640291652e-06f,
        6.728907920e-07f, 1.097518663e-07f
      },
      {
        0.000000000e+00f, 1.172754267e-07f, 6.486785651e-07f, 3.170426680e-06f, 1.367070035e-05f,
        5.191227683e-05f, 1.732434321e-04f, 5.068594473e-04f, 1.296149450e-03f, 2.885802882e-03f,
        5.564047955e-03f, 9.216485545e-03f, 1.294634212e-02f, 1.505678333e-02f, 1.374623459e-02f,
        8.319810033e-03f, 4.026675742e-05f, -8.262079209e-03f, -1.373955607e-02f, -1.509361621e-02f,
        -1.299596671e-02f, -9.251696989e-03f, -5.576380063e-03f, -2.882008208e-03f, -1.286878949e-03f,
        -4.988791188e-04f, -1.684673916e-04f, -4.967456334e-05f, -1.281198183e-05f, -2.894322733e-06f,
        -5.733007242e-07f, -9.965220471e-08f
      },
      {
        0.000000000e+00f, 2.598924631e-08f, 1.785378885e-07f, 9.872686633e-07f, 4.528586487e-06f,
        1.746220369e-05f, 5.691229308e-05f, 1.568429579e-04f, 3.639831848e-04f, 7.041607751e-04f,
        1.112430706e-03f, 1.370743965e-03f, 1.153695979e-03f, 2.458267845e-04f, -1.182659180e-03f,
        -2.520713257e-03f, -3.052671440e-03f, -2.473444445e-03f, -1.123978174e-03f, 2.778197813e-04f,
        1.148910029e-03f, 1.346001984e-03f, 1.089557423e-03f, 6.932559190e-04f, 3.631700238e-04f,
        1.601781696e-04f, 6.024121103e-05f, 1.947398960e-05f, 5.440434961e-06f, 1.318558247e-06f,
        2.780276134e-07f, 5.111441936e-08f
      },
      {
        0.000000000e+00f, 6.300959399e-08f, 2.850051146e-07f, 1.113291546e-06f, 3.736350664e-06f,
        1.069475184e-05f, 2.581647095e-05f, 5.158177009e-05f, 8.231818356e-05f, 9.634915477e-05f,
        5.839280129e-05f, -5.545849126e-05f, -2.189690422e-04f, -3.424512397e-04f, -3.226963163e-04f,
        -1.329895458e-04f, 1.329895458e-04f, 3.226963163e-04f, 3.424512397e-04f, 2.189690422e-04f,
        5.545849126e-05f, -5.839280129e-05f, -9.634915477e-05f, -8.231818356e-05f, -5.158177009e-05f,
        -2.581647095e-05f, -1.069475184e-05f, -3.736350664e-06f, -1.113291546e-06f, -2.850051146e-07f,
        -6.300959399e-08f, -1.207523592e-08f
      }
    };
    static inline gf_vf gf_vgelu(gf_vf x) {
      __m512 c = _mm512_range_ps((__m512)x, _mm512_set1_ps(5.6568484f), 0x2);  /* |x| held, sign kept */
      __m512 s = _mm512_fmadd_ps(c, _mm512_set1_ps(2.828427125f), _mm512_set1_ps(16.0f));
      __m512i i = _mm512_cvttps_epi32(s);
      __m512 u = _mm512_reduce_ps(s, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      #define GF_PHI(k) _mm512_permutex2var_ps(_mm512_load_ps(gf_gelu_phi[k]), i, _mm512_load_ps(gf_gelu_phi[k] + 16))
      __m512 p = _mm512_fmadd_ps(GF_PHI(4), u, GF_PHI(3));
      p = _mm512_fmadd_ps(p, u, GF_PHI(2));
      p = _mm512_fmadd_ps(p, u, GF_PHI(1));
      p = _mm512_fmadd_ps(p, u, GF_PHI(0));
      #undef GF_PHI
      return (gf_vf)_mm512_mul_ps(p, (__m512)x);
    }
    #else
    static inline gf_vf gf_vgelu(gf_vf x) {
      gf_vf c = gf_vsel(x > 5.656854249f, gf_splat(5.656854249f), x);
      c = gf_vsel(c < -5.656854249f, gf_splat(-5.656854249f), c);
      gf_vf t = c * c;
      gf_vf phi = (c * GF_GELU_P(t)) * gf_vrecip(GF_GELU_Q(t)) + 0.49999997f;
      return gf_vsel(phi > 0.0f, phi, gf_splat(0.0f)) * x;
    }
    #endif
    /* Scalar twins of gf_vexp, gf_vsigmoid, gf_vtanh and gf_verf: the same formulas in float
       arithmetic, no libm call, so that clang vectorizes the generic loops that compute them a
       float at a time (a softmax along a strided axis, a gate read per channel), and loop-invariant
       ones hoist. Same error bounds and special values as the vector forms. */
    static inline float gf_bits_float(int i) { float f; __builtin_memcpy(&f, &i, 4); return f; }
    static inline float gf_exp(float x) {
      float c = x > 88.8f ? 88.8f : x;
      c = c < -104.0f ? -104.0f : c;
      c = x != x ? 0.0f : c;
      int n = (int)(c * 1.44269504088896341f + 256.5f) - 256;
      float nf = (float)n;
      float r = c - nf * 0.693359375f;
      r = r - nf * -2.12194440e-4f;
      float p = GF_EXP_POLY(r) * (r * r) + r + 1.0f;
      int n1 = n >> 1, n2 = n - n1;
      p = p * gf_bits_float((n1 + 127) << 23) * gf_bits_float((n2 + 127) << 23);
      return x != x ? x : p;
    }
    static inline float gf_sigmoid(float x) {
      float e = gf_exp(-fabsf(x));
      float s = (x < 0.0f ? e : 1.0f) / (1.0f + e);
      return x < -87.0f ? 0.0f : s;
    }
    static inline float gf_tanh(float x) {
      float a = fabsf(x), z = x * x;
      float p = GF_TANH_POLY(z) * z * x + x;
      float q = 1.0f - 2.0f / (gf_exp(a + a) + 1.0f);
      q = x < 0.0f ? -q : q;
      return a < 0.625f ? p : q;
    }
    static inline float gf_erf(float x) {
      float c = x > 4.0f ? 4.0f : x;
      c = c < -4.0f ? -4.0f : c;
      float t = c * c;
      float r = c * GF_ERF_P(t) / GF_ERF_Q(t);
      r = r > 1.0f ? 1.0f : r;
      return r < -1.0f ? -1.0f : r;
    }
    /* GELU of one float by gf_vgelu's rational function in scalar arithmetic (no libm call), so
       that clang vectorizes the generic loops that compute it lane by lane (a GELU between a split
       and a concat, MambaOut's gates: 0.38 ms a group with erff, 2 GFLOP/s). Same error bound and
       NaN and infinity behaviour as gf_vgelu. */
    static inline float gf_gelu(float x) {
      float c = x > 5.656854249f ? 5.656854249f : x;
      c = c < -5.656854249f ? -5.656854249f : c;
      float t = c * c;
      float phi = (c * GF_GELU_P(t)) / GF_GELU_Q(t) + 0.49999997f;
      return (phi > 0.0f ? phi : 0.0f) * x;
    }
    GF_LANEWISE(gf_vtrunc, truncf)
    GF_LANEWISE(gf_vceil, ceilf)
    GF_LANEWISE(gf_vround, rintf)
    GF_LANEWISE(gf_vsin, sinf)
    GF_LANEWISE(gf_vcos, cosf)
    #define GF_LANEWISE2(name, e) \
      static inline gf_vf name(gf_vf a, gf_vf b) { gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = (e); return r; }
    GF_LANEWISE2(gf_veq, a[l] == b[l] ? 1.0f : 0.0f)
    GF_LANEWISE2(gf_vlt, a[l] < b[l] ? 1.0f : 0.0f)
    GF_LANEWISE2(gf_vle, a[l] <= b[l] ? 1.0f : 0.0f)
    GF_LANEWISE2(gf_vkeep, a[l] != 0.0f ? b[l] : 0.0f)
    static inline gf_vf gf_vpow(gf_vf a, gf_vf b) {
      gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = powf(a[l], b[l]); return r;
    }

    /* A runtime gather index: the whole number v holds, negative ones counted from the end. Any other
       value reads index 0 and records the site and the value in the run's status, which the runtime
       reports as an error: an index out of range is never an out-of-bounds read. */
    static inline long gf_index(float v, long n, long site, float *status) {
      if (v >= -(float)n && v < (float)n && v == (float)(long)v) { long i = (long)v; return i < 0 ? i + n : i; }
      if (status[0] == 0.0f) { status[0] = (float)(site + 1); status[1] = v; }
      return 0;
    }

    typedef void (*gf_kernel)(float *const *bufs, long begin, long end);

    /* The index of the calling thread in its pool: 0 for the caller of gf_parallel, 1… for workers.
       Kernels with per-thread scratch (conv chains) use it to pick their slice of a scratch buffer.
       Defined once, with the pool; hidden so that it stays inside the library. */
    extern __thread int gf_thread_index __attribute__((visibility("hidden")));

    /* The batch entry whose data the calling thread's scratch holds for the running step (an
       attention's K transposed), -1 when none: gf_parallel resets it for each thread that joins a
       run, so a kernel fills its scratch when the entry differs and reuses it across the thread's
       tasks of the same entry, never across runs. */
    extern __thread long gf_thread_holds[1] __attribute__((visibility("hidden")));
    """#
}
