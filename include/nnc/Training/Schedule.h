//===- Schedule.h - learning-rate schedules ---------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The rate the compiled step reads at run time (`lr`), as a function of the
// epoch or of the global step. The formulas are the closed forms of
// torch.optim.lr_scheduler's StepLR, ExponentialLR, CosineAnnealingLR and
// LinearLR (test/Oracle/torch-lr-schedules.py holds them to it).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_SCHEDULE_H
#define NNC_TRAINING_SCHEDULE_H

#include "nnc/Support/Vocabularies.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace nnc::training {

using ::nnc::ScheduleKind; // nnc/Support/Vocabularies.h spells it

struct LRSchedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double base = 0.1;
  /// Step: the factor every `stepSize` periods; exponential: per period.
  double gamma = 0.1;
  int64_t stepSize = 1;
  /// Cosine: η_min + (base − η_min)(1 + cos(π t / tMax)) / 2.
  int64_t tMax = 1;
  double etaMin = 0;
  /// Linear warm-up over the first `warmup` periods, multiplying the rate
  /// by warmupStart + (1 − warmupStart) · min(t, warmup) / warmup
  /// (LinearLR(start_factor=warmupStart, total_iters=warmup)).
  int64_t warmup = 0;
  double warmupStart = 0.1;
  /// Periods are optimizer steps instead of epochs.
  bool perStep = false;

  /// The rate in period `t` (0-based: the first epoch or step is t = 0).
  double at(int64_t t) const;
  /// Checks the parameters (positive base, gamma, step size, tMax; warm-up
  /// start in (0, 1]); errors name the option.
  llvm::Error validate() const;
};


} // namespace nnc::training

#endif // NNC_TRAINING_SCHEDULE_H
