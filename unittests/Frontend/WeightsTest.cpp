//===- WeightsTest.cpp - nnc's weights file -------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/Weights.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mlir::nnc;

namespace {

WeightSet sample() {
  WeightSet w;
  w.tensors.push_back({"0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  w.tensors.push_back({"0.bias", {2}, {-1, 0.5f}});
  w.tensors.push_back({"scalar", {}, {7}});
  return w;
}

std::string bytesOf(const WeightSet &w) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("nncw", "bin", path));
  EXPECT_FALSE(static_cast<bool>(saveWeights(path, w)));
  auto buffer = llvm::MemoryBuffer::getFile(path);
  llvm::sys::fs::remove(path);
  return (*buffer)->getBuffer().str();
}

std::string errorOf(llvm::StringRef bytes) {
  auto parsed = parseWeights(bytes, "w");
  if (parsed)
    return "parsed";
  return llvm::toString(parsed.takeError());
}

void putU64(std::string &s, size_t offset, uint64_t v) {
  std::memcpy(&s[offset], &v, 8);
}

TEST(Weights, RoundTrip) {
  std::string bytes = bytesOf(sample());
  EXPECT_EQ(bytes.substr(0, 4), "NNCW");
  auto parsed = parseWeights(bytes, "w");
  ASSERT_TRUE(static_cast<bool>(parsed));
  ASSERT_EQ(parsed->tensors.size(), 3u);
  EXPECT_EQ(parsed->tensors[0].name, "0.weight");
  EXPECT_EQ(parsed->tensors[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(parsed->tensors[0].data, sample().tensors[0].data);
  EXPECT_EQ(parsed->tensors[2].shape, std::vector<int64_t>{});
  EXPECT_EQ(parsed->find("0.bias")->data[0], -1.0f);
  EXPECT_EQ(parsed->find("nope"), nullptr);
}

// Every prefix of a valid file is an error, never a crash or a huge
// allocation.
TEST(Weights, EveryTruncationFails) {
  std::string bytes = bytesOf(sample());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_NE(errorOf(bytes.substr(0, n)), "parsed") << n;
  EXPECT_NE(errorOf(bytes.substr(0, bytes.size() - 2)).find("truncated"),
            std::string::npos);
  EXPECT_NE(errorOf(bytes.substr(0, 20)).find("count 3 does not fit"),
            std::string::npos);
}

TEST(Weights, CorruptHeaders) {
  std::string bytes = bytesOf(sample());
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_NE(errorOf(bad).find("not an nnc weights file"), std::string::npos);
  bad = bytes;
  bad[4] = 9;
  EXPECT_NE(errorOf(bad).find("unsupported version 9"), std::string::npos);
  bad = bytes;
  putU64(bad, 8, uint64_t(1) << 60);
  EXPECT_NE(errorOf(bad).find("does not fit"), std::string::npos);
  EXPECT_NE(errorOf(bytes + "x").find("1 trailing bytes"), std::string::npos);
}

TEST(Weights, CorruptDimensions) {
  std::string bytes = bytesOf(sample());
  // The first tensor's dims follow its 4-byte name length, 8-byte name,
  // element type and rank.
  size_t dims = 16 + 4 + 8 + 4 + 4;
  std::string bad = bytes;
  putU64(bad, dims, uint64_t(-2));
  EXPECT_NE(errorOf(bad).find("has dimension -2; dimensions are positive"),
            std::string::npos);
  // A zero after dimensions whose product overflows (a fuzzer's find: the
  // tensor was accepted with 0 elements and its shape's product overflowed
  // later).
  bad = bytes;
  putU64(bad, dims, uint64_t(1) << 40);
  putU64(bad, dims + 8, 0);
  EXPECT_NE(errorOf(bad).find("has dimension 0; dimensions are positive"),
            std::string::npos);
  bad = bytes;
  putU64(bad, dims, uint64_t(1) << 40);
  putU64(bad, dims + 8, uint64_t(1) << 40);
  EXPECT_NE(errorOf(bad).find("needs more bytes"), std::string::npos);
}

TEST(Weights, SaveChecksItsInput) {
  WeightSet w = sample();
  w.tensors[1].data.pop_back();
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("nncw", "bin", path));
  llvm::Error err = saveWeights(path, w);
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("holds 1 values"),
            std::string::npos);
  w = sample();
  w.tensors[1].name = "0.weight";
  err = saveWeights(path, w);
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("appears twice"),
            std::string::npos);
  llvm::sys::fs::remove(path);
}

TEST(Weights, MatchByNameAndShape) {
  WeightSet w = sample();
  auto ok =
      matchWeights(w, {{"0.bias", {2}}, {"scalar", {}}, {"0.weight", {2, 3}}});
  ASSERT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ((*ok)[0]->name, "0.bias");
  auto missing = matchWeights(w, {{"1.weight", {2}}});
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("no tensor '1.weight'"),
            std::string::npos);
  auto shape =
      matchWeights(w, {{"0.weight", {3, 2}}, {"0.bias", {2}}, {"scalar", {}}});
  ASSERT_FALSE(static_cast<bool>(shape));
  EXPECT_NE(llvm::toString(shape.takeError())
                .find("has shape [2, 3] in the weights but [3, 2]"),
            std::string::npos);
  auto extra = matchWeights(w, {{"0.weight", {2, 3}}, {"0.bias", {2}}});
  ASSERT_FALSE(static_cast<bool>(extra));
  EXPECT_NE(llvm::toString(extra.takeError()).find("'scalar' that the model"),
            std::string::npos);
}

} // namespace
