//===- NCCLRuntimeTest.cpp - the NCCL runtime against fakes ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// lib/Runtime/NCCL over the fake CUDA driver and the fake NCCL
// (FakeNCCL.cpp: N identical ranks, so an all-reduce multiplies by N): the
// all-reduce and the wait's division go on the CUDA runtime's stream in
// the step's order, inside the step's CUDA graph, and run again in order
// when a capture fails; the mean has the bits the CPU path's
// multiplication by 1/N gives. No GPU, no MPI job.
//
//===----------------------------------------------------------------------===//

#include "../CUDA/FakeCUDA.h"
#include "nnc/Runtime/CUDA/CUDARuntime.h"
#include "nnc/Runtime/NCCL/NCCLRuntime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

using fakecuda::Call;

namespace {

// Set before any test calls a runtime (static initialization).
const bool kFakesSelected =
    setenv("NNC_CUDA_DRIVER", NNC_FAKE_CUDA_DRIVER, /*overwrite=*/1) == 0 &&
    setenv("NNC_NCCL_LIBRARY", NNC_FAKE_NCCL, /*overwrite=*/1) == 0;

// One kernel before the all-reduce and one between its start and its wait,
// as a data-parallel step's backward and update.
const char kStepPTX[] =
    ".version 8.0\n.target sm_90\n.address_size 64\n"
    ".visible .entry k_backward(\n\t.param .u64 k_backward_param_0\n)\n"
    "{\n\tret;\n}\n"
    ".visible .entry k_update(\n\t.param .u64 k_update_param_0\n)\n"
    "{\n\tret;\n}\n";

/// What compiled code does for a step whose one bucket is `bucket`
/// (nnc-gpu-lower-launches over nnc-gpu-lower-all-reduce).
void step(int32_t fn, float *bucket, int64_t count) {
  uint64_t args[1] = {reinterpret_cast<uint64_t>(bucket)};
  if (nncrt_cuda_step_begin(kStepPTX, fn, args, 1))
    return;
  void *params[1] = {&args[0]};
  nncrt_cuda_launch(kStepPTX, 0, "k_backward", 1, 1, 1, 32, 1, 1, params);
  nncrt_nccl_allreduce_start(bucket, count, 0);
  nncrt_cuda_launch(kStepPTX, 1, "k_update", 1, 1, 1, 32, 1, 1, params);
  nncrt_nccl_allreduce_wait(bucket, count, 0);
  nncrt_cuda_step_end(kStepPTX, fn);
}

/// The work the fake device ran, in order (kernels by name).
std::vector<std::string> ran(const std::vector<Call> &log) {
  std::vector<std::string> done;
  for (const Call &c : log)
    if (c.api == "exec")
      done.push_back(c.kernel.empty() ? "all-reduce" : c.kernel);
  return done;
}

size_t count(const std::vector<Call> &log, const std::string &api) {
  size_t n = 0;
  for (const Call &c : log)
    n += c.api == api;
  return n;
}

/// Three ranks: 1/3 is not a power of two, so dividing by 3 and
/// multiplying by 1.0f / 3 give different bits for some values.
constexpr int kRanks = 3;

class NCCLRuntimeTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(kFakesSelected);
    ASSERT_EQ(nnc_cuda_device_count(), 1) << nnc_cuda_error();
    ASSERT_EQ(nnc_cuda_set_device(0), 0) << nnc_cuda_error();
    uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES];
    ASSERT_EQ(nncrt_nccl_get_unique_id(id), 0) << nnc_cuda_error();
    ASSERT_EQ(nncrt_nccl_init_rank(1, kRanks, id), 0) << nnc_cuda_error();
  }
  void SetUp() override {
    nnc_cuda_clear_error();
    nnc_cuda_use_graphs(1);
    fakecuda::reset();
  }
  void TearDown() override { EXPECT_EQ(nnc_cuda_error(), nullptr); }

  /// A bucket of `n` floats on the (fake) device.
  float *bucket(int64_t n) {
    return static_cast<float *>(nnc_cuda_malloc(n * sizeof(float)));
  }
};

TEST_F(NCCLRuntimeTest, KnowsItsRankAndVersion) {
  EXPECT_EQ(nncrt_nccl_rank(), 1);
  EXPECT_EQ(nncrt_nccl_size(), kRanks);
  EXPECT_GE(nncrt_nccl_version(), 20900);
}

// The all-reduce and the division join the step's graph between its
// kernels, in the step's order, and every replay runs them again.
TEST_F(NCCLRuntimeTest, TheStepsGraphHoldsTheAllReduce) {
  float *b = bucket(8);
  uint64_t graphs = nnc_cuda_graph_launch_count();
  step(10, b, 8);
  step(10, b, 8);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  std::vector<Call> log = fakecuda::log();
  EXPECT_EQ(count(log, "cuStreamBeginCapture"), 1u);
  EXPECT_EQ(nnc_cuda_graph_launch_count() - graphs, 2u);
  // Captured, not run, when enqueued; on the runtime's stream.
  for (const Call &c : log)
    if (c.api == "ncclAllReduce") {
      EXPECT_TRUE(c.duringCapture);
      EXPECT_EQ(c.firstParam, reinterpret_cast<uint64_t>(b));
    }
  std::vector<std::string> once = {"k_backward", "all-reduce", "k_update",
                                   "nnc_scale_f32"};
  std::vector<std::string> twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  EXPECT_EQ(ran(log), twice);
  CUstream stream = nullptr;
  for (const Call &c : log)
    if (c.api == "exec") {
      if (!stream)
        stream = c.stream;
      EXPECT_EQ(c.stream, stream);
    }
  nnc_cuda_free(b);
}

// Sum, then one multiplication by 1.0f / N per element: the MPI runtime's
// wait, so both targets average to the same bits.
TEST_F(NCCLRuntimeTest, TheMeanIsTheCPUPathsMultiplication) {
  float scale = 1.0f / static_cast<float>(kRanks);
  std::vector<float> host = {1.0f, 0.1f, -2.5f, 3.0e-39f, 7.0f, 1.0e30f};
  // And the first of 0.37, 0.74, ... whose sum the two round apart.
  for (int k = 1; k < 1000; ++k) {
    float x = 0.37f * k, sum = x * static_cast<float>(kRanks);
    if (sum * scale != sum / static_cast<float>(kRanks)) {
      host.push_back(x);
      break;
    }
  }
  int64_t n = static_cast<int64_t>(host.size());
  float *b = bucket(n);
  ASSERT_EQ(nnc_cuda_memcpy_to_device(b, host.data(), n * sizeof(float)), 0);
  step(11, b, n);
  std::vector<float> back(n);
  ASSERT_EQ(nnc_cuda_memcpy_to_host(back.data(), b, n * sizeof(float)), 0)
      << nnc_cuda_error();
  bool differsFromDivision = false;
  for (int64_t i = 0; i < n; ++i) {
    float sum = host[i] * static_cast<float>(kRanks); // the fake's reduction
    EXPECT_EQ(back[i], sum * scale) << "element " << i;
    differsFromDivision |= sum * scale != sum / static_cast<float>(kRanks);
  }
  // The test tells the two apart.
  EXPECT_TRUE(differsFromDivision);
  nnc_cuda_free(b);
}

// A capture that fails runs the step plainly: the all-reduce with the
// launches, in order, and no error.
TEST_F(NCCLRuntimeTest, AFailedCaptureRunsTheAllReduceInOrder) {
  float *b = bucket(4);
  fakecuda::failNext("cuStreamEndCapture",
                     CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  step(12, b, 4);
  EXPECT_EQ(nnc_cuda_error(), nullptr);
  step(12, b, 4);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  std::vector<std::string> once = {"k_backward", "all-reduce", "k_update",
                                   "nnc_scale_f32"};
  std::vector<std::string> twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  EXPECT_EQ(ran(fakecuda::log()), twice);
  // The failed capture's work is run again once, not twice.
  EXPECT_EQ(count(fakecuda::log(), "ncclAllReduce"), 3u);

  // Without graphs, plain calls in the same order.
  fakecuda::reset();
  nnc_cuda_use_graphs(0);
  step(13, b, 4);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  EXPECT_EQ(ran(fakecuda::log()), once);
  nnc_cuda_free(b);
}

// A wait without its start, or a start twice, is the program's or the
// compiler's mistake: an error, and the step's later launches are skipped.
TEST_F(NCCLRuntimeTest, MismatchedStartAndWaitAreErrors) {
  float *b = bucket(4);
  nnc_cuda_use_graphs(0);
  nncrt_nccl_allreduce_wait(b, 4, 5);
  ASSERT_NE(nnc_cuda_error(), nullptr);
  EXPECT_NE(std::string(nnc_cuda_error()).find("bucket 5 was not started"),
            std::string::npos)
      << nnc_cuda_error();
  nnc_cuda_clear_error();
  nncrt_nccl_allreduce_start(b, 4, 6);
  nncrt_nccl_allreduce_start(b, 4, 6);
  ASSERT_NE(nnc_cuda_error(), nullptr);
  EXPECT_NE(std::string(nnc_cuda_error()).find("bucket 6 is still in flight"),
            std::string::npos)
      << nnc_cuda_error();
  nnc_cuda_clear_error();
  nncrt_nccl_allreduce_wait(b, 4, 6);
  EXPECT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  nnc_cuda_free(b);
}

// The device is chosen before the runtime starts, not after.
TEST_F(NCCLRuntimeTest, TheDeviceIsChosenFirst) {
  EXPECT_EQ(nnc_cuda_set_device(0), 0);
  EXPECT_EQ(nnc_cuda_set_device(1), -1);
  ASSERT_NE(nnc_cuda_error(), nullptr);
  EXPECT_NE(std::string(nnc_cuda_error())
                .find("choose the device before any other nnc_cuda_* call"),
            std::string::npos)
      << nnc_cuda_error();
  nnc_cuda_clear_error();
}

} // namespace
