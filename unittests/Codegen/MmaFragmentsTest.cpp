//===- MmaFragmentsTest.cpp - mma.sync fragment layouts against the PTX ISA ===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// The expected coordinates are the PTX ISA's formulas for
// mma.m16n8k16 with .f16/.bf16 multiplicands and .f32 accumulators
// (section "Matrix Fragments for mma.m16n8k16 with floating point type"),
// transcribed as written there, independently of MmaFragments.h:
//
//   groupID = %laneid >> 2, threadID_in_group = %laneid % 4
//   A: row = groupID       for ai, 0 <= i < 2 || 4 <= i < 6
//            groupID + 8   otherwise
//      col = threadID_in_group * 2 + (i & 0x1)       for ai, i < 4
//            threadID_in_group * 2 + (i & 0x1) + 8   for ai, i >= 4
//   B: row = threadID_in_group * 2 + (i & 0x1)       for bi, i < 2
//            threadID_in_group * 2 + (i & 0x1) + 8   for bi, i >= 2
//      col = groupID
//   C: row = groupID       for ci, i < 2
//            groupID + 8   for ci, i >= 2
//      col = threadID_in_group * 2 + (i & 0x1)
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/MmaFragments.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

using namespace mlir::nnc::mma;

namespace {
struct Expected {
  int64_t row, col;
};

Expected fromISA(Fragment f, int64_t lane, int64_t i) {
  int64_t groupID = lane >> 2, threadIDInGroup = lane % 4;
  switch (f) {
  case Fragment::A:
    return {(i < 2 || (4 <= i && i < 6)) ? groupID : groupID + 8,
            i < 4 ? threadIDInGroup * 2 + (i & 0x1)
                  : threadIDInGroup * 2 + (i & 0x1) + 8};
  case Fragment::B:
    return {i < 2 ? threadIDInGroup * 2 + (i & 0x1)
                  : threadIDInGroup * 2 + (i & 0x1) + 8,
            groupID};
  case Fragment::C:
    return {i < 2 ? groupID : groupID + 8, threadIDInGroup * 2 + (i & 0x1)};
  }
  return {-1, -1};
}

struct Shape {
  Fragment f;
  int64_t rows, cols;
};
constexpr Shape kShapes[] = {
    {Fragment::A, kM, kK}, {Fragment::B, kK, kN}, {Fragment::C, kM, kN}};
} // namespace

TEST(MmaFragments, MatchesThePTXISATables) {
  for (Shape s : kShapes)
    for (int64_t lane = 0; lane < 32; ++lane)
      for (int64_t i = 0; i < elementsPerLane(s.f); ++i) {
        Coord<int64_t> got = fragmentCoord<int64_t>(s.f, lane, i);
        Expected want = fromISA(s.f, lane, i);
        EXPECT_EQ(got.row, want.row)
            << "fragment " << int(s.f) << " lane " << lane << " element " << i;
        EXPECT_EQ(got.col, want.col)
            << "fragment " << int(s.f) << " lane " << lane << " element " << i;
      }
}

// Every element of each tile is held by exactly one (lane, element): the
// warp's fragments partition the tile.
TEST(MmaFragments, FragmentsPartitionTheTile) {
  for (Shape s : kShapes) {
    std::set<std::pair<int64_t, int64_t>> seen;
    for (int64_t lane = 0; lane < 32; ++lane)
      for (int64_t i = 0; i < elementsPerLane(s.f); ++i) {
        Coord<int64_t> c = fragmentCoord<int64_t>(s.f, lane, i);
        ASSERT_GE(c.row, 0);
        ASSERT_LT(c.row, s.rows);
        ASSERT_GE(c.col, 0);
        ASSERT_LT(c.col, s.cols);
        EXPECT_TRUE(seen.insert({c.row, c.col}).second)
            << "(" << c.row << ", " << c.col << ") held twice";
      }
    EXPECT_EQ(int64_t(seen.size()), s.rows * s.cols);
  }
}

// The kernel loads each multiplicand register (elements 2r, 2r + 1) with one
// 32-bit load: the pair must be adjacent along k, the low element first.
TEST(MmaFragments, RegisterPairsAreContiguousAlongK) {
  for (int64_t lane = 0; lane < 32; ++lane) {
    for (int64_t r = 0; r < 4; ++r) {
      Coord<int64_t> lo = fragmentCoord<int64_t>(Fragment::A, lane, 2 * r),
                     hi = fragmentCoord<int64_t>(Fragment::A, lane, 2 * r + 1);
      EXPECT_EQ(lo.row, hi.row);
      EXPECT_EQ(lo.col + 1, hi.col);
      EXPECT_EQ(lo.col % 2, 0);
    }
    for (int64_t r = 0; r < 2; ++r) {
      Coord<int64_t> lo = fragmentCoord<int64_t>(Fragment::B, lane, 2 * r),
                     hi = fragmentCoord<int64_t>(Fragment::B, lane, 2 * r + 1);
      EXPECT_EQ(lo.col, hi.col);
      EXPECT_EQ(lo.row + 1, hi.row);
      EXPECT_EQ(lo.row % 2, 0);
    }
  }
}
