//===- Trainer.h - train a compiled model on a data set ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// What nnc-train runs: compile a classifier's training step (forward,
// backward and optimizer in one function, learning rate read at run time)
// and its inference function into the JIT, keep the parameters and the
// optimizer state in caller-owned buffers updated in place, and loop over
// shuffled mini-batches with a learning-rate schedule. Evaluation runs the
// compiled inference (or loss) function over the data in batches.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_TRAINER_H
#define NNC_TRAINING_TRAINER_H

#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Frontend/IDX.h"
#include "nnc/Frontend/Weights.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Training/Distributed.h"
#include "nnc/Training/Schedule.h"

#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::nnc {

struct TrainOptions {
  int64_t epochs = 10;
  /// Stop after this many optimizer steps in all (0: no limit).
  int64_t maxSteps = 0;
  /// Seeds the per-epoch shuffle.
  uint64_t shuffleSeed = 0;
  ::nnc::training::LRSchedule schedule;
  /// A step record (loss, lr, gradient norms) every this many steps, and
  /// for the first one (0: none).
  int64_t logEvery = 0;
  /// Redraw a progress bar in place (a terminal) instead of plain lines.
  bool progressBar = false;
  /// Write the training state (writeTrainingState) to `checkpointPath`
  /// every this many steps (0: never). Rank 0 writes it.
  int64_t checkpointEvery = 0;
  std::string checkpointPath;
};

struct EvalResult {
  double loss = 0;
  /// Fraction correct; NaN when the model has no inference function.
  double accuracy = 0;
  int64_t samples = 0;
};

struct StepRecord {
  int64_t step = 0, epoch = 0;
  double lr = 0, loss = 0;
  /// Per parameter, in parameter order (empty without --grad-norms).
  std::vector<float> gradNorms;
};

struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0, trainLoss = 0, trainAccuracy = 0;
  EvalResult test;
  bool tested = false;
  double seconds = 0, samplesPerSecond = 0;
};

struct FitResult {
  std::vector<EpochRecord> epochs;
  std::vector<StepRecord> steps;
  /// The loss became NaN or infinite; training stopped there.
  bool diverged = false;
  int64_t totalSteps = 0;
  /// Samples this call trained on, over all ranks (a resumed run counts
  /// only its own steps).
  int64_t samples = 0;
  double trainSeconds = 0;
};

class Trainer {
public:
  /// Compiles `module` (consumed): its model function must be a classifier
  /// taking (x f32[batch, ...features], labels i32 or i64[batch],
  /// parameters...); x's sample dimensions are its row-major features
  /// (a [batch, 1, 28, 28] image batch reads 784 per sample).
  /// `options` must select an optimizer with a run-time learning rate;
  /// the step is also made to return the network's output (for training
  /// accuracy). Compile errors go to the context's diagnostic handler and
  /// come back as a ::nnc::DiagnosedError.
  ///
  /// With `dp.size` > 1 (initDataParallel) the step averages its gradients
  /// over the ranks (`options.step.allReduce` is set), and the ranks must
  /// have compiled the same step: an error on every rank otherwise. fit
  /// then trains rank r on its share of each global batch of size ×
  /// batch samples.
  static llvm::Expected<std::unique_ptr<Trainer>>
  create(OwningOpRef<ModuleOp> module, CompileOptions &options,
         DataParallel dp = {});

  const CompiledModel &getCompiled() const { return compiled; }
  const EntryPoint &getStep() const { return *step; }
  int64_t getBatch() const { return batch; }
  int64_t getFeatures() const { return features; }
  int64_t getClasses() const { return classes; }
  double getCompileSeconds() const { return compileSeconds; }
  const DataParallel &getDataParallel() const { return dp; }
  /// A hash of the compiled code and the batch: equal on ranks (and runs)
  /// that compiled the same step.
  uint64_t getStepHash() const { return stepHash; }

  /// Writes the whole training state after `global` steps: parameters,
  /// optimizer state, the shuffle's order and generator, epoch and step,
  /// the epoch's running sums. Atomically: a temporary file renamed over
  /// `path`, so a killed run leaves the previous state or the new one.
  llvm::Error writeTrainingState(llvm::StringRef path) const;
  /// Reads a state writeTrainingState wrote for the same step (hash) and
  /// number of ranks; the next fit continues from it and ends with the
  /// weights an uninterrupted run would have.
  llvm::Error readTrainingState(llvm::StringRef path);

  /// Parameters in order, under their names, with their current values.
  std::vector<NamedTensor> getParameters() const;
  /// Replaces the parameters (names and shapes must match; `source` names
  /// where they came from in errors) and zeroes the optimizer state.
  llvm::Error setParameters(llvm::ArrayRef<NamedTensor> tensors,
                            llvm::StringRef source);
  /// Draws initial parameters (see initParameters in GraphBuilder.h) and
  /// zeroes the optimizer state.
  void initialize(Init init, double initStd, double initValue, uint64_t seed);

  /// Mean loss and accuracy over the first `limit` samples of `data` (all
  /// if 0), through the compiled inference function, the last batch padded
  /// (padding rows are not counted); without one, through the compiled
  /// loss function over whole batches only.
  llvm::Expected<EvalResult> evaluate(const Dataset &data, int64_t limit = 0);

  /// Trains on `train`, evaluating `test` (if given) after each epoch.
  /// Progress goes to `out`; each step and epoch record is also written to
  /// `metrics` (if given) as one JSON object per line.
  llvm::Expected<FitResult> fit(const Dataset &train, const Dataset *test,
                                const TrainOptions &options,
                                llvm::raw_ostream &out,
                                llvm::raw_ostream *metrics);

  /// What was compiled: model size, optimizer state, the checkpoint plan
  /// (strategy, budget, predicted peak, arena, what is recomputed).
  void printSummary(llvm::raw_ostream &os) const;

private:
  Trainer() = default;
  llvm::Error bind();
  /// Runs one step on the batch already in `x`/`labels`.
  llvm::Error runStep(float lr, int64_t stepNumber);

  CompiledModel compiled;
  /// What the step's products read (the summary says so).
  Precision precision = Precision::F32;
  std::unique_ptr<JITModule> jit;
  const EntryPoint *step = nullptr, *predict = nullptr, *lossFn = nullptr;
  int64_t batch = 0, features = 0, classes = 0;
  double compileSeconds = 0;
  bool adam = false;
  DataParallel dp;
  uint64_t stepHash = 0;

  /// Where fit is, kept so a checkpoint can record it and a resumed fit
  /// continue from it.
  struct Progress {
    int64_t epoch = 0, stepInEpoch = 0, global = 0;
    /// The epoch's running sums (over all ranks).
    double lossSum = 0;
    int64_t correct = 0, done = 0;
    /// The shuffled order of the current epoch and the generator after
    /// drawing it (std::mt19937_64's text form).
    std::vector<int64_t> order;
    std::string rng;
    bool resumed = false;
  } progress;

  std::vector<std::string> paramNames;
  std::vector<std::vector<int64_t>> paramShapes;
  std::vector<std::vector<float>> params, states;
  std::vector<float> x, logits, gradNorms;
  std::vector<int32_t> labels;
  /// The labels as the step reads them when it takes i64 (an ONNX export
  /// of PyTorch's cross_entropy), copied from `labels` per batch.
  std::vector<int64_t> wideLabels;
  bool labelsAreI64 = false;
  float loss = 0, lrValue = 0, stepValue = 0;
  /// The step's buffers in header order, pointing into the above.
  std::vector<void *> stepBuffers;
};

/// Writes one SVG with the loss and one with the accuracy per epoch (train
/// and test), for `nnc-train --curves`: `<prefix>-loss.svg` and
/// `<prefix>-accuracy.svg`.
llvm::Error writeTrainingCurves(llvm::StringRef prefix,
                                llvm::ArrayRef<EpochRecord> epochs,
                                llvm::StringRef title);

} // namespace mlir::nnc

#endif // NNC_TRAINING_TRAINER_H
