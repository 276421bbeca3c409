//===- Render.h - SVG pictures of plans -------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Reports of a plan, as nnc-plan prints them: text and JSON, and plain SVG
/// for looking at plans: the schedule as the familiar two-row picture
/// (forward nodes on top, backward nodes below, one band per time step,
/// values in memory filled), and the memory/cost frontier.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_RENDER_H
#define NNC_PLANNER_RENDER_H

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Schedule.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <vector>

namespace nnc {
namespace planner {

/// A plan and what it is compared with.
struct PlanReport {
  llvm::StringRef strategy;
  std::optional<uint64_t> budgetBytes;
  int64_t stages = 0;
  const Schedule *schedule = nullptr;
  SimulationResult sim, storeAll;
  /// For a uniform chain: Revolve's p(l, s) for these l and s.
  std::optional<std::pair<uint64_t, uint64_t>> revolve;
  /// The DP's memory/cost frontier, when asked for.
  std::optional<std::vector<FrontierPoint>> frontier;

  /// The compute overhead over store-all, in percent.
  double overheadPercent() const;
};

/// nnc-plan's text report: the schedule, strategy, budget, peak, costs, the
/// comparison with store-all, then Revolve's count and the frontier if set.
void printPlanReport(const PlanReport &report, llvm::raw_ostream &os);

/// The same as plan JSON (planToJSON) with "store_all_peak_bytes",
/// "store_all_cost", "overhead_percent" and "frontier".
llvm::json::Value planReportToJSON(const PlanReport &report);

/// Draws \p S replayed on \p chain. One band per action: the top row holds
/// a^0..a^L (filled when stored, dark when held as abar^i), the bottom row
/// delta^0..delta^L (filled when held); the value the action creates is
/// ringed in red, and the band is labelled with the action and the memory in
/// use. Replays stop at the first invalid action, which is labelled.
void renderScheduleSVG(const Chain &chain, const Schedule &S,
                       llvm::raw_ostream &os);

/// Draws the frontier as a step plot, budget on x and cost on y, with
/// \p storeAllCost as a dashed reference line when positive.
void renderFrontierSVG(const std::vector<FrontierPoint> &frontier,
                       double storeAllCost, llvm::raw_ostream &os);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_RENDER_H
