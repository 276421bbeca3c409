//===- NNToLinalg.h - nn to linalg conversion patterns ----------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The nn → linalg-on-tensors lowering every target shares. The patterns
/// are exposed so a target pipeline (or another project) can combine them
/// with its own in one conversion; convert-nn-to-linalg is a thin pass
/// around them.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CONVERSION_NNTOLINALG_NNTOLINALG_H
#define NNC_CONVERSION_NNTOLINALG_NNTOLINALG_H

namespace mlir {
class ConversionTarget;
class RewritePatternSet;
namespace nnc {

/// Adds a pattern per nn op lowering it to linalg.generic / linalg.fill on
/// tensors with arith and math bodies. Reductions run in a fixed order and
/// dropout hashes (seed, element index) in-line, so the lowered code is
/// deterministic: a recomputed op yields bit-identical values. Each pattern
/// carries the op's discardable attributes (nn.stage, nn.recomputed) to the
/// linalg op that writes the result.
void populateNNToLinalgConversionPatterns(RewritePatternSet &patterns);

/// nn.all_reduce_start/wait as calls of the MPI run-time library
/// (nncrt_allreduce_start/wait) on a packed bucket; part of the above.
void populateNNAllReduceToRuntimePatterns(RewritePatternSet &patterns);

/// Dynamic loss scaling's ops (nn.unscale, nn.all_finite, nn.select,
/// nn.loss_scale_update) as linalg maps and one reduction; part of the
/// above.
void populateNNLossScalingToLinalgPatterns(RewritePatternSet &patterns);

/// The index form of max pooling (nnc-max-pool-indices) as CPU runtime
/// calls: nn.max_pool2d_indices with the nn.max_pool2d_indexed reading its
/// positions as one nncrt_maxpool2d_forward_indices, the gradient as
/// nncrt_maxpool2d_backward_indices; part of the above.
void populateNNMaxPoolIndicesToRuntimePatterns(RewritePatternSet &patterns);

/// Marks the nn dialect illegal and what the patterns produce (arith,
/// linalg, math, tensor) legal; other ops are left alone.
void configureNNToLinalgConversionTarget(ConversionTarget &target);

} // namespace nnc
} // namespace mlir

#endif // NNC_CONVERSION_NNTOLINALG_NNTOLINALG_H
