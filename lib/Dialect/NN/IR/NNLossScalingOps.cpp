//===- NNLossScalingOps.cpp - dynamic loss scaling's ops ------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;

static int64_t numElements(Type t) {
  return cast<RankedTensorType>(t).getNumElements();
}

int64_t UnscaleOp::getFlops() { return numElements(getType()); }

int64_t AllFiniteOp::getFlops() {
  int64_t total = 0;
  for (Type t : getInputs().getTypes())
    total += 2 * numElements(t);
  return total;
}

LogicalResult AllFiniteOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one tensor to check");
  return success();
}

int64_t SelectOp::getFlops() { return 0; }

int64_t LossScaleUpdateOp::getFlops() { return 4; }

/// Largest integer an f32 counts exactly: the count of good steps is one.
static constexpr int64_t kMaxExactF32Integer = int64_t(1) << 24;

LogicalResult LossScaleUpdateOp::verify() {
  double growth = getGrowthFactor().convertToDouble(),
         backoff = getBackoffFactor().convertToDouble();
  if (!(std::isfinite(growth) && growth > 1))
    return emitOpError("growth_factor must be finite and greater than 1, got ")
           << growth;
  if (!(backoff > 0 && backoff < 1))
    return emitOpError("backoff_factor must be in (0, 1), got ") << backoff;
  int64_t interval = getGrowthInterval();
  if (interval < 1 || interval > kMaxExactF32Integer)
    return emitOpError("growth_interval must be in [1, 2^24] (the count of "
                       "finite steps is held in f32), got ")
           << interval;
  return success();
}
