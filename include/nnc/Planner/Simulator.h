//===- Simulator.h - Replaying schedules on a chain -------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The simulator is the single source of truth for a schedule's peak memory
/// and cost: every report (tool output, plan JSON, benchmark tables) quotes
/// its numbers, never a strategy's own estimate. It enforces the semantics
/// documented in Schedule.h and rejects invalid schedules with a message
/// naming the step.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_SIMULATOR_H
#define NNC_PLANNER_SIMULATOR_H

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Schedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnc {
namespace planner {

/// The memory contents between two actions. Exposed (rather than hidden in
/// simulate()) so that exhaustive searches in the tests step through exactly
/// the same semantics as the simulator.
class MemoryState {
public:
  explicit MemoryState(const Chain &chain);
  /// The state keeps a reference to its chain: a temporary would dangle
  /// (ASan found a test doing that).
  explicit MemoryState(Chain &&) = delete;

  /// Applies \p A. On success updates the state and returns the memory in use
  /// during the action (the candidate for the peak). On failure leaves the
  /// state unchanged and returns a message (without step number). With
  /// \p requirePersistent, a non-persistent action is an error; otherwise it
  /// only clears isPersistent().
  llvm::Expected<int64_t> apply(const Action &A,
                                bool requirePersistent = false);

  /// Bytes currently held (a^0 excluded).
  int64_t bytes() const { return curBytes; }
  /// The stage whose gradient delta^i is held: L initially, 0 when done.
  unsigned gradientIndex() const { return gradIdx; }
  bool done() const { return gradIdx == 0; }
  bool hasActivation(unsigned i) const { return act[i]; }
  bool hasSaved(unsigned i) const { return saved[i]; }
  /// a^i can be read: stored on its own, inside abar^i, or i == 0.
  bool isAvailable(unsigned i) const { return i == 0 || act[i] || saved[i]; }
  bool isPersistent() const { return persistent; }
  /// A human-readable reason for the first persistence violation, if any.
  const std::string &persistenceViolation() const { return violation; }

  /// A compact key identifying the state (for memoised searches). The part
  /// after the ':' is the stage of the last forward since the last backward
  /// (0 if none); only persistence rule (4) of Schedule.h depends on it.
  std::string key() const;

private:
  const Chain *chain;
  std::vector<bool> act;    // a^i stored on its own, i in [0, L]
  std::vector<bool> saved;  // abar^i stored, i in [1, L]
  std::vector<bool> pinned; // a^i stayed in memory across a backward action
  unsigned gradIdx;
  unsigned lastForward = 0; // stage of the last forward since the last B
  int64_t curBytes;
  bool persistent = true;
  std::string violation;
};

/// What a replay measures.
struct SimulationResult {
  bool valid = false;
  /// Why the schedule is invalid, naming the step: "step 7 (B 3): abar3 is not
  /// in memory".
  std::string error;
  /// Maximum memory during any action, Rotor convention (see Schedule.h).
  int64_t peakBytes = 0;
  /// Memory held once the schedule ends (delta^0 plus anything not freed).
  int64_t finalBytes = 0;
  /// Sum of the costs of all actions; B(i) at its hot cost when the last
  /// action before it other than a discard is F_all(i).
  double computeCost = 0;
  /// Number of forward actions (F_ck, F_n, F_all).
  unsigned forwardSteps = 0;
  /// computeCost - chain.baseCost(): the price of recomputation.
  double recomputeCost = 0;
  /// Whether the schedule is in Rotor's persistent class (Schedule.h).
  bool persistent = true;
  /// Memory in use during each action, for plots.
  std::vector<int64_t> stepBytes;
};

/// Replays \p S on \p chain. A schedule is valid when every action's
/// requirements hold and it ends with delta^0 computed.
SimulationResult simulate(const Chain &chain, const Schedule &S);

/// The plan JSON every tool emits: {"strategy", "budget_bytes" (null when
/// unconstrained), "peak_bytes", "compute_cost", "forward_steps",
/// "recompute_cost", "persistent", "schedule": [{"op": "F_ck", "stage": 1},
/// ...]}. All numbers come from \p sim.
llvm::json::Value planToJSON(llvm::StringRef strategy,
                             std::optional<uint64_t> budgetBytes,
                             const Schedule &S, const SimulationResult &sim);

/// Reads the "schedule" array of plan JSON (or a bare array of actions).
llvm::Expected<Schedule> scheduleFromJSON(const llvm::json::Value &V);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_SIMULATOR_H
