//===- SimpleStrategies.cpp - store-all, recompute-all, sqrt, Chen -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace llvm;
using namespace nnc::planner;

//===----------------------------------------------------------------------===//
// Simple strategies
//===----------------------------------------------------------------------===//

Schedule nnc::planner::storeAll(const Chain &chain) {
  Schedule s;
  const unsigned L = chain.length();
  for (unsigned i = 1; i <= L; ++i)
    s.push_back(Action::fall(i));
  for (unsigned i = L; i >= 1; --i)
    s.push_back(Action::backward(i));
  return s;
}

Schedule nnc::planner::recomputeAll(const Chain &chain) {
  Schedule s;
  for (unsigned i = chain.length(); i >= 1; --i) {
    // A backward that reads only its gradient needs no sweep: the compiled
    // step would drop it as dead code, so the plan must not price it.
    if (chain.stage(i).backwardReadsGradientOnly) {
      s.push_back(Action::backward(i));
      continue;
    }
    // Sweep a^0 -> a^{i-1}; only the sweep's current value stays alive.
    for (unsigned k = 1; k < i; ++k)
      s.push_back(k == 1 ? Action::fck(1) : Action::fn(k));
    s.push_back(Action::fall(i));
    // a^{i-1} goes as soon as nothing reads it: right after F_all(i), or
    // after B(i) when the backward reads its input.
    const bool keepInput = chain.stage(i).backwardNeedsInput;
    if (i > 1 && !keepInput)
      s.push_back(Action::discard(ValueKind::Activation, i - 1));
    s.push_back(Action::backward(i));
    if (i > 1 && keepInput)
      s.push_back(Action::discard(ValueKind::Activation, i - 1));
  }
  return s;
}

/// The segment schedule shared by sqrt and Chen's greedy variant.
/// \p bounds = {0 = b_0 < b_1 < ... < b_n = L}; segment g holds stages
/// b_g + 1 .. b_{g+1}. Forward: sweep to a^{b_{n-1}}, keeping every segment
/// input. Backward, last segment first: F_all the segment (its input is
/// dropped as soon as abar of its first stage holds what follows, or after
/// the first stage's backward if that reads it), then B it. The segment's
/// F_all stop at its last stage whose backward reads more than its
/// gradient: the stages after it need no forward (a segment of such stages
/// none, and its input goes after its backwards).
static Schedule segmentSchedule(const Chain &chain,
                                const std::vector<unsigned> &bounds) {
  Schedule s;
  const size_t n = bounds.size() - 1;
  std::vector<bool> isBound(bounds.back() + 1, false);
  for (unsigned b : bounds)
    isBound[b] = true;
  for (unsigned i = 1; i <= bounds[n - 1]; ++i)
    s.push_back(isBound[i - 1] ? Action::fck(i) : Action::fn(i));
  for (size_t g = n; g-- > 0;) {
    const unsigned first = bounds[g] + 1;
    const bool ownsInput = bounds[g] > 0;
    unsigned last = bounds[g + 1];
    while (last >= first && chain.stage(last).backwardReadsGradientOnly)
      --last;
    const bool keepInput =
        last < first || chain.stage(first).backwardNeedsInput;
    for (unsigned i = first; i <= last; ++i) {
      s.push_back(Action::fall(i));
      if (i == first && ownsInput && !keepInput)
        s.push_back(Action::discard(ValueKind::Activation, bounds[g]));
    }
    for (unsigned i = bounds[g + 1]; i >= first; --i)
      s.push_back(Action::backward(i));
    if (ownsInput && keepInput)
      s.push_back(Action::discard(ValueKind::Activation, bounds[g]));
  }
  return s;
}

Schedule nnc::planner::sqrtSegments(const Chain &chain, unsigned segments) {
  const unsigned L = chain.length();
  if (segments == 0)
    segments = static_cast<unsigned>(std::ceil(std::sqrt(double(L))));
  segments = std::clamp(segments, 1u, L);
  std::vector<unsigned> bounds{0};
  for (unsigned g = 1; g <= segments; ++g)
    bounds.push_back(static_cast<unsigned>((uint64_t(L) * g) / segments));
  return segmentSchedule(chain, bounds);
}

Expected<Schedule> nnc::planner::chenGreedy(const Chain &chain,
                                            uint64_t budgetBytes) {
  const unsigned L = chain.length();
  int64_t maxSaved = 0, total = 0;
  for (unsigned i = 1; i <= L; ++i) {
    maxSaved = std::max(maxSaved, chain.savedBytes(i));
    total += chain.savedBytes(i);
  }
  // Chen et al. grid-search the threshold; we try a geometric grid plus its
  // endpoints, which is enough to see every segmentation of interest without
  // the O(L^2) of trying every prefix sum.
  std::vector<int64_t> thresholds{maxSaved, total};
  const int steps = 256;
  for (int k = 1; k < steps; ++k)
    thresholds.push_back(static_cast<int64_t>(
        maxSaved * std::pow(double(total) / maxSaved, double(k) / steps)));
  std::optional<Schedule> best;
  SimulationResult bestSim;
  int64_t leastPeak = std::numeric_limits<int64_t>::max();
  for (int64_t theta : thresholds) {
    std::vector<unsigned> bounds{0};
    int64_t run = 0;
    for (unsigned i = 1; i <= L; ++i) {
      if (run > 0 && run + chain.savedBytes(i) > theta) {
        bounds.push_back(i - 1);
        run = 0;
      }
      run += chain.savedBytes(i);
    }
    bounds.push_back(L);
    Schedule s = segmentSchedule(chain, bounds);
    SimulationResult sim = simulate(chain, s);
    assert(sim.valid && "segment schedules are valid by construction");
    leastPeak = std::min(leastPeak, sim.peakBytes);
    if (uint64_t(sim.peakBytes) > budgetBytes)
      continue;
    if (!best || sim.computeCost < bestSim.computeCost ||
        (sim.computeCost == bestSim.computeCost &&
         sim.peakBytes < bestSim.peakBytes)) {
      best = std::move(s);
      bestSim = sim;
    }
  }
  if (!best)
    return llvm::createStringError(
        "chen: no greedy segmentation fits in " + Twine(budgetBytes) +
        " bytes; the least peak it reaches "
        "is " +
        Twine(leastPeak) +
        " bytes (the minimum feasible "
        "budget for any strategy is " +
        Twine(minimumFeasibleBudget(chain)) + " bytes)");
  return std::move(*best);
}

uint64_t nnc::planner::revolveForwardSteps(uint64_t l, uint64_t s) {
  // beta(s, t) = C(s + t, s), computed incrementally and exactly; the values
  // needed for realistic l stay far below 2^64.
  auto binom = [](uint64_t n, uint64_t k) {
    k = std::min(k, n - k);
    unsigned __int128 r = 1;
    for (uint64_t i = 1; i <= k; ++i)
      r = r * (n - k + i) / i;
    return static_cast<uint64_t>(r);
  };
  uint64_t t = 0;
  while (binom(s + t, s) < l)
    ++t;
  return t * l - binom(s + t, s + 1);
}

//===----------------------------------------------------------------------===//
// One entry point
//===----------------------------------------------------------------------===//

Expected<Schedule> nnc::planner::planSchedule(const Chain &chain,
                                              CheckpointStrategy strategy,
                                              std::optional<uint64_t> budget,
                                              unsigned slots) {
  const StringRef name = checkpointStrategies.name(strategy);
  if (Error e = chain.validate())
    return std::move(e);
  if (strategy == CheckpointStrategy::Chen && !budget)
    return llvm::createStringError("strategy 'chen' needs a memory budget");
  if (budget) {
    const int64_t least = minimumFeasibleBudget(chain);
    if (*budget < uint64_t(least))
      return llvm::createStringError(
          "budget " + formatByteSize(*budget) + " (" + Twine(*budget) +
          " bytes) is below the minimum " + "feasible " +
          formatByteSize(least) + " (" + Twine(least) + " bytes)");
  }

  Schedule plan;
  switch (strategy) {
  case CheckpointStrategy::StoreAll:
    plan = storeAll(chain);
    break;
  case CheckpointStrategy::RecomputeAll:
    plan = recomputeAll(chain);
    break;
  case CheckpointStrategy::Sqrt:
    plan = sqrtSegments(chain);
    break;
  case CheckpointStrategy::Chen:
  case CheckpointStrategy::DP: {
    if (!budget) { // dp without a budget: unlimited memory, store-all
      plan = storeAll(chain);
      break;
    }
    Expected<Schedule> planned = strategy == CheckpointStrategy::Chen
                                     ? chenGreedy(chain, *budget)
                                     : dp(chain, *budget, slots);
    if (!planned)
      return planned.takeError();
    plan = std::move(*planned);
    break;
  }
  }

  SimulationResult sim = simulate(chain, plan);
  if (!sim.valid)
    return llvm::createStringError(
        "internal error: " + name +
        " produced an invalid schedule: " + sim.error);
  if (budget && uint64_t(sim.peakBytes) > *budget)
    return llvm::createStringError(name + " needs " + Twine(sim.peakBytes) +
                                   " bytes, over the budget of " +
                                   Twine(*budget) + " bytes");
  return plan;
}
