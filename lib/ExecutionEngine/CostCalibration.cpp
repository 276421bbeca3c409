//===- CostCalibration.cpp - measured seconds per FLOP --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/CostCalibration.h"
#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "llvm/ADT/ScopeExit.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;

namespace {
/// Caller-owned buffers of one entry point, 64-byte aligned like the arena.
struct Buffers {
  struct FreeDeleter {
    void operator()(void *p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, FreeDeleter>> owned;
  std::vector<void *> pointers;

  void add(const BufferInfo &info, std::mt19937 &rng) {
    size_t bytes = (std::max<int64_t>(info.bytes, 1) + 63) / 64 * 64;
    void *p = std::aligned_alloc(64, bytes);
    std::memset(p, 0, bytes);
    // Small floats, as trained weights and normalised data are; integer
    // buffers (labels) stay 0, a valid class.
    if (info.cType == "float") {
      std::uniform_real_distribution<float> u(-0.05f, 0.05f);
      float *f = static_cast<float *>(p);
      for (int64_t k = 0; k < info.bytes / 4; ++k)
        f[k] = u(rng);
    }
    owned.emplace_back(p);
    pointers.push_back(p);
  }
};
} // namespace

/// Median seconds of at least `runs` calls of `entry` after one warm-up
/// call, and of as many more as fit in 50 ms (at most 1000): a step of a
/// small model takes microseconds, and three samples of that are noise.
static llvm::Expected<double> timeEntry(JITModule &jit, const EntryPoint &entry,
                                        unsigned &runs) {
  std::mt19937 rng(0);
  Buffers buffers;
  for (const BufferInfo &b : entry.inputs)
    buffers.add(b, rng);
  for (const BufferInfo &b : entry.outputs)
    buffers.add(b, rng);
  std::vector<double> times;
  double total = 0;
  for (unsigned r = 0; r <= runs || (total < 0.05 && r <= 1000); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    if (llvm::Error e = jit.invokeWithWorkspace(entry.name, buffers.pointers,
                                                entry.workspaceBytes))
      return std::move(e);
    auto t1 = std::chrono::steady_clock::now();
    if (r > 0) { // the first call faults in code and workspace pages
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
      total += times.back();
    }
  }
  runs = times.size();
  std::nth_element(times.begin(), times.begin() + times.size() / 2,
                   times.end());
  return times[times.size() / 2];
}

llvm::Expected<FlopTimes>
mlir::nnc::measureFlopTimes(ModuleOp model, const CPUPipelineOptions &options,
                            unsigned runs, unsigned threads) {
  auto error = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cost calibration: " + msg);
  };
  if (!options.autodiff)
    return error("needs the gradient function (autodiff)");
  FlopTimes times;
  times.runs = std::max(runs, 1u);

  // The chain's totals: exactly the FLOPs the planner scales.
  OwningOpRef<ModuleOp> forChain(model.clone());
  FailureOr<::nnc::planner::Chain> chain =
      buildChainForModel(*forChain, options);
  if (failed(chain))
    return error("the model's checkpoint chain could not be built");
  for (const ::nnc::planner::Stage &st : chain->stages) {
    times.forwardFlops += st.forwardCost;
    times.backwardFlops += st.backwardCost;
  }

  CPUPipelineOptions storeAll;
  storeAll.autodiff = true;
  copyStepOptions(options, storeAll);
  storeAll.strategy = CheckpointStrategy::StoreAll;
  FailureOr<CompiledModel> compiled =
      compileForCPU(OwningOpRef<ModuleOp>(model.clone()), storeAll);
  if (failed(compiled))
    return error("compiling the model store-all failed");
  const EntryPoint *forward = compiled->find(EntryRole::Loss);
  const EntryPoint *step = compiled->step();
  if (!forward || !step)
    return error("the compiled model has no loss or step function");
  auto jit = JITModule::create(*compiled->module);
  if (!jit)
    return jit.takeError();
  // Time with the threads the code will run with; restore the default.
  int32_t previous = nncrt_set_num_threads(static_cast<int32_t>(threads));
  auto restore = llvm::make_scope_exit(
      [&] { nncrt_set_num_threads(threads ? previous : 0); });
  unsigned forwardRuns = times.runs;
  auto fwd = timeEntry(**jit, *forward, forwardRuns);
  if (!fwd)
    return fwd.takeError();
  auto stp = timeEntry(**jit, *step, times.runs);
  if (!stp)
    return stp.takeError();
  times.forwardSeconds = *fwd;
  times.stepSeconds = *stp;
  if (!(times.stepSeconds > times.forwardSeconds))
    return error(llvm::formatv("the step ({0:e3} s) was not slower than the "
                               "forward ({1:e3} s); measurement too noisy",
                               times.stepSeconds, times.forwardSeconds));
  times.forwardFlopSeconds = times.forwardSeconds / times.forwardFlops;
  times.backwardFlopSeconds =
      (times.stepSeconds - times.forwardSeconds) / times.backwardFlops;
  return times;
}

llvm::json::Value mlir::nnc::toJSON(const FlopTimes &t) {
  return llvm::json::Object{{"forward_seconds", t.forwardSeconds},
                            {"step_seconds", t.stepSeconds},
                            {"forward_flops", t.forwardFlops},
                            {"backward_flops", t.backwardFlops},
                            {"forward_flop_seconds", t.forwardFlopSeconds},
                            {"backward_flop_seconds", t.backwardFlopSeconds},
                            {"runs", static_cast<int64_t>(t.runs)}};
}

llvm::Expected<std::optional<FlopTimes>>
mlir::nnc::applyCostModel(ModuleOp model, CostModel kind,
                          CPUPipelineOptions &options, unsigned threads) {
  if (kind == CostModel::Flops)
    return std::optional<FlopTimes>();
  llvm::Expected<FlopTimes> times =
      measureFlopTimes(model, options, /*runs=*/3, threads);
  if (!times)
    return times.takeError();
  options.forwardFlopSeconds = times->forwardFlopSeconds;
  options.backwardFlopSeconds = times->backwardFlopSeconds;
  return std::optional<FlopTimes>(*times);
}
