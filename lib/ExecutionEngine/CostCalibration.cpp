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
#include "llvm/ADT/StringMap.h"

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

/// One entry point's buffers and its timed calls.
struct TimedEntry {
  const EntryPoint *entry;
  Buffers buffers;
  std::vector<double> times;

  llvm::Error call(JITModule &jit, bool record) {
    auto t0 = std::chrono::steady_clock::now();
    if (llvm::Error e = jit.invokeWithWorkspace(entry->name, buffers.pointers,
                                                entry->workspaceBytes))
      return e;
    auto t1 = std::chrono::steady_clock::now();
    if (record)
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
    return llvm::Error::success();
  }

  /// The fastest call: machine noise only ever adds time, and on these VMs
  /// it comes in bursts of seconds that moved the median of a whole
  /// calibration by 10-15 % (benchmarks/cpu, 32 x 1024), where the fastest
  /// call stayed within a few percent of a quiet run's median.
  double best() const { return *std::min_element(times.begin(), times.end()); }
};

/// The forward and the step, timed alternately (one
/// forward, one step, ...) after one warm-up call of each: at least `runs`
/// pairs, and as many more as fit in 0.5 s (at most 1000). Alternating puts
/// both in the same moments of machine noise, which drifts over seconds on
/// these VMs; the rates come from their difference. (Three samples of
/// each, one after the other, mispredicted a 0.1 s step by 10-18 % in
/// benchmarks/cpu.) Returns the number of pairs timed.
static llvm::Expected<unsigned> timeAlternately(JITModule &jit,
                                                TimedEntry &forward,
                                                TimedEntry &step,
                                                unsigned runs) {
  std::mt19937 rng(0);
  for (TimedEntry *t : {&forward, &step}) {
    llvm::StringMap<std::pair<void *, int64_t>> inputs;
    for (const BufferInfo &b : t->entry->inputs) {
      t->buffers.add(b, rng);
      inputs[b.name] = {t->buffers.pointers.back(), b.bytes};
    }
    for (const BufferInfo &b : t->entry->outputs) {
      // A training step runs in place (nnc-train, the benchmarks): each
      // `new_X` is written over `X`. Separate output buffers made the
      // measured step about 5 % slower than the step as it is used.
      auto in = StringRef(b.name).starts_with("new_")
                    ? inputs.find(StringRef(b.name).drop_front(4))
                    : inputs.end();
      if (in != inputs.end() && in->second.second == b.bytes)
        t->buffers.pointers.push_back(in->second.first);
      else
        t->buffers.add(b, rng);
    }
  }
  double total = 0;
  for (unsigned r = 0; r <= runs || (total < 0.5 && r <= 1000); ++r) {
    // The first call of each faults in code and workspace pages.
    for (TimedEntry *t : {&forward, &step}) {
      if (llvm::Error e = t->call(jit, /*record=*/r > 0))
        return std::move(e);
      if (r > 0)
        total += t->times.back();
    }
  }
  return static_cast<unsigned>(step.times.size());
}

llvm::Expected<FlopTimes>
mlir::nnc::measureFlopTimes(ModuleOp model, const CompileOptions &options,
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

  // The same step and code, planned store-all.
  CompileOptions storeAll;
  storeAll.step = options.step;
  storeAll.cpu = options.cpu;
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
  TimedEntry timedForward{forward, {}, {}}, timedStep{step, {}, {}};
  llvm::Expected<unsigned> pairs =
      timeAlternately(**jit, timedForward, timedStep, times.runs);
  if (!pairs)
    return pairs.takeError();
  times.runs = *pairs;
  times.forwardSeconds = timedForward.best();
  times.stepSeconds = timedStep.best();
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
                          CompileOptions &options, unsigned threads) {
  if (kind == CostModel::Flops)
    return std::optional<FlopTimes>();
  llvm::Expected<FlopTimes> times =
      measureFlopTimes(model, options, /*runs=*/5, threads);
  if (!times)
    return times.takeError();
  options.checkpoint.forwardFlopSeconds = times->forwardFlopSeconds;
  options.checkpoint.backwardFlopSeconds = times->backwardFlopSeconds;
  return std::optional<FlopTimes>(*times);
}
