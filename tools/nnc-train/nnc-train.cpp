//===- nnc-train.cpp - train a model on an IDX data set -------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The README's main job: compile a classifier's whole training step
// (forward, backward, optimizer; the learning rate read at run time) with a
// checkpoint strategy and budget, and train it on Fashion-MNIST (or any
// MNIST-layout IDX directory). A thin main: options, data loading, the
// Trainer and the weights file are library code (nnc/Training,
// nnc/Frontend).
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/CostCalibration.h"
#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Pipeline/ToolOptions.h"
#include "nnc/Runtime/CPU/CPURuntime.h"
#include "nnc/Training/Distributed.h"
#include "nnc/Training/MicroBatches.h"
#include "nnc/Training/Trainer.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;
namespace training = ::nnc::training;

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "nnc-train") << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::OptionCategory cat("nnc-train options");
  ModelCLOptions modelOptions(cat);
  // The defaults are the README's main job: SGD with Nesterov momentum 0.9,
  // base rate 0.05, cosine decay over the epochs (docs/Training.md).
  CompileOptions defaults;
  defaults.step.optimizer = Optimizer::Nesterov;
  defaults.step.learningRate = 0.05;
  CompileCLOptions planOptions(cat, StepMode::Train, ToolConcerns::Planning,
                               defaults);
  cl::opt<std::string> dataDir(
      "data",
      cl::desc("MNIST-layout IDX directory (train-*/t10k-*, gzipped "
               "or not)"),
      cl::init("/usr/share/datasets/fashion-mnist"), cl::cat(cat));
  cl::opt<int64_t> epochs("epochs", cl::desc("Passes over the training set"),
                          cl::init(10), cl::cat(cat));
  cl::opt<int64_t> maxSteps("steps",
                            cl::desc("Stop after this many steps (0: all)"),
                            cl::init(0), cl::cat(cat));
  cl::opt<int64_t> trainLimit(
      "train-limit", cl::desc("Use only the first N training images (0: all)"),
      cl::init(0), cl::cat(cat));
  cl::opt<int64_t> testLimit(
      "test-limit", cl::desc("Use only the first N test images (0: all)"),
      cl::init(0), cl::cat(cat));
  cl::opt<uint64_t> shuffleSeed("shuffle-seed",
                                cl::desc("Seed of the per-epoch shuffle"),
                                cl::init(1), cl::cat(cat));
  ::nnc::VocabularyOpt<::nnc::ScheduleKind> schedule(
      "lr-schedule", cl::desc("Learning-rate schedule"),
      cl::init(::nnc::ScheduleKind::Cosine), cl::cat(cat));
  // Of the code generation options, the one the CNN benchmarks compare.
  ::nnc::VocabularyOpt<::nnc::ConvLayout> convLayout(
      "conv-layout",
      cl::desc("Activation layout between convolutions and poolings"),
      cl::init(defaults.cpu.convLayout), cl::cat(cat));
  cl::opt<double> gamma("lr-gamma",
                        cl::desc("Decay factor of step and "
                                 "exponential"),
                        cl::init(0.1), cl::cat(cat));
  cl::opt<int64_t> stepSize("lr-step-size",
                            cl::desc("Periods between decays of step"),
                            cl::init(3), cl::cat(cat));
  cl::opt<int64_t> tMax("lr-t-max",
                        cl::desc("Periods of the cosine decay (0: all of the "
                                 "run)"),
                        cl::init(0), cl::cat(cat));
  cl::opt<double> etaMin("lr-eta-min", cl::desc("Final rate of cosine"),
                         cl::init(0.0), cl::cat(cat));
  cl::opt<int64_t> warmup("lr-warmup",
                          cl::desc("Periods of linear warm-up (0: none)"),
                          cl::init(0), cl::cat(cat));
  cl::opt<double> warmupStart("lr-warmup-start",
                              cl::desc("Warm-up's starting factor"),
                              cl::init(0.1), cl::cat(cat));
  cl::opt<int64_t> baseBatch(
      "lr-base-batch",
      cl::desc("Linear scaling (Goyal et al.): the rate is --learning-rate "
               "times the global batch (ranks x --batch) over this batch "
               "(0: no scaling); combine with --lr-warmup"),
      cl::init(0), cl::cat(cat));
  cl::opt<bool> perStep("lr-per-step",
                        cl::desc("Schedule periods are steps, not epochs"),
                        cl::init(false), cl::cat(cat));
  cl::opt<int64_t> printSchedule(
      "print-lr-schedule",
      cl::desc("Print the rate of the first N periods and exit (no data, no "
               "compilation)"),
      cl::init(0), cl::cat(cat));
  cl::opt<std::string> save("save", cl::desc("Write the trained weights here"),
                            cl::init(""), cl::cat(cat));
  cl::opt<std::string> load("load",
                            cl::desc("Start from these weights (an nnc "
                                     "weights file) instead of --init"),
                            cl::init(""), cl::cat(cat));
  cl::opt<bool> evalOnly("eval", cl::desc("Only evaluate (with --load)"),
                         cl::init(false), cl::cat(cat));
  cl::opt<std::string> metricsOut(
      "metrics-out",
      cl::desc("Write one JSON object per epoch and per logged step"),
      cl::init(""), cl::cat(cat));
  cl::opt<int64_t> logEvery(
      "log-every",
      cl::desc("Log a step record (loss, lr, gradient norms) every N steps "
               "(0: none; --grad-norms alone logs every 100)"),
      cl::init(-1), cl::cat(cat));
  cl::opt<std::string> curves(
      "curves", cl::desc("Write <prefix>-loss.svg and <prefix>-accuracy.svg"),
      cl::init(""), cl::cat(cat));
  cl::opt<double> rankTimeout(
      "rank-timeout",
      cl::desc("Under mpirun: seconds a rank waits for the others in any "
               "collective before it aborts the job (a rank exited or "
               "hangs)"),
      cl::init(60.0), cl::cat(cat));
  cl::opt<int64_t> checkpointEvery(
      "checkpoint-every",
      cl::desc("Write the training state (weights, optimizer state, shuffle, "
               "epoch and step) to --checkpoint every N steps (0: never)"),
      cl::init(0), cl::cat(cat));
  cl::opt<std::string> checkpointPath(
      "checkpoint", cl::desc("The training state file --checkpoint-every "
                             "writes (atomically) and --resume reads"),
      cl::init(""), cl::cat(cat));
  cl::opt<bool> resume("resume",
                       cl::desc("Continue from the training state in "
                                "--checkpoint (same model and options)"),
                       cl::init(false), cl::cat(cat));
  cl::opt<int64_t> microBatch(
      "micro-batch",
      cl::desc("Gradient accumulation: each step runs --batch / N "
               "micro-batches of N samples through the planned forward and "
               "backward, sums their gradients in the arena and updates "
               "once; --batch is the global batch and must be a multiple of "
               "N, and --budget covers the accumulators (docs/"
               "MicroBatches.md)"),
      cl::value_desc("N"), cl::init(0), cl::cat(cat));
  ::nnc::VocabularyOpt<::nnc::ProgressBar> progress(
      "progress", cl::desc("When to draw a progress bar"),
      cl::init(::nnc::ProgressBar::Auto), cl::cat(cat));
  registerCompilerCLOptions();
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv, "train a model with its compiled training step\n");

  training::LRSchedule lr;
  lr.kind = schedule;
  lr.base = planOptions.getLearningRate();
  lr.gamma = gamma;
  lr.stepSize = stepSize;
  lr.perStep = perStep;
  lr.etaMin = etaMin;
  lr.warmup = warmup;
  lr.warmupStart = warmupStart;
  if (tMax < 0)
    return fail("--lr-t-max must not be negative (0: the number of epochs)");
  if (printSchedule < 0)
    return fail("--print-lr-schedule must not be negative");
  if (baseBatch < 0)
    return fail("--lr-base-batch must not be negative (0: no scaling)");
  if (logEvery < -1)
    return fail("--log-every must not be negative (0: no step records)");
  lr.tMax =
      tMax > 0 ? static_cast<int64_t>(tMax) : std::max<int64_t>(epochs, 1);
  if (perStep && tMax == 0 && lr.kind == training::ScheduleKind::Cosine &&
      !printSchedule)
    return fail("--lr-per-step with cosine needs --lr-t-max (in steps)");
  if (llvm::Error e = lr.validate())
    return fail(llvm::toString(std::move(e)));
  if (printSchedule > 0) {
    for (int64_t t = 0; t < printSchedule; ++t)
      llvm::outs() << t << " " << llvm::formatv("{0:e16}", lr.at(t)) << "\n";
    return 0;
  }
  if (epochs < 0 || maxSteps < 0 || trainLimit < 0 || testLimit < 0)
    return fail("--epochs, --steps and the limits must not be negative");
  if (evalOnly && load.empty())
    return fail("--eval needs --load");
  if (checkpointEvery < 0)
    return fail("--checkpoint-every must not be negative");
  if ((checkpointEvery > 0 || resume) && checkpointPath.empty())
    return fail("--checkpoint-every and --resume need --checkpoint=FILE");
  if (!(rankTimeout > 0))
    return fail("--rank-timeout must be a positive number of seconds");

  llvm::Expected<ModelSource> source = modelOptions.getSource();
  if (!source)
    return fail(llvm::toString(source.takeError()));
  llvm::Expected<CompileOptions> compileOptions = planOptions.get();
  if (!compileOptions)
    return fail(llvm::toString(compileOptions.takeError()));
  CompileOptions &options = *compileOptions;
  options.cpu.convLayout = convLayout;
  if (microBatch.getNumOccurrences())
    if (llvm::Error e = useMicroBatches(*source, options, microBatch))
      return fail("--micro-batch: " + llvm::toString(std::move(e)));
  const StepOptions &stepOptions = options.step;
  // The trainer does not own a loss-scale state yet (the step would read
  // the scale from a buffer it does not bind).
  if (stepOptions.lossScaling != LossScaling::None)
    return fail("--loss-scaling is for compiled steps (nnc-compile, "
                "nnc-opt's pipelines): nnc-train does not keep a loss scale "
                "yet");
  int64_t log = logEvery >= 0            ? static_cast<int64_t>(logEvery)
                : stepOptions.gradNorms ? 100
                                         : 0;

  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  ctx.printOpOnDiagnostic(false);
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  // An ONNX model starts from its own initializers (PyTorch's
  // initialization, when it was exported from PyTorch).
  WeightSet fileWeights;
  auto module = loadModel(ctx, sourceMgr, *source,
                          source->isONNX() ? &fileWeights : nullptr);
  if (!module)
    return ::nnc::reportToolError("nnc-train", module.takeError());
  if (options.step.microBatches > 1)
    if (llvm::Error e = checkModelBatch(**module, microBatch))
      return fail("--micro-batch: " + llvm::toString(std::move(e)));
  // --num-threads applies to the whole run (the step, the evaluation and
  // the runtime's primitives), set before anything runs a parallel region:
  // a team created at the default size would leave a worker spinning beside
  // a one-thread run. --cost-model=measured then times the code with as
  // many threads.
  // Data parallelism: started by mpirun with several ranks (or asked for
  // with --all-reduce), every rank compiles the same step and trains on its
  // share of each global batch; rank 0 prints and writes files.
  DataParallel dp;
  struct FinalizeMPI {
    bool on = false;
    ~FinalizeMPI() {
      if (on)
        finalizeDataParallel();
    }
  } finalize;
  if (launchedRanks() > 1 || options.step.allReduce) {
    auto started = initDataParallel(rankTimeout);
    if (!started)
      return fail(llvm::toString(started.takeError()));
    dp = *started;
    finalize.on = true;
  }
  const CalibrationOptions &calibrationOptions = planOptions.getCalibration();
  if (calibrationOptions.threads)
    nncrt_set_num_threads(static_cast<int32_t>(calibrationOptions.threads));
  llvm::Expected<std::optional<FlopTimes>> calibration =
      applyMicroStepCostModel(**module, calibrationOptions.costModel, options,
                              calibrationOptions.threads);
  if (!calibration)
    return fail(llvm::toString(calibration.takeError()));
  auto start = std::chrono::steady_clock::now();
  auto trainer = Trainer::create(std::move(*module), options, dp);
  if (!trainer)
    return ::nnc::reportToolError("nnc-train", trainer.takeError());
  Trainer &t = **trainer;
  // The linear scaling rule: k times the batch, k times the rate (the
  // warm-up then starts from a fraction of the scaled rate).
  int64_t globalBatch = t.getBatch() * dp.size;
  if (baseBatch > 0) {
    lr.base *= static_cast<double>(globalBatch) / baseBatch;
    if (llvm::Error e = lr.validate())
      return fail(llvm::toString(std::move(e)));
  }

  // Data before anything long runs: a bad directory fails fast.
  auto train =
      loadMNISTLayout(dataDir, /*train=*/true, t.getFeatures(), t.getClasses());
  if (!train)
    return fail(llvm::toString(train.takeError()));
  auto test = loadMNISTLayout(dataDir, /*train=*/false, t.getFeatures(),
                              t.getClasses());
  if (!test)
    return fail(llvm::toString(test.takeError()));
  // Statistics of all training images, so a limited run normalizes alike.
  Normalization norm = computeNormalization(*train);
  normalize(*train, norm);
  normalize(*test, norm);
  if (trainLimit > 0 && trainLimit < train->count) {
    train->count = trainLimit;
    train->images.resize(trainLimit * train->features);
    train->labels.resize(trainLimit);
  }
  if (testLimit > 0 && testLimit < test->count) {
    test->count = testLimit;
    test->images.resize(testLimit * test->features);
    test->labels.resize(testLimit);
  }

  llvm::raw_ostream &out = dp.rank == 0 ? llvm::outs() : llvm::nulls();
  const EntryPoint &step = t.getStep();
  out << "nnc-train: "
      << (source->isMLP()
              ? llvm::formatv("MLP {0:$[-]} {1} {2}",
                              llvm::make_range(source->mlp.widths.begin(),
                                               source->mlp.widths.end()),
                              ::nnc::activations.name(source->mlp.activation),
                              ::nnc::losses.name(source->mlp.loss))
                    .str()
              : source->inputFile)
      << ", batch " << t.getBatch() << ", compiled '" << step.name << "' in "
      << llvm::formatv("{0:F2}", t.getCompileSeconds()) << " s\n";
  t.printSummary(out);
  if (options.step.microBatches > 1)
    out << llvm::formatv("  micro-batches: {0} x {1} samples per step, "
                         "gradients summed in the arena before one update\n",
                         options.step.microBatches, int64_t(microBatch));
  out << "  optimizer: " << ::nnc::optimizers.name(stepOptions.optimizer);
  if (::nnc::hasVelocity(stepOptions.optimizer))
    out << llvm::format(" %g", stepOptions.momentum);
  if (stepOptions.optimizer == Optimizer::LARS)
    out << llvm::format(" trust coefficient %g", stepOptions.trustCoefficient);
  if (::nnc::hasAdamMoments(stepOptions.optimizer))
    out << llvm::format(
        " betas (%g, %g) eps %g", stepOptions.beta1, stepOptions.beta2,
        stepOptions.eps);
  if (stepOptions.weightDecay > 0)
    out << llvm::format(", weight decay %g",
                        stepOptions.weightDecay);
  out << llvm::format("; lr %g ", lr.base)
      << (baseBatch > 0 ? llvm::formatv("(scaled by global batch {0} / {1}) ",
                                        globalBatch, baseBatch)
                              .str()
                        : std::string())
      << ::nnc::schedules.name(lr.kind)
      << (lr.warmup ? llvm::formatv(" after {0} warm-up", lr.warmup).str()
                    : std::string())
      << " per " << (lr.perStep ? "step" : "epoch") << "\n";
  out << llvm::formatv("  data: {0}: {1} training, {2} test images of {3} "
                       "features, {4} classes (normalized with mean {5:F4}, "
                       "std {6:F4})\n",
                       dataDir, train->count, test->count, train->features,
                       t.getClasses(), norm.mean, norm.std);

  if (!load.empty()) {
    auto weights = readWeights(load);
    if (!weights)
      return fail(llvm::toString(weights.takeError()));
    if (llvm::Error e = t.setParameters(*weights, load))
      return fail(llvm::toString(std::move(e)));
    out << "  weights: loaded from " << load << "\n";
  } else if (!fileWeights.tensors.empty()) {
    // In argument order, named as in the file: the step's parameters are
    // the same arguments under their C names.
    std::vector<NamedTensor> initial = fileWeights.tensors;
    auto expected = t.getParameters();
    for (size_t i = 0; i < initial.size() && i < expected.size(); ++i)
      initial[i].name = expected[i].name;
    if (llvm::Error e = t.setParameters(initial, source->inputFile))
      return fail(llvm::toString(std::move(e)));
    out << "  weights: the model file's initializers\n";
  } else {
    t.initialize(source->mlp.init, source->mlp.initStd, source->mlp.initValue,
                 source->mlp.seed);
    out << "  weights: " << ::nnc::inits.name(source->mlp.init)
        << " initialization, "
        << "seed " << source->mlp.seed << "\n";
  }
  out.flush();

  if (evalOnly) {
    auto r = t.evaluate(*test);
    if (!r)
      return fail(llvm::toString(r.takeError()));
    out << llvm::formatv("test loss {0:F4} accuracy {1:F2}% ({2} images)\n",
                         r->loss, 100 * r->accuracy, r->samples);
    return 0;
  }

  if (resume) {
    if (llvm::Error e = t.readTrainingState(checkpointPath))
      return fail(llvm::toString(std::move(e)));
    out << "  resumed from " << checkpointPath << "\n";
  }

  std::unique_ptr<llvm::ToolOutputFile> metrics;
  if (!metricsOut.empty() && dp.rank == 0) {
    std::error_code ec;
    metrics = std::make_unique<llvm::ToolOutputFile>(metricsOut, ec,
                                                     llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + metricsOut + "': " + ec.message());
  }
  TrainOptions trainOptions;
  trainOptions.epochs = epochs;
  trainOptions.maxSteps = maxSteps;
  trainOptions.shuffleSeed = shuffleSeed;
  trainOptions.schedule = lr;
  trainOptions.logEvery = log;
  trainOptions.checkpointEvery = checkpointEvery;
  trainOptions.checkpointPath = checkpointPath;
  trainOptions.progressBar =
      progress == ::nnc::ProgressBar::Always ||
      (progress == ::nnc::ProgressBar::Auto &&
       llvm::sys::Process::StandardOutIsDisplayed());
  auto result = t.fit(*train, &*test, trainOptions, out,
                      metrics ? &metrics->os() : nullptr);
  if (!result)
    return fail(llvm::toString(result.takeError()));
  if (metrics)
    metrics->keep();
  if (!curves.empty() && dp.rank == 0)
    if (llvm::Error e = writeTrainingCurves(curves, result->epochs,
                                            "nnc-train " + step.name))
      return fail(llvm::toString(std::move(e)));
  if (!save.empty() && dp.rank == 0)
    if (llvm::Error e = writeWeights(save, t.getParameters()))
      return fail(llvm::toString(std::move(e)));

  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  int64_t samples = result->samples;
  out << llvm::formatv(
      "done: {0} steps ({1} epochs) in {2:F1} s of training "
      "({3:N} samples/s), {4:F1} s in all",
      result->totalSteps, result->epochs.size(), result->trainSeconds,
      // No step (--epochs=0, --steps cut short): no rate to divide out.
      result->trainSeconds > 0
          ? static_cast<int64_t>(samples / result->trainSeconds)
          : int64_t(0),
      total);
  if (!result->epochs.empty() && result->epochs.back().tested)
    out << llvm::formatv("; test accuracy {0:F2}%, loss {1:F4}",
                         100 * result->epochs.back().test.accuracy,
                         result->epochs.back().test.loss);
  out << "\n";
  if (!save.empty())
    out << "  weights saved to " << save << "\n";
  if (dp.active) {
    // How much of the all-reduce the backward hid: the time the steps spent
    // blocked in its waits, against what the buckets cost when nothing
    // hides them (a blocking all-reduce of each, timed now).
    AllReduceStats stats = getAllReduceStats();
    double exposed = 0, blocking = 0;
    if (result->totalSteps > 0 && stats.waits > 0) {
      int64_t steps = stats.waits / std::max<size_t>(
                                        t.getCompiled().stats.allReduceBuckets.size(), 1);
      exposed = (stats.waitSeconds + stats.startSeconds) / std::max<int64_t>(steps, 1);
      for (const AllReduceBucket &b : t.getCompiled().stats.allReduceBuckets)
        blocking += timeAllReduce(b.bytes, 20);
    }
    out << llvm::formatv("  all-reduce: {0} ranks, {1:F1} us per step spent "
                         "in its calls, {2:F1} us per step if blocking; "
                         "hidden {3:F0}%\n",
                         dp.size, 1e6 * exposed, 1e6 * blocking,
                         blocking > 0 ? 100 * std::max(0.0, 1 - exposed / blocking)
                                      : 0.0);
  }
  // A diverged run is a result (the gradient demo shows one), but not a
  // successful training: scripts can tell.
  return result->diverged ? 3 : 0;
}
