/*===- main.c - a compiled nnc training step in a plain C program ---------===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 * model.o and model.h come from nnc-compile (see CMakeLists.txt); the
 * initial weights from its --weights-out, in nnc's weights file format
 * (nnc/Frontend/Weights.h), read here with plain stdio. The program trains
 * the MLP on a fixed synthetic batch and prints the loss as it falls.
 *
 *   c-aot model.nncw [steps]
 *
 *===----------------------------------------------------------------------===*/

#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 16, IN = 16, HIDDEN = 64, OUT = 4, NPARAMS = 10 };

/* Parameter sizes in the header's order: W1 [64, 16], b1 [64], W2, b2,
 * W3, b3, W4 [64, 64], b4, W5 [4, 64], b5 [4]. */
static const int64_t kSizes[NPARAMS] = {
    HIDDEN * IN, HIDDEN,         HIDDEN *HIDDEN, HIDDEN,      HIDDEN *HIDDEN,
    HIDDEN,      HIDDEN *HIDDEN, HIDDEN,         OUT *HIDDEN, OUT};
static const char *const kNames[NPARAMS] = {"W1", "b1", "W2", "b2", "W3",
                                            "b3", "W4", "b4", "W5", "b5"};

static int readExact(FILE *f, void *dst, size_t n) {
  return fread(dst, 1, n, f) == n;
}

/* Reads the weights file written by nnc-compile --weights-out: a header,
 * then per tensor its name, type, rank, dimensions and float32 data (a
 * little-endian host is assumed). Returns 0 on success. */
static int loadWeights(const char *path, float *params[NPARAMS]) {
  FILE *f = fopen(path, "rb");
  char magic[4];
  uint32_t version;
  uint64_t count;
  if (!f || !readExact(f, magic, 4) || memcmp(magic, "NNCW", 4) ||
      !readExact(f, &version, 4) || version != 1 || !readExact(f, &count, 8) ||
      count != NPARAMS)
    return fprintf(stderr, "%s: not this model's weights file\n", path), 1;
  for (int i = 0; i < NPARAMS; ++i) {
    uint32_t len, type, rank;
    char name[64];
    int64_t dims[8], n = 1;
    if (!readExact(f, &len, 4) || len >= sizeof(name) ||
        !readExact(f, name, len))
      return fprintf(stderr, "%s: truncated\n", path), 1;
    name[len] = 0;
    if (strcmp(name, kNames[i]) || !readExact(f, &type, 4) || type != 1 ||
        !readExact(f, &rank, 4) || rank > 8 || !readExact(f, dims, 8 * rank))
      return fprintf(stderr, "%s: unexpected tensor '%s'\n", path, name), 1;
    for (uint32_t k = 0; k < rank; ++k)
      n *= dims[k];
    if (n != kSizes[i] || !readExact(f, params[i], 4 * (size_t)n))
      return fprintf(stderr, "%s: bad data for '%s'\n", path, name), 1;
  }
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return fprintf(stderr, "usage: %s model.nncw [steps]\n", argv[0]), 2;
  int steps = argc > 2 ? atoi(argv[2]) : 50;
  float *params[NPARAMS];
  for (int i = 0; i < NPARAMS; ++i)
    params[i] = malloc(sizeof(float) * kSizes[i]);
  if (loadWeights(argv[1], params))
    return 1;

  /* A fixed batch: inputs from a small linear congruential generator,
   * labels the argmax of the first OUT inputs (learnable). */
  static float x[BATCH * IN];
  static int32_t labels[BATCH];
  uint32_t s = 12345;
  for (int i = 0; i < BATCH * IN; ++i) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)(s >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  for (int b = 0; b < BATCH; ++b) {
    labels[b] = 0;
    for (int o = 1; o < OUT; ++o)
      if (x[b * IN + o] > x[b * IN + labels[b]])
        labels[b] = o;
  }

  /* The caller-owned arena, 64-byte aligned, reused by every step. */
  int64_t bytes = model_train_step_workspace_size();
  uint8_t *workspace = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
  float loss = 0, first = 0;
  for (int step = 0; step < steps; ++step) {
    /* Parameters are updated in place, as the header allows. */
    float **p = params;
    model_train_step(x, labels, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                     p[8], p[9], &loss, p[0], p[1], p[2], p[3], p[4], p[5],
                     p[6], p[7], p[8], p[9], workspace);
    if (step == 0)
      first = loss;
    if (step % 10 == 0 || step + 1 == steps)
      printf("step %3d loss %.6f\n", step, loss);
  }
  printf("workspace %lld bytes; loss %.6f -> %.6f\n", (long long)bytes, first,
         loss);
  free(workspace);
  for (int i = 0; i < NPARAMS; ++i)
    free(params[i]);
  return loss < first ? 0 : 3;
}
