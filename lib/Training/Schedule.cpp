//===- Schedule.cpp - learning-rate schedules -----------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Schedule.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cmath>

using namespace nnc::training;

double LRSchedule::at(int64_t t) const {
  double lr = base;
  switch (kind) {
  case ScheduleKind::Constant:
    break;
  case ScheduleKind::Step:
    lr = base * std::pow(gamma, static_cast<double>(t / stepSize));
    break;
  case ScheduleKind::Exponential:
    lr = base * std::pow(gamma, static_cast<double>(t));
    break;
  case ScheduleKind::Cosine:
    lr = etaMin + (base - etaMin) *
                      (1 + std::cos(M_PI * static_cast<double>(t) / tMax)) / 2;
    break;
  }
  if (warmup > 0)
    lr *= warmupStart +
          (1 - warmupStart) * static_cast<double>(std::min(t, warmup)) / warmup;
  return lr;
}

llvm::Error LRSchedule::validate() const {
  if (!(std::isfinite(base) && base > 0))
    return llvm::createStringError(
        "--learning-rate must be positive and finite");
  // Every parameter is checked whichever schedule uses it: a NaN given for
  // another schedule is still a mistake worth reporting.
  if (!(std::isfinite(gamma) && gamma > 0))
    return llvm::createStringError("--lr-gamma must be positive and finite");
  if (stepSize < 1)
    return llvm::createStringError("--lr-step-size must be at least 1");
  if (tMax < 1)
    return llvm::createStringError("--lr-t-max must be at least 1");
  if (!(etaMin >= 0 && etaMin <= base))
    return llvm::createStringError(
        "--lr-eta-min must be in [0, learning rate]");
  if (warmup < 0)
    return llvm::createStringError("--lr-warmup must not be negative");
  if (!(warmupStart > 0 && warmupStart <= 1))
    return llvm::createStringError("--lr-warmup-start must be in (0, 1]");
  return llvm::Error::success();
}

