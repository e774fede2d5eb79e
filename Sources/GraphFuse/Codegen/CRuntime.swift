/// The C code every compiled model library starts with: a header of math helpers and vector
/// types that every translation unit includes, and a persistent thread pool (N−1 workers plus the
/// caller; tasks are index ranges handed out by an atomic counter; workers spin briefly, then
/// block on a condition variable) compiled once, in the first part of the source.
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
    static inline gf_vf gf_splat(float x) { return (gf_vf){} + x; }
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
    #define GF_LANEWISE(name, f) \
      static inline gf_vf name(gf_vf a) { gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = f(a[l]); return r; }
    GF_LANEWISE(gf_vexp, expf)
    GF_LANEWISE(gf_vlog, logf)
    GF_LANEWISE(gf_vsqrt, sqrtf)
    GF_LANEWISE(gf_vtanh, tanhf)
    GF_LANEWISE(gf_vabs, fabsf)
    GF_LANEWISE(gf_verf, erff)
    GF_LANEWISE(gf_vfloor, floorf)
    GF_LANEWISE(gf_vtrunc, truncf)
    #define GF_LANEWISE2(name, e) \
      static inline gf_vf name(gf_vf a, gf_vf b) { gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = (e); return r; }
    GF_LANEWISE2(gf_veq, a[l] == b[l] ? 1.0f : 0.0f)
    GF_LANEWISE2(gf_vkeep, a[l] != 0.0f ? b[l] : 0.0f)
    static inline gf_vf gf_vpow(gf_vf a, gf_vf b) {
      gf_vf r; for (int l = 0; l < GF_V; l++) r[l] = powf(a[l], b[l]); return r;
    }

    typedef void (*gf_kernel)(float *const *bufs, long begin, long end);

    /* The index of the calling thread in its pool: 0 for the caller of gf_parallel, 1… for workers.
       Kernels with per-thread scratch (conv chains) use it to pick their slice of a scratch buffer.
       Defined once, with the pool; hidden so that it stays inside the library. */
    extern __thread int gf_thread_index __attribute__((visibility("hidden")));
    """#

  /// The thread pool: `gf_pool_create`, `gf_pool_destroy` and `gf_parallel`, defined once per library.
  static let threadPool = #"""
    __thread int gf_thread_index __attribute__((visibility("hidden")));

    #if defined(__x86_64__)
    #define GF_PAUSE() __builtin_ia32_pause()
    #else
    #define GF_PAUSE() ((void)0)
    #endif

    typedef struct gf_pool gf_pool;
    typedef struct { gf_pool *pool; int index; } gf_worker_arg;

    struct gf_pool {
      int nthreads;
      pthread_t threads[256];
      gf_worker_arg args[256];
      pthread_mutex_t mu;
      pthread_cond_t cv;
      atomic_int generation, open, inside, busy, stop;
      gf_kernel fn;
      float *const *bufs;
      long total, chunk;
      atomic_long next, done;
    };

    /* Takes chunks of tasks until none are left; counts the finished tasks. */
    static void gf_work(gf_pool *p) {
      for (;;) {
        long i = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
        if (i >= p->total) return;
        long e = i + p->chunk < p->total ? i + p->chunk : p->total;
        p->fn(p->bufs, i, e);
        atomic_fetch_add_explicit(&p->done, e - i, memory_order_release);
      }
    }

    /* A worker joins a job only while it is open, so a late or descheduled worker never holds up
       the caller: the caller finishes the remaining tasks itself and waits only for work in flight. */
    static void *gf_worker(void *arg) {
      gf_pool *p = ((gf_worker_arg *)arg)->pool;
      gf_thread_index = ((gf_worker_arg *)arg)->index;
      int seen = 0;
      for (;;) {
        int spins = 0, g;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
          if (atomic_load(&p->stop)) return NULL;
          if (++spins < 4000) { GF_PAUSE(); continue; }
          if (spins < 4100) { sched_yield(); continue; }
          pthread_mutex_lock(&p->mu);
          while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
          pthread_mutex_unlock(&p->mu);
          spins = 0;
        }
        seen = g;
        if (atomic_load(&p->stop)) return NULL;
        atomic_fetch_add(&p->inside, 1);
        if (atomic_load(&p->open) == g) gf_work(p);
        atomic_fetch_sub(&p->inside, 1);
      }
    }

    void *gf_pool_create(int nthreads) {
      gf_pool *p = (gf_pool *)calloc(1, sizeof(gf_pool));
      if (!p) return NULL;
      if (nthreads > 256) nthreads = 256;
      p->nthreads = nthreads < 1 ? 1 : nthreads;
      pthread_mutex_init(&p->mu, NULL);
      pthread_cond_init(&p->cv, NULL);
      for (int t = 1; t < p->nthreads; t++) {
        p->args[t] = (gf_worker_arg){p, t};
        pthread_create(&p->threads[t], NULL, gf_worker, &p->args[t]);
      }
      return p;
    }

    void gf_pool_destroy(void *handle) {
      gf_pool *p = (gf_pool *)handle;
      pthread_mutex_lock(&p->mu);
      atomic_store(&p->stop, 1);
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
      for (int t = 1; t < p->nthreads; t++) pthread_join(p->threads[t], NULL);
      free(p);
    }

    /* Runs fn over tasks [0, total) on the pool; if another run holds the pool, on the caller alone. */
    void gf_parallel(void *handle, gf_kernel fn, float *const *bufs, long total) {
      gf_pool *p = (gf_pool *)handle;
      if (total <= 0) return;
      if (p->nthreads <= 1 || total <= 1 || atomic_exchange(&p->busy, 1)) { fn(bufs, 0, total); return; }
      p->fn = fn;
      p->bufs = bufs;
      p->total = total;
      long chunk = total / ((long)p->nthreads * 8);
      p->chunk = chunk < 1 ? 1 : chunk;
      atomic_store_explicit(&p->next, 0, memory_order_relaxed);
      atomic_store_explicit(&p->done, 0, memory_order_relaxed);
      pthread_mutex_lock(&p->mu);
      int g = atomic_load(&p->generation) + 1;
      atomic_store(&p->open, g);
      atomic_store_explicit(&p->generation, g, memory_order_release);
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
      gf_work(p);
      while (atomic_load_explicit(&p->done, memory_order_acquire) < total) GF_PAUSE();
      atomic_store(&p->open, 0);
      while (atomic_load(&p->inside) > 0) GF_PAUSE();
      atomic_store(&p->busy, 0);
    }
    """#
}
