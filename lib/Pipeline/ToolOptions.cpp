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
    if (initialWeights)
      *initialWeights = mlpWeights(source.mlp);
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
      init("init", cl::desc("MLP initialization: kaiming, xavier or gaussian"),
           cl::init("kaiming"), cl::cat(cat)),
      name("name", cl::desc("MLP model function name"), cl::init("mlp"),
           cl::cat(cat)),
      batch("batch",
            cl::desc("MLP batch size; for an ONNX model, the size of its "
                     "symbolic dimensions"),
            cl::init(128), cl::cat(cat)),
      dropout("dropout", cl::desc("MLP dropout rate after hidden layers"),
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
  source.mlp.seed = seed;
  return source;
}

PlanCLOptions::PlanCLOptions(cl::OptionCategory &cat,
                             CheckpointStrategy defaultStrategy)
    : learningRate("learning-rate",
                   cl::desc("SGD learning rate of the training step; 0 "
                            "compiles a gradient function instead"),
                   cl::init(0.1), cl::cat(cat)),
      fuseUpdates("fuse-updates",
                  cl::desc("Update each weight straight from the matmul "
                           "computing its gradient (no weight-gradient "
                           "buffer); the plan counts what remains"),
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
  if (!std::isfinite(learningRate) || learningRate < 0)
    return optionError("--learning-rate must be finite and not negative, "
                       "got " +
                       std::to_string(learningRate));
  double fwd = forwardFlopSeconds, bwd = backwardFlopSeconds;
  if (costModel == CostModel::Measured && (fwd != 0 || bwd != 0))
    return optionError("--cost-model=measured measures the times per FLOP; "
                       "do not also give --forward-flop-seconds/"
                       "--backward-flop-seconds");
  if (!std::isfinite(fwd) || !std::isfinite(bwd) || fwd < 0 || bwd < 0 ||
      (fwd > 0) != (bwd > 0))
    return optionError("--forward-flop-seconds and --backward-flop-seconds "
                       "must both be positive, or both absent");
  if (slots == 0)
    return optionError("--slots must be positive");
  if (!budget.empty())
    if (auto parsed = ::nnc::planner::parseByteSize(budget); !parsed)
      return parsed.takeError();
  options.learningRate = static_cast<double>(learningRate);
  options.fuseUpdates = static_cast<bool>(fuseUpdates);
  options.strategy = static_cast<CheckpointStrategy>(strategy);
  options.budget = static_cast<std::string>(budget);
  options.slots = static_cast<unsigned>(slots);
  options.forwardFlopSeconds = fwd;
  options.backwardFlopSeconds = bwd;
  return llvm::Error::success();
}
