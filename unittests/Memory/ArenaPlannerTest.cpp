//===- ArenaPlannerTest.cpp - Tests for the arena planner -----------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/ArenaPlanner.h"
#include "nnc/Memory/SyntheticWorkloads.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <iostream>
#include <random>

using namespace nnc::memory;
using llvm::ArrayRef;

namespace {

BufferInterval buf(int64_t id, uint64_t size, int64_t start, int64_t end) {
  BufferInterval buffer;
  buffer.id = id;
  buffer.size = size;
  buffer.start = start;
  buffer.end = end;
  return buffer;
}

BufferInterval reuse(BufferInterval buffer, int64_t donor) {
  buffer.reuseOf = donor;
  return buffer;
}

/// Plans `buffers`, failing the test (and returning an empty plan) on error.
ArenaPlan plan(ArrayRef<BufferInterval> buffers,
               const PlannerOptions &options = {}) {
  llvm::Expected<ArenaPlan> result = planArena(buffers, options);
  if (!result) {
    ADD_FAILURE() << llvm::toString(result.takeError());
    return ArenaPlan();
  }
  return std::move(*result);
}

/// verifyPlan's message, or "" when the plan is valid.
std::string verifyMessage(ArrayRef<BufferInterval> buffers,
                          const ArenaPlan &plan,
                          const PlannerOptions &options = {}) {
  if (llvm::Error error = verifyPlan(buffers, plan, options))
    return llvm::toString(std::move(error));
  return "";
}

uint64_t offsetOf(const ArenaPlan &plan, int64_t id) {
  std::optional<uint64_t> offset = plan.offsetOf(id);
  EXPECT_TRUE(offset.has_value()) << "no offset for id " << id;
  return offset.value_or(~uint64_t(0));
}

//===----------------------------------------------------------------------===//
// Hand examples
//===----------------------------------------------------------------------===//

TEST(ArenaPlanner, EmptyProblem) {
  ArenaPlan p = plan({});
  EXPECT_EQ(p.arenaBytes, 0u);
  EXPECT_EQ(p.maxLiveBytes, 0u);
  EXPECT_EQ(verifyMessage({}, p), "");
}

TEST(ArenaPlanner, DisjointLifetimesShareOffsetZero) {
  std::vector<BufferInterval> buffers = {buf(0, 100, 0, 2), buf(1, 200, 3, 5)};
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(offsetOf(p, 0), 0u);
  EXPECT_EQ(offsetOf(p, 1), 0u);
  // 200 bytes rounded to the 64-byte default alignment.
  EXPECT_EQ(p.arenaBytes, 256u);
  EXPECT_EQ(p.maxLiveBytes, 256u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, OverlappingLifetimesDoNotOverlap) {
  std::vector<BufferInterval> buffers = {buf(0, 64, 2, 5), buf(1, 128, 0, 3)};
  ArenaPlan p = plan(buffers, PlannerOptions::greedyBySize());
  // The larger buffer is placed first, at the bottom.
  EXPECT_EQ(offsetOf(p, 1), 0u);
  EXPECT_EQ(offsetOf(p, 0), 128u);
  EXPECT_EQ(p.arenaBytes, 192u);
  EXPECT_EQ(p.maxLiveBytes, 192u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, RangesAreInclusive) {
  // Both are live at step 2 (one is read there, the other written), so they
  // must not share storage without an in-place hint.
  std::vector<BufferInterval> buffers = {buf(0, 64, 0, 2), buf(1, 64, 2, 4)};
  ArenaPlan p = plan(buffers);
  EXPECT_NE(offsetOf(p, 0), offsetOf(p, 1));
  EXPECT_EQ(p.arenaBytes, 128u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, BestFitPicksSmallestGap) {
  // By step 3 the live buffers Y [1024, 1536) and W [1920, 2240) leave two
  // holes, [0, 1024) left by X and [1536, 1920) left by Z. First fit would
  // put N in the big low hole; best fit takes the 384-byte one and keeps the
  // big hole for something big.
  std::vector<BufferInterval> buffers = {
      buf(/*X*/ 0, 1024, 0, 1), buf(/*Y*/ 1, 512, 1, 5),
      buf(/*Z*/ 2, 384, 0, 1), buf(/*W*/ 3, 320, 0, 5),
      buf(/*N*/ 4, 256, 3, 3)};
  ArenaPlan p = plan(buffers, PlannerOptions::greedyBySize());
  EXPECT_EQ(offsetOf(p, 0), 0u);
  EXPECT_EQ(offsetOf(p, 1), 1024u);
  EXPECT_EQ(offsetOf(p, 2), 1536u);
  EXPECT_EQ(offsetOf(p, 3), 1920u);
  EXPECT_EQ(offsetOf(p, 4), 1536u);
  EXPECT_EQ(p.arenaBytes, 2240u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, GapTooSmallGoesOnTop) {
  // At step 2, W fills most of the hole X leaves below Y; the 192 bytes that
  // remain are too few for Z, which therefore goes on top.
  std::vector<BufferInterval> buffers = {
      buf(/*X*/ 0, 512, 0, 1), buf(/*Y*/ 1, 384, 0, 2), buf(/*W*/ 2, 320, 2, 2),
      buf(/*Z*/ 3, 256, 2, 2)};
  ArenaPlan p = plan(buffers, PlannerOptions::greedyBySize());
  EXPECT_EQ(offsetOf(p, 0), 0u);
  EXPECT_EQ(offsetOf(p, 1), 512u);
  EXPECT_EQ(offsetOf(p, 2), 0u);
  EXPECT_EQ(offsetOf(p, 3), 896u);
  EXPECT_EQ(p.arenaBytes, 1152u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, OtherOrdersRepairGreedyBySize) {
  // GapTooSmallGoesOnTop's problem: greedy by size strands 192 bytes under
  // Y, placing Y first (peak-first order) packs everything into the bound.
  std::vector<BufferInterval> buffers = {buf(0, 512, 0, 1), buf(1, 384, 0, 2),
                                         buf(2, 320, 2, 2), buf(3, 256, 2, 2)};
  ArenaPlan greedy = plan(buffers, PlannerOptions::greedyBySize());
  ArenaPlan best = plan(buffers);
  EXPECT_EQ(greedy.arenaBytes, 1152u);
  EXPECT_EQ(best.arenaBytes, 960u);
  EXPECT_EQ(best.maxLiveBytes, 960u);
  EXPECT_NE(best.order, PlacementOrder::SizeThenStart);
  EXPECT_EQ(verifyMessage(buffers, best), "");
}

TEST(ArenaPlanner, WorkspaceHoleUnderActivations) {
  // A training step in units of 64 KiB: the 7-unit backward workspace wb0 is
  // the largest buffer, so greedy by size puts it at 0, and the 5-unit
  // forward workspace wf0 then opens a hole under the activations. The
  // peak (14 units at step 3) is reachable: a1, a0, a2, g2 stacked, g1 where
  // a1 was, wb0 above g1, wf0 above a0.
  const uint64_t u = 64 << 10;
  std::vector<BufferInterval> buffers = {
      buf(0, 4 * u, 0, 4), buf(1, 5 * u, 0, 0), buf(2, 4 * u, 1, 3),
      buf(3, 2 * u, 2, 3), buf(4, 4 * u, 3, 4), buf(5, 4 * u, 4, 5),
      buf(6, 7 * u, 5, 5)};
  ArenaPlan greedy = plan(buffers, PlannerOptions::greedyBySize());
  ArenaPlan best = plan(buffers);
  EXPECT_EQ(best.maxLiveBytes, 14 * u);
  EXPECT_GT(greedy.arenaBytes, 14 * u);
  EXPECT_EQ(best.arenaBytes, 14 * u);
  EXPECT_EQ(verifyMessage(buffers, best), "");
}

TEST(ArenaPlanner, PeakStackLongestLifeAtTheBottom) {
  // The Fashion CNN's store-all training step (examples/fashion-cnn) as
  // nnc-plan-memory hands it over; sizes are multiples of u = 1605632 bytes
  // but for a few small buffers. Max-live, 19u, is reached at step 79, where
  // 0 (8u, to 108 through 27), 2 (4u, to 92 through 22), 21 (4u, steps
  // 79-81), 1 (2u, to 85) and 18 (1u) must stack without a hole. Largest
  // first puts 21 under 1, so the run 21 frees at step 82 is cut by 1 and
  // 23 (2u, steps 83-97) no longer fits beside 0 and 26 (8u, steps 97-99):
  // 20u. Longest life first leaves 21 and 18 at the top of the stack, and
  // everything packs into 19u.
  std::vector<BufferInterval> buffers = {
      buf(0, 12845056, 2, 99), buf(1, 3211264, 4, 85), buf(2, 6422528, 6, 81),
      buf(3, 1605632, 8, 70), buf(4, 65536, 12, 15),
      reuse(buf(5, 65536, 15, 62), 4), buf(6, 5120, 17, 45),
      buf(7, 512, 21, 34), buf(8, 512, 25, 34), buf(9, 512, 29, 34),
      buf(10, 4, 33, 35), buf(11, 512, 38, 45), buf(12, 512, 42, 45),
      reuse(buf(13, 5120, 45, 58), 6), buf(14, 65536, 48, 62),
      buf(15, 4, 53, 54), buf(16, 40, 57, 60),
      reuse(buf(17, 65536, 62, 74), 5),
      buf(18, 1605632, 65, 79), buf(19, 4, 69, 70), buf(20, 512, 73, 75),
      buf(21, 6422528, 79, 81), reuse(buf(22, 6422528, 81, 92), 2),
      buf(23, 3211264, 83, 97), buf(24, 73728, 85, 94), buf(25, 256, 88, 95),
      buf(26, 12845056, 97, 99), reuse(buf(27, 12845056, 99, 108), 0),
      buf(28, 1152, 101, 110), buf(29, 128, 104, 111)};
  const uint64_t maxLive = 30507008;

  PlannerOptions peakFirst = PlannerOptions::greedyBySize();
  peakFirst.orders = {PlacementOrder::PeakFirst};
  EXPECT_GT(plan(buffers, peakFirst).arenaBytes, maxLive);
  PlannerOptions byLifetime = PlannerOptions::greedyBySize();
  byLifetime.orders = {PlacementOrder::PeakFirstThenLifetime};
  ArenaPlan stacked = plan(buffers, byLifetime);
  EXPECT_EQ(stacked.maxLiveBytes, maxLive);
  EXPECT_EQ(stacked.arenaBytes, maxLive);
  EXPECT_EQ(verifyMessage(buffers, stacked, byLifetime), "");

  // Without the order, neither the other orders nor the local search find
  // the packing (this is the case that motivated it).
  PlannerOptions withoutIt;
  llvm::erase(withoutIt.orders, PlacementOrder::PeakFirstThenLifetime);
  EXPECT_GT(plan(buffers, withoutIt).arenaBytes, maxLive);
  ArenaPlan best = plan(buffers);
  EXPECT_EQ(best.arenaBytes, maxLive);
  EXPECT_EQ(best.order, PlacementOrder::PeakFirstThenLifetime);
  EXPECT_EQ(best.numReusesHonoured(), 5u);
  EXPECT_EQ(verifyMessage(buffers, best), "");
}

TEST(ArenaPlanner, GuidedSearchCrossesPlateau) {
  // A synthetic CNN training step (makeTrainingWorkload) in units of u
  // bytes: max-live is 103u. The orders leave 104u, and so does the plain
  // search: the moves that keep the arena at 104u are all alike to it. The
  // guided one keeps only those that do not let more bytes x steps stick
  // out above the bound, and reaches it.
  const uint64_t u = 1081920;
  std::vector<BufferInterval> buffers = {
      buf(0, 16 * u, 0, 24),  buf(1, 16 * u, 1, 24),  buf(2, 8 * u, 2, 22),
      buf(3, 8 * u, 3, 21),   buf(4, 8 * u, 4, 20),   buf(5, 8 * u, 5, 19),
      buf(6, 8 * u, 6, 18),   buf(7, 8 * u, 7, 18),   buf(8, 8 * u, 8, 16),
      buf(9, 8 * u, 8, 8),    buf(10, 4 * u, 9, 15),  buf(11, 4 * u, 10, 14),
      buf(12, 2 * u, 11, 13), buf(13, 3 * u, 11, 11), buf(14, 2 * u, 12, 13),
      buf(15, 2 * u, 13, 14), buf(16, 1 * u, 14, 14), buf(17, 4 * u, 14, 15),
      buf(18, 4 * u, 15, 16), buf(19, 8 * u, 16, 17), buf(20, 8 * u, 17, 18),
      reuse(buf(21, 8 * u, 18, 19), 20),              buf(22, 12 * u, 19, 19),
      buf(23, 8 * u, 19, 20), buf(24, 8 * u, 20, 21), buf(25, 8 * u, 21, 22),
      buf(26, 8 * u, 22, 23), buf(27, 16 * u, 23, 24),
      reuse(buf(28, 16 * u, 24, 25), 27)};
  PlannerOptions plain;
  plain.guidedSearch = false;
  ArenaPlan wandering = plan(buffers, plain);
  ArenaPlan guided = plan(buffers);
  EXPECT_EQ(guided.maxLiveBytes, 103 * u);
  EXPECT_EQ(wandering.arenaBytes, 104 * u);
  EXPECT_EQ(guided.arenaBytes, 103 * u);
  EXPECT_EQ(verifyMessage(buffers, guided), "");
}

TEST(ArenaPlanner, DeterministicUnderInputOrder) {
  std::mt19937 rng(7);
  std::vector<BufferInterval> buffers =
      makeRandomWorkload(rng, 150, 80, 1 << 16);
  ArenaPlan reference = plan(buffers);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(buffers.begin(), buffers.end(), rng);
    ArenaPlan p = plan(buffers);
    EXPECT_EQ(p.arenaBytes, reference.arenaBytes);
    for (const BufferInterval &buffer : buffers)
      EXPECT_EQ(offsetOf(p, buffer.id), offsetOf(reference, buffer.id));
  }
}

//===----------------------------------------------------------------------===//
// In-place hints
//===----------------------------------------------------------------------===//

TEST(ArenaPlanner, ReuseHintHonoured) {
  // An elementwise op at step 2 reads 0 for the last time and writes 1.
  std::vector<BufferInterval> buffers = {buf(0, 256, 0, 2),
                                         reuse(buf(1, 200, 2, 4), 0)};
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(p.reuse[1], ReuseStatus::Honoured);
  EXPECT_EQ(p.reuse[0], ReuseStatus::NoHint);
  EXPECT_EQ(p.numReusesHonoured(), 1u);
  EXPECT_EQ(offsetOf(p, 0), offsetOf(p, 1));
  EXPECT_EQ(p.arenaBytes, 256u);
  EXPECT_EQ(p.maxLiveBytes, 256u);
  // Without the hand-over both count at step 2.
  EXPECT_EQ(computeMaxLiveBytes(buffers), 512u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, ReuseChainSharesOneSlot) {
  std::vector<BufferInterval> buffers = {
      buf(0, 512, 0, 1), reuse(buf(1, 512, 1, 2), 0),
      reuse(buf(2, 300, 2, 3), 1), buf(3, 64, 0, 3)};
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(p.numReusesHonoured(), 2u);
  EXPECT_EQ(offsetOf(p, 0), offsetOf(p, 1));
  EXPECT_EQ(offsetOf(p, 1), offsetOf(p, 2));
  EXPECT_EQ(p.arenaBytes, 576u);
  EXPECT_EQ(p.maxLiveBytes, 576u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, ReuseHintRefusedWhenIllegal) {
  std::vector<BufferInterval> buffers = {
      buf(0, 256, 0, 3),
      reuse(buf(1, 256, 2, 4), 0), // Donor still live after step 2.
      buf(2, 128, 0, 2),
      reuse(buf(3, 256, 2, 4), 2), // Larger than the donor.
      reuse(buf(4, 64, 0, 1), 42), // No such buffer.
      reuse(buf(5, 64, 0, 1), 5),  // Itself.
      buf(6, 512, 10, 12),
      reuse(buf(7, 256, 12, 13), 6), // Honoured: first by (start, id).
      reuse(buf(8, 256, 12, 14), 6), // Same donor, already taken.
  };
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(p.reuse[1], ReuseStatus::NotAdjacent);
  EXPECT_EQ(p.reuse[3], ReuseStatus::TooLarge);
  EXPECT_EQ(p.reuse[4], ReuseStatus::UnknownDonor);
  EXPECT_EQ(p.reuse[5], ReuseStatus::UnknownDonor);
  EXPECT_EQ(p.reuse[7], ReuseStatus::Honoured);
  EXPECT_EQ(p.reuse[8], ReuseStatus::DonorTaken);
  EXPECT_EQ(p.numReusesHonoured(), 1u);
  EXPECT_NE(offsetOf(p, 0), offsetOf(p, 1));
  EXPECT_NE(offsetOf(p, 2), offsetOf(p, 3));
  EXPECT_EQ(offsetOf(p, 6), offsetOf(p, 7));
  EXPECT_NE(offsetOf(p, 6), offsetOf(p, 8));
  EXPECT_EQ(verifyMessage(buffers, p), "");
  EXPECT_EQ(stringifyReuseStatus(ReuseStatus::TooLarge),
            "buffer larger than donor");
}

TEST(ArenaPlanner, ReuseCycleRefused) {
  // Two single-step buffers at the same step naming each other: honouring
  // both would make a cycle of hand-overs.
  std::vector<BufferInterval> buffers = {reuse(buf(0, 64, 5, 5), 1),
                                         reuse(buf(1, 64, 5, 5), 0)};
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(p.reuse[0], ReuseStatus::Honoured);
  EXPECT_EQ(p.reuse[1], ReuseStatus::WouldCycle);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, ReuseHintsCanBeDisabled) {
  std::vector<BufferInterval> buffers = {buf(0, 256, 0, 2),
                                         reuse(buf(1, 256, 2, 4), 0)};
  PlannerOptions options;
  options.honourReuseHints = false;
  ArenaPlan p = plan(buffers, options);
  EXPECT_EQ(p.reuse[1], ReuseStatus::NoHint);
  EXPECT_NE(offsetOf(p, 0), offsetOf(p, 1));
  EXPECT_EQ(p.arenaBytes, 512u);
  EXPECT_EQ(verifyMessage(buffers, p, options), "");
}

//===----------------------------------------------------------------------===//
// Alignment and input validation
//===----------------------------------------------------------------------===//

TEST(ArenaPlanner, AlignmentRespected) {
  BufferInterval page = buf(0, 100, 0, 1);
  page.alignment = 4096;
  BufferInterval wide = buf(2, 64, 0, 1);
  wide.alignment = 256;
  std::vector<BufferInterval> buffers = {page, buf(1, 300, 0, 1), wide};
  ArenaPlan p = plan(buffers, PlannerOptions::greedyBySize());
  // Footprints: a whole page, 320 and 256 bytes, placed in that order.
  EXPECT_EQ(offsetOf(p, 0), 0u);
  EXPECT_EQ(offsetOf(p, 1), 4096u);
  // 4096 + 320 rounded up to 256.
  EXPECT_EQ(offsetOf(p, 2), 4608u);
  EXPECT_EQ(p.arenaBytes, 4864u);
  // The bound counts rounded sizes but not the padding between buffers.
  EXPECT_EQ(p.maxLiveBytes, 4672u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, DefaultAlignmentOption) {
  std::vector<BufferInterval> buffers = {buf(0, 10, 0, 1), buf(1, 10, 0, 1)};
  PlannerOptions options;
  options.defaultAlignment = 16;
  ArenaPlan p = plan(buffers, options);
  EXPECT_EQ(p.arenaBytes, 32u);
  EXPECT_EQ(footprintOf(buffers[0], options), 16u);
  EXPECT_EQ(verifyMessage(buffers, p, options), "");
}

TEST(ArenaPlanner, ZeroSizedBuffersTakeNoSpace) {
  std::vector<BufferInterval> buffers = {buf(0, 0, 0, 5), buf(1, 64, 0, 5)};
  ArenaPlan p = plan(buffers);
  EXPECT_EQ(p.arenaBytes, 64u);
  EXPECT_EQ(p.maxLiveBytes, 64u);
  EXPECT_EQ(verifyMessage(buffers, p), "");
}

TEST(ArenaPlanner, RejectsMalformedProblems) {
  auto message = [](std::vector<BufferInterval> buffers,
                    PlannerOptions options = {}) {
    llvm::Expected<ArenaPlan> result = planArena(buffers, options);
    if (result)
      return std::string("planned");
    return llvm::toString(result.takeError());
  };
  EXPECT_EQ(message({buf(3, 8, 0, 1), buf(3, 8, 2, 3)}),
            "duplicate buffer id 3");
  EXPECT_NE(message({buf(0, 8, 4, 1)}).find("ends before it starts"),
            std::string::npos);
  BufferInterval odd = buf(0, 8, 0, 1);
  odd.alignment = 48;
  EXPECT_NE(message({odd}).find("not a power of two"), std::string::npos);
  PlannerOptions badDefault;
  badDefault.defaultAlignment = 0;
  EXPECT_NE(message({buf(0, 8, 0, 1)}, badDefault).find("default alignment"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// verifyPlan against corrupted plans
//===----------------------------------------------------------------------===//

class VerifyPlanCorruption : public ::testing::Test {
protected:
  void SetUp() override {
    buffers = {buf(0, 256, 0, 4), buf(1, 128, 2, 6), buf(2, 64, 5, 8),
               reuse(buf(3, 64, 8, 9), 2)};
    good = plan(buffers);
    ASSERT_EQ(verifyMessage(buffers, good), "");
    ASSERT_EQ(good.reuse[3], ReuseStatus::Honoured);
  }
  std::vector<BufferInterval> buffers;
  ArenaPlan good;
};

TEST_F(VerifyPlanCorruption, OverlapOfLiveBuffers) {
  ArenaPlan bad = good;
  bad.offsets[1] = bad.offsets[0];
  std::string message = verifyMessage(buffers, bad);
  EXPECT_NE(message.find("overlaps"), std::string::npos) << message;
  EXPECT_NE(message.find("steps [2, 4]"), std::string::npos) << message;
}

TEST_F(VerifyPlanCorruption, Misaligned) {
  ArenaPlan bad = good;
  bad.offsets[2] += 8;
  bad.offsets[3] += 8;
  std::string message = verifyMessage(buffers, bad);
  EXPECT_NE(message.find("is not 64-byte aligned"), std::string::npos)
      << message;
}

TEST_F(VerifyPlanCorruption, OutsideArena) {
  ArenaPlan bad = good;
  bad.arenaBytes -= 64;
  std::string message = verifyMessage(buffers, bad);
  EXPECT_NE(message.find("outside the arena"), std::string::npos) << message;
}

TEST_F(VerifyPlanCorruption, BogusReuseClaim) {
  // Buffer 1 starts while buffer 0 is still live: no legal hand-over.
  ArenaPlan bad = good;
  bad.reuse[1] = ReuseStatus::Honoured;
  EXPECT_NE(verifyMessage(buffers, bad).find("in-place reuse"),
            std::string::npos);
  // A real hint whose buffers were moved apart.
  ArenaPlan moved = good;
  moved.offsets[3] = moved.offsets[2] + 64;
  moved.arenaBytes =
      std::max<uint64_t>(moved.arenaBytes, moved.offsets[3] + 64);
  EXPECT_NE(verifyMessage(buffers, moved).find("illegal in-place reuse"),
            std::string::npos);
}

TEST_F(VerifyPlanCorruption, DroppedReuseBecomesOverlap) {
  // Without the hand-over, buffers 2 and 3 at one offset collide at step 8.
  ArenaPlan bad = good;
  bad.reuse[3] = ReuseStatus::NotAdjacent;
  EXPECT_NE(verifyMessage(buffers, bad).find("overlaps"), std::string::npos);
}

TEST_F(VerifyPlanCorruption, WrongLowerBoundOrShape) {
  ArenaPlan bad = good;
  bad.maxLiveBytes -= 64;
  EXPECT_NE(verifyMessage(buffers, bad).find("max-live lower bound"),
            std::string::npos);
  ArenaPlan truncated = good;
  truncated.offsets.pop_back();
  EXPECT_NE(verifyMessage(buffers, truncated).find("plan covers"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Randomized properties
//===----------------------------------------------------------------------===//

/// Moves one buffer onto another one it is live with; verifyPlan must notice.
/// Returns false if the plan has no such pair to corrupt.
bool corruptOnePair(ArrayRef<BufferInterval> buffers, ArenaPlan &plan,
                    std::mt19937 &rng) {
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < buffers.size(); ++i)
    for (size_t j = 0; j < buffers.size(); ++j)
      if (i != j && buffers[i].size && buffers[j].size &&
          buffers[i].start <= buffers[j].end &&
          buffers[j].start <= buffers[i].end &&
          // Keep the moved buffer aligned, so only the overlap is wrong.
          footprintOf(buffers[i]) && !buffers[i].reuseOf &&
          !buffers[j].reuseOf && buffers[i].alignment == 0 &&
          plan.offsets[j] % 64 == 0 &&
          std::max(buffers[i].start, buffers[j].start) <
              std::min(buffers[i].end, buffers[j].end))
        pairs.push_back({i, j});
  if (pairs.empty())
    return false;
  auto [i, j] =
      pairs[std::uniform_int_distribution<size_t>(0, pairs.size() - 1)(rng)];
  plan.offsets[i] = plan.offsets[j];
  plan.arenaBytes =
      std::max(plan.arenaBytes, plan.offsets[i] + footprintOf(buffers[i]));
  return true;
}

void checkProperties(ArrayRef<BufferInterval> buffers, const ArenaPlan &p) {
  ASSERT_EQ(verifyMessage(buffers, p), "");
  EXPECT_GE(p.arenaBytes, p.maxLiveBytes);
  // Honoured hand-overs can only lower the bound.
  EXPECT_LE(p.maxLiveBytes, computeMaxLiveBytes(buffers));
  for (const BufferInterval &buffer : buffers)
    EXPECT_GE(p.arenaBytes, footprintOf(buffer));
}

TEST(ArenaPlannerProperty, RandomWorkloads) {
  std::mt19937 rng(20240611);
  unsigned corrupted = 0, honoured = 0;
  double worst = 1.0;
  for (int trial = 0; trial < 400; ++trial) {
    unsigned count = std::uniform_int_distribution<unsigned>(1, 200)(rng);
    unsigned steps = std::uniform_int_distribution<unsigned>(1, 2 * count)(rng);
    uint64_t maxSize = std::vector<uint64_t>{64, 4096, 1 << 20}[trial % 3];
    std::vector<BufferInterval> buffers =
        makeRandomWorkload(rng, count, steps, maxSize);
    ArenaPlan p = plan(buffers);
    SCOPED_TRACE("trial " + std::to_string(trial));
    checkProperties(buffers, p);
    // Greedy by size is one of the candidates, so never better.
    ArenaPlan greedy = plan(buffers, PlannerOptions::greedyBySize());
    checkProperties(buffers, greedy);
    EXPECT_LE(p.arenaBytes, greedy.arenaBytes);
    honoured += p.numReusesHonoured();
    if (p.maxLiveBytes)
      worst = std::max(worst, double(p.arenaBytes) / p.maxLiveBytes);
    ArenaPlan bad = p;
    if (corruptOnePair(buffers, bad, rng)) {
      ++corrupted;
      EXPECT_NE(verifyMessage(buffers, bad), "")
          << "verifyPlan accepted a corrupted plan";
    }
  }
  // The generator must exercise both hand-overs and the corruption check.
  EXPECT_GT(honoured, 100u);
  EXPECT_GT(corrupted, 300u);
  std::cout << "[ random   ] worst arena/max-live over 400 workloads: " << worst
            << "\n";
}

TEST(ArenaPlannerProperty, TrainingWorkloadsNearLowerBound) {
  std::mt19937 rng(1234);
  double worst = 1.0, worstGreedy = 1.0;
  std::string worstCase;
  unsigned honoured = 0, greedyAbove = 0, atBound = 0, aboveOnePercent = 0;
  for (NetworkShape shape : {NetworkShape::MLP, NetworkShape::CNN}) {
    for (int trial = 0; trial < 300; ++trial) {
      unsigned layers = std::uniform_int_distribution<unsigned>(1, 70)(rng);
      std::vector<BufferInterval> buffers =
          makeTrainingWorkload(rng, layers, shape);
      std::string name = (shape == NetworkShape::MLP ? "MLP" : "CNN") +
                         std::string(" trial ") + std::to_string(trial) + " (" +
                         std::to_string(buffers.size()) + " buffers)";
      SCOPED_TRACE(name);
      ArenaPlan p = plan(buffers);
      checkProperties(buffers, p);
      honoured += p.numReusesHonoured();
      double ratio = double(p.arenaBytes) / p.maxLiveBytes;
      EXPECT_LE(ratio, 1.05);
      atBound += p.arenaBytes == p.maxLiveBytes;
      aboveOnePercent += ratio > 1.01;
      if (ratio > worst) {
        worst = ratio;
        worstCase = name;
      }
      // Recorded, not asserted: plain greedy by size misses the target on a
      // few percent of these (see ArenaPlanner.h).
      ArenaPlan greedy = plan(buffers, PlannerOptions::greedyBySize());
      double greedyRatio = double(greedy.arenaBytes) / greedy.maxLiveBytes;
      worstGreedy = std::max(worstGreedy, greedyRatio);
      greedyAbove += greedyRatio > 1.05;
    }
  }
  EXPECT_GT(honoured, 0u);
  // Most of these pack at the bound. 583 do and 5 stay above 1 %; before the
  // peak stack order (PeakFirstThenLifetime) and the search's overhang
  // tie-break, 576 and 8, with the worst at 1.049.
  EXPECT_GE(atBound, 580u);
  EXPECT_LE(aboveOnePercent, 6u);
  EXPECT_LE(worst, 1.025);
  std::cout << "[ training ] worst arena/max-live over 600 workloads: " << worst
            << " (" << worstCase << "), at max-live on " << atBound
            << ", above 1.01 on " << aboveOnePercent
            << "; greedy by size alone: " << worstGreedy << ", above 1.05 on "
            << greedyAbove << "\n";
}

} // namespace
