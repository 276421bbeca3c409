//===- GraphReductionTest.cpp - DAG to chain by articulation points -------===//
//
// Part of nnc. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/GraphReduction.h"

#include "gtest/gtest.h"

using namespace nnc::planner;

namespace {

StageGraph graphOf(std::vector<Stage> stages,
                   std::vector<std::pair<unsigned, unsigned>> edges) {
  StageGraph g(stages.size());
  for (unsigned v = 0; v < stages.size(); ++v)
    g[v] = stages[v];
  for (auto [u, v] : edges)
    boost::add_edge(u, v, g);
  return g;
}

TEST(GraphReductionTest, ResidualBlocks) {
  // 0 -> 1 -> 2 -> 3 -> 4 with a skip 1 -> 3 (a residual block {2, 3}).
  StageGraph g = graphOf({{1, 10, 4, 5},
                          {2, 20, 8, 9},
                          {3, 30, 16, 17},
                          {4, 40, 32, 33},
                          {5, 50, 64, 65}},
                         {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {1, 3}});
  llvm::Expected<ReducedChain> r = reduceToChain(g, 100);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->blocks,
            (std::vector<std::vector<unsigned>>{{0}, {1}, {2, 3}, {4}}));
  const Chain &c = r->chain;
  EXPECT_EQ(c.inputBytes, 100);
  ASSERT_EQ(c.length(), 4u);
  // The residual block sums costs and saved bytes; its output is stage 3's.
  EXPECT_EQ(c.stage(3).forwardCost, 3 + 4);
  EXPECT_EQ(c.stage(3).backwardCost, 30 + 40);
  EXPECT_EQ(c.stage(3).outputBytes, 32);
  EXPECT_EQ(c.stage(3).savedBytes, 17 + 33);
  EXPECT_EQ(c.stage(2).outputBytes, 8);
  EXPECT_EQ(c.stage(4).outputBytes, 64);
}

TEST(GraphReductionTest, DiamondIsOneBlock) {
  // 0 -> {1, 2} -> 3: no interior articulation point, so everything after
  // the source is one block ending at the sink.
  StageGraph g =
      graphOf({{1, 1, 4, 4}, {1, 1, 8, 8}, {2, 2, 8, 12}, {1, 1, 2, 3}},
              {{0, 1}, {0, 2}, {1, 3}, {2, 3}});
  llvm::Expected<ReducedChain> r = reduceToChain(g, 4);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->chain.length(), 2u);
  EXPECT_EQ(r->blocks[0], std::vector<unsigned>{0});
  EXPECT_EQ(r->blocks[1].size(), 3u);
  EXPECT_EQ(r->blocks[1].back(), 3u);
  EXPECT_EQ(r->chain.stage(2).forwardCost, 4);
  EXPECT_EQ(r->chain.stage(2).savedBytes, 8 + 12 + 3);
  EXPECT_EQ(r->chain.stage(2).outputBytes, 2);
}

TEST(GraphReductionTest, BackwardNeedsInputOnlyAtTheBlockInput) {
  // The residual graph of ResidualBlocks. A block's backward reads the
  // block's input when a member that reads it says so; a member reading a
  // value produced inside the block finds it in the block's saved data.
  std::vector<Stage> stages{{1, 10, 4, 5},
                            {2, 20, 8, 9},
                            {3, 30, 16, 17},
                            {4, 40, 32, 33},
                            {5, 50, 64, 65}};
  stages[0].backwardNeedsInput = true; // reads a^0: block 1 reads its input
  stages[3].backwardNeedsInput = true; // reads 1 (block input) and 2
  stages[4].backwardNeedsInput = false;
  StageGraph g = graphOf(stages, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {1, 3}});
  llvm::Expected<ReducedChain> r = reduceToChain(g, 100);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->chain.length(), 4u);
  EXPECT_TRUE(r->chain.stage(1).backwardNeedsInput);
  EXPECT_FALSE(r->chain.stage(2).backwardNeedsInput);
  EXPECT_TRUE(r->chain.stage(3).backwardNeedsInput);
  EXPECT_FALSE(r->chain.stage(4).backwardNeedsInput);

  // A diamond 0 -> {1, 2} -> 3 -> 4: stage 3 reads only 1 and 2, both
  // inside block {1, 2, 3}, so the block does not read its input.
  std::vector<Stage> diamond(5, Stage{1, 1, 4, 4});
  diamond[3].backwardNeedsInput = true;
  r = reduceToChain(graphOf(diamond, {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}}),
                    4);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->blocks,
            (std::vector<std::vector<unsigned>>{{0}, {1, 2, 3}, {4}}));
  EXPECT_FALSE(r->chain.stage(2).backwardNeedsInput);
  // Stage 1 reads a^1 of block {0}: now it does.
  diamond[1].backwardNeedsInput = true;
  r = reduceToChain(graphOf(diamond, {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}}),
                    4);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_TRUE(r->chain.stage(2).backwardNeedsInput);
}

TEST(GraphReductionTest, ReleaseAndTransientsOfBlocks) {
  // The residual graph of ResidualBlocks: a single-stage block keeps its
  // stage's fields; the block {2, 3} takes its largest member's transients
  // and does not release its saved data (which member's backward runs
  // last, and what it can release, is not known at this level).
  std::vector<Stage> stages{{1, 10, 4, 5},
                            {2, 20, 8, 9},
                            {3, 30, 16, 17},
                            {4, 40, 32, 33},
                            {5, 50, 64, 65}};
  for (unsigned v = 0; v < stages.size(); ++v) {
    stages[v].backwardReleasesSaved = true;
    stages[v].backwardTransientBytes = 10 * (v + 1);
    stages[v].forwardTransientBytes = 7 - v;
  }
  StageGraph g = graphOf(stages, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {1, 3}});
  llvm::Expected<ReducedChain> r = reduceToChain(g, 100);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  const Chain &c = r->chain;
  ASSERT_EQ(c.length(), 4u);
  EXPECT_TRUE(c.stage(2).backwardReleasesSaved);
  EXPECT_EQ(c.stage(2).backwardTransientBytes, 20);
  EXPECT_EQ(c.stage(2).forwardTransientBytes, 6);
  EXPECT_FALSE(c.stage(3).backwardReleasesSaved);
  EXPECT_EQ(c.stage(3).backwardTransientBytes, 40);
  EXPECT_EQ(c.stage(3).forwardTransientBytes, 5);
  EXPECT_TRUE(c.stage(4).backwardReleasesSaved);
}

TEST(GraphReductionTest, ChainStaysAChain) {
  StageGraph g =
      graphOf({{1, 1, 4, 4}, {1, 1, 4, 4}, {1, 1, 4, 4}}, {{0, 1}, {1, 2}});
  llvm::Expected<ReducedChain> r = reduceToChain(g, 4);
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r->chain.length(), 3u);
}

TEST(GraphReductionTest, Errors) {
  StageGraph twoSinks =
      graphOf({{1, 1, 4, 4}, {1, 1, 4, 4}, {1, 1, 4, 4}}, {{0, 1}, {0, 2}});
  llvm::Expected<ReducedChain> r = reduceToChain(twoSinks, 4);
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(llvm::toString(r.takeError()),
            "graph: needs exactly one source and one sink, found 1 and 2");

  StageGraph cycle =
      graphOf({{1, 1, 4, 4}, {1, 1, 4, 4}, {1, 1, 4, 4}, {1, 1, 4, 4}},
              {{0, 1}, {1, 2}, {2, 1}, {2, 3}});
  r = reduceToChain(cycle, 4);
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(llvm::toString(r.takeError()), "graph: has a cycle");
}

} // namespace
