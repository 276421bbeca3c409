/*===- DataParallelRun.c - the C API's data parallelism, from C -----------===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 * Trains a small MLP for a few SGD steps through the C API and writes its
 * final parameters, one value a line, to OUT.rank<R>.txt:
 *
 *   nnc-capi-data-parallel GLOBAL_BATCH STEPS OUT [WIDTHS]
 *
 * Alone it trains on the whole global batch; under mpirun -np N each rank
 * compiles the step with data_parallel for GLOBAL_BATCH / N samples and
 * trains on its own consecutive shard of every global batch, so the ranks'
 * results must equal the single process's (test/CAPI/data-parallel.test).
 * Ranks given other WIDTHS must all fail to compile, naming the rank.
 *
 *===----------------------------------------------------------------------===*/

#include "nnc-c/nnc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FEATURES = 16, CLASSES = 4 };

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s GLOBAL_BATCH STEPS OUT [WIDTHS]\n", argv[0]);
    return 2;
  }
  int global = atoi(argv[1]), steps = atoi(argv[2]);
  const char *widths = argc > 4 ? argv[4] : "16,12,4";
  int rank = 0, size = 1;
  nnc_context *ctx = nnc_context_create();
  int parallel = getenv("OMPI_COMM_WORLD_SIZE") != NULL;
  if (parallel &&
      nnc_data_parallel_init(ctx, 60.0, &rank, &size) != NNC_OK) {
    fprintf(stderr, "init: %s\n", nnc_context_error(ctx));
    return 1;
  }
  int batch = global / size;
  nnc_options opts;
  nnc_options_init(&opts);
  opts.learning_rate = 0.5;
  opts.data_parallel = parallel;
  nnc_model *m =
      nnc_compile_mlp(ctx, widths, "tanh", "cross-entropy", batch, &opts);
  if (!m) {
    fprintf(stderr, "rank %d: %s\n", rank, nnc_context_error(ctx));
    if (parallel)
      nnc_data_parallel_finalize();
    return 1;
  }
  float *x = malloc(sizeof(float) * batch * FEATURES);
  int32_t *labels = malloc(sizeof(int32_t) * batch);
  for (int s = 0; s < steps; ++s) {
    /* Sample i of the global batch; this rank's rows start at rank·batch. */
    for (int r = 0; r < batch; ++r) {
      int i = s * global + rank * batch + r;
      for (int j = 0; j < FEATURES; ++j)
        x[r * FEATURES + j] = (float)sin(0.37 * i + 0.11 * j * (i % 7 + 1));
      labels[r] = (i * 7) % CLASSES;
    }
    const void *data[] = {x, labels};
    float loss;
    if (nnc_model_train_step(m, data, &loss) != NNC_OK) {
      fprintf(stderr, "step %d: %s\n", s, nnc_context_error(ctx));
      return 1;
    }
  }
  char path[4096];
  snprintf(path, sizeof path, "%s.rank%d.txt", argv[3], rank);
  FILE *f = fopen(path, "w");
  if (!f)
    return 1;
  for (int p = 0; p < nnc_model_num_parameters(m); ++p) {
    nnc_buffer info;
    nnc_model_parameter_info(m, p, &info);
    const float *v = nnc_model_parameter(m, p);
    for (int64_t k = 0; k < info.bytes / 4; ++k)
      fprintf(f, "%s %.9g\n", info.name, v[k]);
  }
  fclose(f);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
  free(x);
  free(labels);
  if (parallel)
    nnc_data_parallel_finalize();
  return 0;
}
