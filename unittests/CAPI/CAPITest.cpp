//===- CAPITest.cpp - the C API on hostile input --------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Regressions the C API fuzz target (fuzz/capi) and its review found: each
// bad call fails with a message in the context, never an abort or a hang.
//
//===----------------------------------------------------------------------===//

#include "nnc-c/nnc.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <string>
#include <sys/stat.h>

namespace {

std::string tempPath(const char *stem, const char *suffix) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile(stem, suffix, path));
  return std::string(path);
}

// A .mlir model whose parameters fit nnc's per-tensor limit (1 TiB) but
// not in memory: 2 x 512 GiB. The model used to compile and then abort
// with std::bad_alloc when the C API allocated its parameters.
TEST(CAPITest, ParametersBeyondMemoryFail) {
  std::string path = tempPath("nnc-capi-huge", "mlir");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << R"(func.func @m(%x: tensor<1x131072xf32>, %t: tensor<1x1xf32>,
    %w: tensor<1048576x131072xf32> {nn.param, nn.name = "w"},
    %v: tensor<1x1048576xf32> {nn.param, nn.name = "v"},
    %u: tensor<1048576x131072xf32> {nn.param, nn.name = "u"}) -> tensor<f32> {
  %y = nn.linear %x, %w : (tensor<1x131072xf32>, tensor<1048576x131072xf32>) -> tensor<1x1048576xf32>
  %z = nn.linear %y, %v : (tensor<1x1048576xf32>, tensor<1x1048576xf32>) -> tensor<1x1xf32>
  %l = nn.mse_loss %z, %t : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
)";
  }
  nnc_context *ctx = nnc_context_create();
  nnc_model *m = nnc_compile_file(ctx, path.c_str(), nullptr);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(nnc_context_error(ctx)).find("bytes"),
            std::string::npos)
      << nnc_context_error(ctx);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
  llvm::sys::fs::remove(path);
}

// Saving to a FIFO blocked forever in open(2) (nothing reads it).
TEST(CAPITest, SaveWeightsToFIFOFails) {
  nnc_context *ctx = nnc_context_create();
  nnc_model *m = nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, nullptr);
  ASSERT_NE(m, nullptr) << nnc_context_error(ctx);
  std::string fifo = tempPath("nnc-capi-fifo", "nncw");
  llvm::sys::fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(nnc_model_save_weights(m, fifo.c_str()), NNC_ERROR);
  EXPECT_NE(std::string(nnc_context_error(ctx)).find("FIFO"),
            std::string::npos)
      << nnc_context_error(ctx);
  // Loading from it is refused too (it has no size to read by).
  EXPECT_EQ(nnc_model_load_weights(m, fifo.c_str()), NNC_ERROR);
  EXPECT_NE(std::string(nnc_context_error(ctx)), "");
  llvm::sys::fs::remove(fifo);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
}

// A write that fails (the device is full) made the stream's destructor
// call report_fatal_error: the caller's process exited with "LLVM ERROR:
// IO failure on output stream".
TEST(CAPITest, SaveWeightsToFullDeviceFails) {
  ASSERT_TRUE(llvm::sys::fs::exists("/dev/full"));
  nnc_context *ctx = nnc_context_create();
  nnc_model *m = nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, nullptr);
  ASSERT_NE(m, nullptr) << nnc_context_error(ctx);
  EXPECT_EQ(nnc_model_save_weights(m, "/dev/full"), NNC_ERROR);
  EXPECT_NE(std::string(nnc_context_error(ctx)).find("cannot write '/dev/full'"),
            std::string::npos)
      << nnc_context_error(ctx);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
}

// An empty name is the default name, as nnc_compile_file's is the file's
// stem: it made entry points named "_train_step".
TEST(CAPITest, EmptyNameIsTheDefault) {
  nnc_context *ctx = nnc_context_create();
  nnc_options opts;
  nnc_options_init(&opts);
  opts.learning_rate = 0.1;
  opts.name = "";
  nnc_model *m = nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, &opts);
  ASSERT_NE(m, nullptr) << nnc_context_error(ctx);
  int step = nnc_model_find_entry(m, NNC_ROLE_TRAIN_STEP);
  ASSERT_GE(step, 0);
  EXPECT_STREQ(nnc_entry_name(m, step), "mlp_train_step");
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
}

// The precision is one of the vocabulary's words; a misspelt one is an
// error naming the choices, not f32.
TEST(CAPITest, PrecisionIsChecked) {
  nnc_context *ctx = nnc_context_create();
  nnc_options opts;
  nnc_options_init(&opts);
  opts.learning_rate = 0.1;
  opts.precision = "bf17";
  EXPECT_EQ(nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, &opts), nullptr);
  EXPECT_NE(std::string(nnc_context_error(ctx)).find("bf16"),
            std::string::npos)
      << nnc_context_error(ctx);
  // fp16 is a word of the vocabulary, for the nvptx target only.
  opts.precision = "fp16";
  EXPECT_EQ(nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, &opts), nullptr);
  EXPECT_NE(std::string(nnc_context_error(ctx)).find("nvptx target only"),
            std::string::npos)
      << nnc_context_error(ctx);
  opts.precision = "f32";
  nnc_model *m = nnc_compile_mlp(ctx, "3,2", "relu", "mse", 1, &opts);
  ASSERT_NE(m, nullptr) << nnc_context_error(ctx);
  nnc_model_destroy(m);
  nnc_context_destroy(ctx);
}

// Data parallelism needs MPI started by nnc_data_parallel_init first: a
// step whose all-reduce has no communicator would fail at run time.
TEST(CAPITest, DataParallelNeedsInit) {
  nnc_context *ctx = nnc_context_create();
  nnc_options opts;
  nnc_options_init(&opts);
  opts.learning_rate = 0.1;
  opts.data_parallel = 1;
  EXPECT_EQ(nnc_compile_mlp(ctx, "3,2", "relu", "mse", 2, &opts), nullptr);
  EXPECT_NE(std::string(nnc_context_error(ctx))
                .find("call nnc_data_parallel_init"),
            std::string::npos)
      << nnc_context_error(ctx);
  int rank = 0, size = 0;
  EXPECT_EQ(nnc_data_parallel_init(ctx, 60.0, nullptr, &size), NNC_ERROR);
  EXPECT_EQ(nnc_data_parallel_init(ctx, 60.0, &rank, nullptr), NNC_ERROR);
  nnc_context_destroy(ctx);
}

} // namespace
