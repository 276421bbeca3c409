//===- Simulator.cpp - Replaying schedules on a chain ---------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Simulator.h"

using namespace llvm;
using namespace nnc::planner;

MemoryState::MemoryState(const Chain &chain)
    : chain(&chain), act(chain.length() + 1, false),
      saved(chain.length() + 1, false), pinned(chain.length() + 1, false),
      gradIdx(chain.length()), curBytes(chain.activationBytes(chain.length())) {
  act[0] = true; // a^0: the caller's input, never counted.
}

static std::string actName(unsigned i) { return "a" + std::to_string(i); }
static std::string savName(unsigned i) { return "abar" + std::to_string(i); }

Expected<int64_t> MemoryState::apply(const Action &A, bool requirePersistent) {
  const unsigned L = chain->length();
  const unsigned i = A.stage;

  // Freeing a^k is "early" (non-persistent) when stage k+1 can still need
  // it: B(k+1) has not run, and either a^k is a checkpoint (kept across a
  // backward) and abar^{k+1} is not yet stored, or B(k+1) reads a^k
  // (backwardNeedsInput) and a^k is a checkpoint or abar^{k+1} already
  // exists. Rotor's DP never does this; see Schedule.h.
  auto checkFreeActivation = [&](unsigned k) -> Error {
    if (gradIdx <= k)
      return Error::success();
    const bool readByBackward =
        k + 1 <= L && chain->stage(k + 1).backwardNeedsInput;
    std::string why;
    if (readByBackward && (pinned[k] || saved[k + 1]))
      why = "frees " + std::string(pinned[k] ? "checkpoint " : "") +
            actName(k) + " before B " + std::to_string(k + 1) +
            ", which reads it (non-persistent)";
    else if (pinned[k] && !saved[k + 1])
      why = "frees checkpoint " + actName(k) + " before stage " +
            std::to_string(k + 1) + " no longer needs it (non-persistent)";
    else
      return Error::success();
    if (requirePersistent)
      return llvm::createStringError(why);
    if (persistent) {
      persistent = false;
      violation = why;
    }
    return Error::success();
  };

  if (A.isForward()) {
    if (i < 1 || i > L)
      return llvm::createStringError(
          "stage " + Twine(i) + " is outside the chain [1, " + Twine(L) + "]");
    if (!isAvailable(i - 1))
      return llvm::createStringError("input " + actName(i - 1) +
                                     " is not in memory");
    if (A.kind == Action::ForwardAll ? saved[i] : act[i] || saved[i])
      return llvm::createStringError(
          (A.kind == Action::ForwardAll ? savName(i) : actName(i)) +
          " is already in memory");
    // Rule (4) of Schedule.h: between two backwards the forwards advance.
    // Checked before anything changes, so that a refused action leaves the
    // state as it was.
    std::string goesBack;
    if (i <= lastForward)
      goesBack = "forward of stage " + std::to_string(i) +
                 " after a forward of stage " + std::to_string(lastForward) +
                 " with no backward in between (non-persistent)";
    if (!goesBack.empty() && requirePersistent)
      return llvm::createStringError(goesBack);
    const bool freesInput =
        A.kind == Action::ForwardNoSave && i - 1 >= 1 && act[i - 1];
    if (freesInput)
      if (Error e = checkFreeActivation(i - 1))
        return std::move(e);
    if (!goesBack.empty() && persistent) {
      persistent = false;
      violation = goesBack;
    }
    lastForward = i;
    // Intermediates of the stage's forward live only during the action.
    const int64_t transient =
        chain->stage(i).forwardTransientOf(A.kind == Action::ForwardAll);
    if (A.kind == Action::ForwardAll) {
      int64_t during = curBytes + chain->savedBytes(i) + transient;
      saved[i] = true;
      curBytes += chain->savedBytes(i);
      return during;
    }
    int64_t during = curBytes + chain->activationBytes(i) + transient;
    if (freesInput) {
      act[i - 1] = false;
      pinned[i - 1] = false;
      curBytes -= chain->activationBytes(i - 1);
    }
    act[i] = true;
    curBytes += chain->activationBytes(i);
    return during;
  }

  if (A.kind == Action::Backward) {
    if (i < 1 || i > L)
      return llvm::createStringError(
          "stage " + Twine(i) + " is outside the chain [1, " + Twine(L) + "]");
    if (gradIdx != i)
      return llvm::createStringError(
          "needs delta" + Twine(i) + ", but the running gradient is " +
          (gradIdx == 0 ? std::string("delta0 (backward finished)")
                        : "delta" + std::to_string(gradIdx)));
    // A backward that reads only delta^i needs no F_all(i) before it.
    const Stage &st = chain->stage(i);
    if (!saved[i] && !st.backwardReadsGradientOnly)
      return llvm::createStringError(savName(i) + " is not in memory");
    if (chain->stage(i).backwardNeedsInput && !isAvailable(i - 1))
      return llvm::createStringError(
          "stage " + Twine(i) + " reads its input " + actName(i - 1) +
          " (backward_needs_input), which is not in memory");
    // delta^{i-1} is created next to the transient (e.g. dW_i); a stage that
    // releases its saved data does so before delta^{i-1} exists. abar^i is
    // absent only where the backward reads nothing of it.
    const int64_t held = saved[i] ? chain->savedBytes(i) : 0;
    int64_t during = curBytes + chain->activationBytes(i - 1) +
                     st.backwardTransientBytes -
                     (st.backwardReleasesSaved ? held : 0);
    saved[i] = false;
    // Its residue (e.g. loss scaling's gradients) stays to the end.
    curBytes += chain->activationBytes(i - 1) - held -
                chain->activationBytes(i) + st.backwardResidueBytes;
    gradIdx = i - 1;
    lastForward = 0;
    // Whatever activation survives a backward is a checkpoint from now on.
    for (unsigned k = 1; k <= L; ++k)
      if (act[k])
        pinned[k] = true;
    return during;
  }

  // Discard.
  switch (A.value) {
  case ValueKind::Activation:
    if (i == 0)
      return llvm::createStringError(
          "a0 is the caller's input and cannot be discarded");
    if (i > L || !act[i])
      return llvm::createStringError(actName(i) + " is not in memory");
    if (Error e = checkFreeActivation(i))
      return std::move(e);
    act[i] = false;
    pinned[i] = false;
    curBytes -= chain->activationBytes(i);
    return curBytes;
  case ValueKind::Saved: {
    if (i < 1 || i > L || !saved[i])
      return llvm::createStringError(savName(i) + " is not in memory");
    std::string why = "discards " + savName(i) + " before B " +
                      std::to_string(i) + " (non-persistent)";
    if (requirePersistent)
      return llvm::createStringError(why);
    if (persistent) {
      persistent = false;
      violation = why;
    }
    saved[i] = false;
    curBytes -= chain->savedBytes(i);
    return curBytes;
  }
  case ValueKind::Gradient:
    return llvm::createStringError(
        "delta" + Twine(i) +
        " is the running gradient and cannot be discarded");
  }
  llvm_unreachable("unknown value kind");
}

std::string MemoryState::key() const {
  std::string k;
  k.reserve(act.size() * 3 + 4);
  for (size_t i = 0; i < act.size(); ++i)
    k.push_back(char('0' + act[i] + 2 * saved[i] + 4 * pinned[i]));
  k += std::to_string(gradIdx);
  k += ':';
  k += std::to_string(lastForward);
  return k;
}

SimulationResult nnc::planner::simulate(const Chain &chain, const Schedule &S) {
  SimulationResult r;
  MemoryState state(chain);
  r.peakBytes = state.bytes();
  const Action *lastCompute = nullptr;
  for (size_t step = 0; step < S.size(); ++step) {
    const Action &A = S[step];
    Expected<int64_t> during = state.apply(A);
    if (!during) {
      std::string what;
      raw_string_ostream os(what);
      os << "step " << step + 1 << " (";
      print(A, os);
      os << "): " << toString(during.takeError());
      r.error = what;
      r.valid = false;
      return r;
    }
    r.stepBytes.push_back(*during);
    r.peakBytes = std::max(r.peakBytes, *during);
    if (A.isForward()) {
      ++r.forwardSteps;
      r.computeCost += chain.stage(A.stage).forwardCost;
    } else if (A.kind == Action::Backward) {
      // Hot right after its F_all: the last computing action before it (a
      // discard computes nothing).
      r.computeCost += chain.stage(A.stage).backwardCostOf(
          lastCompute && lastCompute->kind == Action::ForwardAll &&
          lastCompute->stage == A.stage);
    }
    if (A.kind != Action::Discard)
      lastCompute = &A;
  }
  r.finalBytes = state.bytes();
  r.persistent = state.isPersistent();
  if (!state.done()) {
    r.error = "schedule ends before the backward is complete (next is B " +
              std::to_string(state.gradientIndex()) + ")";
    return r;
  }
  r.valid = true;
  r.recomputeCost = r.computeCost - chain.baseCost();
  return r;
}

json::Value nnc::planner::planToJSON(StringRef strategy,
                                     std::optional<uint64_t> budgetBytes,
                                     const Schedule &S,
                                     const SimulationResult &sim) {
  json::Array actions;
  for (const Action &A : S)
    actions.push_back(toJSON(A));
  json::Object plan{{"strategy", strategy},
                    {"budget_bytes", budgetBytes
                                         ? json::Value(int64_t(*budgetBytes))
                                         : json::Value(nullptr)},
                    {"peak_bytes", sim.peakBytes},
                    {"compute_cost", sim.computeCost},
                    {"forward_steps", int64_t(sim.forwardSteps)},
                    {"recompute_cost", sim.recomputeCost},
                    {"persistent", sim.persistent},
                    {"schedule", std::move(actions)}};
  return plan;
}

Expected<Schedule> nnc::planner::scheduleFromJSON(const json::Value &V) {
  const json::Value *array = &V;
  if (const json::Object *o = V.getAsObject()) {
    array = o->get("schedule");
    if (!array)
      return createStringError(inconvertibleErrorCode(),
                               "plan has no \"schedule\" field");
  }
  Schedule S;
  json::Path::Root root("schedule");
  if (!fromJSON(*array, S, root))
    return root.getError();
  return S;
}
