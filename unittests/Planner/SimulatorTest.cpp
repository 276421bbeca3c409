//===- SimulatorTest.cpp - Memory semantics of schedules ------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Simulator.h"

#include "gtest/gtest.h"

using namespace nnc::planner;

namespace {

/// Three stages with distinct sizes so every term of the accounting shows:
///   a0 = 4;  stage 1: f 1 b 2, a1 = 8, abar1 = 12
///            stage 2: f 2 b 3, a2 = 4, abar2 = 10
///            stage 3: f 3 b 1, a3 = 6, abar3 = 6
Chain handChain() {
  Chain c;
  c.inputBytes = 4;
  c.stages = {{1, 2, 8, 12}, {2, 3, 4, 10}, {3, 1, 6, 6}};
  return c;
}

TEST(SimulatorTest, StoreAllByHand) {
  Chain c = handChain();
  Schedule s{Action::fall(1),     Action::fall(2),     Action::fall(3),
             Action::backward(3), Action::backward(2), Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // delta3 (6) is held from the start; a0 is never counted.
  // F_all: 6+12=18, +10=28, +6=34. B3: 34 + delta2(4) = 38, leaves 26.
  // B2: 26 + delta1(8) = 34, leaves 20. B1: 20 + delta0(4) = 24, leaves 4.
  EXPECT_EQ(r.stepBytes, (std::vector<int64_t>{18, 28, 34, 38, 34, 24}));
  EXPECT_EQ(r.peakBytes, 38);
  EXPECT_EQ(r.finalBytes, 4); // delta0 is counted
  EXPECT_EQ(r.computeCost, 12);
  EXPECT_EQ(r.recomputeCost, 0);
  EXPECT_EQ(r.forwardSteps, 3u);
  EXPECT_TRUE(r.persistent);
}

// Stage 2 as a flatten: B 2 reads only delta2, so it runs without abar2
// (and without a2 or a1); with abar2 held it frees it as before.
TEST(SimulatorTest, BackwardReadingOnlyItsGradientByHand) {
  Chain c = handChain();
  c.stages[1].backwardReadsGradientOnly = true;
  c.stages[1].backwardReleasesSaved = true; // releases only what is held
  Schedule s{Action::fck(1),
             Action::fn(2),
             Action::fall(3),
             Action::discard(ValueKind::Activation, 2),
             Action::backward(3),
             Action::backward(2),
             Action::fall(1),
             Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // F_ck 1: 6+8; F_n 2: 14+4, frees a1 (10); F_all 3: 16; Discard a2: 12;
  // B 3: 12+4, leaves delta2 (4); B 2: 4+8 (nothing of stage 2 held),
  // leaves delta1 (8); F_all 1: 8+12; B 1: 20+4.
  EXPECT_EQ(r.stepBytes,
            (std::vector<int64_t>{14, 18, 16, 12, 16, 12, 20, 24}));
  EXPECT_EQ(r.finalBytes, 4);
  EXPECT_EQ(r.computeCost, 13);
  EXPECT_TRUE(r.persistent);
  // Without the flag B 2 needs abar2.
  Chain plain = handChain();
  SimulationResult bad = simulate(plain, s);
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.error, "step 6 (B 2): abar2 is not in memory");
  // Store-all: B 2 frees abar2 (released before delta1: 34 - 10 + 8).
  Schedule all{Action::fall(1),     Action::fall(2),     Action::fall(3),
               Action::backward(3), Action::backward(2), Action::backward(1)};
  SimulationResult held = simulate(c, all);
  ASSERT_TRUE(held.valid) << held.error;
  EXPECT_EQ(held.stepBytes, (std::vector<int64_t>{18, 28, 34, 38, 24, 24}));
  EXPECT_EQ(held.finalBytes, 4);
}

TEST(SimulatorTest, BackwardReleasesSavedByHand) {
  Chain c = handChain();
  for (Stage &st : c.stages)
    st.backwardReleasesSaved = true;
  Schedule s{Action::fall(1),     Action::fall(2),     Action::fall(3),
             Action::backward(3), Action::backward(2), Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // Forwards as before: 18, 28, 34. B3 releases abar3 before creating
  // delta2: 34 - 6 + 4 = 32, leaves 26 as before. B2: 26 - 10 + 8 = 24,
  // leaves 20. B1: 20 - 12 + 4 = 12, leaves 4.
  EXPECT_EQ(r.stepBytes, (std::vector<int64_t>{18, 28, 34, 32, 24, 12}));
  EXPECT_EQ(r.peakBytes, 34);
  EXPECT_EQ(r.finalBytes, 4);
  EXPECT_EQ(r.computeCost, 12);
  EXPECT_TRUE(r.persistent);
  // The state after B 3 does not depend on the flag.
  const Chain plain = handChain(); // MemoryState keeps a pointer to it
  MemoryState with(c), without(plain);
  for (size_t k = 0; k < 4; ++k) {
    ASSERT_TRUE(static_cast<bool>(with.apply(s[k])));
    ASSERT_TRUE(static_cast<bool>(without.apply(s[k])));
    EXPECT_EQ(with.bytes(), without.bytes());
    EXPECT_EQ(with.key(), without.key());
  }
  EXPECT_EQ(with.bytes(), 26);
}

TEST(SimulatorTest, BackwardTransientByHand) {
  Chain c = handChain();
  c.stages[1].backwardTransientBytes = 5; // dW_2, alive during B 2 only
  Schedule s{Action::fall(1),     Action::fall(2),     Action::fall(3),
             Action::backward(3), Action::backward(2), Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // B2: 26 + delta1 (8) + 5 = 39; the transient is gone afterwards.
  EXPECT_EQ(r.stepBytes, (std::vector<int64_t>{18, 28, 34, 38, 39, 24}));
  EXPECT_EQ(r.peakBytes, 39);
  EXPECT_EQ(r.finalBytes, 4);
  // With stage 2 releasing abar2 first: 26 - 10 + 8 + 5 = 29.
  c.stages[1].backwardReleasesSaved = true;
  r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(r.stepBytes, (std::vector<int64_t>{18, 28, 34, 38, 29, 24}));
  EXPECT_EQ(r.peakBytes, 38);
}

TEST(SimulatorTest, ForwardTransientByHand) {
  Chain c = handChain();
  c.stages[0].forwardTransientBytes = 7;
  c.stages[1].forwardTransientBytes = 3;
  // The schedule of ForwardVariantsFreeDifferently: every forward of
  // stage 1 gains 7 bytes, every forward of stage 2 gains 3, whatever its
  // kind; nothing else changes.
  Schedule s{Action::fck(1),      Action::fn(2),
             Action::fall(3),     Action::discard(ValueKind::Activation, 2),
             Action::backward(3), Action::fck(1),
             Action::fall(2),     Action::discard(ValueKind::Activation, 1),
             Action::backward(2), Action::fall(1),
             Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // F_ck1: 14+7 = 21. F_n2: 18+3 = 21 -> 10. F_all3: 16. Discard a2: 12.
  // B3: 16 -> 4. F_ck1: 12+7 = 19 -> 12. F_all2: 22+3 = 25 -> 22.
  // Discard a1: 14. B2: 22 -> 8. F_all1: 20+7 = 27 -> 20. B1: 24 -> 4.
  EXPECT_EQ(r.stepBytes,
            (std::vector<int64_t>{21, 21, 16, 12, 16, 19, 25, 14, 22, 27, 24}));
  EXPECT_EQ(r.peakBytes, 27);
  EXPECT_EQ(r.finalBytes, 4);
  EXPECT_EQ(r.forwardSteps, 6u);
  EXPECT_TRUE(r.persistent);
}

TEST(SimulatorTest, ReleaseAndTransientWithBackwardReadingInput) {
  // The compiler's layer: B reads its input, releases its saved data before
  // delta^{i-1} exists, and creates dW next to delta^{i-1}.
  Chain c = handChain();
  for (Stage &st : c.stages) {
    st.backwardNeedsInput = true;
    st.backwardReleasesSaved = true;
  }
  c.stages[2].backwardTransientBytes = 2;
  Schedule kept{Action::fck(1),
                Action::fn(2),
                Action::fall(3),
                Action::backward(3),
                Action::discard(ValueKind::Activation, 2),
                Action::fall(1),
                Action::fall(2),
                Action::backward(2),
                Action::backward(1)};
  SimulationResult r = simulate(c, kept);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_TRUE(r.persistent);
  // F_ck1 14, F_n2 18 -> 10, F_all3 16, B3 16 - 6 + 4 + 2 = 16 -> a2 +
  // delta2 = 8 (a2 is read, not freed), Discard a2: 4, F_all1 16, F_all2 26,
  // B2 26 - 10 + 8 = 24 -> 20, B1 20 - 12 + 4 = 12 -> 4.
  EXPECT_EQ(r.stepBytes,
            (std::vector<int64_t>{14, 18, 16, 16, 4, 16, 26, 24, 12}));
  EXPECT_EQ(r.peakBytes, 26);
  EXPECT_EQ(r.finalBytes, 4);
  // Validity is unchanged: B 3 still needs a2.
  Schedule dropped{Action::fck(1), Action::fn(2), Action::fall(3),
                   Action::discard(ValueKind::Activation, 2),
                   Action::backward(3)};
  EXPECT_EQ(simulate(c, dropped).error,
            "step 5 (B 3): stage 3 reads its input a2 "
            "(backward_needs_input), which is not in memory");
}

TEST(SimulatorTest, ForwardVariantsFreeDifferently) {
  Chain c = handChain();
  // F_ck keeps its input, F_n frees it, F_all keeps it.
  Schedule s{Action::fck(1),      Action::fn(2),
             Action::fall(3),     Action::discard(ValueKind::Activation, 2),
             Action::backward(3), Action::fck(1),
             Action::fall(2),     Action::discard(ValueKind::Activation, 1),
             Action::backward(2), Action::fall(1),
             Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  // F_ck1: 6+8=14. F_n2: 14+4=18, frees a1 -> 10. F_all3: 16. Discard a2: 12.
  // B3: 12+4=16 -> 4. F_ck1: 12. F_all2: 22. Discard a1: 14. B2: 22 -> 8.
  // F_all1: 20. B1: 24 -> 4.
  EXPECT_EQ(r.stepBytes,
            (std::vector<int64_t>{14, 18, 16, 12, 16, 12, 22, 14, 22, 20, 24}));
  EXPECT_EQ(r.peakBytes, 24);
  EXPECT_EQ(r.forwardSteps, 6u);
  EXPECT_EQ(r.computeCost, 10 + 6);
  EXPECT_EQ(r.recomputeCost, 4);
  EXPECT_TRUE(r.persistent);
}

TEST(SimulatorTest, AvailableThroughSavedData) {
  Chain c = handChain();
  // a1 lives inside abar1: F_n 2 reads it and must not free abar1.
  Schedule s{Action::fall(1), Action::fn(2), Action::fall(3),
             Action::discard(ValueKind::Activation, 2), Action::backward(3)};
  MemoryState m(c);
  for (const Action &a : s)
    ASSERT_TRUE(static_cast<bool>(m.apply(a)));
  EXPECT_TRUE(m.hasSaved(1));
  EXPECT_FALSE(m.hasActivation(1));
  EXPECT_TRUE(m.isAvailable(1));
  EXPECT_EQ(m.gradientIndex(), 2u);
  EXPECT_EQ(m.bytes(), 12 + 4); // abar1 + delta2
}

std::string errorOf(const Schedule &s) {
  SimulationResult r = simulate(handChain(), s);
  EXPECT_FALSE(r.valid);
  return r.error;
}

TEST(SimulatorTest, RejectsInvalidSchedules) {
  EXPECT_EQ(errorOf({Action::backward(3)}),
            "step 1 (B 3): abar3 is not in memory");
  EXPECT_EQ(errorOf({Action::fck(1), Action::fn(3)}),
            "step 2 (F_n 3): input a2 is not in memory");
  EXPECT_EQ(errorOf({Action::fall(1), Action::fall(2), Action::backward(2)}),
            "step 3 (B 2): needs delta2, but the running gradient is delta3");
  EXPECT_EQ(errorOf({Action::discard(ValueKind::Activation, 0)}),
            "step 1 (Discard a0): a0 is the caller's input and cannot be "
            "discarded");
  EXPECT_EQ(errorOf({Action::fall(1), Action::fall(1)}),
            "step 2 (F_all 1): abar1 is already in memory");
  EXPECT_EQ(errorOf({Action::fall(1), Action::fck(1)}),
            "step 2 (F_ck 1): a1 is already in memory");
  EXPECT_EQ(errorOf({Action::fck(4)}),
            "step 1 (F_ck 4): stage 4 is outside the chain [1, 3]");
  EXPECT_EQ(errorOf({Action::discard(ValueKind::Gradient, 3)}),
            "step 1 (Discard delta3): delta3 is the running gradient and "
            "cannot be discarded");
  EXPECT_EQ(errorOf({Action::fall(1), Action::fall(2), Action::fall(3),
                     Action::backward(3)}),
            "schedule ends before the backward is complete (next is B 2)");
}

TEST(SimulatorTest, FlagsNonPersistentSchedules) {
  Chain c = handChain();
  // a1 survives B3, then F_n 2 frees it although stage 2 still needs it;
  // the schedule must recompute a1 from a0 afterwards.
  Schedule s{Action::fck(1),
             Action::fck(2),
             Action::fall(3),
             Action::discard(ValueKind::Activation, 2),
             Action::backward(3),
             Action::fn(2),
             Action::discard(ValueKind::Activation, 2),
             Action::fck(1),
             Action::fall(2),
             Action::discard(ValueKind::Activation, 1),
             Action::backward(2),
             Action::fall(1),
             Action::backward(1)};
  SimulationResult r = simulate(c, s);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_FALSE(r.persistent);

  MemoryState m(c);
  for (size_t k = 0; k < 5; ++k)
    ASSERT_TRUE(static_cast<bool>(m.apply(s[k], true)));
  llvm::Expected<int64_t> bad = m.apply(s[5], /*requirePersistent=*/true);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "frees checkpoint a1 before stage 2 no longer needs it "
            "(non-persistent)");

  Schedule early{Action::fall(1), Action::discard(ValueKind::Saved, 1)};
  MemoryState m2(c);
  ASSERT_TRUE(static_cast<bool>(m2.apply(early[0], true)));
  EXPECT_FALSE(static_cast<bool>(m2.apply(early[1], true)));
}

/// handChain() whose backwards all read their input.
Chain readingChain() {
  Chain c = handChain();
  for (Stage &st : c.stages)
    st.backwardNeedsInput = true;
  return c;
}

TEST(SimulatorTest, BackwardReadsItsInputWhereItIs) {
  Chain c = readingChain();
  // Store-all: a2 and a1 are inside abar2 and abar1, a0 is the caller's.
  // Reading them costs nothing: the same bytes as without the flag.
  Schedule all{Action::fall(1),     Action::fall(2),     Action::fall(3),
               Action::backward(3), Action::backward(2), Action::backward(1)};
  SimulationResult r = simulate(c, all);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(r.stepBytes, simulate(handChain(), all).stepBytes);

  // A checkpoint a2 kept across B 3 (counted once, where it is stored) and
  // dropped after it.
  Schedule kept{Action::fck(1),
                Action::fn(2),
                Action::fall(3),
                Action::backward(3),
                Action::discard(ValueKind::Activation, 2),
                Action::fall(1),
                Action::fall(2),
                Action::backward(2),
                Action::backward(1)};
  r = simulate(c, kept);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_TRUE(r.persistent);
  // F_ck1 14, F_n2 18 -> 10, F_all3 16, B3 16+4 = 20 -> a2 + delta2 = 8,
  // Discard a2: 4, F_all1 16, F_all2 26, B2 26+8 = 34 -> 20, B1 24.
  EXPECT_EQ(r.stepBytes,
            (std::vector<int64_t>{14, 18, 16, 20, 4, 16, 26, 34, 24}));
}

TEST(SimulatorTest, BackwardMissingItsInputIsRejected) {
  Chain c = readingChain();
  Schedule s{Action::fck(1), Action::fn(2), Action::fall(3),
             Action::discard(ValueKind::Activation, 2), Action::backward(3)};
  SimulationResult r = simulate(c, s);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.error, "step 5 (B 3): stage 3 reads its input a2 "
                     "(backward_needs_input), which is not in memory");
  // Only stage 2 reading its input: B 3 no longer needs a2.
  Chain mixed = handChain();
  mixed.stages[1].backwardNeedsInput = true;
  SimulationResult ok = simulate(mixed, s);
  EXPECT_FALSE(ok.valid); // ends early, but every step was accepted
  EXPECT_EQ(ok.error,
            "schedule ends before the backward is complete (next is B 2)");
}

TEST(SimulatorTest, DroppingAnInputABackwardReadsIsNonPersistent) {
  Chain c = readingChain();
  // a1 is no checkpoint yet, but abar2 exists and B 2 will read a1: freeing
  // it now forces a recomputation later, which Rotor's schedules never do.
  MemoryState m(c);
  ASSERT_TRUE(static_cast<bool>(m.apply(Action::fck(1), true)));
  ASSERT_TRUE(static_cast<bool>(m.apply(Action::fall(2), true)));
  llvm::Expected<int64_t> bad =
      m.apply(Action::discard(ValueKind::Activation, 1), true);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "frees a1 before B 2, which reads it (non-persistent)");
  // Without the flag that is exactly what the DP does.
  Chain hand = handChain();
  MemoryState plain(hand);
  ASSERT_TRUE(static_cast<bool>(plain.apply(Action::fck(1), true)));
  ASSERT_TRUE(static_cast<bool>(plain.apply(Action::fall(2), true)));
  EXPECT_TRUE(static_cast<bool>(
      plain.apply(Action::discard(ValueKind::Activation, 1), true)));

  // A checkpoint kept across B 3 may not go before B 2 even once abar2
  // exists.
  MemoryState k(c);
  for (const Action &a :
       {Action::fck(1), Action::fck(2), Action::fall(3), Action::backward(3),
        Action::discard(ValueKind::Activation, 2), Action::fall(2)})
    ASSERT_TRUE(static_cast<bool>(k.apply(a, true)));
  bad = k.apply(Action::discard(ValueKind::Activation, 1), true);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "frees checkpoint a1 before B 2, which reads it (non-persistent)");
  // After B 2 it may go.
  ASSERT_TRUE(static_cast<bool>(k.apply(Action::backward(2), true)));
  EXPECT_TRUE(static_cast<bool>(
      k.apply(Action::discard(ValueKind::Activation, 1), true)));
}

} // namespace
