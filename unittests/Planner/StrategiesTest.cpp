//===- StrategiesTest.cpp - Strategies, DP optimality, Revolve ------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Strategies.h"
#include "nnc/Planner/Simulator.h"

#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>
#include <map>
#include <queue>
#include <random>

using namespace nnc::planner;
using nnc::checkpointStrategies;
using nnc::CheckpointStrategy;

namespace {

Chain handChain() {
  Chain c;
  c.inputBytes = 4;
  c.stages = {{1, 2, 8, 12}, {2, 3, 4, 10}, {3, 1, 6, 6}};
  return c;
}

double exhaustiveOptimum(const Chain &c, int64_t budget, bool persistentOnly);
/// Which stages of a random chain read their input in the backward.
enum class NeedsInput { None, All, Mixed };
Chain randomChain(std::mt19937 &rng, unsigned L, NeedsInput needs);
/// Draws backwardReleasesSaved (a coin) and the two transients (often 0)
/// for every stage of \p c.
void addReleaseAndTransients(std::mt19937 &rng, Chain &c);
/// Sets backwardReadsGradientOnly on about a third of the stages whose
/// backward does not read its input (flattens, global poolings).
void addGradientOnly(std::mt19937 &rng, Chain &c);

SimulationResult mustSimulate(const Chain &c, const Schedule &s) {
  SimulationResult r = simulate(c, s);
  EXPECT_TRUE(r.valid) << r.error << "\n" << toString(s);
  return r;
}

//===----------------------------------------------------------------------===//
// Simple strategies on hand-computed chains
//===----------------------------------------------------------------------===//

TEST(StrategiesTest, StoreAll) {
  SimulationResult r = mustSimulate(handChain(), storeAll(handChain()));
  EXPECT_EQ(r.peakBytes, 38);
  EXPECT_EQ(r.computeCost, 12);
  EXPECT_EQ(toString(storeAll(handChain())),
            "F_all 1, F_all 2, F_all 3, B 3, B 2, B 1");
}

TEST(StrategiesTest, RecomputeAll) {
  Chain c = handChain();
  EXPECT_EQ(toString(recomputeAll(c)),
            "F_ck 1, F_n 2, F_all 3, Discard a2, B 3, F_ck 1, F_all 2, "
            "Discard a1, B 2, F_all 1, B 1");
  SimulationResult r = mustSimulate(c, recomputeAll(c));
  EXPECT_EQ(r.peakBytes, 24); // worked out in SimulatorTest
  EXPECT_EQ(r.computeCost, 16);
  EXPECT_EQ(r.forwardSteps, 6u);
  for (unsigned L : {1u, 7u, 30u}) {
    Chain u = makeUniformChain(L, 2);
    SimulationResult ru = mustSimulate(u, recomputeAll(u));
    EXPECT_EQ(ru.forwardSteps, L * (L + 1) / 2);
    // delta, the sweep's two live values / abar + delta + new delta: 3 values.
    EXPECT_EQ(ru.peakBytes, L == 1 ? 6 : 6);
  }
}

TEST(StrategiesTest, SqrtSegments) {
  // 9 uniform stages of 1 byte: 3 segments [1-3] [4-6] [7-9].
  Chain u = makeUniformChain(9, 1);
  Schedule s = sqrtSegments(u);
  EXPECT_EQ(toString(s),
            "F_ck 1, F_n 2, F_n 3, F_ck 4, F_n 5, F_n 6, "
            "F_all 7, Discard a6, F_all 8, F_all 9, B 9, B 8, B 7, "
            "F_all 4, Discard a3, F_all 5, F_all 6, B 6, B 5, B 4, "
            "F_all 1, F_all 2, F_all 3, B 3, B 2, B 1");
  SimulationResult r = mustSimulate(u, s);
  EXPECT_EQ(r.forwardSteps, 6u + 9u);
  // Worst moment: B 9 holding a3, abar7..9, delta9 and the new delta8.
  EXPECT_EQ(r.peakBytes, 6);
  // Fewer segments than stages is clamped.
  EXPECT_EQ(mustSimulate(u, sqrtSegments(u, 100)).forwardSteps,
            mustSimulate(u, recomputeAll(u)).forwardSteps - 45 + 8 + 9);
}

TEST(StrategiesTest, ChenGreedyRespectsBudget) {
  Chain u = makeUniformChain(16, 1);
  for (uint64_t budget : {8u, 10u, 12u, 20u}) {
    llvm::Expected<Schedule> s = chenGreedy(u, budget);
    ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
    SimulationResult r = mustSimulate(u, *s);
    EXPECT_LE(r.peakBytes, int64_t(budget));
  }
  // With the whole store-all peak, the single-segment plan is store-all.
  llvm::Expected<Schedule> all = chenGreedy(u, 18);
  ASSERT_TRUE(static_cast<bool>(all));
  EXPECT_EQ(mustSimulate(u, *all).forwardSteps, 16u);
  llvm::Expected<Schedule> none = chenGreedy(u, 3);
  ASSERT_FALSE(static_cast<bool>(none));
  EXPECT_NE(llvm::toString(none.takeError())
                .find("minimum feasible budget for any strategy is 3 bytes"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Backwards that read their input
//===----------------------------------------------------------------------===//

// Three uniform stages (costs 1, sizes 1) at a budget of 4 values.
// Without the flag the DP takes p(4, 2) = 4 forward steps, cost 7.
// With every backward reading its input, B 3 alone holds delta3, abar3,
// delta2 and a2 (stored, or inside abar2): 4, nothing else fits. abar2
// cannot be there (F_all 2 would have needed a1, and a1 cannot be dropped
// while B 2 still reads it), so a2 is a checkpoint swept from a0 (F 1, F 2,
// F_all 3), and after B 3 both stage 1 and 2 run again: 5 forward steps,
// cost 8. The minimum budget rises from 3 to 4 for the same reason.
TEST(StrategiesTest, BackwardReadingInputChangesTheOptimum) {
  Chain plain = makeUniformChain(3, 1);
  Chain reads = plain;
  for (Stage &st : reads.stages)
    st.backwardNeedsInput = true;
  EXPECT_EQ(minimumFeasibleBudget(plain), 3);
  EXPECT_EQ(minimumFeasibleBudget(reads), 4);

  llvm::Expected<CheckpointDP> p = CheckpointDP::solve(plain, 4);
  llvm::Expected<CheckpointDP> r = CheckpointDP::solve(reads, 4);
  ASSERT_TRUE(p && r);
  EXPECT_EQ(p->optimalCost(4), 7);
  EXPECT_EQ(r->optimalCost(4), 8);
  EXPECT_EQ(exhaustiveOptimum(reads, 4, true), 8);
  EXPECT_TRUE(std::isinf(r->optimalCost(3)));

  llvm::Expected<Schedule> s = r->schedule(4);
  ASSERT_TRUE(static_cast<bool>(s));
  // a2 stays until B 3 has read it, and goes right after.
  EXPECT_EQ(toString(*s), "F_ck 1, F_n 2, F_all 3, B 3, Discard a2, "
                          "F_all 1, F_all 2, B 2, B 1");
  SimulationResult sim = mustSimulate(reads, *s);
  EXPECT_EQ(sim.peakBytes, 4);
  EXPECT_EQ(sim.forwardSteps, 5u);
  EXPECT_TRUE(sim.persistent);
  // The plain plan is invalid here: it drops a checkpoint B reads.
  llvm::Expected<Schedule> old = p->schedule(4);
  ASSERT_TRUE(static_cast<bool>(old));
  EXPECT_FALSE(simulate(reads, *old).valid);
}

TEST(StrategiesTest, SimpleStrategiesKeepInputsBackwardsRead) {
  Chain c = makeUniformChain(9, 1);
  for (Stage &st : c.stages)
    st.backwardNeedsInput = true;
  // Each segment's input now goes after the segment's first backward.
  EXPECT_EQ(toString(sqrtSegments(c)),
            "F_ck 1, F_n 2, F_n 3, F_ck 4, F_n 5, F_n 6, "
            "F_all 7, F_all 8, F_all 9, B 9, B 8, B 7, Discard a6, "
            "F_all 4, F_all 5, F_all 6, B 6, B 5, B 4, Discard a3, "
            "F_all 1, F_all 2, F_all 3, B 3, B 2, B 1");
  SimulationResult r = mustSimulate(c, sqrtSegments(c));
  // B 9 now also holds a6: a3, a6, abar7..9, delta9, delta8.
  EXPECT_EQ(r.peakBytes, 7);
  EXPECT_TRUE(r.persistent);
  Chain three = makeUniformChain(3, 1);
  for (Stage &st : three.stages)
    st.backwardNeedsInput = true;
  EXPECT_EQ(toString(recomputeAll(three)),
            "F_ck 1, F_n 2, F_all 3, B 3, Discard a2, F_ck 1, F_all 2, B 2, "
            "Discard a1, F_all 1, B 1");
  SimulationResult ra = mustSimulate(three, recomputeAll(three));
  EXPECT_EQ(ra.peakBytes, 4); // == minimumFeasibleBudget
  EXPECT_TRUE(ra.persistent);
  // One value more than without the flag (ChenGreedyRespectsBudget): the
  // segment input stays through the segment's first backward.
  for (uint64_t budget : {9u, 10u, 12u}) {
    Chain u = makeUniformChain(16, 1);
    for (Stage &st : u.stages)
      st.backwardNeedsInput = true;
    llvm::Expected<Schedule> s = chenGreedy(u, budget);
    ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
    EXPECT_LE(mustSimulate(u, *s).peakBytes, int64_t(budget));
  }
}

//===----------------------------------------------------------------------===//
// planSchedule
//===----------------------------------------------------------------------===//

std::string errorOf(llvm::Expected<Schedule> s) {
  if (s)
    return "no error, got: " + toString(*s);
  return llvm::toString(s.takeError());
}

TEST(StrategiesTest, PlanScheduleDispatches) {
  Chain c = handChain();
  auto plan = [&](CheckpointStrategy name, std::optional<uint64_t> budget) {
    llvm::Expected<Schedule> s = planSchedule(c, name, budget);
    EXPECT_TRUE(static_cast<bool>(s)) << checkpointStrategies.name(name).str();
    return s ? toString(*s) : llvm::toString(s.takeError());
  };
  EXPECT_EQ(plan(CheckpointStrategy::StoreAll, std::nullopt),
            toString(storeAll(c)));
  EXPECT_EQ(plan(CheckpointStrategy::RecomputeAll, std::nullopt),
            toString(recomputeAll(c)));
  EXPECT_EQ(plan(CheckpointStrategy::Sqrt, std::nullopt),
            toString(sqrtSegments(c)));
  EXPECT_EQ(plan(CheckpointStrategy::Chen, 30), toString(*chenGreedy(c, 30)));
  EXPECT_EQ(plan(CheckpointStrategy::DP, 24), toString(*dp(c, 24)));
  // A fixed strategy under a budget it fits.
  EXPECT_EQ(plan(CheckpointStrategy::StoreAll, 38), toString(storeAll(c)));
  // No budget for the DP: unlimited memory, every forward once.
  EXPECT_EQ(plan(CheckpointStrategy::DP, std::nullopt), toString(storeAll(c)));
  // slots reach the DP: one slot cannot tell budgets apart, so the solve on
  // its own refuses the budget; dp() refines the units until it fits.
  llvm::Expected<CheckpointDP> coarse = CheckpointDP::solve(c, 24, 1);
  ASSERT_TRUE(static_cast<bool>(coarse));
  EXPECT_NE(errorOf(coarse->schedule(24)).find("use more slots"),
            std::string::npos);
  EXPECT_EQ(plan(CheckpointStrategy::DP, 24),
            toString(*planSchedule(c, CheckpointStrategy::DP, 24, 1)));
}

// The least-peak schedule is valid and its simulated peak is the minimum
// the (max, min) recursion computes.
TEST(StrategiesTest, LeastPeakScheduleReachesTheMinimum) {
  std::mt19937 rng(78);
  for (int trial = 0; trial < 300; ++trial) {
    Chain c = randomChain(rng, 1 + trial % 15,
                          trial % 3 == 0   ? NeedsInput::None
                          : trial % 3 == 1 ? NeedsInput::All
                                           : NeedsInput::Mixed);
    if (trial % 2)
      addReleaseAndTransients(rng, c);
    SimulationResult r = mustSimulate(c, leastPeakSchedule(c));
    EXPECT_EQ(r.peakBytes, minimumFeasibleBudget(c))
        << llvm::formatv("{0}", toJSON(c)).str();
  }
}

/// The least peak of every segment [s, t] (a^{s-1} pinned), by the (max,
/// min) recursion evaluated the plain way: every leaf, no pruning. [s][t].
static std::vector<std::vector<int64_t>> plainLeastPeaks(const Chain &c) {
  const unsigned L = c.length();
  std::vector<std::vector<int64_t>> mp(L + 2, std::vector<int64_t>(L + 1)),
      mo = mp;
  auto x = [&](unsigned i) { return c.activationBytes(i); };
  for (unsigned d = 0; d < L; ++d)
    for (unsigned s = 1; s + d <= L; ++s) {
      const unsigned t = s + d;
      const Stage &st = c.stage(s);
      const int64_t cin = s == 1 ? 0 : x(s - 1);
      const int64_t keep = st.backwardNeedsInput ? cin : 0;
      const int64_t sv = c.savedBytes(s);
      const int64_t rest = s < t ? sv + mp[s + 1][t] : 0;
      const int64_t back = sv + x(s) + x(s - 1) + st.backwardTransientBytes -
                           (st.backwardReleasesSaved ? sv : 0);
      const int64_t fall = x(t) + sv + st.forwardTransientBytes;
      int64_t pin = std::max({fall, back, rest});
      int64_t own = std::max({cin + fall, keep + back, keep + rest});
      for (unsigned j = s + 1; j <= t; ++j) {
        int64_t sweep = 0;
        for (unsigned k = s; k < j; ++k)
          sweep = std::max(sweep, x(k) + (k > s ? x(k - 1) : 0) +
                                      c.stage(k).forwardTransientBytes);
        pin = std::min(pin, std::max({x(t) + sweep, mo[j][t], mp[s][j - 1]}));
        own = std::min(
            own, std::max({cin + x(t) + sweep, cin + mo[j][t], mo[s][j - 1]}));
      }
      // B(t) first when it reads only delta^t, then [s, t-1].
      if (c.stage(t).backwardReadsGradientOnly) {
        const int64_t b = x(t) + x(t - 1) + c.stage(t).backwardTransientBytes;
        pin = std::min(pin, std::max(b, s < t ? mp[s][t - 1] : 0));
        own = std::min(own, std::max(cin + b, s < t ? mo[s][t - 1] : 0));
      }
      mp[s][t] = pin;
      mo[s][t] = s == 1 ? pin : own;
    }
  return mp;
}

// On chains long enough for its block tests (leaves in blocks of 16), every
// segment's least peak, asked of the segment as a chain of its own, is the
// plain recursion's; and the least-peak schedule reaches it.
TEST(StrategiesTest, MinimumFeasibleBudgetEqualsPlainRecursion) {
  std::mt19937 rng(79), flags(80);
  const unsigned lengths[] = {33, 48, 64, 90, 71, 40};
  unsigned compared = 0;
  for (int trial = 0; trial < 16; ++trial) {
    Chain c = randomChain(rng, lengths[trial % 6],
                          trial % 3 == 0   ? NeedsInput::None
                          : trial % 3 == 1 ? NeedsInput::All
                                           : NeedsInput::Mixed);
    if (trial % 2)
      addReleaseAndTransients(rng, c);
    // Backwards that need no forward (their own rng: the other chains stay
    // those the seed always gave).
    if (trial >= 12)
      addGradientOnly(flags, c);
    if (trial % 4 >= 2) { // sizes of many magnitudes: fewer ties
      std::uniform_int_distribution<int64_t> scale(1, 60);
      c.inputBytes *= scale(rng);
      for (Stage &st : c.stages) {
        const int64_t k = scale(rng);
        st.outputBytes *= k;
        st.savedBytes *= k;
        st.forwardTransientBytes *= scale(rng);
        st.backwardTransientBytes *= scale(rng);
      }
    }
    const std::vector<std::vector<int64_t>> plain = plainLeastPeaks(c);
    for (unsigned s = 1; s <= c.length(); ++s)
      for (unsigned t = s + 31; t <= c.length(); ++t, ++compared) {
        Chain segment;
        segment.inputBytes = c.activationBytes(s - 1);
        segment.stages.assign(c.stages.begin() + (s - 1), c.stages.begin() + t);
        ASSERT_EQ(minimumFeasibleBudget(segment), plain[s][t])
            << "trial " << trial << ", segment [" << s << ", " << t << "]";
      }
    EXPECT_EQ(mustSimulate(c, leastPeakSchedule(c)).peakBytes,
              plain[1][c.length()])
        << "trial " << trial;
  }
  EXPECT_GT(compared, 5000u);
}

// Every budget from the exact minimum up is reachable, however coarse the
// first discretisation: dp() refines rounded units until the plan fits.
TEST(StrategiesTest, DPReachesTheExactMinimum) {
  std::mt19937 rng(77);
  for (int trial = 0; trial < 200; ++trial) {
    Chain c = randomChain(rng, 1 + trial % 12, NeedsInput::Mixed);
    addReleaseAndTransients(rng, c);
    // Sizes without a common factor, so the first units are not exact.
    std::uniform_int_distribution<int64_t> jitter(0, 99);
    auto scale = [&](int64_t &bytes) {
      if (bytes > 0)
        bytes = bytes * 100 + jitter(rng);
    };
    scale(c.inputBytes);
    for (Stage &st : c.stages) {
      int64_t extra = st.savedBytes - st.outputBytes;
      scale(st.outputBytes);
      st.savedBytes = st.outputBytes + extra * 100;
      scale(st.forwardTransientBytes);
      scale(st.backwardTransientBytes);
    }
    ASSERT_FALSE(static_cast<bool>(c.validate()));
    const uint64_t least = minimumFeasibleBudget(c);
    for (uint64_t budget : {least, least + 1, least + least / 50}) {
      llvm::Expected<Schedule> s = dp(c, budget, /*slots=*/7);
      ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
      EXPECT_LE(uint64_t(mustSimulate(c, *s).peakBytes), budget);
    }
    EXPECT_NE(errorOf(dp(c, least - 1, 7)).find("minimum feasible"),
              std::string::npos);
  }
  // Sizes so large that even kMaxRefinedSlots units round: the exact
  // minimum is still reachable (with the least-peak schedule).
  for (int trial = 0; trial < 20; ++trial) {
    Chain c = randomChain(rng, 2 + trial % 6, NeedsInput::Mixed);
    c.inputBytes = c.inputBytes * 1000003;
    for (Stage &st : c.stages) {
      st.outputBytes *= 1000003;
      st.savedBytes = st.savedBytes * 1000003 + 7;
    }
    const uint64_t least = minimumFeasibleBudget(c);
    llvm::Expected<Schedule> s = dp(c, least, 50);
    ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
    EXPECT_EQ(uint64_t(mustSimulate(c, *s).peakBytes), least);
  }
}

TEST(StrategiesTest, PlanScheduleErrors) {
  Chain c = handChain();
  llvm::Expected<CheckpointStrategy> revolve =
      checkpointStrategies.parse("revolve");
  ASSERT_FALSE(static_cast<bool>(revolve));
  EXPECT_EQ(llvm::toString(revolve.takeError()),
            "unknown checkpoint strategy 'revolve' (expected store-all, "
            "recompute-all, sqrt, chen or dp)");
  EXPECT_EQ(errorOf(planSchedule(c, CheckpointStrategy::Chen, std::nullopt)),
            "strategy 'chen' needs a memory budget");
  EXPECT_EQ(errorOf(planSchedule(c, CheckpointStrategy::DP, 23)),
            "budget 23 B (23 bytes) is below the minimum feasible 24 B "
            "(24 bytes)");
  EXPECT_EQ(errorOf(planSchedule(c, CheckpointStrategy::StoreAll, 30)),
            "store-all needs 38 bytes, over the budget of 30 bytes");
  EXPECT_EQ(errorOf(planSchedule(Chain(), CheckpointStrategy::DP, 30)),
            "chain has no stages");

  // A one-stage chain: F_all 1 holds delta1 + abar1 = 2 MiB, B 1 adds
  // delta0: 2.5 MiB.
  Chain mib;
  mib.inputBytes = 512 << 10;
  mib.stages = {{1, 1, 512 << 10, 1536 << 10}};
  EXPECT_EQ(errorOf(planSchedule(mib, CheckpointStrategy::DP, 1 << 20)),
            "budget 1 MiB (1048576 bytes) is below the minimum feasible "
            "2560 KiB (2621440 bytes)");
  EXPECT_TRUE(
      static_cast<bool>(planSchedule(mib, CheckpointStrategy::DP, 2621440)));
}

TEST(StrategiesTest, PlanScheduleHonoursBackwardNeedsInput) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    Chain c = randomChain(rng, 2 + trial % 7,
                          trial % 2 ? NeedsInput::All : NeedsInput::Mixed);
    const int64_t least = minimumFeasibleBudget(c);
    for (const auto &word : checkpointStrategies.all()) {
      CheckpointStrategy name = word.value;
      std::optional<uint64_t> budget;
      if (name == CheckpointStrategy::Chen || name == CheckpointStrategy::DP)
        budget = mustSimulate(c, storeAll(c)).peakBytes;
      llvm::Expected<Schedule> s = planSchedule(c, name, budget);
      ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
      SimulationResult r = mustSimulate(c, *s);
      EXPECT_TRUE(r.persistent);
      EXPECT_GE(r.peakBytes, least);
    }
    // And the DP at the least budget.
    llvm::Expected<Schedule> tight =
        planSchedule(c, CheckpointStrategy::DP, least);
    ASSERT_TRUE(static_cast<bool>(tight)) << llvm::toString(tight.takeError());
    EXPECT_EQ(mustSimulate(c, *tight).peakBytes, least);
  }
}

//===----------------------------------------------------------------------===//
// Griewank-Walther exactness
//===----------------------------------------------------------------------===//

TEST(StrategiesTest, RevolveFormula) {
  EXPECT_EQ(revolveForwardSteps(1, 1), 0u);
  EXPECT_EQ(revolveForwardSteps(2, 1), 1u);
  EXPECT_EQ(revolveForwardSteps(3, 1), 3u);  // 2 + 1
  EXPECT_EQ(revolveForwardSteps(5, 1), 10u); // quadratic with one slot
  EXPECT_EQ(revolveForwardSteps(3, 2), 2u);  // l - 1 when l <= s + 1
  EXPECT_EQ(revolveForwardSteps(12, 3), 21u);
  EXPECT_EQ(revolveForwardSteps(100, 100), 99u);
}

// Every uniform chain of L <= 200 stages and every s in [1, 20]: the DP's
// reconstructed schedule, replayed by the simulator, takes exactly
// p(L + 1, s) forward steps within (s + 2) values of memory.
TEST(StrategiesTest, DPMatchesRevolveOnUniformChains) {
  const int64_t size = 3; // any size: the DP works in gcd units
  for (unsigned L = 1; L <= 200; ++L) {
    Chain u = makeUniformChain(L, size);
    llvm::Expected<CheckpointDP> solver =
        CheckpointDP::solve(u, (20 + 2) * size);
    ASSERT_TRUE(static_cast<bool>(solver))
        << llvm::toString(solver.takeError());
    ASSERT_EQ(solver->unitBytes(), uint64_t(size));
    for (unsigned s = 1; s <= 20; ++s) {
      const uint64_t budget = (s + 2) * size;
      llvm::Expected<Schedule> sched = solver->schedule(budget);
      ASSERT_TRUE(static_cast<bool>(sched)) << L << " " << s;
      SimulationResult r = mustSimulate(u, *sched);
      ASSERT_LE(uint64_t(r.peakBytes), budget) << "L=" << L << " s=" << s;
      ASSERT_EQ(r.forwardSteps, revolveForwardSteps(L + 1, s))
          << "L=" << L << " s=" << s;
      ASSERT_EQ(r.computeCost, solver->optimalCost(budget));
      ASSERT_TRUE(r.persistent);
    }
    // One value less than s = 1 needs is infeasible, and says so.
    llvm::Expected<Schedule> tight = solver->schedule(2 * size);
    ASSERT_FALSE(static_cast<bool>(tight));
    EXPECT_EQ(llvm::toString(tight.takeError()),
              "budget of 6 bytes is infeasible: the minimum feasible budget "
              "is 9 bytes");
  }
}

//===----------------------------------------------------------------------===//
// DP against exhaustive search
//===----------------------------------------------------------------------===//

/// Least compute cost of any valid schedule within \p budget, by Dijkstra
/// over memory states, stepping with the simulator's own MemoryState. Every
/// action is tried in every state, so this covers all schedules (restricted
/// to persistent ones when asked). +inf if none fits. A backward costs its
/// hot price when the last action before it other than a discard was its
/// stage's F_all, so a state also records which F_all (if any) that was.
double exhaustiveOptimum(const Chain &c, int64_t budget, bool persistentOnly) {
  const unsigned L = c.length();
  std::vector<Action> vocabulary;
  for (unsigned i = 1; i <= L; ++i) {
    vocabulary.push_back(Action::fck(i));
    vocabulary.push_back(Action::fn(i));
    vocabulary.push_back(Action::fall(i));
    vocabulary.push_back(Action::backward(i));
    vocabulary.push_back(Action::discard(ValueKind::Activation, i));
    vocabulary.push_back(Action::discard(ValueKind::Saved, i));
  }
  MemoryState start(c);
  if (start.bytes() > budget)
    return INFINITY;
  // A state: the memory, and the stage whose F_all was the last computing
  // action (0 if none or another action).
  using State = std::pair<MemoryState, unsigned>;
  const std::string startKey = start.key() + "/0";
  std::map<std::string, double> dist{{startKey, 0.0}};
  using Item = std::pair<double, std::string>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  std::map<std::string, State> states{{startKey, {start, 0u}}};
  queue.push({0.0, startKey});
  while (!queue.empty()) {
    auto [d, key] = queue.top();
    queue.pop();
    if (d > dist[key])
      continue;
    const MemoryState &here = states.at(key).first;
    const unsigned afterFall = states.at(key).second;
    if (here.done())
      return d;
    for (const Action &a : vocabulary) {
      MemoryState next = here;
      llvm::Expected<int64_t> during = next.apply(a, persistentOnly);
      if (!during) {
        llvm::consumeError(during.takeError());
        continue;
      }
      if (*during > budget)
        continue;
      double cost =
          d + (a.isForward() ? c.stage(a.stage).forwardCost
               : a.kind == Action::Backward
                   ? c.stage(a.stage).backwardCostOf(afterFall == a.stage)
                   : 0.0);
      const unsigned nextFall = a.kind == Action::ForwardAll ? a.stage
                                : a.kind == Action::Discard  ? afterFall
                                                             : 0;
      std::string k = next.key();
      // The part after ':' (the last forward since the last backward) only
      // matters for persistence.
      if (!persistentOnly)
        k.erase(k.find(':'));
      k += "/" + std::to_string(nextFall);
      auto it = dist.find(k);
      if (it == dist.end() || cost < it->second) {
        dist[k] = cost;
        states.insert_or_assign(k, State{next, nextFall});
        queue.push({cost, k});
      }
    }
  }
  return INFINITY;
}

/// At each budget in [least, top]: the DP's cost equals the exhaustive
/// search's persistent optimum, and its schedule replays within the budget
/// at that cost, persistently; then `each(budget, cost)`, the test's own
/// checks.
void expectOptimalFrom(const Chain &c, const CheckpointDP &solver,
                       int64_t least, int64_t top, int trial,
                       llvm::function_ref<void(int64_t, double)> each) {
  for (int64_t budget = least; budget <= top; ++budget) {
    double brute = exhaustiveOptimum(c, budget, true);
    double claimed = solver.optimalCost(budget);
    ASSERT_EQ(claimed, brute)
        << "trial " << trial << " budget " << budget << "\n"
        << llvm::formatv("{0}", toJSON(c)).str();
    llvm::Expected<Schedule> s = solver.schedule(budget);
    ASSERT_TRUE(static_cast<bool>(s));
    SimulationResult r = mustSimulate(c, *s);
    EXPECT_LE(r.peakBytes, budget);
    EXPECT_EQ(r.computeCost, claimed) << toString(*s);
    EXPECT_TRUE(r.persistent) << toString(*s);
    each(budget, claimed);
  }
}

Chain randomChain(std::mt19937 &rng, unsigned L) {
  return randomChain(rng, L, NeedsInput::None);
}

Chain randomChain(std::mt19937 &rng, unsigned L, NeedsInput needs) {
  std::uniform_int_distribution<int> size(1, 4), extra(0, 3), fw(1, 5),
      bw(0, 3), coin(0, 1);
  Chain c;
  c.inputBytes = size(rng);
  for (unsigned i = 0; i < L; ++i) {
    Stage s;
    s.forwardCost = fw(rng);
    s.backwardCost = bw(rng);
    s.outputBytes = size(rng);
    s.savedBytes = s.outputBytes + extra(rng);
    c.stages.push_back(s);
  }
  // Drawn after the sizes so that NeedsInput::None chains are the ones the
  // seeds always gave.
  for (Stage &s : c.stages)
    s.backwardNeedsInput =
        needs == NeedsInput::All || (needs == NeedsInput::Mixed && coin(rng));
  return c;
}

void addReleaseAndTransients(std::mt19937 &rng, Chain &c) {
  std::uniform_int_distribution<int> coin(0, 1), backward(-2, 4),
      forward(-3, 3);
  for (Stage &s : c.stages) {
    s.backwardReleasesSaved = coin(rng);
    s.backwardTransientBytes = std::max(0, backward(rng));
    s.forwardTransientBytes = std::max(0, forward(rng));
  }
}

void addGradientOnly(std::mt19937 &rng, Chain &c) {
  std::uniform_int_distribution<int> third(0, 2);
  for (Stage &s : c.stages)
    s.backwardReadsGradientOnly = !s.backwardNeedsInput && third(rng) == 0;
}

TEST(StrategiesTest, DPEqualsExhaustiveSearch) {
  std::mt19937 rng(20240601);
  unsigned compared = 0, nonPersistentWins = 0;
  for (int trial = 0; trial < 60; ++trial) {
    Chain c = randomChain(rng, 1 + trial % 5);
    const int64_t least = minimumFeasibleBudget(c);
    const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
    llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
    ASSERT_TRUE(static_cast<bool>(solver));
    // Exact: the unit is the gcd of the sizes, so no rounding.
    for (const Stage &st : c.stages)
      ASSERT_EQ(st.savedBytes % int64_t(solver->unitBytes()), 0);
    // Below the minimum, neither finds anything.
    EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)));
    EXPECT_TRUE(std::isinf(solver->optimalCost(least - 1)));
    ASSERT_NO_FATAL_FAILURE(expectOptimalFrom(
        c, *solver, least, top + 2, trial, [&](int64_t budget, double claimed) {
          // Without the persistence restriction the optimum can only be lower.
          double free = exhaustiveOptimum(c, budget, false);
          EXPECT_LE(free, claimed);
          nonPersistentWins += free < claimed;
          ++compared;
        }));
  }
  EXPECT_GT(compared, 300u);
  // Recorded for docs/Planner.md: how often dropping a checkpoint early and
  // recomputing it beats every persistent schedule.
  std::cout << "[ info ] DP == persistent optimum at " << compared
            << " (chain, budget) pairs; non-persistent schedules were "
               "cheaper at "
            << nonPersistentWins << "\n";
}

// The same comparison when backwards read their input (Rotor's original
// model): every stage, and a random half of them. The exhaustive search
// steps with the simulator, which enforces the rule, so it also checks that
// the DP keeps a^{s-1} exactly as long as it must and no longer.
TEST(StrategiesTest, DPEqualsExhaustiveSearchWhenBackwardReadsInput) {
  std::mt19937 rng(20250117);
  unsigned compared = 0, changed = 0;
  for (NeedsInput needs : {NeedsInput::All, NeedsInput::Mixed}) {
    for (int trial = 0; trial < 50; ++trial) {
      Chain c = randomChain(rng, 1 + trial % 5, needs);
      Chain plain = c;
      for (Stage &st : plain.stages)
        st.backwardNeedsInput = false;
      const int64_t least = minimumFeasibleBudget(c);
      const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
      llvm::Expected<CheckpointDP> plainSolver =
          CheckpointDP::solve(plain, top + 2);
      ASSERT_TRUE(solver && plainSolver);
      EXPECT_GE(least, minimumFeasibleBudget(plain));
      EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)));
      EXPECT_TRUE(std::isinf(solver->optimalCost(least - 1)));
      ASSERT_NO_FATAL_FAILURE(expectOptimalFrom(
          c, *solver, least, top + 2, trial,
          [&](int64_t budget, double claimed) {
            // Reading the input can only make things harder.
            EXPECT_GE(claimed, plainSolver->optimalCost(budget));
            changed += claimed != plainSolver->optimalCost(budget);
            ++compared;
          }));
      // Every other strategy honours the rule too.
      for (const Schedule &other :
           {storeAll(c), recomputeAll(c), sqrtSegments(c)}) {
        SimulationResult r = mustSimulate(c, other);
        EXPECT_TRUE(r.persistent) << toString(other);
        EXPECT_GE(r.peakBytes, least);
      }
      llvm::Expected<Schedule> chen = chenGreedy(c, top);
      ASSERT_TRUE(static_cast<bool>(chen));
      EXPECT_LE(mustSimulate(c, *chen).peakBytes, top);
    }
  }
  EXPECT_GT(compared, 500u);
  EXPECT_GT(changed, 0u);
  std::cout << "[ info ] with backward_needs_input: DP == persistent optimum "
               "at "
            << compared << " (chain, budget) pairs; the flag changed the "
            << "optimal cost at " << changed << "\n";
}

// The same comparison with backwards that release their saved data before
// creating delta^{i-1} and with forward/backward transients, mixed with
// every kind of backward_needs_input. The exhaustive search steps with the
// simulator, so this checks that the DP's feasibility conditions (and
// minimumFeasibleBudget) charge exactly what the simulator charges.
TEST(StrategiesTest, DPEqualsExhaustiveSearchWithReleaseAndTransients) {
  std::mt19937 rng(20250321);
  unsigned compared = 0, changed = 0, chains = 0;
  for (NeedsInput needs :
       {NeedsInput::None, NeedsInput::Mixed, NeedsInput::All}) {
    for (int trial = 0; trial < 30; ++trial, ++chains) {
      Chain c = randomChain(rng, 1 + trial % 5, needs);
      Chain plain = c;
      addReleaseAndTransients(rng, c);
      const int64_t least = minimumFeasibleBudget(c);
      const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
      llvm::Expected<CheckpointDP> plainSolver =
          CheckpointDP::solve(plain, top + 2);
      ASSERT_TRUE(solver && plainSolver);
      // Exact: the unit divides every size, transients included.
      for (const Stage &st : c.stages) {
        ASSERT_EQ(st.savedBytes % int64_t(solver->unitBytes()), 0);
        ASSERT_EQ(st.backwardTransientBytes % int64_t(solver->unitBytes()), 0);
        ASSERT_EQ(st.forwardTransientBytes % int64_t(solver->unitBytes()), 0);
      }
      // minimumFeasibleBudget is tight for the new model too.
      EXPECT_FALSE(std::isinf(exhaustiveOptimum(c, least, true)))
          << "trial " << trial;
      EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)))
          << "trial " << trial;
      EXPECT_TRUE(std::isinf(solver->optimalCost(least - 1)));
      EXPECT_EQ(solver->frontier().front().budgetBytes, uint64_t(least));
      ASSERT_NO_FATAL_FAILURE(expectOptimalFrom(
          c, *solver, least, top + 2, trial,
          [&](int64_t budget, double claimed) {
            changed += claimed != plainSolver->optimalCost(budget);
            ++compared;
          }));
      // The fields change peaks, never validity or persistence.
      for (const Schedule &other :
           {storeAll(c), recomputeAll(c), sqrtSegments(c)}) {
        SimulationResult r = mustSimulate(c, other);
        EXPECT_TRUE(r.persistent) << toString(other);
        EXPECT_GE(r.peakBytes, least);
      }
      llvm::Expected<Schedule> chen = chenGreedy(c, top);
      ASSERT_TRUE(static_cast<bool>(chen));
      EXPECT_LE(mustSimulate(c, *chen).peakBytes, top);
      llvm::Expected<Schedule> tight =
          planSchedule(c, CheckpointStrategy::DP, least);
      ASSERT_TRUE(static_cast<bool>(tight))
          << llvm::toString(tight.takeError());
      EXPECT_EQ(mustSimulate(c, *tight).peakBytes, least);
    }
  }
  EXPECT_GT(compared, 500u);
  EXPECT_GT(changed, 0u);
  std::cout << "[ info ] with backward_releases_saved and transients: DP == "
               "persistent optimum at "
            << compared << " (chain, budget) pairs on " << chains
            << " chains; the fields changed the optimal cost at " << changed
            << "\n";
}

// Hot backwards (B(i) right after F_all(i)) priced apart from cold ones, as
// the measured cost model does: the DP still reaches the persistent optimum
// of the exhaustive search, which prices each backward by the action before
// it, and its schedules simulate at the cost it claims. Some gains are
// larger than the stage's forward. (A hot backward dearer than the cold one
// is refused by Chain::validate: a schedule would then gain by moving
// F_all(1) before B(2), out of the recurrence's reach.)
TEST(StrategiesTest, DPEqualsExhaustiveSearchWithHotBackwards) {
  std::mt19937 rng(20251207);
  std::uniform_int_distribution<int> coin(0, 3);
  unsigned compared = 0, changed = 0;
  for (NeedsInput needs : {NeedsInput::None, NeedsInput::Mixed}) {
    for (int trial = 0; trial < 40; ++trial) {
      Chain c = randomChain(rng, 1 + trial % 5, needs);
      if (trial % 2)
        addReleaseAndTransients(rng, c);
      Chain plain = c;
      for (Stage &st : c.stages)
        if (coin(rng))
          st.hotBackwardCost =
              std::uniform_int_distribution<int>(0, int(st.backwardCost))(rng);
      const int64_t least = minimumFeasibleBudget(c);
      const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
      llvm::Expected<CheckpointDP> plainSolver =
          CheckpointDP::solve(plain, top + 2);
      ASSERT_TRUE(solver && plainSolver);
      ASSERT_NO_FATAL_FAILURE(expectOptimalFrom(
          c, *solver, least, top + 2, trial,
          [&](int64_t budget, double claimed) {
            changed += claimed != plainSolver->optimalCost(budget);
            ++compared;
          }));
    }
  }
  EXPECT_GT(compared, 400u);
  // The hot prices matter: they change the optimum at many budgets.
  EXPECT_GT(changed, compared / 4);
}

// A backward that reads only its gradient and binds the least peak: a
// global pooling from a large input (a^1, 100 bytes) to a 1-byte output
// with a large transient. B(2) holds delta^2 while it creates delta^1 and
// its transient, more than anything else needs, so minimumFeasibleBudget
// must count all three (random chains rarely make that term the binding
// one).
TEST(StrategiesTest, GradientOnlyBackwardBindsTheLeastPeak) {
  Chain c;
  c.inputBytes = 1;
  c.stages = {{1, 1, 100, 100}, {1, 1, 1, 1}};
  c.stages[1].backwardReadsGradientOnly = true;
  c.stages[1].backwardTransientBytes = 500;
  const int64_t least = minimumFeasibleBudget(c);
  EXPECT_GE(least, 1 + 100 + 500);
  EXPECT_FALSE(std::isinf(exhaustiveOptimum(c, least, true)));
  EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)));
  EXPECT_EQ(mustSimulate(c, leastPeakSchedule(c)).peakBytes, least);
}

// Backwards that read only their gradient (backward_reads_gradient_only:
// a flatten's, a global pooling's) need no F_all before them. The DP's back
// branch (B(t) first, then [s, t-1]) and minimumFeasibleBudget reach the
// persistent optimum of the exhaustive search, which steps with the
// simulator's rule; mixed with inputs read, releases, transients and hot
// prices. The simple strategies no longer sweep to such a stage, so they
// cost less than with the flag cleared, and stay persistent.
TEST(StrategiesTest, DPEqualsExhaustiveSearchWithGradientOnlyBackwards) {
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int> coin(0, 1);
  unsigned compared = 0, changed = 0, chains = 0, flagged = 0;
  for (NeedsInput needs : {NeedsInput::None, NeedsInput::Mixed}) {
    for (int trial = 0; trial < 40; ++trial, ++chains) {
      Chain c = randomChain(rng, 1 + trial % 5, needs);
      if (trial % 2)
        addReleaseAndTransients(rng, c);
      if (trial % 4 >= 2)
        for (Stage &st : c.stages)
          st.hotBackwardCost =
              std::uniform_int_distribution<int>(0, int(st.backwardCost))(rng);
      Chain plain = c;
      addGradientOnly(rng, c);
      for (const Stage &st : c.stages)
        flagged += st.backwardReadsGradientOnly;
      const int64_t least = minimumFeasibleBudget(c);
      const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
      llvm::Expected<CheckpointDP> plainSolver =
          CheckpointDP::solve(plain, top + 2);
      ASSERT_TRUE(solver && plainSolver);
      EXPECT_LE(least, minimumFeasibleBudget(plain));
      EXPECT_FALSE(std::isinf(exhaustiveOptimum(c, least, true)))
          << "trial " << trial << "\n"
          << llvm::formatv("{0}", toJSON(c)).str();
      EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)))
          << "trial " << trial;
      EXPECT_EQ(mustSimulate(c, leastPeakSchedule(c)).peakBytes, least);
      ASSERT_NO_FATAL_FAILURE(expectOptimalFrom(
          c, *solver, least, top + 2, trial,
          [&](int64_t budget, double claimed) {
            // Needing less can only help.
            EXPECT_LE(claimed, plainSolver->optimalCost(budget));
            changed += claimed != plainSolver->optimalCost(budget);
            ++compared;
          }));
      for (const Schedule &other :
           {storeAll(c), recomputeAll(c), sqrtSegments(c)}) {
        SimulationResult r = mustSimulate(c, other);
        EXPECT_TRUE(r.persistent) << toString(other);
        EXPECT_GE(r.peakBytes, least);
      }
      // recompute-all runs no forward for a flagged backward.
      EXPECT_LE(mustSimulate(c, recomputeAll(c)).forwardSteps,
                mustSimulate(plain, recomputeAll(plain)).forwardSteps);
      llvm::Expected<Schedule> chen = chenGreedy(c, top);
      ASSERT_TRUE(static_cast<bool>(chen));
      EXPECT_LE(mustSimulate(c, *chen).peakBytes, top);
    }
  }
  EXPECT_GT(compared, 400u);
  EXPECT_GT(flagged, 50u);
  EXPECT_GT(changed, compared / 10);
  std::cout << "[ info ] with backward_reads_gradient_only: DP == persistent "
               "optimum at "
            << compared << " (chain, budget) pairs on " << chains
            << " chains; the flag changed the optimal cost at " << changed
            << "\n";
}

// The recompute-all and segment schedules of a chain whose middle stage is
// a flatten: no sweep for its backward, and a segment of flattens alone
// runs no forward (its input checkpoint goes after its backward).
TEST(StrategiesTest, SimpleStrategiesSkipGradientOnlyBackwards) {
  Chain c = makeUniformChain(4);
  c.stages[2].backwardReadsGradientOnly = true;
  EXPECT_EQ(toString(recomputeAll(c)),
            "F_ck 1, F_n 2, F_n 3, F_all 4, Discard a3, B 4, B 3, "
            "F_ck 1, F_all 2, Discard a1, B 2, F_all 1, B 1");
  SimulationResult r = mustSimulate(c, recomputeAll(c));
  EXPECT_EQ(r.forwardSteps, 7u); // 10 without the flag
  EXPECT_EQ(mustSimulate(makeUniformChain(4), recomputeAll(makeUniformChain(4)))
                .forwardSteps,
            10u);
  // One stage a segment: the flatten's runs no forward.
  EXPECT_EQ(toString(sqrtSegments(c, 4)),
            "F_ck 1, F_ck 2, F_ck 3, F_all 4, Discard a3, B 4, B 3, "
            "Discard a2, F_all 2, Discard a1, B 2, F_all 1, B 1");
  r = mustSimulate(c, sqrtSegments(c, 4));
  EXPECT_TRUE(r.persistent);
  EXPECT_EQ(r.forwardSteps, 6u);
  // Segments {1, 2}, {3, 4} with stage 2 flagged too: the first segment's
  // forwards stop at stage 1.
  c.stages[1].backwardReadsGradientOnly = true;
  EXPECT_EQ(toString(sqrtSegments(c, 2)),
            "F_ck 1, F_n 2, F_all 3, Discard a2, F_all 4, B 4, B 3, "
            "F_all 1, B 2, B 1");
  r = mustSimulate(c, sqrtSegments(c, 2));
  EXPECT_TRUE(r.persistent);
  EXPECT_EQ(r.forwardSteps, 5u);
}

// Hot backwards on long chains, where the fill runs in vectors with its
// pruning bounds: every schedule simulates at the cost the table claims, a
// hot price equal to the cold one changes no plan, and store-all runs B(L)
// (only) hot.
TEST(StrategiesTest, HotBackwardsOnLongChains) {
  std::mt19937 rng(7122025);
  std::uniform_real_distribution<double> gain(0, 1.5);
  for (unsigned L : {17u, 40u, 90u}) {
    Chain c = randomChain(rng, L, NeedsInput::Mixed);
    Chain same = c, hot = c;
    for (Stage &st : same.stages)
      st.hotBackwardCost = st.backwardCost;
    for (Stage &st : hot.stages)
      st.hotBackwardCost =
          std::max(0.0, st.backwardCost - gain(rng) * st.forwardCost);
    const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
    const int64_t least = minimumFeasibleBudget(c);
    EXPECT_EQ(mustSimulate(same, storeAll(same)).computeCost, same.baseCost());
    EXPECT_DOUBLE_EQ(mustSimulate(hot, storeAll(hot)).computeCost,
                     hot.baseCost());
    EXPECT_DOUBLE_EQ(hot.baseCost() - c.baseCost(),
                     *hot.stages.back().hotBackwardCost -
                         hot.stages.back().backwardCost);
    for (int64_t budget = least; budget < top;
         budget += std::max<int64_t>(1, (top - least) / 7)) {
      llvm::Expected<Schedule> a = dp(c, budget), b = dp(same, budget),
                               h = dp(hot, budget);
      ASSERT_TRUE(a && b && h);
      EXPECT_EQ(toString(*a), toString(*b))
          << "L " << L << " budget " << budget;
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(hot, budget);
      ASSERT_TRUE(static_cast<bool>(solver));
      SimulationResult r = mustSimulate(hot, *h);
      EXPECT_LE(r.peakBytes, budget);
      // Float tables: the claim is the simulated cost to float precision.
      EXPECT_NEAR(r.computeCost, solver->optimalCost(budget),
                  1e-5 * r.computeCost);
      // No cheaper than the cold-priced plan, re-priced hot, can be.
      EXPECT_LE(r.computeCost, mustSimulate(hot, *a).computeCost * (1 + 1e-5));
    }
  }
}

// A release lowers the least budget exactly by what B no longer holds, and a
// transient raises it when it lands on the binding action.
TEST(StrategiesTest, ReleaseAndTransientsMoveTheMinimumBudget) {
  // Uniform 3-stage chain of 1-byte values: the least peak is 3 (delta, and
  // two values alive in any action: the sweep's input and output, or abar
  // and the new delta).
  Chain u = makeUniformChain(3, 1);
  EXPECT_EQ(minimumFeasibleBudget(u), 3);
  // Releasing abar^i in B only removes one of the binding actions: the
  // sweep F_ck 1, F_n 2 still holds delta3, a1 and a2, and without a sweep
  // F_all 1, F_all 2 holds delta3, abar1, abar2. Still 3.
  Chain released = u;
  for (Stage &st : released.stages)
    st.backwardReleasesSaved = true;
  EXPECT_EQ(minimumFeasibleBudget(released), 3);
  // A backward transient of 1 on every stage: B i held abar^i, delta^i,
  // delta^{i-1} (3) and now also dW_i: 4. Released first: 3 again.
  Chain dw = u;
  for (Stage &st : dw.stages)
    st.backwardTransientBytes = 1;
  EXPECT_EQ(minimumFeasibleBudget(dw), 4);
  EXPECT_EQ(exhaustiveOptimum(dw, 3, true), INFINITY);
  for (Stage &st : dw.stages)
    st.backwardReleasesSaved = true;
  EXPECT_EQ(minimumFeasibleBudget(dw), 3);
  llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(dw, 3);
  ASSERT_TRUE(static_cast<bool>(solver));
  EXPECT_EQ(solver->optimalCost(3), exhaustiveOptimum(dw, 3, true));
  // A forward transient on stage 2 only: any forward of stage 2 holds delta3,
  // its input, its output and the transient.
  Chain ft = u;
  ft.stages[1].forwardTransientBytes = 2;
  EXPECT_EQ(minimumFeasibleBudget(ft), 5);
  EXPECT_EQ(exhaustiveOptimum(ft, 4, true), INFINITY);
  EXPECT_FALSE(std::isinf(exhaustiveOptimum(ft, 5, true)));
}

// The limitation made concrete: a 4-stage chain where freeing checkpoint a1
// early (and recomputing it) beats every persistent schedule.
TEST(StrategiesTest, NonPersistentCounterexample) {
  Chain c;
  c.inputBytes = 2;
  c.stages = {{3, 0, 1, 4}, {1, 0, 4, 5}, {3, 0, 4, 4}, {1, 0, 3, 3}};
  Schedule better{Action::fck(1),
                  Action::fck(2),
                  Action::fn(3),
                  Action::fall(4),
                  Action::discard(ValueKind::Activation, 3),
                  Action::backward(4),
                  Action::fn(2),
                  Action::fall(3),
                  Action::discard(ValueKind::Activation, 2),
                  Action::backward(3),
                  Action::fck(1),
                  Action::fall(2),
                  Action::backward(2),
                  Action::fall(1),
                  Action::backward(1)};
  SimulationResult r = mustSimulate(c, better);
  EXPECT_LE(r.peakBytes, 12);
  EXPECT_FALSE(r.persistent);
  EXPECT_EQ(r.computeCost, 19);
  EXPECT_EQ(exhaustiveOptimum(c, 12, false), 19);
  EXPECT_EQ(exhaustiveOptimum(c, 12, true), 22);
  llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, 12);
  ASSERT_TRUE(static_cast<bool>(solver));
  EXPECT_EQ(solver->optimalCost(12), 22);
}

// Why persistence rule (4) exists. Stage 5's forward holds a 2-byte
// transient that its backward does not, so F_all 5 needs more room than
// B 5. The schedule below holds only the 1-byte a2 through F_all 5, then
// recomputes a3 from it *before* B 5 (F_n 3 goes back from stage 5 with no
// backward in between) and keeps the 3-byte a3 through B 5 instead. Rotor's
// recurrence never goes back within a forward phase; in the default model
// F_all t and B t hold the same bytes, so it never has to.
TEST(StrategiesTest, GoingBackBeforeABackwardCounterexample) {
  llvm::Expected<Chain> c = parseChainJSON(R"({"input_bytes":4,"stages":[
    {"backward_cost":3,"backward_releases_saved":true,"forward_cost":2,
     "forward_transient_bytes":2,"output_bytes":2,"saved_bytes":4},
    {"backward_cost":1,"backward_releases_saved":true,"forward_cost":2,
     "output_bytes":1,"saved_bytes":1},
    {"backward_cost":3,"backward_transient_bytes":1,"forward_cost":5,
     "output_bytes":3,"saved_bytes":4},
    {"backward_cost":1,"backward_releases_saved":true,"forward_cost":1,
     "output_bytes":3,"saved_bytes":5},
    {"backward_cost":1,"backward_transient_bytes":1,"forward_cost":3,
     "forward_transient_bytes":2,"output_bytes":1,"saved_bytes":3}]})");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  Schedule back{Action::fck(1),      Action::fn(2),
                Action::fck(3),      Action::fn(4),
                Action::fall(5),     Action::discard(ValueKind::Activation, 4),
                Action::fn(3),       Action::backward(5),
                Action::fall(4),     Action::discard(ValueKind::Activation, 3),
                Action::backward(4), Action::fck(1),
                Action::fall(2),     Action::discard(ValueKind::Activation, 1),
                Action::fall(3),     Action::backward(3),
                Action::backward(2), Action::fall(1),
                Action::backward(1)};
  SimulationResult r = mustSimulate(*c, back);
  EXPECT_EQ(r.peakBytes, 11);
  EXPECT_EQ(r.computeCost, 39);
  EXPECT_FALSE(r.persistent);
  MemoryState m(*c);
  for (size_t k = 0; k < 6; ++k)
    ASSERT_TRUE(static_cast<bool>(m.apply(back[k], true)));
  llvm::Expected<int64_t> bad = m.apply(back[6], /*requirePersistent=*/true);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "forward of stage 3 after a forward of stage 5 with no backward "
            "in between (non-persistent)");
  // The persistent optimum, which the DP finds, recomputes a1 and a2 instead.
  EXPECT_EQ(exhaustiveOptimum(*c, 11, true), 43);
  llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(*c, 11);
  ASSERT_TRUE(static_cast<bool>(solver));
  EXPECT_EQ(solver->optimalCost(11), 43);
  EXPECT_LE(exhaustiveOptimum(*c, 11, false), 39);
}

TEST(StrategiesTest, MinimumFeasibleBudgetIsTight) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    Chain c = randomChain(rng, 1 + trial % 5);
    int64_t least = minimumFeasibleBudget(c);
    EXPECT_FALSE(std::isinf(exhaustiveOptimum(c, least, true)));
    EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)));
    EXPECT_LE(least, mustSimulate(c, recomputeAll(c)).peakBytes);
  }
}

/// Rotor's recurrence as docs/Planner.md states it, evaluated the plain way:
/// every entry, every candidate, no pruning, Own always by its own
/// recurrence (also where B(s) reads its input and CheckpointDP copies a
/// shifted Pin instead). Costs are summed in float in the same order as the
/// DP sums them, so for integer costs the two agree exactly. Returns
/// Pin(1, L, m) for every m in [0, M], sizes in units of \p unit bytes.
/// Pin(s, t, m) of the plain recurrence for every segment: [s][t][m].
using PlainTable = std::vector<std::vector<std::vector<float>>>;
PlainTable plainPinTable(const Chain &c, uint64_t unit, unsigned M);

std::vector<float> plainRecurrence(const Chain &c, uint64_t unit, unsigned M) {
  return plainPinTable(c, unit, M)[1][c.length()];
}

PlainTable plainPinTable(const Chain &c, uint64_t unit, unsigned M) {
  const unsigned L = c.length();
  auto units = [&](int64_t bytes) {
    return int64_t((uint64_t(bytes) + unit - 1) / unit);
  };
  auto x = [&](unsigned i) { return units(c.activationBytes(i)); };
  auto cin = [&](unsigned s) { return s == 1 ? 0 : x(s - 1); };
  std::vector<float> F(L + 1, 0);
  double prefix = 0;
  for (unsigned i = 1; i <= L; ++i) {
    prefix += c.stage(i).forwardCost;
    F[i] = float(prefix);
  }
  const float inf = INFINITY;
  // table[o][(s, t)][m], o = 0: Pin, 1: Own.
  std::vector<std::vector<float>> table[2];
  auto at = [&](int o, unsigned s, unsigned t) -> std::vector<float> & {
    return table[o][size_t(s) * (L + 1) + t];
  };
  for (int o = 0; o < 2; ++o)
    table[o].assign(size_t(L + 1) * (L + 1), std::vector<float>(M + 1, inf));
  for (unsigned s = L; s >= 1; --s) {
    for (unsigned t = s; t <= L; ++t) {
      for (int o = 0; o < 2; ++o) {
        const Stage &st = c.stage(s);
        const int64_t base = o ? cin(s) : 0;
        const int64_t keep = o && st.backwardNeedsInput ? cin(s) : 0;
        const int64_t saved = units(c.savedBytes(s));
        const int64_t back = (st.backwardReleasesSaved ? 0 : saved) + x(s) +
                             x(s - 1) + units(st.backwardTransientBytes);
        const int64_t chainLo = std::max(
            base + x(t) + saved + units(st.forwardTransientBytes), keep + back);
        for (int64_t m = 0; m <= M; ++m) {
          float best = inf;
          const float fs = F[s] - F[s - 1];
          // B(s) right after F_all(s) is hot: its gain over the cold price
          // (the DP adds every backward at its cold price afterwards).
          const float gain = float(st.backwardCostOf(true) - st.backwardCost);
          if (m >= chainLo)
            best = s == t ? fs + gain : fs + at(0, s + 1, t)[m - saved - keep];
          int64_t peak = 0;
          for (unsigned j = s + 1; j <= t; ++j) {
            const unsigned k = j - 1;
            peak = std::max(peak, x(k) + (k > s ? x(k - 1) : 0) +
                                      units(c.stage(k).forwardTransientBytes));
            if (base + x(t) + peak > m)
              break;
            const float sweep = F[j - 1] - F[s - 1];
            best = std::min(best,
                            sweep + at(o, s, j - 1)[m] + at(1, j, t)[m - base]);
          }
          // back: B(t) reads only delta^t, so it runs first (cold), then
          // [s, t-1]; the empty segment costs 0.
          const Stage &last = c.stage(t);
          if (last.backwardReadsGradientOnly &&
              m >= base + x(t) + x(t - 1) + units(last.backwardTransientBytes))
            best = std::min(best, s == t ? 0.f : at(o, s, t - 1)[m]);
          at(o, s, t)[m] = best;
        }
      }
    }
  }
  PlainTable pin(L + 1, std::vector<std::vector<float>>(L + 1));
  for (unsigned s = 1; s <= L; ++s)
    for (unsigned t = s; t <= L; ++t)
      pin[s][t] = at(0, s, t);
  return pin;
}

// The DP's pruning, its budget-major fill and its shortcut for inputs that a
// backward reads change no entry: on chains long enough for its vectorised
// leaf scans (L up to 48), the optimal cost at every budget equals the plain
// recurrence's, bit for bit.
TEST(StrategiesTest, DPEqualsPlainRecurrence) {
  std::mt19937 rng(31337), flags(31338);
  const NeedsInput kinds[] = {NeedsInput::None, NeedsInput::Mixed,
                              NeedsInput::All};
  unsigned compared = 0;
  for (int trial = 0; trial < 48; ++trial) {
    Chain c = randomChain(rng, 20 + trial % 29, kinds[trial % 3]);
    if (trial % 2)
      addReleaseAndTransients(rng, c);
    if (trial >= 36)
      addGradientOnly(flags, c);
    const SimulationResult all = mustSimulate(c, storeAll(c));
    llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, all.peakBytes);
    ASSERT_TRUE(static_cast<bool>(solver));
    std::vector<float> plain =
        plainRecurrence(c, solver->unitBytes(), solver->units());
    double backward = 0;
    for (const Stage &st : c.stages)
      backward += st.backwardCost;
    for (unsigned m = 0; m <= solver->units(); ++m, ++compared) {
      const double expected =
          std::isinf(plain[m]) ? INFINITY : double(plain[m]) + backward;
      ASSERT_EQ(solver->optimalCost(uint64_t(m) * solver->unitBytes()),
                expected)
          << "trial " << trial << ", L = " << c.length() << ", m = " << m;
    }
  }
  EXPECT_GT(compared, 3000u);
}

// CheckpointDP fills its rows in lane groups of 16 rows and 4 segment ends
// (grouped by their input's size where Own needs scans of its own), and
// prunes blocks of leaves by lower bounds. Chains long enough for several
// groups and ragged last ones, every kind of backward, costs that are not
// integers, transients and releases, and budgets down to the minimum
// (leaves limited by the sweep's room): every optimal cost equals the plain
// recurrence's, bit for bit, and every budget's schedule replays within it
// at that cost.
TEST(StrategiesTest, LaneFillEqualsPlainRecurrence) {
  unsigned compared = 0;
  auto check = [&](const Chain &c, const std::string &name) {
    const SimulationResult all = mustSimulate(c, storeAll(c));
    // A third of store-all: tight enough that long segments recompute.
    llvm::Expected<CheckpointDP> solver =
        CheckpointDP::solve(c, uint64_t(all.peakBytes) / 3);
    ASSERT_TRUE(static_cast<bool>(solver));
    const PlainTable table =
        plainPinTable(c, solver->unitBytes(), solver->units());
    // Every entry, not only the whole chain's: most entries are not on the
    // optimal path of any budget, and an error there would go unseen.
    for (unsigned s = 1; s <= c.length(); ++s)
      for (unsigned t = s; t <= c.length(); ++t)
        for (unsigned m = 0; m <= solver->units(); ++m)
          ASSERT_EQ(solver->segmentForwardCost(
                        s, t, uint64_t(m) * solver->unitBytes()),
                    double(table[s][t][m]))
              << name << ", L = " << c.length() << ", entry (" << s << ", " << t
              << ", " << m << ")";
    const std::vector<float> &plain = table[1][c.length()];
    double backward = 0;
    for (const Stage &st : c.stages)
      backward += st.backwardCost;
    for (unsigned m = 0; m <= solver->units(); ++m, ++compared) {
      const uint64_t bytes = uint64_t(m) * solver->unitBytes();
      const double expected =
          std::isinf(plain[m]) ? INFINITY : double(plain[m]) + backward;
      ASSERT_EQ(solver->optimalCost(bytes), expected)
          << name << ", L = " << c.length() << ", m = " << m;
      if (std::isinf(expected))
        continue;
      llvm::Expected<Schedule> s = solver->schedule(bytes);
      ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
      const SimulationResult r = mustSimulate(c, *s);
      EXPECT_LE(r.peakBytes, int64_t(bytes)) << name << ", m = " << m;
      EXPECT_NEAR(r.computeCost, expected, 1e-4 * expected)
          << name << ", m = " << m;
    }
  };

  std::mt19937 rng(4242);
  std::uniform_int_distribution<int> sevenths(0, 6);
  const unsigned lengths[] = {17, 33, 40, 47, 64, 71, 83, 90};
  const NeedsInput kinds[] = {NeedsInput::All, NeedsInput::None,
                              NeedsInput::Mixed};
  for (int trial = 0; trial < 12; ++trial) {
    Chain c = randomChain(rng, lengths[trial % 8], kinds[trial % 3]);
    if (trial % 2)
      addReleaseAndTransients(rng, c);
    if (trial % 4 >= 2)
      for (Stage &st : c.stages) {
        st.forwardCost += sevenths(rng) / 7.0;
        st.backwardCost += sevenths(rng) / 7.0;
      }
    check(c, "trial " + std::to_string(trial));
  }

  // Large early activations and a large last one: a sweep through the early
  // stages does not fit beside delta^L, although the segments on either
  // side of its checkpoint do. Leaves past the sweep's reach must not count.
  for (unsigned L : {20u, 37u}) {
    Chain c;
    c.inputBytes = 4;
    for (unsigned i = 1; i <= L; ++i) {
      const int64_t out = i == L || i <= L / 2 ? 4 : 1;
      c.stages.push_back({1 + double(i % 3), 2, out, out + 1});
      c.stages.back().backwardNeedsInput = true;
    }
    check(c, "large ends, L = " + std::to_string(L));
  }

  // Integer costs of the size of FLOP counts (a 1024-wide layer at batch 256
  // is 5.4e8): sums are rounded in float, so the leaves' block bound needs
  // its rounding margin although every cost is an integer; and costs that
  // span six orders of magnitude.
  for (int trial = 0; trial < 4; ++trial) {
    Chain c = randomChain(rng, 40 + 9 * trial, kinds[trial % 3]);
    std::uniform_int_distribution<int64_t> flops(1, 1 << 12);
    std::uniform_int_distribution<int> decade(-3, 3);
    for (Stage &st : c.stages) {
      if (trial < 2) {
        st.forwardCost = double(flops(rng) << 17);
        st.backwardCost = 2 * st.forwardCost;
      } else {
        st.forwardCost = std::pow(10.0, decade(rng)) * (1 + sevenths(rng));
        st.backwardCost = st.forwardCost;
      }
    }
    check(c, "wide costs, trial " + std::to_string(trial));
  }

  // Hot backwards (measured costs): the one-stage chain branch gains, by up
  // to more than the stage's forward, so some entries are negative; integer
  // gains, then real ones.
  for (int trial = 0; trial < 4; ++trial) {
    Chain c = randomChain(rng, lengths[trial * 2 + 1], kinds[trial % 3]);
    if (trial % 2)
      addReleaseAndTransients(rng, c);
    for (Stage &st : c.stages) {
      st.backwardCost += 6;
      st.hotBackwardCost = trial < 2 ? double(sevenths(rng))
                                     : st.backwardCost * sevenths(rng) / 7;
    }
    check(c, "hot backwards, trial " + std::to_string(trial));
  }

  // Backwards that read only their gradient: the back branch reads the
  // row's segment one shorter, from this tile's columns or the last's.
  std::mt19937 flags(4243);
  for (int trial = 0; trial < 8; ++trial) {
    Chain c = randomChain(flags, lengths[trial], kinds[trial % 3]);
    if (trial % 2)
      addReleaseAndTransients(flags, c);
    if (trial % 4 >= 2)
      for (Stage &st : c.stages) {
        st.backwardCost += 6;
        st.hotBackwardCost = double(sevenths(flags));
      }
    addGradientOnly(flags, c);
    check(c, "gradient-only backwards, trial " + std::to_string(trial));
  }
  EXPECT_GT(compared, 500u);
}

//===----------------------------------------------------------------------===//
// Frontier and discretisation
//===----------------------------------------------------------------------===//

TEST(StrategiesTest, FrontierIsMonotoneAndAchieved) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 10; ++trial) {
    Chain c = randomChain(rng, 6 + trial);
    for (Stage &s : c.stages) { // make the frontier long
      s.outputBytes *= 1000;
      s.savedBytes *= 1000;
    }
    c.inputBytes *= 1000;
    SimulationResult all = mustSimulate(c, storeAll(c));
    llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, all.peakBytes);
    ASSERT_TRUE(static_cast<bool>(solver));
    std::vector<FrontierPoint> f = solver->frontier();
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.back().cost, all.computeCost);
    EXPECT_EQ(f.front().budgetBytes, uint64_t(minimumFeasibleBudget(c)));
    for (size_t k = 0; k < f.size(); ++k) {
      if (k) {
        EXPECT_GT(f[k].budgetBytes, f[k - 1].budgetBytes);
        EXPECT_LT(f[k].cost, f[k - 1].cost);
        // Just below a point the cost is still the previous one.
        EXPECT_EQ(solver->optimalCost(f[k].budgetBytes - 1), f[k - 1].cost);
      }
      llvm::Expected<Schedule> s = solver->schedule(f[k].budgetBytes);
      ASSERT_TRUE(static_cast<bool>(s));
      SimulationResult r = mustSimulate(c, *s);
      EXPECT_LE(uint64_t(r.peakBytes), f[k].budgetBytes);
      EXPECT_EQ(r.computeCost, f[k].cost);
    }
  }
}

void checkCoarseDiscretisation(const Chain &c) {
  SimulationResult all = mustSimulate(c, storeAll(c));
  SimulationResult none = mustSimulate(c, recomputeAll(c));
  double last = INFINITY;
  for (int k = 0; k <= 8; ++k) {
    uint64_t budget = none.peakBytes + (all.peakBytes - none.peakBytes) * k / 8;
    llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, budget, 50);
    ASSERT_TRUE(static_cast<bool>(solver));
    EXPECT_LE(solver->units(), 50u);
    llvm::Expected<Schedule> s = solver->schedule(budget);
    if (!s) {
      // Rounding up can lose the tightest budgets; the message says so.
      EXPECT_NE(llvm::toString(s.takeError()).find("use more slots"),
                std::string::npos);
      continue;
    }
    SimulationResult r = mustSimulate(c, *s);
    EXPECT_LE(uint64_t(r.peakBytes), budget);
    EXPECT_NEAR(r.computeCost, solver->optimalCost(budget), 1e-3);
    // More memory never costs more (up to float rounding of the tables).
    EXPECT_LE(r.computeCost, last + 1e-3);
    last = r.computeCost;
  }
  // With slack for the rounding, the coarse DP finds store-all again.
  llvm::Expected<Schedule> roomy = dp(c, 2 * all.peakBytes, 50);
  ASSERT_TRUE(static_cast<bool>(roomy));
  EXPECT_EQ(mustSimulate(c, *roomy).computeCost, all.computeCost);
}

Chain coarseChain() {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> size(1000, 99999);
  Chain c;
  c.inputBytes = size(rng);
  for (int i = 0; i < 40; ++i) {
    int64_t out = size(rng);
    c.stages.push_back({1.0 + i % 3, 2.0, out, out + size(rng)});
  }
  return c;
}

TEST(StrategiesTest, CoarseDiscretisationStaysWithinBudget) {
  checkCoarseDiscretisation(coarseChain());
}

// Rounding up each size must keep plans within the byte budget when a
// backward releases its saved data (a size that is *not* held) and when
// transients are added: the DP leaves a released abar out of its sums
// instead of subtracting a rounded-up size.
TEST(StrategiesTest, CoarseDiscretisationWithReleaseAndTransients) {
  Chain c = coarseChain();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> size(0, 49999);
  for (unsigned i = 0; i < c.length(); ++i) {
    Stage &st = c.stages[i];
    st.backwardNeedsInput = i % 3 == 0;
    st.backwardReleasesSaved = i % 2 == 0;
    st.backwardTransientBytes = size(rng);
    st.forwardTransientBytes = i % 4 == 0 ? 0 : size(rng);
  }
  checkCoarseDiscretisation(c);
}

// A residue (what B(i) leaves alive to the end of the step, e.g. loss
// scaling's gradients) is held by every later action, and F_all may have a
// transient of its own. Hand-computed on two stages.
TEST(StrategiesTest, ResiduesStayAndForwardAllHasItsOwnTransient) {
  Chain c;
  c.inputBytes = 1;
  c.stages = {Stage{1, 1, 4, 4}, Stage{1, 1, 4, 8}};
  c.stages[0].backwardResidueBytes = 2;
  c.stages[1].backwardResidueBytes = 3;
  c.stages[1].forwardTransientBytes = 6;
  c.stages[1].forwardAllTransientBytes = 1;
  ASSERT_FALSE(static_cast<bool>(c.validate()));
  EXPECT_EQ(c.gradientBytes(2), 4);
  EXPECT_EQ(c.gradientBytes(1), 4 + 3);
  EXPECT_EQ(c.gradientBytes(0), 1 + 3 + 2);
  // Store-all: F_all 2 holds delta^2, abar^1, abar^2 and its own transient
  // (4 + 4 + 8 + 1); B 2 adds delta^1 (20); B 1 starts from abar^1, delta^1
  // and B 2's residue (11) and ends with delta^0 and both residues.
  SimulationResult r = mustSimulate(c, storeAll(c));
  EXPECT_EQ(r.stepBytes, (std::vector<int64_t>{8, 17, 20, 12}));
  EXPECT_EQ(r.peakBytes, 20);
  EXPECT_EQ(r.finalBytes, 1 + 3 + 2);
  // F_n 2 keeps only a^2, and needs the room of forward_transient_bytes.
  MemoryState m(c);
  EXPECT_EQ(llvm::cantFail(m.apply(Action::fck(1))), 8);
  EXPECT_EQ(llvm::cantFail(m.apply(Action::fn(2))), 4 + 4 + 4 + 6);
  // The JSON keeps both fields, and only when set.
  llvm::Expected<Chain> back =
      parseChainJSON(llvm::formatv("{0}", toJSON(c)).str());
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->stages[1].forwardAllTransientBytes, 1);
  EXPECT_EQ(back->stages[0].backwardResidueBytes, 2);
  EXPECT_FALSE(back->stages[0].forwardAllTransientBytes.has_value());
  c.stages[1].backwardResidueBytes = -1;
  EXPECT_TRUE(static_cast<bool>(c.validate()));
  llvm::consumeError(c.validate());
}

// The DP (and minimumFeasibleBudget) charge F_all's own transient exactly
// as the simulator does: on random chains with it, and with releases,
// transients and every kind of backward_needs_input, the DP reaches the
// exhaustive search's persistent optimum at every budget. With residues
// too, its plans still fit their budgets at the cost it claims, and are
// optimal but where a residue makes it pay to run F_all(i) before B(i+1)
// (a schedule outside Rotor's recurrence): counted, never cheaper.
TEST(StrategiesTest, DPEqualsExhaustiveSearchWithResidues) {
  std::mt19937 rng(20251207);
  std::uniform_int_distribution<int64_t> small(0, 3);
  unsigned compared = 0, changed = 0, exact = 0;
  for (NeedsInput needs :
       {NeedsInput::None, NeedsInput::Mixed, NeedsInput::All}) {
    for (int trial = 0; trial < 20; ++trial) {
      Chain c = randomChain(rng, 1 + trial % 5, needs);
      addReleaseAndTransients(rng, c);
      Chain plain = c;
      const bool residues = trial % 2;
      for (Stage &st : c.stages) {
        if (residues)
          st.backwardResidueBytes = small(rng);
        if (small(rng) < 2)
          st.forwardAllTransientBytes = small(rng);
      }
      const int64_t least = minimumFeasibleBudget(c);
      const int64_t top = mustSimulate(c, storeAll(c)).peakBytes;
      EXPECT_EQ(mustSimulate(c, leastPeakSchedule(c)).peakBytes, least);
      if (!residues)
        EXPECT_TRUE(std::isinf(exhaustiveOptimum(c, least - 1, true)));
      llvm::Expected<CheckpointDP> solver = CheckpointDP::solve(c, top + 2);
      ASSERT_TRUE(static_cast<bool>(solver));
      ASSERT_TRUE(solver->isExact());
      for (int64_t budget = least; budget <= top + 2; ++budget) {
        double brute = exhaustiveOptimum(c, budget, true);
        double claimed = solver->optimalCost(budget);
        if (!residues)
          ASSERT_EQ(claimed, brute) << "budget " << budget << "\n"
                                    << llvm::formatv("{0}", toJSON(c)).str();
        EXPECT_GE(claimed, brute);
        exact += claimed == brute;
        llvm::Expected<Schedule> s = solver->schedule(budget);
        ASSERT_TRUE(static_cast<bool>(s));
        SimulationResult r = mustSimulate(c, *s);
        EXPECT_LE(r.peakBytes, budget);
        EXPECT_EQ(r.computeCost, claimed);
        changed += exhaustiveOptimum(plain, budget, true) != brute;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 300u);
  EXPECT_GT(changed, 0u);
  std::cout << "[ info ] with residues and F_all transients: DP == "
               "persistent optimum at "
            << exact << " of " << compared << " (chain, budget) pairs\n";
}

} // namespace
