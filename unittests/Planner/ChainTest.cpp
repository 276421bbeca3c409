//===- ChainTest.cpp - Chain validation, JSON and byte sizes --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace nnc::planner;

namespace {

std::string errorOf(llvm::Expected<Chain> c) {
  if (c)
    return "<no error>";
  return llvm::toString(c.takeError());
}

TEST(ChainTest, ValidateNamesTheStage) {
  Chain c = makeUniformChain(3, 16);
  EXPECT_FALSE(static_cast<bool>(c.validate()));
  c.stages[1].savedBytes = 8;
  EXPECT_EQ(llvm::toString(c.validate()),
            "stage 2: saved_bytes (8) is smaller than output_bytes (16); "
            "saved data includes the output");
  c = makeUniformChain(3, 16);
  c.stages[2].outputBytes = 0;
  EXPECT_EQ(llvm::toString(c.validate()),
            "stage 3: output_bytes must be positive, got 0");
  c = makeUniformChain(3, 16);
  c.inputBytes = -1;
  EXPECT_EQ(llvm::toString(c.validate()),
            "input_bytes must be positive, got -1");
  EXPECT_EQ(llvm::toString(Chain().validate()), "chain has no stages");
}

TEST(ChainTest, JSONRoundTrip) {
  Chain c;
  c.inputBytes = 100;
  c.stages = {{1.5, 2, 10, 30}, {3, 4.25, 20, 20}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << toJSON(c);
  llvm::Expected<Chain> back = parseChainJSON(text);
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->inputBytes, 100);
  ASSERT_EQ(back->length(), 2u);
  EXPECT_EQ(back->stage(1).forwardCost, 1.5);
  EXPECT_EQ(back->stage(2).backwardCost, 4.25);
  EXPECT_EQ(back->stage(1).savedBytes, 30);
  EXPECT_EQ(back->stage(2).outputBytes, 20);
}

TEST(ChainTest, BackwardNeedsInputJSON) {
  // Optional, default false, and only written when set.
  llvm::Expected<Chain> c = parseChainJSON(R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4, "backward_needs_input": true},
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4}]})");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(c->stage(1).backwardNeedsInput);
  EXPECT_FALSE(c->stage(2).backwardNeedsInput);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << toJSON(*c);
  EXPECT_EQ(text, R"({"input_bytes":4,"stages":[{"backward_cost":1,)"
                  R"("backward_needs_input":true,"forward_cost":1,)"
                  R"("output_bytes":4,"saved_bytes":4},{"backward_cost":1,)"
                  R"("forward_cost":1,"output_bytes":4,"saved_bytes":4}]})");
  llvm::Expected<Chain> back = parseChainJSON(text);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_TRUE(back->stage(1).backwardNeedsInput);
  EXPECT_FALSE(back->stage(2).backwardNeedsInput);

  llvm::Expected<Chain> bad = parseChainJSON(
      R"({"input_bytes": 4, "stages": [{"forward_cost": 1,
          "backward_cost": 1, "output_bytes": 4, "saved_bytes": 4,
          "backward_needs_input": 1}]})",
      "b.json");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "b.json: expected boolean at chain.stages[0].backward_needs_input");
}

TEST(ChainTest, BackwardReadsGradientOnlyJSON) {
  llvm::Expected<Chain> c = parseChainJSON(R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4, "backward_reads_gradient_only": true},
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4}]})");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(c->stage(1).backwardReadsGradientOnly);
  EXPECT_FALSE(c->stage(2).backwardReadsGradientOnly);
  // Written only when set.
  std::string text;
  llvm::raw_string_ostream os(text);
  os << toJSON(*c);
  EXPECT_EQ(text, R"({"input_bytes":4,"stages":[{"backward_cost":1,)"
                  R"("backward_reads_gradient_only":true,"forward_cost":1,)"
                  R"("output_bytes":4,"saved_bytes":4},{"backward_cost":1,)"
                  R"("forward_cost":1,"output_bytes":4,"saved_bytes":4}]})");
  llvm::Expected<Chain> back = parseChainJSON(text);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_TRUE(back->stage(1).backwardReadsGradientOnly);
  EXPECT_FALSE(back->stage(2).backwardReadsGradientOnly);
  // A backward reading only its gradient reads no input.
  Chain both = *c;
  both.stages[0].backwardNeedsInput = true;
  llvm::Error e = both.validate();
  ASSERT_TRUE(static_cast<bool>(e));
  EXPECT_EQ(llvm::toString(std::move(e)),
            "stage 1: backward_reads_gradient_only and backward_needs_input "
            "contradict each other");
}

TEST(ChainTest, BackwardReleaseAndTransientsJSON) {
  // All three optional, written only when they differ from the default.
  llvm::Expected<Chain> c = parseChainJSON(R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4, "backward_releases_saved": true,
       "backward_transient_bytes": 12, "forward_transient_bytes": 8},
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4,
       "saved_bytes": 4}]})");
  ASSERT_TRUE(static_cast<bool>(c)) << llvm::toString(c.takeError());
  EXPECT_TRUE(c->stage(1).backwardReleasesSaved);
  EXPECT_EQ(c->stage(1).backwardTransientBytes, 12);
  EXPECT_EQ(c->stage(1).forwardTransientBytes, 8);
  EXPECT_FALSE(c->stage(2).backwardReleasesSaved);
  EXPECT_EQ(c->stage(2).backwardTransientBytes, 0);
  EXPECT_EQ(c->stage(2).forwardTransientBytes, 0);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << toJSON(*c);
  EXPECT_EQ(text, R"({"input_bytes":4,"stages":[{"backward_cost":1,)"
                  R"("backward_releases_saved":true,)"
                  R"("backward_transient_bytes":12,"forward_cost":1,)"
                  R"("forward_transient_bytes":8,"output_bytes":4,)"
                  R"("saved_bytes":4},{"backward_cost":1,)"
                  R"("forward_cost":1,"output_bytes":4,"saved_bytes":4}]})");
  llvm::Expected<Chain> back = parseChainJSON(text);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_TRUE(back->stage(1).backwardReleasesSaved);
  EXPECT_EQ(back->stage(1).backwardTransientBytes, 12);
  EXPECT_EQ(back->stage(1).forwardTransientBytes, 8);
  EXPECT_FALSE(back->stage(2).backwardReleasesSaved);

  auto stageWith = [](const char *field) {
    return std::string(R"({"input_bytes": 4, "stages": [{"forward_cost": 1,
        "backward_cost": 1, "output_bytes": 4, "saved_bytes": 4, )") +
           field + "}]}";
  };
  EXPECT_EQ(errorOf(parseChainJSON(
                stageWith(R"("backward_transient_bytes": -1)"), "t.json")),
            "t.json: must be >= 0 at chain.stages[0].backward_transient_bytes");
  EXPECT_EQ(errorOf(parseChainJSON(
                stageWith(R"("forward_transient_bytes": -2)"), "t.json")),
            "t.json: must be >= 0 at chain.stages[0].forward_transient_bytes");
  EXPECT_EQ(errorOf(parseChainJSON(
                stageWith(R"("forward_transient_bytes": 1.5)"), "t.json")),
            "t.json: expected integer at "
            "chain.stages[0].forward_transient_bytes");
  EXPECT_EQ(errorOf(parseChainJSON(
                stageWith(R"("backward_releases_saved": "yes")"), "t.json")),
            "t.json: expected boolean at "
            "chain.stages[0].backward_releases_saved");

  // validate() checks chains built in code (the compiler's adapter).
  Chain v = makeUniformChain(3, 16);
  v.stages[1].backwardTransientBytes = -4;
  EXPECT_EQ(llvm::toString(v.validate()),
            "stage 2: backward_transient_bytes must be >= 0, got -4");
  v = makeUniformChain(3, 16);
  v.stages[2].forwardTransientBytes = -1;
  EXPECT_EQ(llvm::toString(v.validate()),
            "stage 3: forward_transient_bytes must be >= 0, got -1");
}

TEST(ChainTest, JSONErrorsAreLocated) {
  const char *missing = R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 4, "saved_bytes": 4},
      {"forward_cost": 1, "output_bytes": 4, "saved_bytes": 4}]})";
  EXPECT_EQ(errorOf(parseChainJSON(missing, "m.json")),
            "m.json: missing value at chain.stages[1].backward_cost");

  const char *negative = R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": -4, "saved_bytes": 4}]})";
  EXPECT_EQ(errorOf(parseChainJSON(negative, "n.json")),
            "n.json: must be a positive number of bytes at "
            "chain.stages[0].output_bytes");

  const char *wrongType = R"({"input_bytes": "big", "stages": []})";
  EXPECT_EQ(errorOf(parseChainJSON(wrongType, "t.json")),
            "t.json: expected integer at chain.input_bytes");

  const char *savedSmall = R"({"input_bytes": 4, "stages": [
      {"forward_cost": 1, "backward_cost": 1, "output_bytes": 8, "saved_bytes": 4}]})";
  EXPECT_EQ(errorOf(parseChainJSON(savedSmall, "s.json")),
            "s.json: must be >= output_bytes (saved data includes the "
            "output) at chain.stages[0].saved_bytes");

  EXPECT_EQ(
      errorOf(parseChainJSON(R"({"input_bytes": 4, "stages": []})", "e.json")),
      "e.json: must contain at least one stage at chain.stages");

  std::string malformed = errorOf(parseChainJSON("{\"input_bytes\": 4,", "x"));
  EXPECT_EQ(malformed.rfind("x: malformed JSON: ", 0), 0u) << malformed;
}

TEST(ChainTest, PlanJSONRoundTrip) {
  Chain c = makeUniformChain(5, 8);
  llvm::Expected<Schedule> s = dp(c, 5 * 8);
  ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
  SimulationResult sim = simulate(c, *s);
  llvm::json::Value plan = planToJSON("dp", 40, *s, sim);
  const llvm::json::Object &o = *plan.getAsObject();
  EXPECT_EQ(*o.getString("strategy"), "dp");
  EXPECT_EQ(*o.getInteger("budget_bytes"), 40);
  EXPECT_EQ(*o.getInteger("peak_bytes"), sim.peakBytes);
  EXPECT_EQ(*o.getInteger("forward_steps"), sim.forwardSteps);
  EXPECT_EQ(*o.getNumber("compute_cost"), sim.computeCost);
  // Text -> JSON value -> schedule gives back the same actions.
  std::string text;
  llvm::raw_string_ostream os(text);
  os << plan;
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
  ASSERT_TRUE(static_cast<bool>(parsed));
  llvm::Expected<Schedule> back = scheduleFromJSON(*parsed);
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(*back, *s);
  EXPECT_EQ(toString(*back), toString(*s));
}

TEST(ChainTest, ScheduleJSONErrors) {
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(
      R"([{"op": "F_ck", "stage": 1}, {"op": "Fwd", "stage": 2}])");
  ASSERT_TRUE(static_cast<bool>(v));
  llvm::Expected<Schedule> s = scheduleFromJSON(*v);
  ASSERT_FALSE(static_cast<bool>(s));
  EXPECT_EQ(llvm::toString(s.takeError()),
            "expected one of F_ck, F_n, F_all, B, Discard at schedule[1].op");
}

TEST(ChainTest, ScheduleText) {
  Schedule s{Action::fck(1),      Action::fn(2),
             Action::fall(3),     Action::discard(ValueKind::Activation, 2),
             Action::backward(3), Action::discard(ValueKind::Saved, 4)};
  EXPECT_EQ(toString(s), "F_ck 1, F_n 2, F_all 3, Discard a2, B 3, "
                         "Discard abar4");
}

TEST(ChainTest, ParseByteSize) {
  auto ok = [](const char *t) {
    llvm::Expected<uint64_t> v = parseByteSize(t);
    EXPECT_TRUE(static_cast<bool>(v)) << t;
    return v ? *v : ~0ull;
  };
  EXPECT_EQ(ok("4096"), 4096u);
  EXPECT_EQ(ok("64MiB"), 64ull << 20);
  EXPECT_EQ(ok("64 mib"), 64ull << 20);
  EXPECT_EQ(ok("2K"), 2048u);
  EXPECT_EQ(ok("1.5GiB"), 3ull << 29);
  EXPECT_EQ(ok("10MB"), 10000000u);
  EXPECT_EQ(ok("3kB"), 3000u);
  EXPECT_EQ(ok("7B"), 7u);
  EXPECT_EQ(ok("1TiB"), 1ull << 40);
  auto err = [](const char *t) {
    llvm::Expected<uint64_t> v = parseByteSize(t);
    EXPECT_FALSE(static_cast<bool>(v)) << t;
    return v ? std::string("<none>") : llvm::toString(v.takeError());
  };
  EXPECT_EQ(err(""), "invalid byte size '': empty");
  EXPECT_EQ(err("-5MiB"), "invalid byte size '-5MiB': must not be negative");
  EXPECT_EQ(err("12XB"),
            "invalid byte size '12XB': unknown unit 'XB' (use B, KiB, MiB, "
            "GiB, TiB, kB, MB, GB or TB)");
  EXPECT_EQ(err("1.2.3"), "invalid byte size '1.2.3': expected a number, "
                          "optionally followed by a unit");
  EXPECT_EQ(err("99999999999999999999"),
            "invalid byte size '99999999999999999999': over nnc's limit of "
            "4 EiB");
  EXPECT_EQ(err("20000000TiB"),
            "invalid byte size '20000000TiB': over nnc's limit of 4 EiB");
  // 2^63 and up once wrapped to negative budgets; a fraction of a byte was
  // once read as 2^63.
  EXPECT_EQ(err("9223372036854775808"),
            "invalid byte size '9223372036854775808': over nnc's limit of "
            "4 EiB");
  EXPECT_EQ(ok("4194304TiB"), 1ull << 62);
  EXPECT_EQ(err("4194305TiB"),
            "invalid byte size '4194305TiB': over nnc's limit of 4 EiB");
  EXPECT_FALSE(static_cast<bool>(parseByteSize("0.5"))) << "half a byte";
  llvm::consumeError(parseByteSize("0.5").takeError());
  EXPECT_FALSE(static_cast<bool>(parseByteSize("nan"))) << "NaN";
  llvm::consumeError(parseByteSize("nan").takeError());
}

TEST(ChainTest, FormatByteSize) {
  EXPECT_EQ(formatByteSize(64ull << 20), "64 MiB");
  EXPECT_EQ(formatByteSize(1000), "1000 B");
  EXPECT_EQ(formatByteSize(1536), "1.50 KiB");
  EXPECT_EQ(formatByteSize(0), "0 B");
}

} // namespace

// Measured stage times: a schedule's cost is the store-all step plus each
// recomputation at its own time, whichever forward kind runs first.
TEST(ChainTest, MeasuredCostsPriceRecomputationsAtTheirOwnTime) {
  Chain c = makeUniformChain(3, 8);
  for (Stage &s : c.stages)
    s.backwardCost = 100; // FLOPs
  const double first[] = {1, 2, 3}, again[] = {0.5, 1.5, 2};
  ASSERT_FALSE(errorToBool(setMeasuredCosts(c, first, again, 0.01)));
  // Store-all: each first forward and each backward (1 s) once.
  EXPECT_DOUBLE_EQ(simulate(c, storeAll(c)).computeCost, 6.0 + 3.0);
  // Recompute-all recomputes stage 1 twice and stage 2 once.
  EXPECT_DOUBLE_EQ(simulate(c, recomputeAll(c)).computeCost,
                   9.0 + 2 * 0.5 + 1.5);
  // One time per stage, or an error that says how many.
  Chain d = makeUniformChain(3, 8);
  llvm::Error e = setMeasuredCosts(d, llvm::ArrayRef(first).take_front(2),
                                   llvm::ArrayRef(again).take_front(2), 0.01);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("for a chain of 3 stages"),
            std::string::npos);
}

// Measured backward times per stage: cold where B(i) reads values stored
// long before, hot right after F_all(i). Store-all runs only B(L) hot,
// recompute-all every backward; the first forwards' extra goes to both.
TEST(ChainTest, MeasuredCostsPriceHotAndColdBackwards) {
  Chain c = makeUniformChain(3, 8);
  for (Stage &s : c.stages)
    s.backwardCost = 100; // FLOPs
  const double first[] = {1, 2, 3}, again[] = {0.5, 1.5, 2};
  const double cold[] = {4, 5, 6}, hot[] = {3, 4, 5.5};
  ASSERT_FALSE(
      errorToBool(setMeasuredCosts(c, first, again, 0.001, cold, hot)));
  // 0.1 s of unmarked backward work (FLOPs x rate) and the first forward's
  // extra on both prices.
  EXPECT_DOUBLE_EQ(c.stage(1).backwardCost, 0.1 + 0.5 + 4);
  EXPECT_DOUBLE_EQ(*c.stage(1).hotBackwardCost, 0.1 + 0.5 + 3);
  // Store-all: the first forwards (6), B 3 hot, B 2 and B 1 cold.
  EXPECT_DOUBLE_EQ(simulate(c, storeAll(c)).computeCost,
                   6 + 5.5 + 5 + 4 + 3 * 0.1);
  EXPECT_DOUBLE_EQ(simulate(c, storeAll(c)).computeCost, c.baseCost());
  // Recompute-all: every backward hot, stage 1 recomputed twice, 2 once.
  EXPECT_DOUBLE_EQ(simulate(c, recomputeAll(c)).computeCost,
                   6 + 2 * 0.5 + 1.5 + 5.5 + 4 + 3 + 3 * 0.1);
  // Both lists or neither, one time per stage each.
  Chain d = makeUniformChain(3, 8);
  llvm::Error e = setMeasuredCosts(d, first, again, 0.01, cold,
                                   llvm::ArrayRef(hot).take_front(2));
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e))
                .find("3 cold and 2 hot backward times for a chain of 3"),
            std::string::npos);
  // The JSON keeps the hot price, and only when set.
  llvm::Expected<Chain> back =
      parseChainJSON(llvm::formatv("{0}", toJSON(c)).str());
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_EQ(back->stage(2).hotBackwardCost, c.stage(2).hotBackwardCost);
  EXPECT_EQ(llvm::formatv("{0}", toJSON(makeUniformChain(1))).str().find(
                "hot_backward_cost"),
            std::string::npos);
  // A negative hot price is refused where it is read.
  llvm::Expected<Chain> bad = parseChainJSON(
      R"({"input_bytes": 1, "stages": [{"forward_cost": 1,
          "backward_cost": 1, "output_bytes": 1, "saved_bytes": 1,
          "hot_backward_cost": -1}]})");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("hot_backward_cost"),
            std::string::npos);
  Chain nan = makeUniformChain(2);
  nan.stages[0].hotBackwardCost = std::nan("");
  llvm::Error invalid = nan.validate();
  ASSERT_TRUE(bool(invalid));
  EXPECT_NE(llvm::toString(std::move(invalid)).find("hot_backward_cost"),
            std::string::npos);
}
