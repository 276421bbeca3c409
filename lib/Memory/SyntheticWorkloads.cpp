//===- SyntheticWorkloads.cpp - Planning problems for tests ---------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/SyntheticWorkloads.h"

#include <algorithm>
#include <cmath>

using namespace nnc::memory;

namespace {

/// Uniform integer in [lo, hi].
int64_t uniform(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

bool chance(std::mt19937 &rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

} // namespace

std::vector<BufferInterval> nnc::memory::makeRandomWorkload(std::mt19937 &rng,
                                                            unsigned numBuffers,
                                                            unsigned numSteps,
                                                            uint64_t maxSize) {
  numSteps = std::max(numSteps, 1u);
  maxSize = std::max<uint64_t>(maxSize, 1);
  std::vector<BufferInterval> buffers;
  buffers.reserve(numBuffers);
  std::uniform_real_distribution<double> logSize(0.0, std::log(maxSize));
  for (unsigned i = 0; i < numBuffers; ++i) {
    BufferInterval buffer;
    buffer.id = i;
    buffer.size =
        std::clamp<uint64_t>(std::llround(std::exp(logSize(rng))), 1, maxSize);
    buffer.start = uniform(rng, 0, numSteps - 1);
    buffer.end = std::min<int64_t>(buffer.start + uniform(rng, 0, numSteps / 4),
                                   numSteps - 1);
    if (chance(rng, 1.0 / 8))
      buffer.alignment = int64_t(128) << uniform(rng, 0, 5);
    // Some hints that are legal by construction (start where an earlier
    // buffer dies, no larger than it) and some that name an arbitrary buffer
    // and will mostly be refused.
    if (i > 0 && chance(rng, 1.0 / 8)) {
      const BufferInterval &donor = buffers[uniform(rng, 0, i - 1)];
      buffer.reuseOf = donor.id;
      buffer.start = donor.end;
      buffer.end = std::max(buffer.end, buffer.start);
      buffer.size = std::max<uint64_t>(1, donor.size - donor.size / 3 *
                                                           uniform(rng, 0, 1));
    } else if (i > 0 && chance(rng, 1.0 / 16)) {
      buffer.reuseOf = uniform(rng, 0, i); // May name the buffer itself.
    }
    buffer.name = "b" + std::to_string(i);
    buffers.push_back(std::move(buffer));
  }
  return buffers;
}

std::vector<BufferInterval>
nnc::memory::makeTrainingWorkload(std::mt19937 &rng, unsigned numLayers,
                                  NetworkShape shape) {
  const int64_t numL = std::max(numLayers, 1u);
  // Step of the backward of layer i.
  auto backwardStep = [&](int64_t i) { return 2 * numL - 1 - i; };

  // Per-layer output sizes and kinds.
  std::vector<uint64_t> size(numL);
  std::vector<bool> elementwise(numL);
  const uint64_t batch =
      shape == NetworkShape::MLP ? uniform(rng, 16, 256) : uniform(rng, 4, 32);
  uint64_t channels = uniform(rng, 8, 64);
  uint64_t spatial =
      std::vector<uint64_t>{32, 56, 112, 224}[uniform(rng, 0, 3)];
  for (int64_t i = 0; i < numL; ++i) {
    // A shape-changing layer is followed by an activation function half the
    // time, as in Linear-ReLU / Conv-ReLU stacks.
    elementwise[i] = i > 0 && !elementwise[i - 1] && chance(rng, 0.5);
    if (elementwise[i]) {
      size[i] = size[i - 1];
      continue;
    }
    if (shape == NetworkShape::MLP) {
      size[i] = batch * 16 * uniform(rng, 4, 256) * 4;
      continue;
    }
    if (i > 0 && spatial > 7 && chance(rng, 0.3)) {
      spatial /= 2;
      channels = std::min<uint64_t>(channels * 2, 1024);
    }
    size[i] = batch * channels * spatial * spatial * 4;
  }

  std::vector<BufferInterval> buffers;
  int64_t nextId = 0;
  auto add = [&](std::string name, uint64_t bytes, int64_t start,
                 int64_t end) -> BufferInterval & {
    BufferInterval buffer;
    buffer.id = nextId++;
    buffer.name = std::move(name);
    buffer.size = bytes;
    buffer.start = start;
    buffer.end = end;
    buffers.push_back(std::move(buffer));
    return buffers.back();
  };

  std::vector<int64_t> gradientId(numL + 1, -1);
  for (int64_t i = 0; i < numL; ++i) {
    // Elementwise layers need their own output in backward (ReLU, sigmoid);
    // every other activation is kept for the next layer's backward.
    int64_t lastUse =
        elementwise[i] || i + 1 == numL ? backwardStep(i) : backwardStep(i + 1);
    add("a" + std::to_string(i), size[i], i, lastUse);
    if (!elementwise[i] && chance(rng, 0.3))
      add("wf" + std::to_string(i), size[i] / 4 * uniform(rng, 1, 8), i, i);
  }
  for (int64_t i = numL - 1; i >= 0; --i) {
    int64_t step = backwardStep(i);
    if (!elementwise[i] && chance(rng, 0.3))
      add("wb" + std::to_string(i), size[i] / 4 * uniform(rng, 1, 8), step,
          step);
    if (i == 0)
      break; // No gradient w.r.t. the data.
    BufferInterval &gradient =
        add("g" + std::to_string(i), size[i - 1], step, step + 1);
    gradientId[i] = gradient.id;
    if (elementwise[i] && gradientId[i + 1] >= 0)
      gradient.reuseOf = gradientId[i + 1];
  }
  return buffers;
}
