//===- SyntheticWorkloads.h - Planning problems for tests -------*- C++ -*-===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Seeded generators of arena planning problems, shared by the unit tests and
/// `bench-arena` so that the quality figures the benchmark prints are the ones
/// the tests hold the planner to.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_MEMORY_SYNTHETICWORKLOADS_H
#define NNC_MEMORY_SYNTHETICWORKLOADS_H

#include "nnc/Memory/ArenaPlanner.h"

#include <random>
#include <vector>

namespace nnc::memory {

/// Buffers with uniformly random starts in [0, numSteps), lengths up to a
/// quarter of the schedule, log-uniform sizes in [1, maxSize] (deliberately
/// not multiples of the alignment) and, for one buffer in eight, a stricter
/// alignment of 128 to 4096 bytes. A stress test, not a model of anything.
std::vector<BufferInterval> makeRandomWorkload(std::mt19937 &rng,
                                               unsigned numBuffers,
                                               unsigned numSteps,
                                               uint64_t maxSize);

/// The layer shapes a training-shaped workload follows.
enum class NetworkShape {
  /// Random hidden widths: activation sizes jump up and down.
  MLP,
  /// Spatial sizes shrink while channels grow: the first activations are the
  /// largest, the last ones small.
  CNN,
};

/// One training step of a chain of `numLayers` layers: forward layers
/// 0..L-1 at steps 0..L-1, then backward layers L-1..0 at steps L..2L-1.
///
/// - Activation a_i is written by forward i and lives until the backward of
///   layer i+1 (which needs it as its input) or, for layers that also need
///   their own output (activation functions), until the backward of layer i.
/// - Gradient g_i (w.r.t. layer i's input, the size of a_{i-1}) is written by
///   backward i and read by backward i-1 on the next step.
/// - Some layers use a one-step workspace in forward and/or backward.
/// - Elementwise layers keep the size, and their input gradient carries a
///   `reuseOf` hint on the dying output gradient, as the compiler emits for
///   in-place elementwise backward ops.
///
/// Gradients of parameters are function results, not arena buffers, and are
/// not modelled.
std::vector<BufferInterval>
makeTrainingWorkload(std::mt19937 &rng, unsigned numLayers, NetworkShape shape);

} // namespace nnc::memory

#endif // NNC_MEMORY_SYNTHETICWORKLOADS_H
