//===- ToolOptions.cpp - options every nnc tool shares --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/ToolOptions.h"

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Frontend/ONNX.h"
#include "nnc/Planner/Chain.h"
#include "nnc/Support/Limits.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

static llvm::Error optionError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

bool ModelSource::isONNX() const {
  return llvm::sys::path::extension(inputFile) == ".onnx";
}

/// An MLP's initial parameters, named as buildMLP names them.
static WeightSet mlpWeights(const MLPSpec &spec) {
  WeightSet set;
  std::vector<std::vector<float>> values = initParameters(spec);
  for (int64_t l = 0; l < spec.numLayers(); ++l) {
    std::string layer = std::to_string(l + 1);
    set.tensors.push_back(
        {"W" + layer, {spec.widths[l + 1], spec.widths[l]}, values[2 * l]});
    set.tensors.push_back(
        {"b" + layer, {spec.widths[l + 1]}, values[2 * l + 1]});
  }
  return set;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::nnc::loadModel(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                     const ModelSource &source, WeightSet *initialWeights) {
  if (initialWeights)
    *initialWeights = {};
  if (source.isMLP()) {
    OwningOpRef<ModuleOp> module = buildMLP(context, source.mlp, source.name);
    if (!module)
      return optionError("cannot build the MLP");
    // The spec's sizes are checked (and reported) before any weight exists.
    for (auto fn : module->getOps<func::FuncOp>())
      if (isModelFunction(fn) && failed(verifyModelFunction(fn)))
        return optionError("the MLP is beyond nnc's limits (see "
                           "docs/Limits.md)");
    if (initialWeights) {
      uint64_t bytes = 0; // each tensor is at most 1 TiB: no overflow
      for (int64_t l = 0; l < source.mlp.numLayers(); ++l)
        bytes += 4 * uint64_t(source.mlp.widths[l + 1]) *
                 (uint64_t(source.mlp.widths[l]) + 1);
      if (uint64_t memory = ::nnc::limits::physicalMemoryBytes();
          memory && bytes > memory)
        return optionError("the MLP's parameters need " +
                           std::to_string(bytes) +
                           " bytes, more than this machine's " +
                           std::to_string(memory) + " bytes of memory");
      *initialWeights = mlpWeights(source.mlp);
    }
    return std::move(module);
  }
  if (source.isONNX()) {
    ONNXImportOptions options;
    options.name = source.name;
    options.loss = source.loss;
    options.batch = source.batch;
    FailureOr<ImportedModel> imported =
        importONNX(context, source.inputFile, options);
    if (failed(imported)) // the importer reported where
      return optionError("cannot parse '" + source.inputFile + "'");
    if (initialWeights)
      *initialWeights = std::move(imported->initialWeights);
    return std::move(imported->module);
  }
  std::string error;
  auto file = openInputFile(source.inputFile, &error);
  if (!file)
    return optionError(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module) // the parser reported where
    return optionError("cannot parse '" + source.inputFile + "'");
  return std::move(module);
}

ModelCLOptions::ModelCLOptions(cl::OptionCategory &cat)
    : inputFile(cl::Positional, cl::desc("[model.mlir|model.onnx]"),
                cl::init(""), cl::cat(cat)),
      mlp("mlp",
          cl::desc("MLP layer widths, e.g. 784,100,10 (used when no model "
                   "file is given)"),
          cl::init("784,100,10"), cl::cat(cat)),
      activation("activation",
                 cl::desc("MLP activation: relu, sigmoid or tanh"),
                 cl::init("relu"), cl::cat(cat)),
      loss("loss",
           cl::desc("MLP loss: cross-entropy or mse; for an ONNX inference "
                    "graph, the loss to append"),
           cl::init("cross-entropy"), cl::cat(cat)),
      init("init",
           cl::desc("Weight initialization: kaiming (He, normal), "
                    "kaiming-uniform, xavier (Glorot, uniform), "
                    "xavier-normal, gaussian (N(0, --init-std^2)) or "
                    "constant (--init-value); biases start at 0"),
           cl::init("kaiming"), cl::cat(cat)),
      name("name", cl::desc("MLP model function name"), cl::init("mlp"),
           cl::cat(cat)),
      batch("batch",
            cl::desc("MLP batch size; for an ONNX model, the size of its "
                     "symbolic dimensions"),
            cl::init(128), cl::cat(cat)),
      dropout("dropout", cl::desc("MLP dropout rate after hidden layers"),
              cl::init(0.0), cl::cat(cat)),
      initStd("init-std", cl::desc("Standard deviation of --init=gaussian"),
              cl::init(0.01), cl::cat(cat)),
      initValue("init-value", cl::desc("Every weight of --init=constant"),
                cl::init(0.0), cl::cat(cat)),
      seed("seed", cl::desc("MLP initialization seed"), cl::init(0),
           cl::cat(cat)) {}

llvm::Expected<ModelSource> ModelCLOptions::getSource() const {
  ModelSource source;
  source.inputFile = inputFile;
  source.name = name;
  auto spec = parseMLPSpec(mlp, activation, loss, batch);
  if (!spec)
    return spec.takeError();
  auto initKind = parseInit(init);
  if (!initKind)
    return initKind.takeError();
  if (!(dropout >= 0 && dropout < 1))
    return optionError("--dropout must be in [0, 1), got " +
                       std::to_string(dropout));
  if (source.isONNX()) {
    // Only what was given applies to an ONNX model; the defaults are the
    // MLP's.
    if (!name.getNumOccurrences())
      source.name.clear();
    if (loss.getNumOccurrences())
      source.loss = spec->loss;
    if (batch.getNumOccurrences())
      source.batch = static_cast<int64_t>(batch);
  }
  source.mlp = std::move(*spec);
  source.mlp.dropout = dropout;
  source.mlp.init = *initKind;
  if (!std::isfinite(initStd) || initStd < 0 || !std::isfinite(initValue))
    return optionError("--init-std must be finite and not negative, and "
                       "--init-value finite");
  source.mlp.initStd = initStd;
  source.mlp.initValue = initValue;
  source.mlp.seed = seed;
  return source;
}

PlanCLOptions::PlanCLOptions(cl::OptionCategory &cat,
                             CheckpointStrategy defaultStrategy, StepMode mode,
                             Optimizer defaultOptimizer,
                             double defaultLearningRate)
    : mode(mode),
      learningRate(
          "learning-rate",
          cl::desc(mode == StepMode::Train
                       ? "Base learning rate of the schedule (the compiled "
                         "step reads it at run time)"
                       : "Learning rate compiled into the training step "
                         "(SGD unless --optimizer); with --optimizer and no "
                         "--learning-rate the step reads 'lr' at run time; "
                         "0 without --optimizer compiles a gradient "
                         "function"),
          cl::init(defaultLearningRate), cl::cat(cat)),
      optimizer("optimizer", cl::desc("The training step's update"),
                optimizerCLValues(), cl::init(defaultOptimizer), cl::cat(cat)),
      momentum("momentum",
               cl::desc("Momentum of --optimizer=momentum and nesterov"),
               cl::init(0.9), cl::cat(cat)),
      beta1("beta1", cl::desc("Adam's first-moment decay"), cl::init(0.9),
            cl::cat(cat)),
      beta2("beta2", cl::desc("Adam's second-moment decay"), cl::init(0.999),
            cl::cat(cat)),
      eps("eps", cl::desc("Adam's denominator term"), cl::init(1e-8),
          cl::cat(cat)),
      weightDecay("weight-decay",
                  cl::desc("L2 penalty added to every gradient (PyTorch's "
                           "weight_decay)"),
                  cl::init(0.0), cl::cat(cat)),
      gradNorms("grad-norms",
                cl::desc("The compiled step also returns the Euclidean norm "
                         "of each parameter's gradient"),
                cl::init(false), cl::cat(cat)),
      fuseUpdates("fuse-updates",
                  cl::desc("Update each weight straight from the matmul "
                           "computing its gradient (plain SGD: no "
                           "weight-gradient buffer); the plan counts what "
                           "remains"),
                  cl::init(true), cl::cat(cat)),
      strategy("strategy", cl::desc("Checkpointing strategy"),
               checkpointStrategyCLValues(), cl::init(defaultStrategy),
               cl::cat(cat)),
      budget("budget",
             cl::desc("Activation memory budget in bytes, KiB/MiB/GiB "
                      "suffixes allowed (chen, dp)"),
             cl::init(""), cl::cat(cat)),
      slots("slots", cl::desc("Memory discretisation of the dp strategy"),
            cl::init(500), cl::cat(cat)),
      threads("num-threads",
              cl::desc("Threads the compiled step runs with (0: all cores, "
                       "or OMP_NUM_THREADS); --cost-model=measured times it "
                       "with as many"),
              cl::init(0), cl::cat(cat)),
      costModel("cost-model", cl::desc("How checkpoint costs are priced"),
                cl::values(clEnumValN(CostModel::Flops, "flops",
                                      "FLOPs of each stage"),
                           clEnumValN(CostModel::Measured, "measured",
                                      "compile store-all, time the forward "
                                      "and the step here, plan in "
                                      "predicted seconds")),
                cl::init(CostModel::Flops), cl::cat(cat)),
      forwardFlopSeconds(
          "forward-flop-seconds",
          cl::desc("Seconds per forward FLOP, e.g. from an earlier "
                   "--cost-model=measured report (with "
                   "--backward-flop-seconds): costs become seconds"),
          cl::init(0.0), cl::cat(cat)),
      backwardFlopSeconds("backward-flop-seconds",
                          cl::desc("Seconds per backward FLOP"), cl::init(0.0),
                          cl::cat(cat)) {}

llvm::Error PlanCLOptions::apply(CPUPipelineOptions &options) const {
  // Every number is checked, used or not: a NaN given for an option of
  // another optimizer is still a mistake worth reporting.
  for (const cl::opt<double> *o :
       {&learningRate, &momentum, &beta1, &beta2, &eps, &weightDecay,
        &forwardFlopSeconds, &backwardFlopSeconds})
    if (!std::isfinite(*o))
      return optionError("--" + o->ArgStr.str() +
                         " must be a finite number, got " +
                         std::to_string(o->getValue()));
  if (!std::isfinite(learningRate) || learningRate < 0)
    return optionError("--learning-rate must be finite and not negative, "
                       "got " +
                       std::to_string(learningRate));
  if (mode == StepMode::Train && !(learningRate > 0))
    return optionError("--learning-rate must be positive to train");
  if (mode == StepMode::Train && optimizer == Optimizer::None)
    return optionError("--optimizer=none computes no update; choose sgd, "
                       "momentum, nesterov or adam to train");
  if (!std::isfinite(weightDecay) || weightDecay < 0)
    return optionError("--weight-decay must be finite and not negative");
  if ((optimizer == Optimizer::Momentum || optimizer == Optimizer::Nesterov) &&
      !(std::isfinite(momentum) && momentum > 0))
    return optionError("--momentum must be positive and finite for "
                       "--optimizer=momentum and nesterov");
  if (optimizer == Optimizer::Adam &&
      !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0 &&
        std::isfinite(eps)))
    return optionError("--beta1 and --beta2 must be in [0, 1) and --eps "
                       "finite and not negative");
  bool trainStep = optimizer != Optimizer::None || learningRate > 0;
  if (weightDecay != 0 && !trainStep)
    return optionError("--weight-decay needs a training step "
                       "(--learning-rate > 0 or --optimizer)");
  double fwd = forwardFlopSeconds, bwd = backwardFlopSeconds;
  if (costModel == CostModel::Measured && (fwd != 0 || bwd != 0))
    return optionError("--cost-model=measured measures the times per FLOP; "
                       "do not also give --forward-flop-seconds/"
                       "--backward-flop-seconds");
  if (!std::isfinite(fwd) || !std::isfinite(bwd) || fwd < 0 || bwd < 0 ||
      (fwd > 0) != (bwd > 0))
    return optionError("--forward-flop-seconds and --backward-flop-seconds "
                       "must both be positive, or both absent");
  // No machine takes a second per FLOP; larger is a unit mistake.
  if (fwd > 1 || bwd > 1)
    return optionError("--forward-flop-seconds and --backward-flop-seconds "
                       "must be at most 1 (seconds per FLOP)");
  if (slots == 0)
    return optionError("--slots must be positive");
  if (slots > ::nnc::limits::kMaxSlots)
    return optionError("--slots=" + std::to_string(slots) +
                       " is over nnc's limit of " +
                       std::to_string(::nnc::limits::kMaxSlots));
  if (threads > ::nnc::limits::kMaxThreads)
    return optionError("--num-threads=" + std::to_string(threads) +
                       " is over nnc's limit of " +
                       std::to_string(::nnc::limits::kMaxThreads));
  if (!budget.empty())
    if (auto parsed = ::nnc::planner::parseByteSize(budget); !parsed)
      return parsed.takeError();
  // Compile mode: an optimizer without an explicit rate reads it at run
  // time; Train mode always does.
  bool runtimeRate =
      mode == StepMode::Train ||
      (optimizer != Optimizer::None && !learningRate.getNumOccurrences());
  options.learningRate = runtimeRate ? 0.0 : static_cast<double>(learningRate);
  options.optimizer = static_cast<Optimizer>(optimizer);
  options.momentum = static_cast<double>(momentum);
  options.beta1 = static_cast<double>(beta1);
  options.beta2 = static_cast<double>(beta2);
  options.eps = static_cast<double>(eps);
  options.weightDecay = static_cast<double>(weightDecay);
  options.gradNorms = static_cast<bool>(gradNorms);
  options.fuseUpdates = static_cast<bool>(fuseUpdates);
  options.strategy = static_cast<CheckpointStrategy>(strategy);
  options.budget = static_cast<std::string>(budget);
  options.slots = static_cast<unsigned>(slots);
  options.forwardFlopSeconds = fwd;
  options.backwardFlopSeconds = bwd;
  return llvm::Error::success();
}
