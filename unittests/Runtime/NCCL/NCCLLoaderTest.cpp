//===- NCCLLoaderTest.cpp - no NCCL, no driver: clear errors --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The NCCL runtime opens libnccl.so.2 (and the CUDA runtime libcuda.so.1)
// with dlopen when first needed. Here neither can be found (both are named
// by a path that does not exist): every call fails with a message saying
// what is missing, nothing crashes, and a compiled step's all-reduce
// without a communicator is an error too. A process of its own: each
// runtime loads its library once per process.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CUDA/CUDARuntime.h"
#include "nnc/Runtime/NCCL/NCCLRuntime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

#define NNC_MISSING_NCCL "/nonexistent/nnc-test/libnccl.so.2"
#define NNC_MISSING_DRIVER "/nonexistent/nnc-test/libcuda.so.1"

const bool kMissingSelected =
    setenv("NNC_NCCL_LIBRARY", NNC_MISSING_NCCL, /*overwrite=*/1) == 0 &&
    setenv("NNC_CUDA_DRIVER", NNC_MISSING_DRIVER, /*overwrite=*/1) == 0;

std::string error() {
  const char *e = nnc_cuda_error();
  return e ? e : "";
}

class NCCLLoaderTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(kMissingSelected);
    nnc_cuda_clear_error();
  }
};

TEST_F(NCCLLoaderTest, NoNCCLIsAClearError) {
  EXPECT_EQ(nncrt_nccl_version(), -1);
  EXPECT_EQ(error(), "no NCCL: " NNC_MISSING_NCCL
                     ": cannot open shared object file: No such file or "
                     "directory (NNC_NCCL_LIBRARY names the library to use)");
  // Every later call says the same.
  nnc_cuda_clear_error();
  uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES] = {};
  EXPECT_EQ(nncrt_nccl_get_unique_id(id), -1);
  EXPECT_EQ(error().rfind("no NCCL: " NNC_MISSING_NCCL, 0), 0u) << error();
  nnc_cuda_clear_error();
  EXPECT_EQ(nncrt_nccl_init_rank(0, 2, id), -1);
  EXPECT_EQ(error().rfind("no NCCL: ", 0), 0u) << error();
  EXPECT_EQ(nncrt_nccl_size(), 1);
}

TEST_F(NCCLLoaderTest, NoDriverIsAClearError) {
  EXPECT_EQ(nnc_cuda_device_count(), -1);
  EXPECT_EQ(error().rfind("no CUDA driver: " NNC_MISSING_DRIVER, 0), 0u)
      << error();
  nnc_cuda_clear_error();
  EXPECT_EQ(nnc_cuda_set_device(0), -1);
  EXPECT_NE(error(), "");
}

// A compiled data-parallel step run without nncrt_nccl_init: an error
// naming what to call, and the step's launches are skipped.
TEST_F(NCCLLoaderTest, AStepWithoutACommunicatorIsAnError) {
  float *bucket = nullptr;
  nncrt_nccl_allreduce_start(bucket, 16, 0);
  EXPECT_EQ(error(), "nncrt_nccl_allreduce_start: NCCL is not initialized "
                     "(call nncrt_nccl_init before running a data-parallel "
                     "step)");
  nnc_cuda_clear_error();
  nncrt_nccl_allreduce_wait(bucket, 16, 0);
  EXPECT_NE(error().find("nncrt_nccl_allreduce_wait: NCCL is not initialized"),
            std::string::npos)
      << error();
  EXPECT_EQ(nnc_cuda_synchronize(), -1);
}

} // namespace
