/// The C text of a deployable model library: the public header and the glue that runs a
/// ``KernelPlan`` from tables (buffers, arena offsets, weight offsets, steps) with the
/// kernels and thread pool of the model's own source.
enum DeploySource {
  /// `model.h`: the C API of a library written by `graphfuse compile`.
  static let header = #"""
    /* A model compiled by GraphFuse (`graphfuse compile MODEL -o DIR`).
       Link with -lmodel (libmodel.so); the library needs only libc, libm and pthreads and reads
       its weights from DIR/weights.bin when opened. Tensors are in C (row-major) order, each of its
       own element type: float32 (float), int64 (int64_t), int32 (int32_t) or bool (one byte, 0 or 1). */
    #ifndef GRAPHFUSE_MODEL_H
    #define GRAPHFUSE_MODEL_H
    #include <stdint.h>
    #ifdef __cplusplus
    extern "C" {
    #endif

    typedef struct gf_model gf_model;

    /* Opens the model whose files are in `dir` with `threads` worker threads (<= 0: as many as it
       was compiled for; more are capped at that). NULL on error (see gf_model_error). */
    gf_model   *gf_model_open(const char *dir, int threads);
    /* The last error of the calling thread, one line. */
    const char *gf_model_error(void);
    int  gf_model_num_inputs(const gf_model *m);
    int  gf_model_num_outputs(const gf_model *m);
    /* Writes the dimensions of input / output `index` to dims and returns the rank (-1: no such index). */
    int  gf_model_input_shape(const gf_model *m, int index, int64_t dims[8]);
    int  gf_model_output_shape(const gf_model *m, int index, int64_t dims[8]);
    /* The element type of input / output `index` as an ONNX TensorProto code: GF_FLOAT 1,
       GF_INT32 6, GF_INT64 7, GF_BOOL 9 (-1: no such index). */
    enum { GF_FLOAT = 1, GF_INT32 = 6, GF_INT64 = 7, GF_BOOL = 9 };
    int  gf_model_input_dtype(const gf_model *m, int index);
    int  gf_model_output_dtype(const gf_model *m, int index);
    /* The name of input / output `index` in the model file (NULL: no such index). */
    const char *gf_model_input_name(const gf_model *m, int index);
    const char *gf_model_output_name(const gf_model *m, int index);
    /* One inference: inputs[i] and outputs[i] point to whole tensors of their element types. 0 = ok;
       non-zero with gf_model_error set for a bad argument, an integer input beyond +-2^24 (integers are
       carried in float32, exact to 2^24) or an index out of range (a token id past the vocabulary).
       Safe to call from several threads at once (each concurrent call gets its own working memory). */
    int  gf_model_run(gf_model *m, const void *const *inputs, void *const *outputs);
    /* The largest batch of a library compiled with --max-batch N: N (the shapes above are at batch N).
       0 for a library of fixed shapes. */
    int  gf_model_max_batch(const gf_model *m);
    /* One inference on `batch` samples, 1 <= batch <= gf_model_max_batch: every input and output
       is a whole tensor of its shape with axis 0 set to `batch`. The batch runs as chunks of the
       batch sizes compiled in (powers of two and N, largest first) with one copy of the weights.
       Errors as gf_model_run, and for a batch out of range. */
    int  gf_model_run_batch(gf_model *m, int batch, const void *const *inputs, void *const *outputs);
    void gf_model_close(gf_model *m);

    #ifdef __cplusplus
    }
    #endif
    #endif
    """#

  /// The magic at the start of `weights.bin`, followed by the float count (uint64, little-endian).
  static let weightsMagic = "GFWEIGHT"

  /// Tables describing `programs` (one per batch size, ascending; one with batch 0 for fixed
  /// shapes): per program its buffers (arena or weight offsets in floats), steps and their buffers,
  /// input and output buffers and counts; once, the shapes (of the largest batch) and types.
  static func tables(_ programs: [DeployProgram], weightFloats: Int, threads: Int) -> String {
    /// `static const TYPE NAME[n] = {…};` (one zero element when empty: C has no empty arrays).
    func array(_ type: String, _ name: String, _ values: [String]) -> String {
      "static const \(type) \(name)[\(max(values.count, 1))] = "
        + "{\(values.isEmpty ? "0" : values.joined(separator: ", "))};"
    }
    func ints(_ values: [Int]) -> [String] { values.map(String.init) }
    let largest = programs[programs.count - 1]
    let graph = largest.graph
    let inputShapes = graph.inputs.map(graph.shape(of:)), outputShapes = graph.outputs.map(graph.shape(of:))
    let dims = { (shapes: [[Int]]) in shapes.flatMap { $0 + [Int](repeating: 0, count: max(0, 8 - $0.count)) } }
    var lines = [
      "/* The programs (one per batch size): buffers (arena or weight offsets in floats, -1: none), steps and",
      "   their buffers; then the inputs' and outputs' shapes (at the largest batch) and element types. */",
      "#define GF_NPROG \(programs.count)",
      "#define GF_NIN \(graph.inputs.count)",
      "#define GF_NOUT \(graph.outputs.count)",
      "#define GF_ARENA_FLOATS \(max(programs.map(\.memory.size).max() ?? 0, 16))L",
      "#define GF_WEIGHT_FLOATS \(weightFloats)L",
      "#define GF_BUILT_THREADS \(threads)",
      "#define GF_MAX_BATCH \(largest.batch)",
      array("int", "gf_in_rank", ints(inputShapes.map(\.count))),
      array("int", "gf_out_rank", ints(outputShapes.map(\.count))),
      array("int64_t", "gf_in_dims", ints(dims(inputShapes))),
      array("int64_t", "gf_out_dims", ints(dims(outputShapes))),
      array("int", "gf_in_dtype", ints(graph.inputs.map { graph.dataType(of: $0).onnxCode })),
      array("int", "gf_out_dtype", ints(graph.outputs.map { graph.dataType(of: $0).onnxCode })),
      array("const char *", "gf_in_name", graph.inputs.map { cString(graph.values[$0].name) }),
      array("const char *", "gf_out_name", graph.outputs.map { cString(graph.values[$0].name) }),
      "typedef struct gf_program {",
      "  int batch, nstep, status_buf;",
      "  const long *buf_arena, *buf_weight, *step_tasks, *in_count, *out_count;",
      "  const int *step_start, *step_buf, *in_buf, *out_buf;",
      "  const gf_kernel *step_fn;",
      "  const char *(*site_message)(long site, const char **suffix);",
      "} gf_program;",
    ]
    var entries: [String] = []
    for (p, program) in programs.enumerated() {
      let plan = program.plan, graph = program.graph
      var stepBuffers: [Int] = [], stepStart: [Int] = []
      for step in plan.steps {
        stepStart.append(stepBuffers.count)
        stepBuffers += step.buffers.map(\.index)
      }
      stepStart.append(stepBuffers.count)
      let name = "gf_p\(p)"
      lines += [
        array("long", "\(name)_buf_arena", ints(plan.buffers.indices.map { program.memory.offsets[$0] ?? -1 })),
        array("long", "\(name)_buf_weight", ints(program.weightOffsets.map { $0 ?? -1 })),
        array("int", "\(name)_step_start", ints(stepStart)),
        array("int", "\(name)_step_buf", ints(stepBuffers)),
        array("long", "\(name)_step_tasks", ints(plan.steps.map(\.launchTasks))),
        array("gf_kernel", "\(name)_step_fn", plan.steps.map(\.symbol)),
        array("int", "\(name)_in_buf", ints(plan.inputBuffers.map(\.index))),
        array("int", "\(name)_out_buf", ints(plan.outputBuffers.map(\.index))),
        array("long", "\(name)_in_count", ints(graph.inputs.map { graph.shape(of: $0).reduce(1, *) })),
        array("long", "\(name)_out_count", ints(graph.outputs.map { graph.shape(of: $0).reduce(1, *) })),
        siteMessages(graph, name: "\(name)_site_message"),
      ]
      let fields = [
        "\(max(program.batch, 1)), \(plan.steps.count), \(plan.status?.index ?? -1)",
        ["buf_arena", "buf_weight", "step_tasks", "in_count", "out_count"].map { "\(name)_\($0)" }.joined(
          separator: ", "),
        ["step_start", "step_buf", "in_buf", "out_buf", "step_fn", "site_message"].map { "\(name)_\($0)" }.joined(
          separator: ", "),
      ]
      entries.append("  {" + fields.joined(separator: ", ") + "}")
    }
    lines.append("static const gf_program gf_programs[GF_NPROG] = {\n" + entries.joined(separator: ",\n") + "\n};")
    return lines.joined(separator: "\n") + "\n"
  }

  /// A C string literal of `text`.
  static func cString(_ text: String) -> String {
    var out = "\""
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(byte))
      case 0x20..<0x7f: out += String(UnicodeScalar(byte))
      default: out += String(format: "\\%03o", byte)
      }
    }
    return out + "\""
  }

  /// `NAME(site, &suffix)`: the text around the bad value of each runtime gather (``Take``).
  static func siteMessages(_ graph: Graph, name: String) -> String {
    var cases: [String] = []
    for (n, node) in graph.nodes.enumerated() where node.op == "take" {
      let parts = Take.siteError(graph, site: n, value: 0).description.components(separatedBy: "index 0 in")
      guard parts.count == 2 else { continue }
      cases.append("  case \(n): *suffix = \(cString(" in" + parts[1])); return \(cString(parts[0] + "index "));")
    }
    return "static const char *\(name)(long site, const char **suffix) {\n  switch (site) {\n"
      + cases.joined(separator: "\n") + (cases.isEmpty ? "" : "\n")
      + "  }\n  *suffix = \" is out of range\";\n  return \"index \";\n}"
  }

  /// The API over the tables: weights loaded once, one arena per concurrent run from a
  /// mutex-guarded free list, steps launched on the model's thread pool.
  static let api = #"""
    #include <stdint.h>
    #include <stdio.h>
    #include <errno.h>
    #include <sys/mman.h>
    #define GF_API __attribute__((visibility("default")))

    void *gf_pool_create(int nthreads);
    void gf_pool_destroy(void *handle);
    void gf_parallel(void *handle, gf_kernel fn, float *const *bufs, long total);

    typedef struct gf_model gf_model;
    /* One run's working memory: the arena and, per program, the pointer table of its steps. */
    typedef struct gf_arena { struct gf_arena *next; float *base; float **ptrs[GF_NPROG]; } gf_arena;
    struct gf_model { float *weights; void *pool; pthread_mutex_t mu; gf_arena *free_list; };

    static __thread char gf_last_error[512];
    static void gf_fail(const char *what, const char *detail) {
      snprintf(gf_last_error, sizeof gf_last_error, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    }
    GF_API const char *gf_model_error(void) { return gf_last_error; }

    /* Large buffers (weights, arena) start on a 2 MiB boundary and ask for transparent huge pages:
       fewer page faults on first write and fewer TLB misses while kernels stream the weights. */
    static void *gf_alloc(size_t bytes) {
      void *p = NULL;
      size_t align = bytes >= ((size_t)8 << 20) ? ((size_t)2 << 20) : 64;
      if (posix_memalign(&p, align, bytes) != 0) return NULL;
    #ifdef MADV_HUGEPAGE
      if (align > 64) (void)madvise(p, bytes, MADV_HUGEPAGE);
    #endif
      return p;
    }

    static void gf_arena_free(gf_arena *a) {
      if (!a) return;
      free(a->base);
      for (int p = 0; p < GF_NPROG; p++) free(a->ptrs[p]);
      free(a);
    }

    static gf_arena *gf_arena_new(const gf_model *m) {
      gf_arena *a = (gf_arena *)calloc(1, sizeof(gf_arena));
      if (!a) return NULL;
      void *base = gf_alloc((size_t)GF_ARENA_FLOATS * 4);
      if (!base) { free(a); return NULL; }
      a->base = (float *)base;
      for (int p = 0; p < GF_NPROG; p++) {
        const gf_program *g = &gf_programs[p];
        a->ptrs[p] = (float **)calloc((size_t)g->step_start[g->nstep] + 1, sizeof(float *));
        if (!a->ptrs[p]) { gf_arena_free(a); return NULL; }
        for (int s = 0; s < g->nstep; s++)
          for (int i = g->step_start[s]; i < g->step_start[s + 1]; i++) {
            int b = g->step_buf[i];
            a->ptrs[p][i] = g->buf_weight[b] >= 0 ? m->weights + g->buf_weight[b]
                          : g->buf_arena[b] >= 0 ? a->base + g->buf_arena[b] : NULL;
          }
      }
      return a;
    }

    GF_API gf_model *gf_model_open(const char *dir, int threads) {
      if (!dir) { gf_fail("gf_model_open: no directory given", NULL); return NULL; }
      char path[4096];
      if (snprintf(path, sizeof path, "%s/weights.bin", dir) >= (int)sizeof path) {
        gf_fail("gf_model_open: directory path too long", dir);
        return NULL;
      }
      FILE *f = fopen(path, "rb");
      if (!f) { gf_fail(path, strerror(errno)); return NULL; }
      char magic[8];
      uint64_t count = 0;
      if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "GFWEIGHT", 8) != 0 || fread(&count, 8, 1, f) != 1) {
        fclose(f);
        gf_fail(path, "not a GraphFuse weights file");
        return NULL;
      }
      if (count != (uint64_t)GF_WEIGHT_FLOATS) {
        fclose(f);
        gf_fail(path, "holds the weights of another model (float count differs)");
        return NULL;
      }
      gf_model *m = (gf_model *)calloc(1, sizeof(gf_model));
      void *weights = m ? gf_alloc((size_t)(GF_WEIGHT_FLOATS > 0 ? GF_WEIGHT_FLOATS : 16) * 4) : NULL;
      if (!weights) {
        free(m);
        fclose(f);
        gf_fail("gf_model_open: out of memory for the weights", NULL);
        return NULL;
      }
      m->weights = (float *)weights;
      size_t got = GF_WEIGHT_FLOATS > 0 ? fread(m->weights, 4, (size_t)GF_WEIGHT_FLOATS, f) : 0;
      int extra = fgetc(f);
      fclose(f);
      if (got != (size_t)GF_WEIGHT_FLOATS || extra != EOF) {
        free(m->weights);
        free(m);
        gf_fail(path, "is truncated or too long");
        return NULL;
      }
      if (threads <= 0 || threads > GF_BUILT_THREADS) threads = GF_BUILT_THREADS;
      m->pool = gf_pool_create(threads);
      if (!m->pool) {
        free(m->weights);
        free(m);
        gf_fail("gf_model_open: cannot start the thread pool", NULL);
        return NULL;
      }
      pthread_mutex_init(&m->mu, NULL);
      return m;
    }

    GF_API int gf_model_num_inputs(const gf_model *m) { return m ? GF_NIN : 0; }
    GF_API int gf_model_num_outputs(const gf_model *m) { return m ? GF_NOUT : 0; }

    static int gf_shape(int n, const int *rank, const int64_t *all, int index, int64_t dims[8]) {
      if (index < 0 || index >= n) { gf_fail("shape: no tensor with that index", NULL); return -1; }
      for (int d = 0; d < rank[index]; d++) dims[d] = all[index * 8 + d];
      return rank[index];
    }
    GF_API int gf_model_input_shape(const gf_model *m, int index, int64_t dims[8]) {
      return m ? gf_shape(GF_NIN, gf_in_rank, gf_in_dims, index, dims) : -1;
    }
    GF_API int gf_model_output_shape(const gf_model *m, int index, int64_t dims[8]) {
      return m ? gf_shape(GF_NOUT, gf_out_rank, gf_out_dims, index, dims) : -1;
    }

    GF_API int gf_model_input_dtype(const gf_model *m, int index) {
      return m && index >= 0 && index < GF_NIN ? gf_in_dtype[index] : -1;
    }
    GF_API int gf_model_output_dtype(const gf_model *m, int index) {
      return m && index >= 0 && index < GF_NOUT ? gf_out_dtype[index] : -1;
    }
    GF_API const char *gf_model_input_name(const gf_model *m, int index) {
      return m && index >= 0 && index < GF_NIN ? gf_in_name[index] : NULL;
    }
    GF_API const char *gf_model_output_name(const gf_model *m, int index) {
      return m && index >= 0 && index < GF_NOUT ? gf_out_name[index] : NULL;
    }

    static size_t gf_dtype_size(int dtype) { return dtype == 7 ? 8 : dtype == 9 ? 1 : 4; }

    /* Input k, n elements, into the arena's float32: integers must lie within +-2^24, where float32 is
       exact. `skip` is the element offset of the chunk in the whole input, for the message. */
    static int gf_read_input(int k, long n, long skip, const void *src, float *dst) {
      if (gf_in_dtype[k] == 1) { memcpy(dst, src, (size_t)n * 4); return 0; }
      for (long i = 0; i < n; i++) {
        int64_t v = gf_in_dtype[k] == 7 ? ((const int64_t *)src)[i]
                  : gf_in_dtype[k] == 6 ? ((const int32_t *)src)[i] : ((const uint8_t *)src)[i] != 0;
        if (v > 16777216 || v < -16777216) {
          snprintf(gf_last_error, sizeof gf_last_error,
                   "gf_model_run: input %d ('%s') element %ld holds %lld, beyond +-2^24 (integers are carried "
                   "exactly in float32 up to 2^24)", k, gf_in_name[k], skip + i, (long long)v);
          return 1;
        }
        dst[i] = (float)v;
      }
      return 0;
    }

    /* Output k, n elements, from float32 into its own element type. */
    static void gf_write_output(int k, long n, const float *src, void *dst) {
      if (!src) { memset(dst, 0, (size_t)n * gf_dtype_size(gf_out_dtype[k])); return; }
      switch (gf_out_dtype[k]) {
      case 7: for (long i = 0; i < n; i++) ((int64_t *)dst)[i] = (int64_t)src[i]; break;
      case 6: for (long i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)src[i]; break;
      case 9: for (long i = 0; i < n; i++) ((uint8_t *)dst)[i] = src[i] != 0.0f; break;
      default: memcpy(dst, src, (size_t)n * 4);
      }
    }

    /* Runs program p on samples [first, first + its batch) of the inputs into the same samples of the
       outputs (a fixed-shape program: the whole tensors, first = 0). */
    static int gf_run_program(gf_model *m, gf_arena *a, int p, long first, const void *const *inputs,
                              void *const *outputs) {
      const gf_program *g = &gf_programs[p];
      int status = 0;
      for (int k = 0; k < GF_NIN && !status; k++) {
        int b = g->in_buf[k];
        long n = g->in_count[k], skip = first * (n / g->batch);
        const char *src = (const char *)inputs[k] + (size_t)skip * gf_dtype_size(gf_in_dtype[k]);
        if (g->buf_arena[b] >= 0) status = gf_read_input(k, n, skip, src, a->base + g->buf_arena[b]);
      }
      float *run_status = g->status_buf >= 0 ? a->base + g->buf_arena[g->status_buf > 0 ? g->status_buf : 0] : NULL;
      if (run_status) run_status[0] = run_status[1] = 0.0f;
      for (int s = 0; s < g->nstep && !status; s++)
        gf_parallel(m->pool, g->step_fn[s], (float *const *)(a->ptrs[p] + g->step_start[s]), g->step_tasks[s]);
      if (!status && run_status && run_status[0] != 0.0f) {
        const char *suffix = "";
        const char *prefix = g->site_message((long)run_status[0] - 1, &suffix);
        snprintf(gf_last_error, sizeof gf_last_error, "gf_model_run: %s%.0f%s", prefix, run_status[1], suffix);
        status = 1;
      }
      for (int k = 0; k < GF_NOUT && !status; k++) {
        int b = g->out_buf[k];
        long n = g->out_count[k], skip = first * (n / g->batch);
        const float *src = g->buf_weight[b] >= 0 ? m->weights + g->buf_weight[b]
                         : g->buf_arena[b] >= 0 ? a->base + g->buf_arena[b] : NULL;
        gf_write_output(k, n, src, (char *)outputs[k] + (size_t)skip * gf_dtype_size(gf_out_dtype[k]));
      }
      return status;
    }

    /* Runs `batch` samples (GF_MAX_BATCH > 0) or the fixed shapes (batch < 0) on an arena of the free list. */
    static int gf_run(gf_model *m, int batch, const void *const *inputs, void *const *outputs) {
      if (!m || !inputs || !outputs) { gf_fail("gf_model_run: a NULL argument", NULL); return 1; }
      for (int k = 0; k < GF_NIN; k++)
        if (!inputs[k]) { gf_fail("gf_model_run: an input pointer is NULL", NULL); return 1; }
      for (int k = 0; k < GF_NOUT; k++)
        if (!outputs[k]) { gf_fail("gf_model_run: an output pointer is NULL", NULL); return 1; }
      pthread_mutex_lock(&m->mu);
      gf_arena *a = m->free_list;
      if (a) m->free_list = a->next;
      pthread_mutex_unlock(&m->mu);
      if (!a && !(a = gf_arena_new(m))) {
        gf_fail("gf_model_run: out of memory for the working arena", NULL);
        return 1;
      }
      int status = 0;
      if (batch < 0) {
        status = gf_run_program(m, a, GF_NPROG - 1, 0, inputs, outputs);
      } else {
        /* Chunks of the compiled batch sizes, largest first: each sample is computed once. */
        long first = 0;
        for (int p = GF_NPROG - 1; p >= 0 && !status; p--) {
          while (!status && batch - first >= gf_programs[p].batch) {
            status = gf_run_program(m, a, p, first, inputs, outputs);
            first += gf_programs[p].batch;
          }
        }
      }
      pthread_mutex_lock(&m->mu);
      a->next = m->free_list;
      m->free_list = a;
      pthread_mutex_unlock(&m->mu);
      return status;
    }

    GF_API int gf_model_run(gf_model *m, const void *const *inputs, void *const *outputs) {
      return gf_run(m, -1, inputs, outputs);
    }

    GF_API int gf_model_max_batch(const gf_model *m) { return m ? GF_MAX_BATCH : 0; }

    GF_API int gf_model_run_batch(gf_model *m, int batch, const void *const *inputs, void *const *outputs) {
      if (GF_MAX_BATCH == 0) {
        gf_fail("gf_model_run_batch: the library has fixed shapes (compile it with --max-batch N)", NULL);
        return 1;
      }
      if (batch < 1 || batch > GF_MAX_BATCH) {
        snprintf(gf_last_error, sizeof gf_last_error, "gf_model_run_batch: batch %d is outside 1...%d", batch,
                 GF_MAX_BATCH);
        return 1;
      }
      return gf_run(m, batch, inputs, outputs);
    }

    GF_API void gf_model_close(gf_model *m) {
      if (!m) return;
      gf_pool_destroy(m->pool);
      while (m->free_list) { gf_arena *a = m->free_list; m->free_list = a->next; gf_arena_free(a); }
      pthread_mutex_destroy(&m->mu);
      free(m->weights);
      free(m);
    }
    """#
}
