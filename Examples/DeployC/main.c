/* Runs a model compiled by `graphfuse compile MODEL -o out` from plain C.

     cc main.c -Iout -Lout -lmodel -Wl,-rpath,"$PWD/out" -o run_model
     ./run_model out input.bin [output.bin] [threads] [concurrent calls]

   input.bin holds the model's first input as raw little-endian float32 (numpy: x.tofile(path));
   output.bin receives the first output the same way. With more than one concurrent call, the
   calls run at once on separate threads and must all agree. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static long element_count(const int64_t *dims, int rank) {
  long n = 1;
  for (int d = 0; d < rank; d++) n *= (long)dims[d];
  return n;
}

typedef struct {
  gf_model *model;
  const float *const *inputs;
  float *output;
  int status;
} call;

static void *run_call(void *arg) {
  call *c = (call *)arg;
  float *outputs[1] = {c->output};
  c->status = gf_model_run(c->model, c->inputs, outputs);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR INPUT.bin [OUTPUT.bin] [THREADS] [CONCURRENT_CALLS]\n", argv[0]);
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
  if (gf_model_num_inputs(model) != 1) {
    fprintf(stderr, "this example feeds models with one input; the model has %d\n", gf_model_num_inputs(model));
    return 1;
  }
  int64_t in_dims[8], out_dims[8];
  int in_rank = gf_model_input_shape(model, 0, in_dims);
  int out_rank = gf_model_output_shape(model, 0, out_dims);
  long in_count = element_count(in_dims, in_rank), out_count = element_count(out_dims, out_rank);

  float *input = malloc((size_t)in_count * sizeof(float));
  FILE *f = fopen(argv[2], "rb");
  if (!input || !f || fread(input, sizeof(float), (size_t)in_count, f) != (size_t)in_count) {
    fprintf(stderr, "%s: cannot read %ld float32 values\n", argv[2], in_count);
    return 1;
  }
  fclose(f);

  /* Outputs other than the first go to scratch space. */
  int outputs_n = gf_model_num_outputs(model);
  const float *inputs[1] = {input};
  call c[64];
  pthread_t t[64];
  for (int k = 0; k < calls; k++) {
    c[k] = (call){model, inputs, malloc((size_t)out_count * sizeof(float)), 1};
    if (outputs_n != 1) {
      fprintf(stderr, "this example reads models with one output; the model has %d\n", outputs_n);
      return 1;
    }
    pthread_create(&t[k], NULL, run_call, &c[k]);
  }
  for (int k = 0; k < calls; k++) pthread_join(t[k], NULL);
  for (int k = 0; k < calls; k++) {
    if (c[k].status != 0) {
      fprintf(stderr, "gf_model_run: %s\n", gf_model_error());
      return 1;
    }
    if (memcmp(c[k].output, c[0].output, (size_t)out_count * sizeof(float)) != 0) {
      fprintf(stderr, "concurrent call %d disagrees with call 0\n", k);
      return 1;
    }
  }

  int best = 0;
  for (long i = 1; i < out_count; i++) if (c[0].output[i] > c[0].output[best]) best = (int)i;
  printf("input [");
  for (int d = 0; d < in_rank; d++) printf(d ? ", %lld" : "%lld", (long long)in_dims[d]);
  printf("] -> output [");
  for (int d = 0; d < out_rank; d++) printf(d ? ", %lld" : "%lld", (long long)out_dims[d]);
  printf("], largest value %g at index %d (%d concurrent call%s agreed)\n", c[0].output[best], best, calls,
         calls == 1 ? "" : "s");
  if (argc > 3) {
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(c[0].output, sizeof(float), (size_t)out_count, o) != (size_t)out_count) {
      fprintf(stderr, "%s: cannot write the output\n", argv[3]);
      return 1;
    }
    fclose(o);
  }
  for (int k = 0; k < calls; k++) free(c[k].output);
  free(input);
  gf_model_close(model);
  return 0;
}
