//===- cpp-train.cpp - nnc as a C++ library: plan, JIT, train -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Built against the installed package (find_package(NNC), NNC::nnc):
//
//   cpp-train                          an MLP 32-64-64-64-8 built in C++
//   cpp-train model.onnx [loss]        an ONNX model; `loss` (mse or
//                                      cross-entropy) is appended to an
//                                      inference graph
//
// It prices the model's checkpoint chain, plans it with the budget-optimal
// DP halfway between the least feasible budget and store-all's peak, JITs
// the training step and runs 30 SGD steps on a fixed synthetic batch,
// printing the loss (which falls: the batch is memorized).
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Frontend/ONNX.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Pipeline/Pipelines.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;

int main(int argc, char **argv) {
  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);

  // 1. The model: imported from ONNX (with its initializers), or built.
  OwningOpRef<ModuleOp> module;
  WeightSet initial;
  if (argc > 1) {
    ONNXImportOptions options;
    if (argc > 2)
      options.loss =
          std::string(argv[2]) == "mse" ? Loss::MSE : Loss::CrossEntropy;
    FailureOr<ImportedModel> imported = importONNX(ctx, argv[1], options);
    if (failed(imported))
      return 1; // reported, located
    module = std::move(imported->module);
    initial = std::move(imported->initialWeights);
  } else {
    MLPSpec spec;
    spec.widths = {32, 64, 64, 64, 8};
    spec.batch = 16;
    module = buildMLP(ctx, spec, "mlp");
    std::vector<std::vector<float>> values = initParameters(spec);
    for (size_t i = 0; i < values.size(); ++i)
      initial.tensors.push_back({"p" + std::to_string(i), {}, values[i]});
  }

  // 2. A budget between the least feasible and store-all's peak, from the
  //    chain the checkpoint planner sees.
  CompileOptions options;
  options.step.learningRate = 0.05;
  OwningOpRef<ModuleOp> probe = module->clone();
  FailureOr<::nnc::planner::Chain> chain = buildChainForModel(*probe, options);
  if (failed(chain))
    return 1;
  int64_t least = ::nnc::planner::minimumFeasibleBudget(*chain);
  int64_t storeAll =
      ::nnc::planner::simulate(*chain, ::nnc::planner::storeAll(*chain))
          .peakBytes;
  int64_t budget = (least + storeAll) / 2;
  // A chain with nothing to trade (least == store-all) keeps everything.
  if (least < storeAll) {
    options.checkpoint.strategy = CheckpointStrategy::DP;
    options.checkpoint.budget = budget;
  }

  // 3. Compile and JIT the training step.
  FailureOr<CompiledModel> compiled = compileForCPU(std::move(module), options);
  if (failed(compiled))
    return 1;
  auto jit = JITModule::create(*compiled->module);
  if (!jit) {
    std::fprintf(stderr, "cpp-train: %s\n",
                 llvm::toString(jit.takeError()).c_str());
    return 1;
  }
  const EntryPoint *step = compiled->find(EntryRole::TrainStep);
  CheckpointPlanAttr plan = compiled->stats.plan;
  std::printf("model %s: %lld parameters, %lld stages\n",
              compiled->name.c_str(),
              static_cast<long long>(compiled->stats.numParams),
              static_cast<long long>(plan.getStages()));
  std::printf("plan %s: budget %lld bytes in [%lld, %lld], peak %lld, "
              "recompute %.0f flops\n",
              ::nnc::checkpointStrategies.name(plan.getStrategy()).data(),
              static_cast<long long>(budget), static_cast<long long>(least),
              static_cast<long long>(storeAll),
              static_cast<long long>(plan.getPeakBytes()),
              plan.getRecomputeFlops().convertToDouble());

  // 4. A fixed batch (labels alternate between two classes) and the
  //    parameters, then the steps. Parameters are updated in place (the
  //    header's contract allows the alias).
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> params;
  for (const NamedTensor &t : initial.tensors)
    params.push_back(t.data);
  std::vector<std::vector<char>> data;
  std::vector<void *> buffers;
  for (const BufferInfo &in : step->inputs) {
    if (in.isParam)
      continue;
    data.emplace_back(in.bytes);
    int64_t n = in.bytes / (in.cType == "int64_t" ? 8 : 4);
    for (int64_t i = 0; i < n; ++i) {
      if (in.cType == "float")
        reinterpret_cast<float *>(data.back().data())[i] = normal(rng);
      else if (in.cType == "int64_t")
        reinterpret_cast<int64_t *>(data.back().data())[i] = i % 2;
      else
        reinterpret_cast<int32_t *>(data.back().data())[i] = i % 2;
    }
  }
  size_t d = 0, p = 0;
  for (const BufferInfo &in : step->inputs)
    buffers.push_back(in.isParam ? params[p++].data()
                                 : static_cast<void *>(data[d++].data()));
  float loss = 0, first = 0;
  buffers.push_back(&loss);
  for (std::vector<float> &v : params)
    buffers.push_back(v.data());
  for (int s = 0; s < 30; ++s) {
    if (llvm::Error err = (*jit)->invokeWithWorkspace(step->name, buffers,
                                                      step->workspaceBytes)) {
      std::fprintf(stderr, "cpp-train: %s\n",
                   llvm::toString(std::move(err)).c_str());
      return 1;
    }
    if (s == 0)
      first = loss;
    if (s % 10 == 0 || s == 29)
      std::printf("step %2d loss %.6f\n", s, loss);
  }
  std::printf("loss %.6f -> %.6f\n", first, loss);
  return loss < first ? 0 : 2;
}
