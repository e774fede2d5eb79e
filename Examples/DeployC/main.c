/* Runs a model compiled by `graphfuse compile MODEL -o out` from plain C.

     cc main.c -Iout -Lout -lmodel -Wl,-rpath,"$PWD/out" -o run_model
     ./run_model [--batch N] out input.bin[,input1.bin,...] [output.bin] [threads] [concurrent calls]

   Each input file holds one model input, raw and little-endian in that input's element type
   (gf_model_input_dtype: float32, int64, int32 or one byte per bool; numpy: x.tofile(path)).
   output.bin receives the first output the same way. With more than one concurrent call, the
   calls run at once on separate threads and must all agree. --batch N runs N samples through
   gf_model_run_batch (a library compiled with --max-batch): the files then hold N samples. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MAX_INPUTS 16

static long element_count(const int64_t *dims, int rank) {
  long n = 1;
  for (int d = 0; d < rank; d++) n *= (long)dims[d];
  return n;
}

static size_t element_size(int dtype) { return dtype == GF_INT64 ? 8 : dtype == GF_BOOL ? 1 : 4; }

/* The batch of --batch N (0: the library's own shapes through gf_model_run). */
static int batch = 0;

/* One call: gf_model_run, or gf_model_run_batch with --batch. */
static int run_model(gf_model *model, const void *const *inputs, void *const *outputs) {
  return batch > 0 ? gf_model_run_batch(model, batch, inputs, outputs) : gf_model_run(model, inputs, outputs);
}

/* The elements of a tensor of these dims, with axis 0 set to the batch when one is given. */
static long batch_count(const int64_t *dims, int rank) {
  long n = element_count(dims, rank);
  return batch > 0 && rank > 0 && dims[0] > 0 ? n / (long)dims[0] * batch : n;
}

typedef struct {
  gf_model *model;
  const void *const *inputs;
  void *output;
  int status;
} call;

static void *run_call(void *arg) {
  call *c = (call *)arg;
  void *outputs[1] = {c->output};
  c->status = run_model(c->model, c->inputs, outputs);
  return NULL;
}

/* Reads input k of the model from path into a new buffer of its element type. */
static void *read_input(gf_model *model, int k, const char *path) {
  int64_t dims[8];
  long count = batch_count(dims, gf_model_input_shape(model, k, dims));
  size_t size = element_size(gf_model_input_dtype(model, k));
  void *data = malloc((size_t)count * size);
  FILE *f = fopen(path, "rb");
  if (!data || !f || fread(data, size, (size_t)count, f) != (size_t)count) {
    fprintf(stderr, "%s: cannot read the %ld values of input %d (%zu bytes each)\n", path, count, k, size);
    exit(1);
  }
  fclose(f);
  return data;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--batch") == 0) {
    batch = atoi(argv[2]);
    argv[2] = argv[0];
    argv += 2;
    argc -= 2;
    if (batch < 1) {
      fprintf(stderr, "--batch takes a positive number of samples\n");
      return 2;
    }
  }
  if (argc < 3) {
    fprintf(stderr,
            "usage: %s [--batch N] MODEL_DIR INPUT.bin[,INPUT1.bin,...] [OUTPUT.bin] [THREADS] [CONCURRENT_CALLS]\n",
            argv[0]);
    return 2;
  }
  int threads = argc > 4 ? atoi(argv[4]) : 0;
  int calls = argc > 5 ? atoi(argv[5]) : 1;
  if (calls < 1 || calls > 64) calls = 1;
  gf_model *model = gf_model_open(argv[1], threads);
  if (!model) {
    fprintf(stderr, "gf_model_open: %s\n", gf_model_error());
    return 1;
  }
  int inputs_n = gf_model_num_inputs(model);
  if (inputs_n > MAX_INPUTS) {
    fprintf(stderr, "this example feeds at most %d inputs; the model has %d\n", MAX_INPUTS, inputs_n);
    return 1;
  }
  void *inputs[MAX_INPUTS];
  char *paths = strdup(argv[2]);
  char *next = paths;
  for (int k = 0; k < inputs_n; k++) {
    char *path = strsep(&next, ",");
    if (!path) {
      fprintf(stderr, "the model has %d inputs; give %d comma-separated files\n", inputs_n, inputs_n);
      return 1;
    }
    inputs[k] = read_input(model, k, path);
  }
  if (gf_model_num_outputs(model) != 1) {
    fprintf(stderr, "this example reads models with one output; the model has %d\n", gf_model_num_outputs(model));
    return 1;
  }
  int64_t out_dims[8];
  int out_rank = gf_model_output_shape(model, 0, out_dims);
  long out_count = batch_count(out_dims, out_rank);
  if (batch > 0) out_dims[0] = batch;
  int out_dtype = gf_model_output_dtype(model, 0);
  size_t out_bytes = (size_t)out_count * element_size(out_dtype);

  call c[64];
  pthread_t t[64];
  for (int k = 0; k < calls; k++) {
    c[k] = (call){model, (const void *const *)inputs, malloc(out_bytes), 1};
    pthread_create(&t[k], NULL, run_call, &c[k]);
  }
  for (int k = 0; k < calls; k++) pthread_join(t[k], NULL);
  for (int k = 0; k < calls; k++) {
    if (c[k].status != 0) {
      /* gf_model_error is per thread: the failing call's thread set it, so report from a rerun here. */
      void *outputs[1] = {c[k].output};
      if (run_model(model, (const void *const *)inputs, outputs) != 0)
        fprintf(stderr, "gf_model_run: %s\n", gf_model_error());
      return 1;
    }
    if (memcmp(c[k].output, c[0].output, out_bytes) != 0) {
      fprintf(stderr, "concurrent call %d disagrees with call 0\n", k);
      return 1;
    }
  }

  printf("%d input%s -> output [", inputs_n, inputs_n == 1 ? "" : "s");
  for (int d = 0; d < out_rank; d++) printf(d ? ", %lld" : "%lld", (long long)out_dims[d]);
  if (out_dtype == GF_FLOAT) {
    const float *y = (const float *)c[0].output;
    long best = 0;
    for (long i = 1; i < out_count; i++) if (y[i] > y[best]) best = i;
    printf("], largest value %g at index %ld", y[best], best);
  } else {
    printf("] of element type %d", out_dtype);
  }
  printf(" (%d concurrent call%s agreed)\n", calls, calls == 1 ? "" : "s");
  if (argc > 3) {
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(c[0].output, 1, out_bytes, o) != out_bytes) {
      fprintf(stderr, "%s: cannot write the output\n", argv[3]);
      return 1;
    }
    fclose(o);
  }
  for (int k = 0; k < calls; k++) free(c[k].output);
  for (int k = 0; k < inputs_n; k++) free(inputs[k]);
  free(paths);
  gf_model_close(model);
  return 0;
}
