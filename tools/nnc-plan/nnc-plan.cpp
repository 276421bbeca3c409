//===- nnc-plan.cpp - Plan gradient checkpointing for a chain -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Command-line front end of NNCPlanner: reads a chain (JSON, or the uniform
/// chain of the Griewank-Walther comparison), plans it with one strategy,
/// replays the plan in the simulator and prints what the simulator measured.
///
///   nnc-plan chain.json --strategy=dp --budget=64MiB [--json] [--svg=x.svg]
///   nnc-plan chain.json --frontier=frontier.svg
///   nnc-plan --uniform-chain=30 --slots=4       (4 Revolve checkpoint slots)
///   nnc-plan --mlp 784,100,10 --emit-chain       (the chain, as JSON)
///   nnc-plan --mlp 784,100,10 --global-batch=1024 --budget=8MiB
///                                    (micro-batch size and schedule together)
///
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/ExecutionEngine/CostCalibration.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Pipeline/ToolOptions.h"

#include "mlir/IR/MLIRContext.h"
#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Render.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"
#include "nnc/Support/Limits.h"
#include "nnc/Training/MicroBatches.h"
#include "llvm/Support/SourceMgr.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <cmath>

using namespace llvm;
using namespace nnc::planner;

static cl::OptionCategory category("nnc-plan options");
static mlir::nnc::ModelCLOptions modelOptions(category);
static mlir::nnc::CompileOptions planDefaults() {
  mlir::nnc::CompileOptions defaults;
  defaults.step.learningRate = 0.1;
  defaults.checkpoint.strategy = nnc::CheckpointStrategy::DP;
  return defaults;
}
static mlir::nnc::CompileCLOptions
    planOptions(category, mlir::nnc::StepMode::Compile,
                mlir::nnc::ToolConcerns::Planning, planDefaults());

static cl::opt<bool> emitJSON("json", cl::desc("Print the plan as JSON"),
                              cl::cat(category));
static cl::opt<std::string> svgFile("svg",
                                    cl::desc("Write the schedule as SVG"),
                                    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> frontierFile(
    "frontier", cl::ValueOptional,
    cl::desc("Print the DP's memory/cost frontier; with =file, also draw it "
             "as SVG"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> emitChain(
    "emit-chain",
    cl::desc("Print the chain being planned as JSON (the input format, "
             "with every non-default stage field) and exit; with a model, "
             "this is the chain the compiler builds for it"),
    cl::cat(category));
static cl::opt<unsigned> uniformChain(
    "uniform-chain",
    cl::desc("Plan the uniform chain of L stages (costs 1, all sizes "
             "--uniform-bytes) with budget (slots + 2) * size"),
    cl::value_desc("L"), cl::init(0), cl::cat(category));
static cl::opt<unsigned long long>
    uniformBytes("uniform-bytes",
                 cl::desc("Size of every value of --uniform-chain"),
                 cl::init(1), cl::cat(category));

static cl::opt<int64_t> globalBatch(
    "global-batch",
    cl::desc("Choose the micro-batch size and the checkpoint schedule "
             "together for this global batch within --budget: plan every "
             "divisor of it as the micro-batch (gradients accumulated in the "
             "arena), print the frontier and the pair of least predicted "
             "step time (an MLP, or an ONNX model with a symbolic batch)"),
    cl::value_desc("B"), cl::init(0), cl::cat(category));
static cl::opt<int64_t> minMicroBatch(
    "min-micro-batch",
    cl::desc("With --global-batch: plan only micro-batches of at least this "
             "many samples (with --cost-model=measured each candidate is "
             "compiled and timed)"),
    cl::value_desc("N"), cl::init(1), cl::cat(category));
static cl::opt<std::string> microBatchSvg(
    "micro-batch-svg",
    cl::desc("With --global-batch: draw the predicted global step over the "
             "micro-batch size as SVG"),
    cl::value_desc("file"), cl::cat(category));

/// Costs are usually integral (stage counts); print them without noise.
static int fail(const Twine &msg) {
  WithColor::error(errs(), "nnc-plan") << msg << "\n";
  return 1;
}

/// A model (a .mlir file or an MLP spec): the chain nnc-plan-checkpoints
/// would plan for it with these options, costs priced by the cost model.
static Expected<Chain> loadModelChain(const mlir::nnc::ModelSource &source,
                                      mlir::nnc::CompileOptions &options) {
  mlir::DialectRegistry registry;
  mlir::nnc::registerNNCDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diag(sourceMgr, &ctx);
  auto module = mlir::nnc::loadModel(ctx, sourceMgr, source);
  if (!module)
    return module.takeError();
  const mlir::nnc::CalibrationOptions &costs = planOptions.getCalibration();
  auto calibration = mlir::nnc::applyCostModel(**module, costs.costModel,
                                               options, costs.threads);
  if (!calibration)
    return calibration.takeError();
  auto chain = mlir::nnc::buildChainForModel(**module, options);
  if (mlir::failed(chain)) // the diagnostics said why
    return nnc::makeDiagnosedError();
  if (Error e = options.checkpoint.priceChain(*chain))
    return std::move(e);
  return *chain;
}

/// A chain file is JSON (or '-', JSON on stdin); anything else is a model.
static bool isChainFile(StringRef path) {
  return path == "-" || path.ends_with(".json");
}

static Expected<Chain> loadChain(const mlir::nnc::ModelSource &source,
                                 mlir::nnc::CompileOptions &options) {
  StringRef inputFile = source.inputFile;
  if (uniformChain.getNumOccurrences() && uniformChain == 0)
    return createStringError(inconvertibleErrorCode(),
                             "--uniform-chain must be positive");
  if (!isChainFile(inputFile) && !uniformChain)
    return loadModelChain(source, options);
  if (planOptions.getCalibration().costModel ==
      mlir::nnc::CostModel::Measured)
    return createStringError(inconvertibleErrorCode(),
                             "--cost-model=measured needs a model, not a "
                             "chain");
  Expected<Chain> chain = [&]() -> Expected<Chain> {
    if (uniformChain) {
      if (uniformBytes == 0)
        return createStringError(inconvertibleErrorCode(),
                                 "--uniform-bytes must be positive");
      // Before the chain exists: it holds one stage per unit of L.
      if (uniformChain > nnc::limits::kMaxStages)
        return createStringError(inconvertibleErrorCode(),
                                 "--uniform-chain=" + Twine(uniformChain) +
                                     " is over nnc's limit of " +
                                     Twine(nnc::limits::kMaxStages) +
                                     " stages");
      if (uniformBytes > uint64_t(nnc::limits::kMaxStageBytes))
        return createStringError(
            inconvertibleErrorCode(),
            "--uniform-bytes=" + Twine(uniformBytes) +
                " is over nnc's limit of " +
                formatByteSize(nnc::limits::kMaxStageBytes));
      return makeUniformChain(uniformChain, int64_t(uniformBytes));
    }
    ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
        MemoryBuffer::getFileOrSTDIN(inputFile);
    if (!buffer)
      return createStringError(buffer.getError(),
                               "cannot read '" + inputFile +
                                   "': " + buffer.getError().message());
    return parseChainJSON((*buffer)->getBuffer(), inputFile == "-"
                                                      ? StringRef("<stdin>")
                                                      : StringRef(inputFile));
  }();
  if (!chain)
    return chain.takeError();
  if (Error e = options.checkpoint.priceChain(*chain))
    return std::move(e);
  // Every chain, however it was made, is checked before anything plans or
  // simulates it.
  if (Error e = chain->validate())
    return std::move(e);
  return chain;
}

/// Written whole or not at all (a temporary file renamed into place).
static bool writeFile(StringRef path,
                      llvm::function_ref<void(raw_ostream &)> render) {
  if (Error err = writeToOutput(path, [&](raw_ostream &os) {
        render(os);
        return Error::success();
      })) {
    fail("cannot write " + toString(std::move(err)));
    return false;
  }
  return true;
}

/// --global-batch: the micro-batch size and the schedule together
/// (docs/MicroBatches.md).
static int planGlobalBatch(const mlir::nnc::ModelSource &source,
                           const mlir::nnc::CompileOptions &options) {
  if (!globalBatch.getNumOccurrences())
    return fail("--micro-batch-svg needs --global-batch");
  if (globalBatch <= 0)
    return fail("--global-batch must be positive");
  if (!options.checkpoint.budget)
    return fail("--global-batch needs --budget: the memory the micro-batch "
                "size and the schedule must fit together");
  if (isChainFile(source.inputFile) || uniformChain || emitChain ||
      frontierFile.getNumOccurrences() || !svgFile.empty())
    return fail("--global-batch plans a model (--mlp, or an ONNX file with a "
                "symbolic batch); it does not combine with a chain, "
                "--uniform-chain, --emit-chain, --frontier or --svg");
  const mlir::nnc::CalibrationOptions &costs = planOptions.getCalibration();
  auto plan = mlir::nnc::planMicroBatches(source, options, costs.costModel,
                                          costs.threads, globalBatch,
                                          *options.checkpoint.budget,
                                          minMicroBatch);
  if (!plan)
    return nnc::reportToolError("nnc-plan", plan.takeError());
  if (emitJSON)
    outs() << formatv("{0:2}", mlir::nnc::toJSON(*plan)) << "\n";
  else
    mlir::nnc::printMicroBatchPlan(*plan, outs());
  if (!microBatchSvg.empty() && !writeFile(microBatchSvg, [&](raw_ostream &os) {
        mlir::nnc::renderMicroBatchSVG(*plan, os);
      }))
    return 1;
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::nnc::registerCompilerCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "nnc-plan: gradient checkpointing planner\n");

  Expected<mlir::nnc::ModelSource> source = modelOptions.getSource();
  if (!source)
    return fail(toString(source.takeError()));
  Expected<mlir::nnc::CompileOptions> options = planOptions.get();
  if (!options)
    return fail(toString(options.takeError()));
  if (globalBatch.getNumOccurrences() || !microBatchSvg.empty())
    return planGlobalBatch(*source, *options);
  Expected<Chain> chainOr = loadChain(*source, *options);
  if (!chainOr)
    return nnc::reportToolError("nnc-plan", chainOr.takeError());
  const Chain &chain = *chainOr;
  const unsigned slots = options->checkpoint.slots;
  const nnc::CheckpointStrategy strategy = options->checkpoint.strategy;
  StringRef strategyName = nnc::checkpointStrategies.name(strategy);
  if (emitChain) {
    outs() << formatv("{0:2}", toJSON(chain)) << "\n";
    return 0;
  }

  std::optional<uint64_t> budget = options->checkpoint.budget;
  if (!budget && uniformChain) {
    std::optional<uint64_t> b =
        checkedMulUnsigned(uint64_t(slots) + 2, uint64_t(uniformBytes));
    if (!b || *b > nnc::limits::kMaxBudgetBytes)
      return fail("the budget (--slots + 2) * --uniform-bytes is over nnc's "
                  "limit of " +
                  formatByteSize(nnc::limits::kMaxBudgetBytes));
    budget = *b;
  }

  const SimulationResult refSim = simulate(chain, storeAll(chain));

  // --uniform-chain reuses --slots for Revolve's checkpoint count, so the DP
  // gets the default discretisation (exact there anyway: one size).
  Expected<Schedule> scheduleOr =
      planSchedule(chain, strategy, budget, uniformChain ? 500 : slots);
  if (!scheduleOr)
    return fail(toString(scheduleOr.takeError()));
  const Schedule &schedule = *scheduleOr;
  // planSchedule() checked validity and the budget; this is for the report.
  const SimulationResult sim = simulate(chain, schedule);

  std::optional<CheckpointDP> frontierDP;
  if (frontierFile.getNumOccurrences()) {
    uint64_t top = std::max<uint64_t>(refSim.peakBytes, budget.value_or(0));
    Expected<CheckpointDP> solved =
        CheckpointDP::solve(chain, top, uniformChain ? 500 : slots);
    if (!solved)
      return fail(toString(solved.takeError()));
    frontierDP = std::move(*solved);
  }

  PlanReport report;
  report.strategy = strategyName;
  report.budgetBytes = budget;
  report.stages = chain.length();
  report.schedule = &schedule;
  report.sim = sim;
  report.storeAll = refSim;
  if (uniformChain)
    report.revolve = {uniformChain + 1, slots};
  if (frontierDP)
    report.frontier = frontierDP->frontier();
  if (emitJSON)
    outs() << formatv("{0:2}", planReportToJSON(report)) << "\n";
  else
    printPlanReport(report, outs());

  if (!svgFile.empty() && !writeFile(svgFile, [&](raw_ostream &os) {
        renderScheduleSVG(chain, schedule, os);
      }))
    return 1;
  if (frontierDP && !frontierFile.empty() &&
      !writeFile(frontierFile, [&](raw_ostream &os) {
        renderFrontierSVG(frontierDP->frontier(), refSim.computeCost, os);
      }))
    return 1;
  return 0;
}
