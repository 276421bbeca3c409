//===- LandscapeTest.cpp - filter-normalized directions -------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Landscape.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::nnc;

namespace {

double norm(const std::vector<float> &v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i)
    s += double(v[i]) * v[i];
  return std::sqrt(s);
}

// Li et al.: every filter (output unit or channel) of the direction has the
// norm of the same filter of the weights; biases and norm parameters get
// none of the direction.
TEST(Landscape, DirectionsAreNormalizedPerFilter) {
  NamedTensor conv{"conv", {3, 2, 2, 2}, {}};
  for (int i = 0; i < 24; ++i)
    conv.data.push_back(i < 8 ? 0.01f * (i + 1) : i < 16 ? 0.0f : 3.0f - i);
  NamedTensor bias{"bias", {3}, {0.5f, -1.0f, 2.0f}};
  NamedTensor linear{"linear", {2, 3}, {1, 2, 2, -4, 0, 3}};
  Direction d = filterNormalizedDirection({conv, bias, linear}, 7);
  ASSERT_EQ(d.size(), 3u);
  for (int f = 0; f < 3; ++f)
    EXPECT_NEAR(norm(d[0], 8 * f, 8 * f + 8),
                norm(conv.data, 8 * f, 8 * f + 8), 1e-5)
        << "filter " << f;
  // The zero filter stays zero; not the tensor's norm spread over it.
  EXPECT_EQ(norm(d[0], 8, 16), 0.0);
  EXPECT_EQ(norm(d[1], 0, 3), 0.0);
  EXPECT_NEAR(norm(d[2], 0, 3), 3.0, 1e-5);
  EXPECT_NEAR(norm(d[2], 3, 6), 5.0, 1e-5);
  // Seeded: the same seed draws the same direction, another seed another.
  EXPECT_EQ(filterNormalizedDirection({conv, bias, linear}, 7), d);
  EXPECT_NE(filterNormalizedDirection({conv, bias, linear}, 8), d);
}

} // namespace
