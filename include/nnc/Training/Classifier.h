//===- Classifier.h - a compiled classifier's data inputs --------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// What the trainer and the landscape both feed a compiled function: a
// batch of samples x and their class labels, beside the weights.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_CLASSIFIER_H
#define NNC_TRAINING_CLASSIFIER_H

#include "nnc/Pipeline/Compiler.h"

#include <optional>

namespace mlir::nnc {

/// The data inputs of a classifier's entry point.
struct ClassifierInputs {
  const BufferInfo *x = nullptr, *labels = nullptr;
  /// Samples in a batch, and each one's row-major features (a
  /// [batch, 1, 28, 28] image batch reads 784 per sample).
  int64_t batch = 0, features = 0;
  bool labelsAreI64 = false;
};

/// `entry`'s inputs other than weights (parameters, running statistics),
/// optimizer state and the run-time scalars `lr` and `step`, if they are
/// exactly x float[batch, features...] and labels int32 or int64[batch];
/// nullopt otherwise.
std::optional<ClassifierInputs> findClassifierInputs(const EntryPoint &entry);

} // namespace mlir::nnc

#endif // NNC_TRAINING_CLASSIFIER_H
