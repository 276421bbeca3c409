//===- CostCalibrationTest.cpp - the calibration's block schedule ---------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The cost calibration times the store-all and the recompute-all step in
// alternating blocks, each block calling one step back to back after an
// unrecorded first call. These tests hold the block's size to what its
// contract says: about kCalibrationBlockSeconds of calls, never none (a
// step longer than a block is still timed), never unbounded (a step of
// microseconds, or a clock that read 0).
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/CostCalibration.h"

#include "gtest/gtest.h"

#include <limits>

using namespace mlir::nnc;

namespace {

TEST(CostCalibration, BlockFillsItsTime) {
  // 0.1 s blocks: a 25 ms step (the Fashion CNN's store-all) makes 4 calls,
  // a 42 ms one 2, a 2 ms one 50.
  EXPECT_EQ(calibrationBlockCalls(0.025), 4u);
  EXPECT_EQ(calibrationBlockCalls(0.042), 2u);
  EXPECT_EQ(calibrationBlockCalls(0.002), 50u);
  // Never more than fit: the block's calls take at most its time.
  for (double t : {0.003, 0.007, 0.011, 0.033, 0.049, 0.051, 0.099})
    EXPECT_LE(calibrationBlockCalls(t) * t, kCalibrationBlockSeconds + 1e-12)
        << t;
}

TEST(CostCalibration, BlockAlwaysRecordsACall) {
  // A step longer than a block (32 x 1024's recompute-all, 1.6 s): one
  // recorded call after the unrecorded one, or it would never be timed.
  EXPECT_EQ(calibrationBlockCalls(0.1), 1u);
  EXPECT_EQ(calibrationBlockCalls(0.5), 1u);
  EXPECT_EQ(calibrationBlockCalls(1.6), 1u);
  EXPECT_EQ(calibrationBlockCalls(1e6), 1u);
  EXPECT_EQ(calibrationBlockCalls(std::numeric_limits<double>::infinity()), 1u);
}

TEST(CostCalibration, BlockIsBounded) {
  // Microsecond steps and a clock that read nothing: at most the cap.
  EXPECT_EQ(calibrationBlockCalls(1e-6), kCalibrationMaxBlockCalls);
  EXPECT_EQ(calibrationBlockCalls(1e-12), kCalibrationMaxBlockCalls);
  EXPECT_EQ(calibrationBlockCalls(0.0), kCalibrationMaxBlockCalls);
  EXPECT_EQ(calibrationBlockCalls(-1.0), kCalibrationMaxBlockCalls);
  EXPECT_EQ(calibrationBlockCalls(std::numeric_limits<double>::quiet_NaN()),
            kCalibrationMaxBlockCalls);
}

} // namespace
