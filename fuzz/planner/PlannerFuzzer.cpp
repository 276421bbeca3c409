//===- PlannerFuzzer.cpp - fuzz the chain-JSON reader and every strategy
//---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Input: nnc-plan's chain JSON. What parses is planned with every strategy
// at four budgets (none, the minimum feasible, half-way to store-all's peak
// and store-all's peak) and every plan is replayed in the simulator. The
// contract: the JSON round-trips; every returned schedule is valid and fits
// its budget; no budget below the minimum is accepted; the least-peak
// schedule's simulated peak is the minimum feasible budget; costs are
// finite. Chains are bounded (48 stages, 32 DP slots) so each input runs in
// milliseconds; the limits of the tools themselves are in docs/Limits.md.
//
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/JSON.h"

#include <cmath>
#include <optional>

using namespace nnc::planner;
using mlir::nnc::fuzz::contractBroken;

extern "C" int LLVMFuzzerInitialize(int *, char ***) { return 0; }

static std::string serialize(const Chain &chain) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << toJSON(chain);
  return text;
}

static void checkPlan(const Chain &chain, llvm::StringRef strategy,
                      std::optional<uint64_t> budget, const Schedule &S) {
  SimulationResult sim = simulate(chain, S);
  if (!sim.valid)
    contractBroken(strategy + " returned an invalid schedule: " + sim.error);
  if (budget && sim.peakBytes > 0 && uint64_t(sim.peakBytes) > *budget)
    contractBroken(strategy + " returned a plan over its budget");
  if (!std::isfinite(sim.computeCost) || !std::isfinite(sim.recomputeCost))
    contractBroken(strategy + " has a cost that is not finite");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384)
    return -1;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<Chain> chain = parseChainJSON(text);
  if (!chain) {
    std::string message = llvm::toString(chain.takeError());
    if (message.empty())
      contractBroken("a chain was rejected without a message");
    return 0;
  }

  std::string once = serialize(*chain);
  llvm::Expected<Chain> again = parseChainJSON(once);
  if (!again)
    contractBroken("the chain's own JSON does not parse: " +
                   llvm::toString(again.takeError()));
  if (serialize(*again) != once)
    contractBroken("the chain JSON does not round-trip");

  if (chain->length() > 48)
    return 0;

  int64_t least = minimumFeasibleBudget(*chain);
  SimulationResult leastSim = simulate(*chain, leastPeakSchedule(*chain));
  if (!leastSim.valid || leastSim.peakBytes != least)
    contractBroken("the least-peak schedule does not reach the minimum");
  int64_t storeAllPeak = simulate(*chain, storeAll(*chain)).peakBytes;

  std::optional<uint64_t> budgets[] = {std::nullopt, uint64_t(least),
                                       uint64_t(least / 2 + storeAllPeak / 2),
                                       uint64_t(storeAllPeak)};
  for (const auto &word : nnc::checkpointStrategies.all()) {
    nnc::CheckpointStrategy strategy = word.value;
    for (std::optional<uint64_t> budget : budgets) {
      llvm::Expected<Schedule> S =
          planSchedule(*chain, strategy, budget, /*slots=*/32);
      if (!S) {
        llvm::consumeError(S.takeError());
        continue;
      }
      checkPlan(*chain, word.name, budget, *S);
    }
    if (least > 0) {
      llvm::Expected<Schedule> below =
          planSchedule(*chain, strategy, uint64_t(least - 1), /*slots=*/32);
      if (below)
        contractBroken(word.name + " accepted a budget below the minimum");
      llvm::consumeError(below.takeError());
    }
  }
  return 0;
}
