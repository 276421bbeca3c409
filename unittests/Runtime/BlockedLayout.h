//===- BlockedLayout.h - nChw16c reference reorder for tests ---*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The runtime tests' independent spelling of oneDNN's nChw16c: the layout
/// entry points are checked against plain calls through it.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_UNITTESTS_RUNTIME_BLOCKEDLAYOUT_H
#define NNC_UNITTESTS_RUNTIME_BLOCKEDLAYOUT_H

#include <cstdint>
#include <vector>

namespace nnc::test {

/// nChw16c's channel block.
constexpr int64_t kBlock = 16;

/// [N, C, P] in NCHW to [N, C/16, P, 16], or back.
template <typename T>
std::vector<T> reorder(const std::vector<T> &v, int64_t N, int64_t C, int64_t P,
                       bool toBlocked) {
  std::vector<T> out(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < P; ++p) {
        int64_t plain = (n * C + c) * P + p;
        int64_t blocked =
            ((n * (C / kBlock) + c / kBlock) * P + p) * kBlock + c % kBlock;
        if (toBlocked)
          out[blocked] = v[plain];
        else
          out[plain] = v[blocked];
      }
  return out;
}

} // namespace nnc::test

#endif // NNC_UNITTESTS_RUNTIME_BLOCKEDLAYOUT_H
