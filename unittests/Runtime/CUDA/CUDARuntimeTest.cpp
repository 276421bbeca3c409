//===- CUDARuntimeTest.cpp - the CUDA runtime against a fake driver -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// What CUDA's documented semantics require of lib/Runtime/CUDA, checked
// without a GPU: the runtime loads FakeCUDA.cpp's libcuda.so.1 (through
// NNC_CUDA_DRIVER), which logs every call with its stream and the calling
// thread's context. The runtime is one per process, so each test uses its
// own PTX module or step index.
//
//===----------------------------------------------------------------------===//

#include "FakeCUDA.h"
#include "nnc/Runtime/CUDA/CUDARuntime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using fakecuda::Call;

namespace {

// Set before any test calls the runtime (static initialization).
const bool kDriverSelected =
    setenv("NNC_CUDA_DRIVER", NNC_FAKE_CUDA_DRIVER, /*overwrite=*/1) == 0;

// Two kernels a step launches and one it never does, as the NVPTX backend
// writes them.
#define NNC_TEST_PTX                                                           \
  ".version 8.0\n.target sm_90\n.address_size 64\n"                            \
  ".visible .entry k_first(\n\t.param .u64 k_first_param_0,\n"                 \
  "\t.param .u64 k_first_param_1\n)\n{\n\tret;\n}\n"                           \
  ".visible .entry k_second(\n\t.param .u64 k_second_param_0\n)\n{\n\tret;\n}\n" \
  ".visible .entry k_unused(\n\t.param .u64 k_unused_param_0\n)\n{\n\tret;\n}\n"
const char kStepPTX[] = NNC_TEST_PTX;
const char kLoadPTX[] = NNC_TEST_PTX;

/// What compiled code does for a step on buffers `a` and `b` (see
/// nnc-gpu-lower-launches): step_begin, the launches unless it replayed a
/// graph, step_end.
void step(const char *ptx, int32_t fn, void *a, void *b) {
  uint64_t args[2] = {reinterpret_cast<uint64_t>(a),
                      reinterpret_cast<uint64_t>(b)};
  if (nncrt_cuda_step_begin(ptx, fn, args, 2))
    return;
  void *first[2] = {&args[0], &args[1]};
  nncrt_cuda_launch(ptx, 0, "k_first", 4, 1, 1, 256, 1, 1, first);
  void *second[1] = {&args[1]};
  nncrt_cuda_launch(ptx, 1, "k_second", 2, 1, 1, 128, 1, 1, second);
  nncrt_cuda_step_end(ptx, fn);
}

/// The stream the runtime created (the first cuStreamCreate of the
/// process), found by a copy made through it.
CUstream runtimeStream() {
  static CUstream stream = [] {
    fakecuda::reset();
    void *d = nnc_cuda_malloc(16);
    nnc_cuda_memset(d, 0, 16);
    CUstream s = nullptr;
    for (const Call &c : fakecuda::log())
      if (c.api == "cuMemsetD8Async")
        s = c.stream;
    nnc_cuda_free(d);
    return s;
  }();
  return stream;
}

size_t count(const std::vector<Call> &log, const std::string &api) {
  size_t n = 0;
  for (const Call &c : log)
    n += c.api == api;
  return n;
}

/// The kernels the fake device ran, in order.
std::vector<std::string> ran(const std::vector<Call> &log) {
  std::vector<std::string> kernels;
  for (const Call &c : log)
    if (c.api == "exec")
      kernels.push_back(c.kernel);
  return kernels;
}

class CUDARuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(kDriverSelected);
    ASSERT_EQ(nnc_cuda_available(), 1) << nnc_cuda_error();
    ASSERT_NE(runtimeStream(), nullptr);
    nnc_cuda_clear_error();
    nnc_cuda_use_graphs(1);
    fakecuda::reset();
  }
  void TearDown() override { EXPECT_EQ(nnc_cuda_error(), nullptr); }
};

TEST_F(CUDARuntimeTest, UsesTheFakeDriver) {
  EXPECT_STREQ(nnc_cuda_device_name(), "Fake GPU");
  EXPECT_EQ(nnc_cuda_device_count(), 1);
}

// The device (a data-parallel rank's) is chosen before the runtime starts:
// the context, the stream and the modules belong to it.
TEST_F(CUDARuntimeTest, ChoosesTheDeviceBeforeStarting) {
  EXPECT_EQ(nnc_cuda_set_device(0), 0) << nnc_cuda_error();
  EXPECT_EQ(nnc_cuda_set_device(1), -1);
  ASSERT_NE(nnc_cuda_error(), nullptr);
  EXPECT_STREQ(nnc_cuda_error(),
               "nnc_cuda_set_device(1) after the CUDA runtime started on "
               "device 0: choose the device before any other nnc_cuda_* "
               "call");
  nnc_cuda_clear_error();
}

// Defect 1: the legacy stream does not wait for the runtime's non-blocking
// stream, so copies and memsets must run on the runtime's stream, and the
// copies must be complete when they return.
TEST_F(CUDARuntimeTest, CopiesAndMemsetsRunOnTheRuntimeStream) {
  float host[4] = {1, 2, 3, 4}, back[4] = {};
  void *d = nnc_cuda_malloc(sizeof(host));
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(nnc_cuda_memset(d, 0, sizeof(host)), 0);
  ASSERT_EQ(nnc_cuda_memcpy_to_device(d, host, sizeof(host)), 0);
  ASSERT_EQ(nnc_cuda_memcpy_to_host(back, d, sizeof(back)), 0);
  EXPECT_EQ(std::memcmp(host, back, sizeof(host)), 0);
  nnc_cuda_free(d);

  std::vector<Call> log = fakecuda::log();
  std::vector<std::string> onStream;
  for (size_t i = 0; i < log.size(); ++i) {
    const Call &c = log[i];
    bool isCopy = c.api == "cuMemcpyHtoDAsync" || c.api == "cuMemcpyDtoHAsync";
    if (!isCopy && c.api != "cuMemsetD8Async")
      continue;
    EXPECT_EQ(c.stream, runtimeStream()) << c.api;
    onStream.push_back(c.api);
    // A copy waits for its stream before returning (pageable memory).
    if (isCopy) {
      ASSERT_LT(i + 1, log.size());
      EXPECT_EQ(log[i + 1].api, "cuStreamSynchronize");
      EXPECT_EQ(log[i + 1].stream, runtimeStream());
    }
  }
  EXPECT_EQ(onStream, (std::vector<std::string>{
                          "cuMemsetD8Async", "cuMemcpyHtoDAsync",
                          "cuMemcpyDtoHAsync"}));
  // Freeing waits for the steps that may still use the buffer.
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[log.size() - 2].api, "cuStreamSynchronize");
  EXPECT_EQ(log.back().api, "cuMemFree");
}

// Defect 2: a context is current per thread; the host program may switch
// it, or call from another thread.
TEST_F(CUDARuntimeTest, MakesThePrimaryContextCurrentOnEveryThread) {
  void *d = nnc_cuda_malloc(64);
  ASSERT_NE(d, nullptr);
  // The host program (PyTorch, say) leaves no context current.
  ASSERT_EQ(cuCtxSetCurrent(nullptr), CUDA_SUCCESS);
  EXPECT_EQ(nnc_cuda_memset(d, 1, 64), 0) << nnc_cuda_error();

  int result = -1;
  std::thread other([&] {
    float x[16] = {};
    result = nnc_cuda_memcpy_to_device(d, x, sizeof(x));
    void *e = nnc_cuda_malloc(64);
    step(kStepPTX, 100, d, e);
    result |= nnc_cuda_synchronize();
    nnc_cuda_free(e);
  });
  other.join();
  EXPECT_EQ(result, 0) << nnc_cuda_error();
  EXPECT_EQ(nnc_cuda_synchronize(), 0);
  nnc_cuda_free(d);

  std::thread::id me = std::this_thread::get_id();
  bool sawOther = false;
  for (const Call &c : fakecuda::log()) {
    if (c.api == "cuCtxSetCurrent" || c.api == "exec")
      continue;
    sawOther |= c.thread != me;
    EXPECT_EQ(c.context, fakecuda::primaryContext()) << c.api;
  }
  EXPECT_TRUE(sawOther);
}

// Defect 5: every kernel of a module is resolved when it loads, before any
// capture.
TEST_F(CUDARuntimeTest, ResolvesEveryKernelAtModuleLoad) {
  void *a = nnc_cuda_malloc(64), *b = nnc_cuda_malloc(64);
  step(kLoadPTX, 0, a, b);
  step(kLoadPTX, 0, a, b);
  ASSERT_EQ(nnc_cuda_synchronize(), 0);
  std::vector<Call> log = fakecuda::log();
  std::vector<std::string> resolved;
  for (const Call &c : log) {
    if (c.api != "cuModuleGetFunction")
      continue;
    EXPECT_FALSE(c.duringCapture) << c.kernel;
    resolved.push_back(c.kernel);
  }
  std::sort(resolved.begin(), resolved.end());
  EXPECT_EQ(resolved,
            (std::vector<std::string>{"k_first", "k_second", "k_unused"}));
  EXPECT_EQ(count(log, "cuModuleLoadDataEx"), 1u);
  nnc_cuda_free(a);
  nnc_cuda_free(b);
}

// Defect 4: rotating buffers (two batches, or W and new_W swapped) replay
// their own graphs instead of capturing on every call.
TEST_F(CUDARuntimeTest, ReusesGraphsAcrossRotatingBuffers) {
  void *x0 = nnc_cuda_malloc(64), *x1 = nnc_cuda_malloc(64),
       *w = nnc_cuda_malloc(64);
  uint64_t graphsBefore = nnc_cuda_graph_launch_count();
  for (int i = 0; i < 6; ++i)
    step(kStepPTX, 1, i % 2 ? x1 : x0, w);
  ASSERT_EQ(nnc_cuda_synchronize(), 0);
  std::vector<Call> log = fakecuda::log();
  EXPECT_EQ(count(log, "cuStreamBeginCapture"), 2u);
  EXPECT_EQ(count(log, "cuGraphInstantiate"), 2u);
  EXPECT_EQ(count(log, "cuGraphLaunch"), 6u);
  EXPECT_EQ(nnc_cuda_graph_launch_count() - graphsBefore, 6u);
  // Every call ran both kernels once, on its own buffers.
  std::vector<uint64_t> firstArgs;
  for (const Call &c : log)
    if (c.api == "exec" && c.kernel == "k_first")
      firstArgs.push_back(c.firstParam);
  ASSERT_EQ(firstArgs.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(firstArgs[i], reinterpret_cast<uint64_t>(i % 2 ? x1 : x0));
  for (const Call &c : log)
    if (c.api == "cuGraphLaunch" || c.api == "exec")
      EXPECT_EQ(c.stream, runtimeStream());
  for (void *p : {x0, x1, w})
    nnc_cuda_free(p);
}

// Defect 4: a capture that fails runs the step's launches plainly, sets no
// error, and later calls still run.
TEST_F(CUDARuntimeTest, FallsBackToPlainLaunchesWhenCaptureFails) {
  void *a = nnc_cuda_malloc(64), *b = nnc_cuda_malloc(64);
  fakecuda::failNext("cuStreamEndCapture",
                     CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  step(kStepPTX, 2, a, b);
  EXPECT_EQ(nnc_cuda_error(), nullptr);
  step(kStepPTX, 2, a, b);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  std::vector<Call> log = fakecuda::log();
  EXPECT_EQ(ran(log), (std::vector<std::string>{"k_first", "k_second",
                                                "k_first", "k_second"}));
  // The replayed launches carry the step's arguments.
  for (const Call &c : log)
    if (c.api == "exec" && c.kernel == "k_first")
      EXPECT_EQ(c.firstParam, reinterpret_cast<uint64_t>(a));
  // The step is not captured again.
  EXPECT_EQ(count(log, "cuStreamBeginCapture"), 1u);

  // A capture that cannot start: plain launches too.
  fakecuda::reset();
  fakecuda::failNext("cuStreamBeginCapture", CUDA_ERROR_NOT_SUPPORTED);
  step(kStepPTX, 3, a, b);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  EXPECT_EQ(ran(fakecuda::log()),
            (std::vector<std::string>{"k_first", "k_second"}));

  // A launch the capture refuses.
  fakecuda::reset();
  step(kStepPTX, 4, b, a); // captured: a graph
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  fakecuda::failNext("cuLaunchKernel", CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  step(kStepPTX, 4, a, a);
  ASSERT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  EXPECT_EQ(ran(fakecuda::log()),
            (std::vector<std::string>{"k_first", "k_second", "k_first",
                                      "k_second"}));
  nnc_cuda_free(a);
  nnc_cuda_free(b);
}

// Defect 6: a misaligned buffer would fault inside a kernel and lose the
// context; the step refuses to run instead.
TEST_F(CUDARuntimeTest, RejectsMisalignedBuffers) {
  char *a = static_cast<char *>(nnc_cuda_malloc(256));
  void *b = nnc_cuda_malloc(256);
  nnc_cuda_use_graphs(0);
  step(kStepPTX, 5, a + 4, b);
  ASSERT_NE(nnc_cuda_error(), nullptr);
  EXPECT_NE(std::string(nnc_cuda_error()).find("not 16-byte aligned"),
            std::string::npos)
      << nnc_cuda_error();
  EXPECT_EQ(nnc_cuda_synchronize(), -1);
  EXPECT_EQ(count(fakecuda::log(), "cuLaunchKernel"), 0u);
  // With graphs on, too; the error is the runtime's own: clearing it
  // resumes.
  nnc_cuda_clear_error();
  nnc_cuda_use_graphs(1);
  step(kStepPTX, 5, a + 16, b);
  EXPECT_EQ(nnc_cuda_synchronize(), 0) << nnc_cuda_error();
  step(kStepPTX, 5, a + 8, b);
  EXPECT_NE(nnc_cuda_error(), nullptr);
  EXPECT_EQ(count(fakecuda::log(), "cuStreamBeginCapture"), 1u);
  nnc_cuda_clear_error();
  nnc_cuda_free(a);
  nnc_cuda_free(b);
}

// Without graphs every call launches its kernels.
TEST_F(CUDARuntimeTest, LaunchesPlainlyWithoutGraphs) {
  void *a = nnc_cuda_malloc(64), *b = nnc_cuda_malloc(64);
  nnc_cuda_use_graphs(0);
  uint64_t before = nnc_cuda_launch_count();
  step(kStepPTX, 6, a, b);
  step(kStepPTX, 6, b, a);
  ASSERT_EQ(nnc_cuda_synchronize(), 0);
  EXPECT_EQ(nnc_cuda_launch_count() - before, 4u);
  EXPECT_EQ(count(fakecuda::log(), "cuStreamBeginCapture"), 0u);
  for (const Call &c : fakecuda::log())
    if (c.api == "cuLaunchKernel")
      EXPECT_EQ(c.stream, runtimeStream());
  nnc_cuda_free(a);
  nnc_cuda_free(b);
}

} // namespace
