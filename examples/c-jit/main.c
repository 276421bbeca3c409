/*===- main.c - compile and train through nnc's C API ---------------------===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *   c-jit [model.onnx [loss]] [--save trained.nncw]
 *
 * Compiles an ONNX model (its loss appended when `loss` is given) or, with
 * no file, an MLP, with the dp checkpoint strategy halfway between the
 * least feasible budget and store-all's peak; prints the plan's figures and
 * the step's buffers, then trains 20 SGD steps on a fixed random batch.
 *
 *===----------------------------------------------------------------------===*/

#include "nnc-c/nnc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nnc_model *compile(nnc_context *ctx, const char *path, const char *loss,
                          const nnc_options *opts) {
  return path ? nnc_compile_file(ctx, path, opts)
              : nnc_compile_mlp(ctx, "32,64,64,64,8", "relu", "cross-entropy",
                                16, opts);
}

int main(int argc, char **argv) {
  const char *path = NULL, *loss = NULL, *save = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--save") && i + 1 < argc)
      save = argv[++i];
    else if (!path)
      path = argv[i];
    else
      loss = argv[i];
  }
  printf("nnc %s\n", nnc_version());
  nnc_context *ctx = nnc_context_create();
  nnc_options opts;
  nnc_options_init(&opts);
  opts.loss = loss;
  opts.learning_rate = 0.05;

  /* Store-all first, for the plan's bounds; then the dp plan between. */
  nnc_model *model = compile(ctx, path, loss, &opts);
  nnc_plan_stats stats;
  if (!model || nnc_model_plan_stats(model, &stats) != NNC_OK) {
    fprintf(stderr, "c-jit: %s\n", nnc_context_error(ctx));
    return 1;
  }
  char budget[32];
  if (stats.min_budget_bytes < stats.store_all_peak_bytes) {
    snprintf(budget, sizeof(budget), "%lld",
             (long long)(stats.min_budget_bytes + stats.store_all_peak_bytes) /
                 2);
    opts.strategy = "dp";
    opts.budget = budget;
    nnc_model_destroy(model);
    model = compile(ctx, path, loss, &opts);
    if (!model || nnc_model_plan_stats(model, &stats) != NNC_OK) {
      fprintf(stderr, "c-jit: %s\n", nnc_context_error(ctx));
      return 1;
    }
  }
  printf("plan %s: budget %lld, peak %lld (store-all %lld, least %lld), "
         "%lld stages, recompute %.0f flops, %lld parameters\n",
         stats.strategy, (long long)stats.budget_bytes,
         (long long)stats.predicted_peak_bytes,
         (long long)stats.store_all_peak_bytes,
         (long long)stats.min_budget_bytes, (long long)stats.stages,
         stats.recompute_flops, (long long)stats.parameters);

  /* The step's data inputs, from its buffer descriptions. */
  int step = nnc_model_find_entry(model, NNC_ROLE_TRAIN_STEP);
  printf("entry %s, workspace %lld bytes\n", nnc_entry_name(model, step),
         (long long)nnc_entry_workspace_bytes(model, step));
  void *data[8];
  int numData = 0;
  for (int i = 0; i < nnc_entry_num_inputs(model, step); ++i) {
    nnc_buffer b;
    nnc_entry_input(model, step, i, &b);
    printf("  in %-14s %-14s rank %d %6lld bytes%s\n", b.name, b.source_name,
           b.rank, (long long)b.bytes, b.is_parameter ? " (parameter)" : "");
    if (b.is_parameter || numData == 8)
      continue;
    void *buf = malloc((size_t)b.bytes);
    srand(42 + i);
    for (int64_t k = 0; k < b.bytes / (b.dtype == NNC_I64 ? 8 : 4); ++k) {
      if (b.dtype == NNC_F32)
        ((float *)buf)[k] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
      else if (b.dtype == NNC_I64)
        ((int64_t *)buf)[k] = k % 2;
      else
        ((int32_t *)buf)[k] = (int32_t)(k % 2);
    }
    data[numData++] = buf;
  }

  float first = 0, last = 0;
  for (int s = 0; s < 20; ++s) {
    if (nnc_model_train_step(model, (const void *const *)data, &last) !=
        NNC_OK) {
      fprintf(stderr, "c-jit: %s\n", nnc_context_error(ctx));
      return 1;
    }
    if (s == 0)
      first = last;
    if (s % 5 == 0 || s == 19)
      printf("step %2d loss %.6f\n", s, last);
  }
  printf("loss %.6f -> %.6f\n", first, last);
  if (save && nnc_model_save_weights(model, save) != NNC_OK) {
    fprintf(stderr, "c-jit: %s\n", nnc_context_error(ctx));
    return 1;
  }
  for (int i = 0; i < numData; ++i)
    free(data[i]);
  nnc_model_destroy(model);
  nnc_context_destroy(ctx);
  return last < first ? 0 : 2;
}
