//===- Landscape.h - loss along lines and planes in weight space -*- C++
//-*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The loss-landscape projections of Li et al., "Visualizing the Loss
// Landscape of Neural Nets" (2018), and the linear interpolation of
// Goodfellow et al. (2015): the compiled loss (and inference) function
// evaluated over the data in batches at w + α·d₁ (+ β·d₂), with Gaussian
// directions rescaled per parameter tensor to that tensor's norm ("filter
// normalization" per layer), so the picture does not depend on the scale
// of each layer.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_LANDSCAPE_H
#define NNC_TRAINING_LANDSCAPE_H

#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/IDX.h"
#include "nnc/Frontend/Weights.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Training/Trainer.h"

#include <memory>
#include <vector>

namespace mlir::nnc {

/// The model's forward functions, compiled without autodiff: the loss
/// function (mean loss of a batch) and, if the model has one, the inference
/// function (for accuracy).
class LossEvaluator {
public:
  static llvm::Expected<std::unique_ptr<LossEvaluator>>
  create(OwningOpRef<ModuleOp> module);

  int64_t getBatch() const { return batch; }
  int64_t getFeatures() const { return features; }
  int64_t getClasses() const { return classes; }
  /// Parameter names and shapes (values are the current ones), batch-norm
  /// running statistics included: a weights file holds both.
  std::vector<NamedTensor> getParameters() const;
  llvm::Error setParameters(llvm::ArrayRef<NamedTensor> tensors,
                            llvm::StringRef source);
  void setParameters(const std::vector<std::vector<float>> &values);

  /// Mean loss over the whole batches among the first `limit` samples
  /// (all if 0), by the compiled loss function; accuracy over the same
  /// samples by the inference function (NaN without one).
  llvm::Expected<EvalResult> evaluate(const Dataset &data, int64_t limit = 0);

private:
  LossEvaluator() = default;
  CompiledModel compiled;
  std::unique_ptr<JITModule> jit;
  const EntryPoint *lossFn = nullptr, *predict = nullptr;
  int64_t batch = 0, features = 0, classes = 0;
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::vector<float>> params;
  std::vector<float> x, out;
  std::vector<int32_t> labels;
  /// The model's labels are int64 (a PyTorch export): copied from labels.
  std::vector<int64_t> wideLabels;
  bool labelsAreI64 = false;
  float loss = 0;
  /// The loss function's other results (a batch norm's updated running
  /// statistics), written and ignored: the landscape moves no state.
  std::vector<std::vector<float>> extraOutputs;
  std::vector<void *> lossBuffers, predictBuffers;
};

/// A direction in weight space: one tensor per parameter.
using Direction = std::vector<std::vector<float>>;

/// A Gaussian direction, filter-normalized as Li et al. (2018): each filter
/// (a slice along dimension 0 of a tensor of rank 2 or more: a linear
/// layer's output unit, a convolution's output channel) is rescaled to the
/// norm of the same filter of `weights`. Tensors of rank 0 or 1 (biases,
/// batch-norm scales and shifts) get a zero direction, as Li et al.'s
/// default ("ignore biasbn"); so does a filter of norm 0.
Direction filterNormalizedDirection(llvm::ArrayRef<NamedTensor> weights,
                                    uint64_t seed);

/// `to - from`, tensor by tensor.
Direction difference(llvm::ArrayRef<NamedTensor> to,
                     llvm::ArrayRef<NamedTensor> from);

/// One grid point: the coefficients and the evaluation on each data set.
struct LandscapePoint {
  double alpha = 0, beta = 0;
  EvalResult train, test;
};

/// The loss at center + α·d1 + β·d2 for every α in `alphas`, β in `betas`
/// (pass {0} and an empty d2 for a line), on the first `trainLimit`
/// training and `testLimit` test samples. `progress` is called after each
/// point with the number done.
llvm::Expected<std::vector<LandscapePoint>>
evaluateGrid(LossEvaluator &eval, llvm::ArrayRef<NamedTensor> center,
             const Direction &d1, const Direction &d2,
             llvm::ArrayRef<double> alphas, llvm::ArrayRef<double> betas,
             const Dataset &train, int64_t trainLimit, const Dataset &test,
             int64_t testLimit,
             llvm::function_ref<void(size_t)> progress = nullptr);

/// n evenly spaced values from lo to hi (both included).
std::vector<double> linspace(double lo, double hi, int64_t n);

} // namespace mlir::nnc

#endif // NNC_TRAINING_LANDSCAPE_H
