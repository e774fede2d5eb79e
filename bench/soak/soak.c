/* Soak test of a library written by `graphfuse compile MODEL -o DIR`: many calls from many
   threads at once, each output compared bit for bit with a single-threaded run of the same
   input, and the resident memory measured after warm-up and at the end.

     cc bench/soak/soak.c -IDIR -LDIR -lmodel -Wl,-rpath,"$PWD/DIR" -lpthread -o soak
     ./soak DIR [threads=8] [calls=10000] [inputs=16]

   The inputs are `inputs` distinct deterministic tensors per model input (float32 in [-1, 1];
   integers 0 or 1, valid ids of any vocabulary; bools alternating), used round-robin so that
   concurrent calls mix them. Prints one line with the call count, the mismatches and the RSS
   growth over the measured round (after a warm-up round of as many calls); exits 1 on a
   mismatch or a failed call. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

#define MAX_TENSORS 16

static gf_model *model;
static int n_in, n_out, n_inputs;
static size_t in_bytes[MAX_TENSORS], out_bytes[MAX_TENSORS];
static void **inputs;    /* [n_inputs][n_in] */
static void **expected;  /* [n_inputs][n_out] */
static long mismatches, failures;
static pthread_mutex_t counter = PTHREAD_MUTEX_INITIALIZER;

static size_t element_size(int dtype) { return dtype == GF_INT64 ? 8 : dtype == GF_BOOL ? 1 : 4; }

static size_t tensor_bytes(int is_input, int k) {
  int64_t dims[8];
  int rank = is_input ? gf_model_input_shape(model, k, dims) : gf_model_output_shape(model, k, dims);
  long n = 1;
  for (int d = 0; d < rank; d++) n *= (long)dims[d];
  return (size_t)n * element_size(is_input ? gf_model_input_dtype(model, k) : gf_model_output_dtype(model, k));
}

/* Deterministic input `s` for model input k. */
static void *make_input(int k, int s) {
  int dtype = gf_model_input_dtype(model, k);
  size_t n = in_bytes[k] / element_size(dtype);
  void *p = malloc(in_bytes[k]);
  uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(s * 31 + k + 1);
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    if (dtype == GF_FLOAT) ((float *)p)[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f;
    else if (dtype == GF_INT64) ((int64_t *)p)[i] = (int64_t)(x % 2);
    else if (dtype == GF_INT32) ((int32_t *)p)[i] = (int32_t)(x % 2);
    else ((uint8_t *)p)[i] = (uint8_t)((i + (size_t)s) % 2);
  }
  return p;
}

static long resident_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Each thread's output buffers, allocated once so that rounds after the warm-up allocate nothing. */
static void *thread_outputs[256][MAX_TENSORS];

/* The workers' rendezvous: before the warm-up round, after it (the main thread reads the
   memory), before the measured round and after it (the memory is read again): both rounds start
   with every thread at once, and both readings see the same live threads. The same threads run
   both rounds, so thread stacks and per-thread malloc arenas are in place before the memory is
   read. */
static pthread_barrier_t ready, warmed, go, finished;
static int warm_calls, measured_calls;

/* `calls` calls of thread t, input (t·7 + i) mod n_inputs each, outputs compared with the
   single-threaded ones. */
static void run_calls(long t, int calls) {
  void **outs = thread_outputs[t];
  long bad = 0, failed = 0;
  for (int i = 0; i < calls; i++) {
    int s = (int)((t * 7 + i) % n_inputs);
    if (gf_model_run(model, (const void *const *)&inputs[s * n_in], outs) != 0) { failed++; continue; }
    for (int k = 0; k < n_out; k++)
      if (memcmp(outs[k], expected[s * n_out + k], out_bytes[k]) != 0) bad++;
  }
  pthread_mutex_lock(&counter);
  mismatches += bad;
  failures += failed;
  pthread_mutex_unlock(&counter);
}

static void *worker(void *arg) {
  long t = (long)arg;
  pthread_barrier_wait(&ready);  /* all threads start at once, as in the measured round */
  run_calls(t, warm_calls);
  pthread_barrier_wait(&warmed);
  pthread_barrier_wait(&go);
  run_calls(t, measured_calls);
  pthread_barrier_wait(&finished);  /* the memory is read while every thread still lives */
  return NULL;
}

static double seconds_since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (double)(b.tv_sec - a->tv_sec) + 1e-9 * (double)(b.tv_nsec - a->tv_nsec);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL_DIR [threads=8] [calls=10000] [inputs=16]\n", argv[0]);
    return 2;
  }
  int threads = argc > 2 ? atoi(argv[2]) : 8;
  long calls = argc > 3 ? atol(argv[3]) : 10000;
  n_inputs = argc > 4 ? atoi(argv[4]) : 16;
  if (threads < 1 || threads > 256 || calls < threads || n_inputs < 1) {
    fprintf(stderr, "threads must be 1...256, calls at least threads, inputs at least 1\n");
    return 2;
  }
  model = gf_model_open(argv[1], 0);
  if (!model) { fprintf(stderr, "gf_model_open: %s\n", gf_model_error()); return 1; }
  n_in = gf_model_num_inputs(model);
  n_out = gf_model_num_outputs(model);
  if (n_in > MAX_TENSORS || n_out > MAX_TENSORS) { fprintf(stderr, "too many inputs or outputs\n"); return 1; }
  for (int k = 0; k < n_in; k++) in_bytes[k] = tensor_bytes(1, k);
  for (int k = 0; k < n_out; k++) out_bytes[k] = tensor_bytes(0, k);
  inputs = calloc((size_t)(n_inputs * n_in), sizeof(void *));
  expected = calloc((size_t)(n_inputs * n_out), sizeof(void *));
  /* The single-threaded answers, one call at a time. */
  for (int s = 0; s < n_inputs; s++) {
    for (int k = 0; k < n_in; k++) inputs[s * n_in + k] = make_input(k, s);
    for (int k = 0; k < n_out; k++) expected[s * n_out + k] = malloc(out_bytes[k]);
    if (gf_model_run(model, (const void *const *)&inputs[s * n_in], &expected[s * n_out]) != 0) {
      fprintf(stderr, "gf_model_run: %s\n", gf_model_error());
      return 1;
    }
  }
  for (int t = 0; t < threads; t++)
    for (int k = 0; k < n_out; k++) thread_outputs[t][k] = malloc(out_bytes[k]);
  /* A warm-up round of as many calls as the measured one, so that every working arena the most
     concurrent calls need exists before the memory is read (a short warm-up of a fast model may
     never see all threads in a call at once). */
  warm_calls = measured_calls = (int)(calls / threads);
  pthread_barrier_init(&ready, NULL, (unsigned)threads);
  pthread_barrier_init(&warmed, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&finished, NULL, (unsigned)threads + 1);
  pthread_t t[256];
  for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  (void)resident_kb();  /* the first reading faults in libc's stdio code, which the next would count */
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  (void)seconds_since(&start);
  pthread_barrier_wait(&warmed);
  long warm_kb = resident_kb();
  clock_gettime(CLOCK_MONOTONIC, &start);
  pthread_barrier_wait(&go);
  pthread_barrier_wait(&finished);
  double seconds = seconds_since(&start);
  long end_kb = resident_kb();
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  long total = (long)measured_calls * threads;
  printf("%ld calls from %d threads on %d distinct inputs in %.2f s (%.1f calls/s): %ld mismatches, %ld failed "
         "calls; RSS %ld KB after warm-up, %ld KB at the end (%+.2f%%)\n",
         total, threads, n_inputs, seconds, (double)total / seconds, mismatches, failures, warm_kb, end_kb,
         warm_kb > 0 ? 100.0 * (double)(end_kb - warm_kb) / (double)warm_kb : 0.0);
  gf_model_close(model);
  return mismatches || failures ? 1 : 0;
}
