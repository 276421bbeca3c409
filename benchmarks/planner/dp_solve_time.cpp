//===- dp_solve_time.cpp - How long does the optimal DP take? -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Times CheckpointDP::solve on heterogeneous chains of L = 128, 512, 1000
/// stages at 500 memory slots and prints a table (median of several runs).
/// The chains are fixed pseudo-random (seeded) with sizes between 1 and 8 MiB
/// and costs between 1 and 4, and the budget is a fixed fraction of the
/// store-all peak, so the numbers are reproducible.
///
///   bench-dp-solve [L ...] [--runs=N] [--fraction=F] [--needs-input]
///                  [--emit-chain]
///
/// --needs-input sets Stage::backwardNeedsInput on every stage (layers whose
/// backward reads their input, as the compiler's chains are). --emit-chain
/// prints the chain of the first L as JSON (nnc-plan's input) and the budget
/// the table would use, instead of timing: to time a whole nnc-plan run on
/// the same chain.
///
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>

using namespace nnc::planner;

static Chain benchmarkChain(unsigned L, bool needsInput) {
  std::mt19937 rng(1234 + L);
  std::uniform_int_distribution<int64_t> mib(1, 8);
  std::uniform_int_distribution<int> cost(1, 4);
  Chain c;
  c.inputBytes = mib(rng) << 20;
  for (unsigned i = 0; i < L; ++i) {
    int64_t out = mib(rng) << 20;
    c.stages.push_back({double(cost(rng)), double(2 * cost(rng)), out,
                        out + (mib(rng) << 20)});
    c.stages.back().backwardNeedsInput = needsInput;
  }
  return c;
}

int main(int argc, char **argv) {
  std::vector<unsigned> lengths;
  unsigned runs = 5;
  double fraction = 0.1;
  bool needsInput = false, emitChain = false;
  for (int k = 1; k < argc; ++k) {
    if (!std::strncmp(argv[k], "--runs=", 7))
      runs = std::max(1, std::atoi(argv[k] + 7));
    else if (!std::strncmp(argv[k], "--fraction=", 11))
      fraction = std::atof(argv[k] + 11);
    else if (!std::strcmp(argv[k], "--needs-input"))
      needsInput = true;
    else if (!std::strcmp(argv[k], "--emit-chain"))
      emitChain = true;
    else
      lengths.push_back(std::atoi(argv[k]));
  }
  if (lengths.empty())
    lengths = {128, 512, 1000};
  const unsigned slots = 500;
  if (emitChain) {
    Chain c = benchmarkChain(lengths.front(), needsInput);
    SimulationResult all = simulate(c, storeAll(c));
    llvm::outs() << llvm::formatv("{0:2}\n", toJSON(c));
    llvm::errs() << "budget: "
                 << std::max<uint64_t>(uint64_t(all.peakBytes * fraction),
                                       minimumFeasibleBudget(c))
                 << " bytes\n";
    return 0;
  }

  llvm::outs() << llvm::formatv(
      "DP solve time, {0} slots, budget = {1:P0} of the store-all peak, "
      "median of {2} runs{3}\n",
      slots, fraction, runs,
      needsInput ? ", every backward reads its input" : "");
  llvm::outs() << llvm::formatv("{0,6} {1,12} {2,10} {3,10} {4,12} {5,12}\n",
                                "L", "budget", "median_s", "min_s", "cost/base",
                                "peak/budget");
  for (unsigned L : lengths) {
    Chain c = benchmarkChain(L, needsInput);
    SimulationResult all = simulate(c, storeAll(c));
    uint64_t budget = std::max<uint64_t>(uint64_t(all.peakBytes * fraction),
                                         minimumFeasibleBudget(c));
    std::vector<double> times;
    SimulationResult sim;
    for (unsigned r = 0; r < runs; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      llvm::Expected<CheckpointDP> solver =
          CheckpointDP::solve(c, budget, slots);
      auto t1 = std::chrono::steady_clock::now();
      if (!solver) {
        llvm::errs() << llvm::toString(solver.takeError()) << "\n";
        return 1;
      }
      times.push_back(std::chrono::duration<double>(t1 - t0).count());
      if (r == 0) {
        llvm::Expected<Schedule> s = solver->schedule(budget);
        if (!s) {
          llvm::errs() << llvm::toString(s.takeError()) << "\n";
          return 1;
        }
        sim = simulate(c, *s);
      }
    }
    std::sort(times.begin(), times.end());
    llvm::outs() << llvm::formatv(
        "{0,6} {1,12} {2,10:F3} {3,10:F3} {4,12:F3} {5,12:F3}\n", L,
        formatByteSize(budget), times[times.size() / 2], times.front(),
        sim.computeCost / c.baseCost(), double(sim.peakBytes) / budget);
  }
  return 0;
}
