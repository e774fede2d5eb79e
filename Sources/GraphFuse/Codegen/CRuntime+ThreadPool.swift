/// The persistent thread pool of ``CRuntime``, defined once per library (in part 0 of the source).
extension CRuntime {
  /// The thread pool: `gf_pool_create`, `gf_pool_destroy` and `gf_parallel`, defined once per library.
  static let threadPool = #"""
    __thread int gf_thread_index __attribute__((visibility("hidden")));
    __thread long gf_thread_holds[1] __attribute__((visibility("hidden"))) = {-1};

    #if defined(__x86_64__)
    #define GF_PAUSE() __builtin_ia32_pause()
    #else
    #define GF_PAUSE() ((void)0)
    #endif

    /* Denormal floats (below 1.2e-38) cost a microcode assist of about a hundred cycles per
       operation on x86, and a masked softmax (exp(-100) = 3.7e-44) fills whole matrices with them:
       Swin's shifted-window attention ran 15x slower. Kernels run with flush-to-zero and
       denormals-are-zero (MXCSR bits 15 and 6), as TensorFlow's and Intel's compilers' defaults do;
       the caller's mode is restored when gf_parallel returns. -DGF_KEEP_DENORMALS keeps IEEE
       gradual underflow. */
    #if (defined(__x86_64__) || defined(__i386__)) && !defined(GF_KEEP_DENORMALS)
    static inline unsigned gf_fp_enter(void) {
      unsigned mode = __builtin_ia32_stmxcsr();
      __builtin_ia32_ldmxcsr(mode | 0x8040u);
      return mode;
    }
    static inline void gf_fp_leave(unsigned mode) { __builtin_ia32_ldmxcsr(mode); }
    #else
    static inline unsigned gf_fp_enter(void) { return 0; }
    static inline void gf_fp_leave(unsigned mode) { (void)mode; }
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
      long total, chunk, share;
      atomic_long next, done;
      int shares;  /* this run deals contiguous shares */
      atomic_llong range[256 * 8];  /* thread t's share at [8 t]: begin << 32 | end; a line each */
    };

    /* Takes tasks from the front of a share (its owner) or from its back (a thief): half of those
       left, rounded up, and at most `most`, so that near the end the owner and a thief each keep
       some (a thief that took the last `most` at once left the owner idle while it ran them). */
    static int gf_take(atomic_llong *r, int front, long most, long *b, long *e) {
      long long v = atomic_load_explicit(r, memory_order_relaxed), w;
      do {
        long lo = (long)(v >> 32), hi = (long)(v & 0xffffffffLL);
        if (lo >= hi) return 0;
        long half = (hi - lo + 1) / 2, c = half < most ? half : most;
        if (front) { *b = lo; *e = lo + c; w = ((long long)(lo + c) << 32) | hi; }
        else { *b = hi - c; *e = hi; w = ((long long)lo << 32) | (hi - c); }
      } while (!atomic_compare_exchange_weak_explicit(r, &v, w, memory_order_relaxed, memory_order_relaxed));
      return 1;
    }

    /* Each thread runs its own contiguous share front to back, then takes chunks from the back of
       the others' shares. */
    static void gf_work_shares(gf_pool *p) {
      int self = gf_thread_index, n = p->nthreads;
      long b, e, most = p->chunk < 1 ? 1 : p->chunk;
      while (gf_take(&p->range[8 * self], 1, most, &b, &e)) {
        p->fn(p->bufs, b, e);
        atomic_fetch_add_explicit(&p->done, e - b, memory_order_release);
      }
      for (int k = 1; k < n; k++) {
        atomic_llong *r = &p->range[8 * ((self + k) % n)];
        while (gf_take(r, 0, most, &b, &e)) {
          p->fn(p->bufs, b, e);
          atomic_fetch_add_explicit(&p->done, e - b, memory_order_release);
        }
      }
    }

    /* Takes chunks of tasks until none are left; counts the finished tasks. A chunk is at most
       1/8 of a thread's share (a descheduled worker holds up the caller by one chunk at most)
       and shrinks to the remaining tasks over 2 x threads at the end, so the threads finish
       within about one task of each other. */
    static void gf_work(gf_pool *p) {
      if (p->shares) { gf_work_shares(p); return; }
      for (;;) {
        long i = atomic_load_explicit(&p->next, memory_order_relaxed), c;
        do {
          if (i >= p->total) return;
          c = (p->total - i) / p->share;
          if (c > p->chunk) c = p->chunk;
          if (c < 1) c = 1;
        } while (!atomic_compare_exchange_weak_explicit(&p->next, &i, i + c, memory_order_relaxed,
                                                        memory_order_relaxed));
        long e = i + c;
        p->fn(p->bufs, i, e);
        atomic_fetch_add_explicit(&p->done, e - i, memory_order_release);
      }
    }

    /* A worker joins a job only while it is open, so a late or descheduled worker never holds up
       the caller: the caller finishes the remaining tasks itself and waits only for work in flight. */
    static void *gf_worker(void *arg) {
      gf_pool *p = ((gf_worker_arg *)arg)->pool;
      gf_thread_index = ((gf_worker_arg *)arg)->index;
      (void)gf_fp_enter();  /* a worker only ever runs kernels */
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
        gf_thread_holds[0] = -1;
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

    /* The bit of a task count that deals the tasks in contiguous shares. */
    #define GF_SHARES (1L << 40)

    /* Runs fn over tasks [0, total) on the pool; if another run holds the pool, on the caller alone.
       A negative total runs tasks [0, -total) on the caller: work too small for a pool round trip.
       With GF_SHARES set, thread t starts on the t-th contiguous run of the tasks (gf_work_shares);
       otherwise the threads take chunks from one counter (gf_work). */
    static void gf_parallel_run(void *handle, gf_kernel fn, float *const *bufs, long total) {
      gf_pool *p = (gf_pool *)handle;
      if (total < 0) { fn(bufs, 0, -total); return; }
      int shares = (total & GF_SHARES) != 0;
      total &= GF_SHARES - 1;
      if (total == 0) return;
      if (p->nthreads <= 1 || total <= 1 || atomic_exchange(&p->busy, 1)) { fn(bufs, 0, total); return; }
      p->fn = fn;
      p->bufs = bufs;
      p->total = total;
      p->shares = shares;
      p->chunk = total / ((long)p->nthreads * 8);
      p->share = 2L * p->nthreads;
      atomic_store_explicit(&p->next, 0, memory_order_relaxed);
      atomic_store_explicit(&p->done, 0, memory_order_relaxed);
      for (int t = 0; t < p->nthreads; t++) {
        long lo = total * t / p->nthreads, hi = total * (t + 1) / p->nthreads;
        atomic_store_explicit(&p->range[8 * t], ((long long)lo << 32) | hi, memory_order_relaxed);
      }
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

    void gf_parallel(void *handle, gf_kernel fn, float *const *bufs, long total) {
      unsigned mode = gf_fp_enter();
      gf_thread_holds[0] = -1;
      gf_parallel_run(handle, fn, bufs, total);
      gf_fp_leave(mode);
    }
    """#
}
