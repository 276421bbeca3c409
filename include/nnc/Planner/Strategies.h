//===- Strategies.h - Checkpointing strategies ------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Strategies turn a Chain into a Schedule. Only the simulator measures
/// schedules; a strategy's own bookkeeping is never reported.
///
///   storeAll      vanilla backprop: F_all every stage, then B(L)..B(1).
///   recomputeAll  keep only a^0; before each B(i) recompute a^{i-1} from a^0.
///                 L(L+1)/2 forward steps, the least memory of the simple
///                 strategies; no sweep before a B(i) that reads only its
///                 gradient (Stage::backwardReadsGradientOnly).
///   sqrtSegments  Chen et al. 2016: ceil(sqrt(L)) equal segments, segment
///                 inputs checkpointed, each segment recomputed with F_all
///                 before its backward, up to its last stage whose backward
///                 reads more than its gradient.
///   chenGreedy    Chen et al.'s budgeted variant: greedy segmentation under a
///                 threshold, threshold grid-searched for the cheapest plan
///                 whose simulated peak fits the budget.
///   CheckpointDP  Rotor's dynamic program: optimal among persistent
///                 schedules for a budget discretised into `slots` units.
///
/// Griewank-Walther correspondence (tested for every l <= 201, s <= 20): on
/// makeUniformChain(L, b) with budget (s + 2) * b bytes, the DP's
/// forwardSteps equal p(L + 1, s), Revolve's minimal number of forward steps
/// for l = L + 1 steps and s checkpoint slots. See revolveForwardSteps() and
/// docs/Planner.md for why the offsets are +1 and +2.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_STRATEGIES_H
#define NNC_PLANNER_STRATEGIES_H

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Schedule.h"
#include "nnc/Support/Vocabularies.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace nnc {
namespace planner {

Schedule storeAll(const Chain &chain);
Schedule recomputeAll(const Chain &chain);
/// \p segments = 0 picks ceil(sqrt(L)).
Schedule sqrtSegments(const Chain &chain, unsigned segments = 0);
/// Segments the chain wherever the running sum of saved bytes would exceed a
/// threshold, trying thresholds from max(savedBytes) to the chain's total and
/// returning the cheapest schedule whose simulated peak is <= \p budgetBytes.
llvm::Expected<Schedule> chenGreedy(const Chain &chain, uint64_t budgetBytes);

/// The Griewank-Walther optimum p(l, s) = t*l - C(s+t, s+1), t the least
/// integer with C(s+t, s) >= l (Revolve, ACM TOMS Alg. 799): the minimal
/// number of forward steps to reverse l steps with s checkpoint slots.
uint64_t revolveForwardSteps(uint64_t l, uint64_t s);

/// One point of the memory/cost frontier: with budgetBytes or more (up to
/// the next point) the optimal cost is cost.
struct FrontierPoint {
  uint64_t budgetBytes;
  double cost;
};

/// Rotor's dynamic program for one chain and one maximum budget. One solve
/// answers every budget up to the maximum: schedule(b) reconstructs the
/// optimal schedule for any b <= maxBudget, frontier() lists them all.
///
/// Discretisation: memory is counted in units of `unitBytes`. If every size
/// is a multiple of g = gcd(all sizes) and maxBudget / g <= slots, the unit
/// is g and the DP is exact. Otherwise the unit is ceil(maxBudget / slots)
/// and sizes are rounded *up* to whole units, so every plan the DP accepts
/// fits the byte budget (it may miss plans that fit only by a few bytes).
class CheckpointDP {
public:
  static llvm::Expected<CheckpointDP>
  solve(const Chain &chain, uint64_t maxBudgetBytes, unsigned slots = 500);
  CheckpointDP(CheckpointDP &&);
  CheckpointDP &operator=(CheckpointDP &&);
  ~CheckpointDP();

  uint64_t unitBytes() const;
  /// Number of memory units the tables cover (<= slots).
  unsigned units() const;
  /// True if the unit divides every size: no rounding, the DP is exact.
  bool isExact() const;
  /// The optimal compute cost (forward + backward) within \p budgetBytes, or
  /// +infinity if no persistent schedule fits after discretisation.
  double optimalCost(uint64_t budgetBytes) const;
  /// The DP's entry for the segment of stages \p s..\p t (1-based) when
  /// a^{s-1} is held by someone else and the segment has \p budgetBytes:
  /// the optimal *forward* cost of reversing it (Rotor's C(s, t, m); the
  /// backwards, once each, are not included), or +infinity. optimalCost is
  /// segmentForwardCost(1, L, budget) plus every backward's cost.
  double segmentForwardCost(unsigned s, unsigned t, uint64_t budgetBytes) const;
  /// The optimal schedule within \p budgetBytes. If none fits, the error
  /// states the minimum feasible budget in bytes.
  llvm::Expected<Schedule> schedule(uint64_t budgetBytes) const;
  /// (budget, cost) for every budget in [0, maxBudget] at which the optimal
  /// cost strictly drops, in increasing budget order.
  std::vector<FrontierPoint> frontier() const;

private:
  struct Impl;
  explicit CheckpointDP(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// Convenience: solve and reconstruct for one budget. Rounding sizes up to
/// coarse units can make a budget at or just above the exact minimum look
/// infeasible; if the budget is feasible in bytes, the solve is repeated with
/// four times the slots until it succeeds or the units become exact (the DP
/// then answers for the exact bytes). If it still fails at kMaxRefinedSlots
/// (fewer for long chains: the tables stay under 1 GiB each),
/// the budget is within the rounding slack of the minimum, and the answer is
/// leastPeakSchedule(): it fits, but is not necessarily the cheapest plan
/// that does.
llvm::Expected<Schedule> dp(const Chain &chain, uint64_t budgetBytes,
                            unsigned slots = 500);

/// The most slots dp() refines to (the solve time is linear in the slots).
inline constexpr unsigned kMaxRefinedSlots = 1u << 15;

/// The least peak (bytes, exact, no discretisation) any persistent schedule
/// of \p chain can have. Budgets below it are infeasible for every strategy
/// in this library.
int64_t minimumFeasibleBudget(const Chain &chain);

/// A persistent schedule whose simulated peak is minimumFeasibleBudget():
/// the least memory, whatever it costs.
Schedule leastPeakSchedule(const Chain &chain);

/// One entry point for tools and the compiler: validates \p chain, plans it
/// with \p strategy (nnc/Support/Vocabularies.h spells them) and replays the
/// plan in the simulator. With a budget, the plan is returned only if its
/// simulated peak fits. Errors, each a full sentence:
///  - "chen" without a budget (its threshold search needs one);
///  - a budget below minimumFeasibleBudget(), stating both in bytes:
///    "budget 1 MiB (1048576 bytes) is below the minimum feasible 2560 KiB
///    (2621440 bytes)";
///  - a fixed strategy whose plan does not fit: "store-all needs 38 bytes,
///    over the budget of 30 bytes";
///  - the DP's discretisation error (see CheckpointDP::schedule()).
/// "dp" without a budget means an unlimited one: every forward then runs
/// once, which store-all already achieves at the least possible cost, so
/// that is the plan (no DP solve, no discretisation). \p slots is the DP's
/// discretisation.
llvm::Expected<Schedule> planSchedule(const Chain &chain,
                                      CheckpointStrategy strategy,
                                      std::optional<uint64_t> budgetBytes,
                                      unsigned slots = 500);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_STRATEGIES_H
