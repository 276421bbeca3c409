//===- Report.cpp - what was compiled, as JSON ----------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Report.h"

#include "nnc/Dialect/NN/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::nnc;

static llvm::json::Array buffersJSON(ArrayRef<BufferInfo> buffers) {
  llvm::json::Array a;
  for (const BufferInfo &b : buffers) {
    llvm::json::Object o{{"name", b.name},
                         {"shape", llvm::json::Array(b.shape)},
                         {"type", b.cType},
                         {"bytes", b.bytes}};
    if (b.isParam)
      o["parameter"] = true;
    // The model file's name (an ONNX initializer's) where it differs.
    if (b.sourceName != b.name)
      o["source_name"] = b.sourceName;
    if (b.isState)
      o["optimizer_state"] = true;
    if (b.isRunningStat)
      o["running_stat"] = true;
    a.push_back(std::move(o));
  }
  return a;
}

llvm::json::Value mlir::nnc::reportJSON(const CompiledModel &model,
                                        const CompileOptions &options) {
  const ModelStats &s = model.stats;
  CheckpointPlanAttr plan = s.plan;
  llvm::json::Array entries;
  for (const EntryPoint &e : model.entries)
    entries.push_back(llvm::json::Object{{"name", e.name},
                                         {"role", stringifyEntryRole(e.role)},
                                         {"inputs", buffersJSON(e.inputs)},
                                         {"outputs", buffersJSON(e.outputs)},
                                         {"arena_bytes", e.workspaceBytes},
                                         {"max_live_bytes", e.maxLiveBytes},
                                         {"runtime_workspace_bytes",
                                          e.runtimeWorkspaceBytes}});
  // The headline figures are those of the training (or gradient) step.
  const EntryPoint *step = model.step();
  llvm::json::Object checkpoint;
  if (plan) {
    bool measured = plan.getCostUnit() == CostUnit::Second;
    auto ratio = [](double a, double b) { return b > 0 ? a / b - 1.0 : 0.0; };
    checkpoint = llvm::json::Object{
        {"strategy", ::nnc::checkpointStrategies.name(plan.getStrategy())},
        {"budget_bytes", plan.getBudget() ? llvm::json::Value(*plan.getBudget())
                                          : llvm::json::Value(nullptr)},
        {"stages", plan.getStages()},
        {"predicted_peak_bytes", plan.getPeakBytes()},
        {"store_all_peak_bytes", plan.getStoreAllPeakBytes()},
        {"min_budget_bytes", plan.getMinBudgetBytes()},
        {"forward_steps", plan.getForwardSteps()},
        {"compute_flops", plan.getComputeFlops().convertToDouble()},
        {"recompute_flops", plan.getRecomputeFlops().convertToDouble()},
        {"store_all_flops", plan.getStoreAllFlops().convertToDouble()},
        {"flop_overhead", ratio(plan.getComputeFlops().convertToDouble(),
                                plan.getStoreAllFlops().convertToDouble())},
        // What the plan optimised: FLOPs, or predicted seconds when the
        // costs are measured.
        {"cost_model",
         ::nnc::costModels.name(measured ? CostModel::Measured
                                         : CostModel::Flops)},
        {"overhead", ratio(plan.getComputeCost().convertToDouble(),
                           plan.getStoreAllCost().convertToDouble())}};
    if (measured) {
      checkpoint["predicted_step_seconds"] =
          plan.getComputeCost().convertToDouble();
      checkpoint["store_all_step_seconds"] =
          plan.getStoreAllCost().convertToDouble();
      checkpoint["forward_flop_seconds"] =
          options.checkpoint.forwardFlopSeconds;
      checkpoint["backward_flop_seconds"] =
          options.checkpoint.backwardFlopSeconds;
      if (!options.checkpoint.stageForwardSeconds.empty()) {
        checkpoint["stage_forward_seconds"] = llvm::json::Array(
            options.checkpoint.stageForwardSeconds);
        checkpoint["stage_recompute_seconds"] = llvm::json::Array(
            options.checkpoint.stageRecomputeSeconds);
      }
      if (!options.checkpoint.stageColdBackwardSeconds.empty()) {
        checkpoint["stage_cold_backward_seconds"] = llvm::json::Array(
            options.checkpoint.stageColdBackwardSeconds);
        checkpoint["stage_hot_backward_seconds"] = llvm::json::Array(
            options.checkpoint.stageHotBackwardSeconds);
      }
    }
  }
  // Data parallelism: each bucket and the backward work its all-reduce can
  // hide behind (null without --all-reduce).
  llvm::json::Value allReduce = nullptr;
  if (!s.allReduceBuckets.empty()) {
    llvm::json::Array buckets;
    for (const AllReduceBucket &b : s.allReduceBuckets)
      buckets.push_back(llvm::json::Object{
          {"bucket", b.bucket},
          {"bytes", b.bytes},
          {"gradients", b.gradients},
          {"overlap_flops", b.windowFlops},
          {"overlap_fraction_of_backward",
           s.backwardFlops ? double(b.windowFlops) / s.backwardFlops : 0.0}});
    allReduce = llvm::json::Object{{"bucket_bytes", options.step.bucketBytes},
                                   {"buckets", std::move(buckets)}};
  }
  return llvm::json::Object{
      {"checkpoint", std::move(checkpoint)},
      {"all_reduce", std::move(allReduce)},
      {"predicted_peak_bytes", plan ? plan.getPeakBytes() : 0},
      {"forward_flops", s.forwardFlops},
      {"backward_flops", s.backwardFlops},
      {"flops", s.forwardFlops + s.backwardFlops},
      {"parameters", s.numParams},
      {"parameter_bytes", s.paramBytes},
      {"activation_bytes_saved", s.savedActivationBytes},
      {"optimizer_state_bytes", s.optimizerStateBytes},
      // What the caller owns beside the arena for a training run.
      {"caller_state_bytes", s.paramBytes + s.optimizerStateBytes},
      {"learning_rate", options.step.learningRate},
      {"precision", ::nnc::precisions.name(options.step.precision)},
      {"runtime_learning_rate", step && llvm::any_of(step->inputs,
                                                     [](const BufferInfo &b) {
                                                       return b.name == "lr";
                                                     })},
      {"optimizer", ::nnc::optimizers.name(options.step.effectiveOptimizer())},
      {"grad_norms", options.step.gradNorms},
      {"arena_bytes", step ? step->workspaceBytes : 0},
      {"max_live_bytes", step ? step->maxLiveBytes : 0},
      {"runtime_workspace_bytes", step ? step->runtimeWorkspaceBytes : 0},
      {"entry_points", std::move(entries)}};
}
