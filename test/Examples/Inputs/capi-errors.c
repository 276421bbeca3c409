/* The C API's failures: each returns NULL or NNC_ERROR with a message in
 * the context, and nothing aborts. Built with plain cc against an installed
 * prefix (see installed-package.test). */

#include "nnc-c/nnc.h"

#include <stdint.h>
#include <stdio.h>

static void report(const char *what, int failed, nnc_context *ctx) {
  printf("%s: %s: %s\n", what, failed ? "error" : "UNEXPECTED SUCCESS",
         nnc_context_error(ctx));
}

int main(int argc, char **argv) {
  nnc_context *ctx = nnc_context_create();
  nnc_options opts;
  nnc_options_init(&opts);

  report("missing file", !nnc_compile_file(ctx, "/nonexistent.onnx", &opts),
         ctx);
  report("empty path", !nnc_compile_file(ctx, "", &opts), ctx);
  report("bad spec", !nnc_compile_mlp(ctx, "8,x,2", "relu", "mse", 4, &opts),
         ctx);
  opts.strategy = "fastest";
  report("bad strategy",
         !nnc_compile_mlp(ctx, "8,4,2", "relu", "mse", 4, &opts), ctx);
  opts.strategy = "dp";
  opts.budget = "12 apples";
  report("bad budget", !nnc_compile_mlp(ctx, "8,4,2", "relu", "mse", 4, &opts),
         ctx);
  if (argc > 1)
    report("bad model", !nnc_compile_file(ctx, argv[1], NULL), ctx);

  /* A gradient-only model has no training step; its weights are checked
   * by name and shape. */
  nnc_options_init(&opts);
  nnc_model *m = nnc_compile_mlp(ctx, "8,4,2", "relu", "mse", 4, &opts);
  if (!m)
    return printf("compile failed: %s\n", nnc_context_error(ctx)), 1;
  float loss;
  const void *data[2] = {0, 0};
  report("no train step", nnc_model_train_step(m, data, &loss) != NNC_OK, ctx);
  report("bad entry", nnc_model_run(m, 99, data, NULL) != NNC_OK, ctx);
  report("no stats struct", nnc_model_plan_stats(m, NULL) != NNC_OK, ctx);
  report("no weights file",
         nnc_model_load_weights(m, "/nonexistent.nncw") != NNC_OK, ctx);
  nnc_model *other = nnc_compile_mlp(ctx, "8,5,2", "relu", "mse", 4, &opts);
  nnc_model_save_weights(other, "other.nncw");
  report("wrong shapes", nnc_model_load_weights(m, "other.nncw") != NNC_OK,
         ctx);
  nnc_model_save_weights(m, "mine.nncw");
  printf("own weights: %s\n",
         nnc_model_load_weights(m, "mine.nncw") == NNC_OK ? "ok" : "error");
  /* A label that is no class: the step's loss is NaN, the call fails. */
  opts.learning_rate = 0.1;
  nnc_model *ce = nnc_compile_mlp(ctx, "8,4,3", "relu", "cross-entropy", 4,
                                  &opts);
  if (!ce)
    return printf("compile failed: %s\n", nnc_context_error(ctx)), 1;
  float x[32] = {0};
  int32_t good[4] = {0, 1, 2, 0}, bad[4] = {0, 1, 3, 0},
          negative[4] = {-7, 1, 2, 0}, huge[4] = {0, 1000000, 2, 0};
  const void *batch[2] = {x, good};
  printf("valid labels: %s\n",
         nnc_model_train_step(ce, batch, &loss) == NNC_OK ? "ok" : "error");
  batch[1] = bad;
  report("label 3 of 3 classes", nnc_model_train_step(ce, batch, &loss) != NNC_OK,
         ctx);
  batch[1] = negative;
  report("label -7", nnc_model_train_step(ce, batch, &loss) != NNC_OK, ctx);
  batch[1] = huge;
  report("label 10^6", nnc_model_train_step(ce, batch, &loss) != NNC_OK, ctx);
  nnc_model_destroy(ce);
  nnc_model_destroy(other);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
  return 0;
}
