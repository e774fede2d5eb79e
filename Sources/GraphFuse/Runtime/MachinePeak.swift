import Foundation

/// The float32 FMA peak of this machine: every thread runs 16 independent vector FMA chains,
/// built with the compiler and flags of the generated kernels, so "% of peak" is against the
/// host the kernels actually ran on (hosts of one machine kind differ: 116 and 182 GFLOP/s per
/// core have both been seen).
public enum MachinePeak {
  /// Independent FMA chains per thread: enough to cover two FMA pipes of latency 4–5.
  static let chains = 16

  /// The C source: every thread runs `chains` independent vector FMA chains.
  static let source = #"""
    #include <pthread.h>
    #include <time.h>
    #ifndef GF_V
    #define GF_V 16
    #endif
    typedef float gf_peak_vec __attribute__((vector_size(GF_V * 4)));
    enum { GF_PEAK_CHAINS = \#(chains) };
    typedef struct { long iters; float sink; } gf_peak_arg;

    static void *gf_peak_spin(void *raw) {
      gf_peak_arg *arg = raw;
      gf_peak_vec a[GF_PEAK_CHAINS], b, c;
      for (int i = 0; i < GF_V; i++) { b[i] = 1.0000001f; c[i] = 0.9999999f; }
      for (int k = 0; k < GF_PEAK_CHAINS; k++) for (int i = 0; i < GF_V; i++) a[k][i] = (float)k;
      for (long n = 0; n < arg->iters; n++)
        for (int k = 0; k < GF_PEAK_CHAINS; k++) a[k] = a[k] * b + c;
      float s = 0;
      for (int k = 0; k < GF_PEAK_CHAINS; k++) s += a[k][0];
      arg->sink = s;
      return 0;
    }

    /* Seconds for `threads` threads to run `iters` iterations each; -1 if a thread cannot start. */
    double gf_peak_seconds(int threads, long iters) {
      pthread_t t[256];
      gf_peak_arg args[256];
      struct timespec a, b;
      if (threads < 1 || threads > 256) return -1;
      clock_gettime(CLOCK_MONOTONIC, &a);
      int started = 0;
      for (; started < threads; started++) {
        args[started].iters = iters;
        if (pthread_create(&t[started], 0, gf_peak_spin, &args[started]) != 0) break;
      }
      for (int i = 0; i < started; i++) pthread_join(t[i], 0);
      clock_gettime(CLOCK_MONOTONIC, &b);
      return started == threads ? (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9 : -1;
    }

    int gf_peak_width(void) { return GF_V; }
    """#

  /// GFLOP/s of `threads` threads, the best of `repeats` runs of about `seconds` each.
  public static func measure(
    threads: Int, seconds: Double = 0.1, repeats: Int = 3, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> Double {
    try measureSpread(threads: threads, seconds: seconds, repeats: repeats, options: options).best
  }

  /// The best and the worst GFLOP/s of `repeats` runs: far apart, the machine was busy.
  public static func measureSpread(
    threads: Int, seconds: Double = 0.1, repeats: Int = 3, options: CompileOptions = .init()
  ) throws(GraphFuseError) -> (best: Double, worst: Double) {
    guard (1...CompileOptions.maxThreads).contains(threads) else {
      throw GraphFuseError(
        "peak: threads must be between 1 and \(CompileOptions.maxThreads), got \(threads)", op: "peak")
    }
    let toolchain = try Toolchain.find(portable: options.portable, cacheDirectory: options.cacheDirectory)
    let width = toolchain.hasAVX512 ? 16 : 8
    let (path, _) = try toolchain.library(for: "#define GF_V \(width)\n" + source)
    let library = try SharedLibrary(path: path)
    typealias Run = @convention(c) (Int32, Int) -> Double
    let run = unsafeBitCast(try library.symbol("gf_peak_seconds"), to: Run.self)
    // Calibrate on a short run, then size the timed runs to about `seconds`.
    var iterations = 200_000
    let probe = run(Int32(clamping: threads), iterations)
    guard probe > 0 else { throw GraphFuseError("peak: could not start \(threads) threads", op: "peak") }
    iterations = max(iterations, Int(min(1e12, max(0, Double(iterations) * seconds / probe))))
    var best = 0.0, worst = Double.infinity
    for _ in 0..<max(1, repeats) {
      let t = run(Int32(clamping: threads), iterations)
      guard t > 0 else { throw GraphFuseError("peak: could not start \(threads) threads", op: "peak") }
      let gflops = 2.0 * Double(width * chains * iterations * threads) / t / 1e9
      best = max(best, gflops)
      worst = min(worst, gflops)
    }
    return (best, worst)
  }
}
