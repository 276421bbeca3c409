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
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;

namespace {
/// Caller-owned buffers of one entry point, allocated as callers allocate
/// them: numpy's arrays, nnc-train's and the C API's std::vectors are plain
/// malloc'd memory. Where the buffers lie matters to the step's time: on the
/// 2-core Xeon VM the 16 x 1024 b64 step ran 4-6 % slower on
/// aligned_alloc(64) buffers (used before) than on malloc'd or numpy ones
/// in the same process, and the calibration predicted it that much slower.
/// The compiled code assumes 64-byte alignment only within its arena.
struct Buffers {
  struct FreeDeleter {
    void operator()(void *p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, FreeDeleter>> owned;
  std::vector<void *> pointers;

  /// False if there is no memory for it.
  bool add(const BufferInfo &info, std::mt19937 &rng) {
    size_t bytes = std::max<int64_t>(info.bytes, 1);
    void *p = std::malloc(bytes);
    if (!p)
      return false;
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
    return true;
  }
};
} // namespace

/// The median of `v` (not empty; reordered).
static double median(std::vector<double> &v) {
  auto mid = v.begin() + v.size() / 2;
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2)
    return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

/// The step's buffers: seeded random inputs, and each `new_X` written over
/// `X` as training runs the step in place (nnc-train, the benchmarks;
/// separate output buffers made the measured step about 5 % slower).
static llvm::Expected<Buffers> stepBuffers(const EntryPoint &step) {
  std::mt19937 rng(0);
  Buffers buffers;
  auto noMemory = [](const BufferInfo &b) {
    return llvm::createStringError("no memory for the step's buffer '" +
                                   b.name + "' (" + std::to_string(b.bytes) +
                                   " bytes)");
  };
  llvm::StringMap<std::pair<void *, int64_t>> inputs;
  for (const BufferInfo &b : step.inputs) {
    if (!buffers.add(b, rng))
      return noMemory(b);
    inputs[b.name] = {buffers.pointers.back(), b.bytes};
  }
  for (const BufferInfo &b : step.outputs) {
    auto in = StringRef(b.name).starts_with("new_")
                  ? inputs.find(StringRef(b.name).drop_front(4))
                  : inputs.end();
    if (in != inputs.end() && in->second.second == b.bytes)
      buffers.pointers.push_back(in->second.first);
    else if (!buffers.add(b, rng))
      return noMemory(b);
  }
  return std::move(buffers);
}

namespace {
/// The intervals of a profiled step (nnc-profile-stages), over its calls:
/// each stage's first forward (one sample a call), each run of its
/// recomputations (any number a call), each stage's backward action (one
/// sample a call, summed over its intervals), the rest (one sample a call,
/// summed) and the whole call.
struct StepProfile {
  std::vector<std::vector<double>> forward, recompute, backward;
  std::vector<double> rest, step;
  /// Whether the marks named each stage's backward (tag-backward).
  bool hasBackward = false;
};

/// One compiled, profiled step: its code, buffers and samples.
struct ProfiledStep {
  CompiledModel compiled;
  std::unique_ptr<JITModule> jit;
  const EntryPoint *step = nullptr;
  Buffers buffers;
  std::vector<int64_t> ids, nanos;
  StepProfile profile;
};
} // namespace

/// Calls `p`'s step once, sets `seconds` to the call's time and, if
/// `record`, records its intervals. The marks must be ids in [-n, 2n + 1]
/// ending with n + 1 (n stages), each stage's first forward once; anything
/// else means the step is not the one the marks describe.
static llvm::Error callProfiled(ProfiledStep &p, size_t stages, bool record,
                                double &seconds) {
  const int64_t n = int64_t(stages);
  const int64_t capacity = int64_t(p.ids.size());
  nncrt_profile_open(p.ids.data(), p.nanos.data(), capacity);
  auto t0 = std::chrono::steady_clock::now();
  llvm::Error e = p.jit->invokeWithWorkspace(
      p.step->name, p.buffers.pointers, p.step->workspaceBytes);
  auto t1 = std::chrono::steady_clock::now();
  int64_t count = nncrt_profile_close();
  if (e)
    return e;
  seconds = std::chrono::duration<double>(t1 - t0).count();
  auto bad = [&](const llvm::Twine &why) {
    return llvm::createStringError("the profiled step's marks " + why);
  };
  const std::vector<int64_t> &ids = p.ids;
  if (count < 2 || count > capacity || ids[count - 1] != n + 1)
    return bad(llvm::formatv("are {0}, not a profile of {1} stages ending "
                             "with mark {2}",
                             count, n, n + 1));
  std::vector<double> forward(stages, -1.0), backward(stages, 0.0);
  std::vector<std::pair<size_t, double>> recompute;
  double rest = 0;
  bool anyBackward = false;
  for (int64_t k = 0; k + 1 < count; ++k) {
    int64_t id = ids[k];
    double seconds = double(p.nanos[k + 1] - p.nanos[k]) * 1e-9;
    if (id < -n || id > 2 * n + 1 || id == n + 1)
      return bad(llvm::formatv("name stage {0} of {1}", id, n));
    if (id == 0) {
      rest += seconds;
    } else if (id < 0) {
      recompute.push_back({size_t(-id - 1), seconds});
    } else if (id > n) {
      backward[id - n - 2] += seconds;
      anyBackward = true;
    } else {
      if (forward[id - 1] >= 0)
        return bad(llvm::formatv("run stage {0}'s first forward twice", id));
      forward[id - 1] = seconds;
    }
  }
  if (llvm::is_contained(forward, -1.0))
    return bad("miss a stage's first forward");
  if (!record)
    return llvm::Error::success();
  StepProfile &profile = p.profile;
  profile.hasBackward = anyBackward;
  for (size_t i = 0; i < stages; ++i) {
    profile.forward[i].push_back(forward[i]);
    profile.backward[i].push_back(backward[i]);
  }
  for (auto [stage, seconds] : recompute)
    profile.recompute[stage].push_back(seconds);
  profile.rest.push_back(rest);
  profile.step.push_back(seconds);
  return llvm::Error::success();
}

/// Compiles `model` planned with `strategy`, its stages profiled, and
/// JIT-compiles its step.
static llvm::Expected<std::unique_ptr<ProfiledStep>>
compileProfiled(ModuleOp model, const CompileOptions &options,
                CheckpointStrategy strategy, size_t stages) {
  CompileOptions profiled;
  profiled.step = options.step;
  profiled.cpu = options.cpu;
  profiled.checkpoint.strategy = strategy;
  profiled.profileStages = true;
  FailureOr<CompiledModel> compiled =
      compileForCPU(OwningOpRef<ModuleOp>(model.clone()), profiled);
  if (failed(compiled))
    return llvm::createStringError(
        "compiling the model " +
        ::nnc::checkpointStrategies.name(strategy).str() + " failed");
  auto p = std::make_unique<ProfiledStep>();
  p->compiled = std::move(*compiled);
  p->step = p->compiled.step();
  if (!p->step)
    return llvm::createStringError("the compiled model has no step function");
  auto jit = JITModule::create(*p->compiled.module);
  if (!jit)
    return jit.takeError();
  p->jit = std::move(*jit);
  auto buffers = stepBuffers(*p->step);
  if (!buffers)
    return buffers.takeError();
  p->buffers = std::move(*buffers);
  // Recompute-all runs stage i's forward again for each later backward,
  // each between two backward intervals.
  const size_t capacity = 4 * (stages + 2) * (stages + 2);
  p->ids.resize(capacity);
  p->nanos.resize(capacity);
  p->profile.forward.resize(stages);
  p->profile.recompute.resize(stages);
  p->profile.backward.resize(stages);
  return p;
}

unsigned mlir::nnc::calibrationBlockCalls(double callSeconds) {
  if (!(callSeconds > 0))
    return kCalibrationMaxBlockCalls;
  return static_cast<unsigned>(
      std::clamp(std::floor(kCalibrationBlockSeconds / callSeconds), 1.0,
                 double(kCalibrationMaxBlockCalls)));
}

/// Profiles the store-all and the recompute-all step with `threads`
/// threads in alternating blocks, so that a burst of noise on the machine
/// (they last seconds here) falls on both alike rather than on one step's
/// whole timing. A block calls one step back to back, as training and the
/// timed processes do: its first call, which follows the other step's
/// block (or faults in code and workspace pages), is not recorded, then
/// calibrationBlockCalls() recorded calls. Timed call by call in strict
/// alternation instead, each call found the caches full of the other
/// step's buffers: on the 2-core Xeon VM the store-all step took 17-23 %
/// longer (the Fashion CNN) and 4-14 % longer (16 x 1024 b64) than the same
/// step called back to back in the same process, and every plan's
/// prediction inherited it. The first call of a block is the slow one; the
/// next already runs at the back-to-back time. Blocks go on until each step
/// has at least `runs` recorded calls and the recorded calls of both took
/// 2 * kMinSeconds (at most kMaxCalls each). A step longer than a block
/// then runs twice per block, once unrecorded: the 32 x 1024 b256 MLP's
/// 0.3 s and 1.7 s steps run 10 times each where strict alternation ran
/// them 6 times, about 8 s more of compile time.
static llvm::Error profileInBlocks(ProfiledStep &storeAll,
                                   ProfiledStep &recompute, size_t stages,
                                   unsigned runs, unsigned threads) {
  // Twice the 0.5 s a step was timed for alone: medians over 0.5 s moved
  // store-all predictions by up to 16 % between compilations.
  constexpr double kMinSeconds = 1.0;
  constexpr size_t kMaxCalls = 1000;
  int32_t previous = nncrt_set_num_threads(static_cast<int32_t>(threads));
  auto restore = llvm::make_scope_exit(
      [&] { nncrt_set_num_threads(threads ? previous : 0); });
  auto total = [](const ProfiledStep &p) {
    double sum = 0;
    for (double t : p.profile.step)
      sum += t;
    return sum;
  };
  auto block = [&](ProfiledStep &p) -> llvm::Error {
    double seconds = 0;
    if (llvm::Error e = callProfiled(p, stages, /*record=*/false, seconds))
      return e;
    // Sized by the last recorded call: the unrecorded one ran in another
    // memory state (or faulted pages in).
    const std::vector<double> &recorded = p.profile.step;
    size_t calls = std::min<size_t>(
        calibrationBlockCalls(recorded.empty() ? seconds : recorded.back()),
        kMaxCalls - recorded.size());
    for (size_t k = 0; k < calls; ++k)
      if (llvm::Error e = callProfiled(p, stages, /*record=*/true, seconds))
        return e;
    return llvm::Error::success();
  };
  auto more = [&] {
    size_t a = storeAll.profile.step.size(), b = recompute.profile.step.size();
    if (a >= kMaxCalls || b >= kMaxCalls)
      return false;
    return a < runs || b < runs ||
           total(storeAll) + total(recompute) < 2 * kMinSeconds;
  };
  while (more()) {
    if (llvm::Error e = block(storeAll))
      return e;
    if (llvm::Error e = block(recompute))
      return e;
  }
  return llvm::Error::success();
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

  // The same step and code, planned store-all: each stage's first forward
  // and the backward. Then recompute-all: what running a stage's forward
  // again costs. The two differ (a ResNet-8's recompute-all step ran 40 %
  // faster than its first forwards predicted): a first forward in
  // store-all keeps what the backward reads in buffers of its own, a
  // recomputation runs within the backward on buffers it has just used.
  const size_t stages = chain->stages.size();
  auto storeAll = compileProfiled(model, options, CheckpointStrategy::StoreAll,
                                  stages);
  if (!storeAll)
    return error(llvm::toString(storeAll.takeError()));
  auto recompute = compileProfiled(model, options,
                                   CheckpointStrategy::RecomputeAll, stages);
  if (!recompute)
    return error(llvm::toString(recompute.takeError()));
  if (llvm::Error e =
          profileInBlocks(**storeAll, **recompute, stages, times.runs, threads))
    return error(llvm::toString(std::move(e)));
  StepProfile &all = (*storeAll)->profile, &again = (*recompute)->profile;
  times.runs = all.step.size();
  for (size_t i = 0; i < stages; ++i) {
    times.stageForwardSeconds.push_back(median(all.forward[i]));
    times.forwardSeconds += times.stageForwardSeconds.back();
    // A stage no plan recomputes (the loss) costs its first forward.
    std::vector<double> &runs = again.recompute[i];
    times.stageRecomputeSeconds.push_back(
        runs.empty() ? times.stageForwardSeconds.back() : median(runs));
  }
  // Each stage's backward, cold in store-all (but the last stage's, which
  // follows its forward there too) and hot in recompute-all.
  double backward = median(all.rest);
  if (all.hasBackward && again.hasBackward)
    for (size_t i = 0; i < stages; ++i) {
      times.stageColdBackwardSeconds.push_back(median(all.backward[i]));
      times.stageHotBackwardSeconds.push_back(median(again.backward[i]));
      backward += times.stageColdBackwardSeconds.back();
    }
  if (!(backward > 0))
    return error("the backward took no measurable time");
  times.stepSeconds = median(all.step);
  times.recomputeStepSeconds = median(again.step);
  times.forwardFlopSeconds = times.forwardSeconds / times.forwardFlops;
  // With per-stage backwards the rate prices only the unmarked rest, which
  // the chain spreads over the stages by their FLOPs.
  times.backwardFlopSeconds = median(all.rest) / times.backwardFlops;
  times.backwardSeconds = backward;
  return times;
}

llvm::json::Value mlir::nnc::toJSON(const FlopTimes &t) {
  return llvm::json::Object{{"forward_seconds", t.forwardSeconds},
                            {"step_seconds", t.stepSeconds},
                            {"recompute_all_step_seconds",
                             t.recomputeStepSeconds},
                            {"forward_flops", t.forwardFlops},
                            {"backward_flops", t.backwardFlops},
                            {"forward_flop_seconds", t.forwardFlopSeconds},
                            {"backward_flop_seconds", t.backwardFlopSeconds},
                            {"stage_forward_seconds",
                             llvm::json::Array(t.stageForwardSeconds)},
                            {"stage_recompute_seconds",
                             llvm::json::Array(t.stageRecomputeSeconds)},
                            {"stage_cold_backward_seconds",
                             llvm::json::Array(t.stageColdBackwardSeconds)},
                            {"stage_hot_backward_seconds",
                             llvm::json::Array(t.stageHotBackwardSeconds)},
                            {"backward_seconds", t.backwardSeconds},
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
  options.checkpoint.stageForwardSeconds = times->stageForwardSeconds;
  options.checkpoint.stageRecomputeSeconds = times->stageRecomputeSeconds;
  options.checkpoint.stageColdBackwardSeconds =
      times->stageColdBackwardSeconds;
  options.checkpoint.stageHotBackwardSeconds = times->stageHotBackwardSeconds;
  return std::optional<FlopTimes>(*times);
}
