//===- AttentionTest.cpp - the CPU runtime's attention and embeddings -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_attention_* against a reference that stores the scores, in double
// precision, whose gradient is itself checked against central differences;
// nncrt_embedding_* against direct loops. Sequence lengths straddle the
// kernels' blocks of 64, and the short heads' kernels (Tq and Tk up to 16,
// or up to 64 under causal masking with head sizes of 32 or more) run
// with thousands of heads, so that two threads split them at an odd
// place. A call with another thread count, on copies of
// the arguments elsewhere, must give the same bits (checkpointing
// recomputes into other arena slots and relies on it), and results are
// written, not accumulated. The attention kernels are those of the CPU's
// widest ISA: NNC_ATTENTION_ISA=generic or avx2 runs the others.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <vector>

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();

std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// `v` copied `shift` floats into a new vector, so a second call sees its
/// arguments at other addresses (and alignments).
std::vector<float> shifted(const std::vector<float> &v, size_t shift) {
  std::vector<float> result(shift + v.size(), 0.0f);
  std::copy(v.begin(), v.end(), result.begin() + shift);
  return result;
}

void expectSameBits(const float *a, const float *b, size_t n,
                    const char *what) {
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(std::memcmp(a + i, b + i, sizeof(float)), 0)
        << what << " differs between two calls at " << i << ": " << a[i]
        << " vs " << b[i];
}

/// Expects got ≈ want within 1e-5 of want's largest magnitude.
void expectClose(const float *got, const std::vector<double> &want,
                 const char *what) {
  double largest = 0;
  for (double w : want)
    largest = std::max(largest, std::fabs(w));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5 * largest + 1e-12)
        << what << " at " << i << " (largest " << largest << ")";
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// The masks a case runs with.
enum class Mask {
  None,
  Random,     // additive, uniform in [-1, 1], a tenth of it -inf
  MaskedRows, // Random, with rows 0 and Tq / 2 all -inf
};

struct Attn {
  int64_t B, H, Tq, Tk, Dk, Dv;
  bool causal;
  Mask mask;
  float scale = 0; // 0: 1 / sqrt(Dk)

  float scaleOrDefault() const {
    return scale != 0 ? scale : 1.0f / std::sqrt((float)Dk);
  }
  size_t qSize() const { return B * H * Tq * Dk; }
  size_t kSize() const { return B * H * Tk * Dk; }
  size_t vSize() const { return B * H * Tk * Dv; }
  size_t outSize() const { return B * H * Tq * Dv; }
};

void PrintTo(const Attn &a, std::ostream *os) {
  *os << "B=" << a.B << " H=" << a.H << " Tq=" << a.Tq << " Tk=" << a.Tk
      << " Dk=" << a.Dk << " Dv=" << a.Dv << (a.causal ? " causal" : "")
      << " mask " << (int)a.mask << " scale " << a.scaleOrDefault();
}

std::vector<float> makeMask(const Attn &a, std::mt19937 &rng) {
  if (a.mask == Mask::None)
    return {};
  std::vector<float> mask = randomVector(a.Tq * a.Tk, rng);
  std::uniform_int_distribution<int> tenth(0, 9);
  for (float &m : mask)
    if (tenth(rng) == 0)
      m = -inf;
  if (a.mask == Mask::MaskedRows)
    for (int64_t i : {int64_t(0), a.Tq / 2})
      std::fill(mask.begin() + i * a.Tk, mask.begin() + (i + 1) * a.Tk, -inf);
  return mask;
}

/// The reference's results, in double.
struct Reference {
  std::vector<double> out, dq, dk, dv;
};

/// The attention and its gradient from stored scores, in double: a row
/// with no visible key gives zeros.
template <typename T>
Reference reference(const Attn &a, const std::vector<T> &q,
                    const std::vector<T> &k, const std::vector<T> &v,
                    const std::vector<float> &mask,
                    const std::vector<T> &dout) {
  Reference r;
  r.out.assign(a.outSize(), 0);
  r.dq.assign(a.qSize(), 0);
  r.dk.assign(a.kSize(), 0);
  r.dv.assign(a.vSize(), 0);
  double scale = a.scaleOrDefault();
  std::vector<double> p(a.Tk), dp(a.Tk);
  for (int64_t bh = 0; bh < a.B * a.H; ++bh)
    for (int64_t i = 0; i < a.Tq; ++i) {
      const T *qi = &q[(bh * a.Tq + i) * a.Dk];
      double m = -INFINITY;
      for (int64_t j = 0; j < a.Tk; ++j) {
        double s = 0;
        for (int64_t d = 0; d < a.Dk; ++d)
          s += (double)qi[d] * k[(bh * a.Tk + j) * a.Dk + d];
        s *= scale;
        if (!mask.empty())
          s += mask[i * a.Tk + j];
        if (a.causal && j > i)
          s = -INFINITY;
        p[j] = s;
        m = std::max(m, s);
      }
      if (m == -INFINITY)
        continue;
      double sum = 0;
      for (int64_t j = 0; j < a.Tk; ++j)
        sum += p[j] = std::exp(p[j] - m);
      for (int64_t j = 0; j < a.Tk; ++j)
        p[j] /= sum;
      double *out = &r.out[(bh * a.Tq + i) * a.Dv];
      const T *dOut = &dout[(bh * a.Tq + i) * a.Dv];
      for (int64_t j = 0; j < a.Tk; ++j)
        for (int64_t c = 0; c < a.Dv; ++c)
          out[c] += p[j] * v[(bh * a.Tk + j) * a.Dv + c];
      // dP = dout·vᵀ, dS = P ∘ (dP - Σ_j P_ij dP_ij).
      double D = 0;
      for (int64_t j = 0; j < a.Tk; ++j) {
        dp[j] = 0;
        for (int64_t c = 0; c < a.Dv; ++c) {
          dp[j] += (double)dOut[c] * v[(bh * a.Tk + j) * a.Dv + c];
          r.dv[(bh * a.Tk + j) * a.Dv + c] += p[j] * dOut[c];
        }
        D += p[j] * dp[j];
      }
      for (int64_t j = 0; j < a.Tk; ++j) {
        double ds = scale * p[j] * (dp[j] - D);
        for (int64_t d = 0; d < a.Dk; ++d) {
          r.dq[(bh * a.Tq + i) * a.Dk + d] +=
              ds * k[(bh * a.Tk + j) * a.Dk + d];
          r.dk[(bh * a.Tk + j) * a.Dk + d] += ds * qi[d];
        }
      }
    }
  return r;
}

void runAttentionCase(const Attn &a) {
  std::mt19937 rng(11);
  std::vector<float> q = randomVector(a.qSize(), rng),
                     k = randomVector(a.kSize(), rng),
                     v = randomVector(a.vSize(), rng),
                     dout = randomVector(a.outSize(), rng),
                     mask = makeMask(a, rng);
  // Scores of a few units, so that the softmax is not nearly uniform.
  for (float &x : q)
    x *= 3.0f;
  Reference want = reference(a, q, k, v, mask, dout);
  const float *maskData = mask.empty() ? nullptr : mask.data();
  float scale = a.scaleOrDefault();

  // The first call's results, compared bitwise with the second's.
  std::vector<float> out1, dq1, dk1, dv1;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    int32_t previous = nncrt_set_num_threads(threads);
    // Arguments elsewhere on the second call, results over garbage.
    size_t s = threads == 1 ? 0 : 3;
    std::vector<float> qs = shifted(q, s), ks = shifted(k, s + 1),
                       vs = shifted(v, s + 2), ms = shifted(mask, s),
                       douts = shifted(dout, s + 1);
    std::vector<float> out(s + a.outSize(), NAN), dq(s + a.qSize(), 7.0f),
        dk(s + 1 + a.kSize(), NAN), dv(s + 2 + a.vSize(), 7.0f);
    nncrt_attention_forward(qs.data() + s, ks.data() + s + 1, vs.data() + s + 2,
                            maskData ? ms.data() + s : nullptr, out.data() + s,
                            a.B, a.H, a.Tq, a.Tk, a.Dk, a.Dv, scale, a.causal);
    nncrt_attention_backward(
        qs.data() + s, ks.data() + s + 1, vs.data() + s + 2,
        maskData ? ms.data() + s : nullptr, out.data() + s,
        douts.data() + s + 1, dq.data() + s, dk.data() + s + 1,
        dv.data() + s + 2, a.B, a.H, a.Tq, a.Tk, a.Dk, a.Dv, scale, a.causal);
    nncrt_set_num_threads(previous);
    expectClose(out.data() + s, want.out, "out");
    expectClose(dq.data() + s, want.dq, "dq");
    expectClose(dk.data() + s + 1, want.dk, "dk");
    expectClose(dv.data() + s + 2, want.dv, "dv");
    if (threads == 1) {
      out1.assign(out.begin() + s, out.end());
      dq1.assign(dq.begin() + s, dq.end());
      dk1.assign(dk.begin() + s + 1, dk.end());
      dv1.assign(dv.begin() + s + 2, dv.end());
      continue;
    }
    expectSameBits(out1.data(), out.data() + s, a.outSize(), "out");
    expectSameBits(dq1.data(), dq.data() + s, a.qSize(), "dq");
    expectSameBits(dk1.data(), dk.data() + s + 1, a.kSize(), "dk");
    expectSameBits(dv1.data(), dv.data() + s + 2, a.vSize(), "dv");
  }

  // Rows with no visible key: zeros, forward and backward (their dq; their
  // contribution to dk and dv is zero, which the reference has).
  if (a.mask == Mask::MaskedRows)
    for (int64_t bh = 0; bh < a.B * a.H; ++bh)
      for (int64_t i : {int64_t(0), a.Tq / 2}) {
        for (int64_t c = 0; c < a.Dv; ++c)
          ASSERT_EQ(out1[(bh * a.Tq + i) * a.Dv + c], 0.0f);
        for (int64_t d = 0; d < a.Dk; ++d)
          ASSERT_EQ(dq1[(bh * a.Tq + i) * a.Dk + d], 0.0f);
      }
}

class AttentionTest : public ::testing::TestWithParam<Attn> {};

TEST_P(AttentionTest, MatchesReferenceAndRepeatsBitwise) {
  runAttentionCase(GetParam());
}

// B, H, Tq, Tk, Dk, Dv, causal, mask, scale (0: 1 / sqrt(Dk)).
INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Values(
        // The smallest, and tiny ones.
        Attn{1, 1, 1, 1, 1, 1, false, Mask::None},
        Attn{1, 1, 1, 1, 1, 1, true, Mask::None},
        Attn{2, 3, 4, 4, 8, 8, true, Mask::None},
        Attn{1, 2, 3, 2, 1, 5, false, Mask::Random, 0.7f},
        // Lengths off the blocks of 64, within one block and across two.
        Attn{1, 2, 37, 37, 16, 16, false, Mask::None},
        Attn{2, 2, 100, 100, 64, 64, true, Mask::None},
        Attn{2, 1, 100, 100, 32, 32, false, Mask::Random},
        // Tq != Tk, Dk != Dv; causal with fewer and with more keys.
        Attn{1, 2, 100, 37, 32, 48, false, Mask::None},
        Attn{2, 1, 37, 100, 24, 40, true, Mask::None},
        Attn{1, 2, 130, 65, 12, 20, true, Mask::Random},
        // Head sizes off every ISA's vectors (the GEMM's column tails),
        // Dk = 1.
        Attn{1, 2, 65, 129, 20, 17, false, Mask::Random},
        Attn{1, 1, 70, 70, 1, 3, true, Mask::None},
        // Rows with no visible key.
        Attn{2, 2, 67, 45, 16, 24, false, Mask::MaskedRows},
        Attn{1, 3, 9, 130, 8, 8, true, Mask::MaskedRows},
        // Short heads under causal masking: in one piece up to 64, keys
        // off the groups of 4, head sizes off the vectors.
        Attn{3, 2, 40, 40, 32, 32, true, Mask::Random},
        Attn{1, 3, 64, 64, 32, 48, true, Mask::MaskedRows},
        Attn{2, 1, 23, 61, 40, 33, true, Mask::None},
        Attn{1, 2, 50, 17, 36, 32, true, Mask::Random},
        // Short heads without: up to 16, the ends of two key groups.
        Attn{3, 5, 16, 16, 24, 20, false, Mask::Random},
        Attn{2, 3, 9, 14, 64, 16, false, Mask::MaskedRows}));

/// Tiny heads, the grokking transformer's (Tq = Tk = 4) and around it, in
/// thousands (67·67: enough for two threads' worth even at Tq = Tk = 1,
/// and not a multiple of the kernels' batches or of their heads per
/// thread), with and without causal masking, the masks in turn.
TEST(AttentionShortTest, ManyTinyHeads) {
  const Mask masks[] = {Mask::None, Mask::Random, Mask::MaskedRows};
  int next = 0;
  for (auto [Tq, Tk] : {std::pair<int64_t, int64_t>{1, 1},
                        {2, 2},
                        {3, 3},
                        {4, 4},
                        {5, 5},
                        {1, 5},
                        {5, 1},
                        {3, 5},
                        {5, 3},
                        {2, 4}})
    for (bool causal : {false, true}) {
      Attn a{67, 67, Tq, Tk, 8, 12, causal, masks[next++ % 3]};
      SCOPED_TRACE(testing::PrintToString(a));
      runAttentionCase(a);
      if (HasFatalFailure())
        return;
    }
}

/// The reference's gradient against central differences of Σ out·w in
/// double, and the runtime's with dout = w against it: a check of the
/// formulas, not only of the arithmetic.
TEST(AttentionGradientTest, MatchesFiniteDifferences) {
  Attn a{1, 2, 5, 7, 3, 4, true, Mask::Random};
  std::mt19937 rng(5);
  std::vector<float> qf = randomVector(a.qSize(), rng),
                     kf = randomVector(a.kSize(), rng),
                     vf = randomVector(a.vSize(), rng),
                     wf = randomVector(a.outSize(), rng),
                     mask = makeMask(a, rng);
  std::vector<double> q(qf.begin(), qf.end()), k(kf.begin(), kf.end()),
      v(vf.begin(), vf.end()), w(wf.begin(), wf.end());
  Reference want = reference(a, q, k, v, mask, w);
  auto loss = [&] {
    Reference r = reference(a, q, k, v, mask, w);
    double l = 0;
    for (size_t i = 0; i < r.out.size(); ++i)
      l += r.out[i] * w[i];
    return l;
  };
  const double h = 1e-5;
  for (auto [x, dx, name] :
       {std::tuple<std::vector<double> *, const std::vector<double> *,
                   const char *>{&q, &want.dq, "dq"},
        {&k, &want.dk, "dk"},
        {&v, &want.dv, "dv"}})
    for (size_t i = 0; i < x->size(); ++i) {
      double saved = (*x)[i];
      (*x)[i] = saved + h;
      double up = loss();
      (*x)[i] = saved - h;
      double down = loss();
      (*x)[i] = saved;
      EXPECT_NEAR((*dx)[i], (up - down) / (2 * h), 1e-8) << name << " " << i;
    }

  float scale = a.scaleOrDefault();
  std::vector<float> out(a.outSize()), dq(a.qSize()), dk(a.kSize()),
      dv(a.vSize());
  nncrt_attention_forward(qf.data(), kf.data(), vf.data(), mask.data(),
                          out.data(), a.B, a.H, a.Tq, a.Tk, a.Dk, a.Dv, scale,
                          a.causal);
  nncrt_attention_backward(qf.data(), kf.data(), vf.data(), mask.data(),
                           out.data(), wf.data(), dq.data(), dk.data(),
                           dv.data(), a.B, a.H, a.Tq, a.Tk, a.Dk, a.Dv, scale,
                           a.causal);
  expectClose(dq.data(), want.dq, "dq");
  expectClose(dk.data(), want.dk, "dk");
  expectClose(dv.data(), want.dv, "dv");
}

/// Scores far apart (a softmax close to one-hot, e^x's underflow) and a
/// large scale stay finite and exact enough.
TEST(AttentionSoftmaxTest, PeakedScores) {
  Attn a{1, 1, 70, 70, 4, 4, false, Mask::None, 40.0f};
  std::mt19937 rng(3);
  std::vector<float> q = randomVector(a.qSize(), rng),
                     k = randomVector(a.kSize(), rng),
                     v = randomVector(a.vSize(), rng),
                     dout = randomVector(a.outSize(), rng), mask;
  Reference want = reference(a, q, k, v, mask, dout);
  std::vector<float> out(a.outSize()), dq(a.qSize()), dk(a.kSize()),
      dv(a.vSize());
  nncrt_attention_forward(q.data(), k.data(), v.data(), nullptr, out.data(),
                          a.B, a.H, a.Tq, a.Tk, a.Dk, a.Dv, a.scale, 0);
  nncrt_attention_backward(q.data(), k.data(), v.data(), nullptr, out.data(),
                           dout.data(), dq.data(), dk.data(), dv.data(), a.B,
                           a.H, a.Tq, a.Tk, a.Dk, a.Dv, a.scale, 0);
  expectClose(out.data(), want.out, "out");
  expectClose(dq.data(), want.dq, "dq");
  expectClose(dk.data(), want.dk, "dk");
  expectClose(dv.data(), want.dv, "dv");
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

template <typename Index> void runEmbeddingCase(int64_t V, int64_t D) {
  SCOPED_TRACE(testing::Message()
               << sizeof(Index) * 8 << "-bit indices, V=" << V << " D=" << D);
  int32_t bits = sizeof(Index) * 8;
  // Repeated indices, and two out of range (-1 and V).
  std::vector<Index> indices = {3, 0, Index(V - 1), 3, -1, 1, 3, Index(V), 0};
  for (int64_t i = 0; i < 40; ++i)
    indices.push_back(Index(i * 7 % V));
  int64_t N = indices.size();
  std::mt19937 rng(2);
  std::vector<float> table = randomVector(V * D, rng),
                     dy = randomVector(N * D, rng);
  std::vector<double> dtable(V * D, 0.0);
  for (int64_t n = 0; n < N; ++n)
    if (indices[n] >= 0 && indices[n] < V)
      for (int64_t c = 0; c < D; ++c)
        dtable[indices[n] * D + c] += dy[n * D + c];

  std::vector<float> out1, dtable1;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    int32_t previous = nncrt_set_num_threads(threads);
    std::vector<float> out(N * D, 7.0f), dt(V * D, NAN);
    nncrt_embedding_forward(table.data(), indices.data(), out.data(), bits, N,
                            V, D);
    nncrt_embedding_backward(indices.data(), dy.data(), dt.data(), bits, N, V,
                             D);
    nncrt_set_num_threads(previous);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < D; ++c) {
        float got = out[n * D + c];
        if (indices[n] < 0 || indices[n] >= V)
          ASSERT_TRUE(std::isnan(got)) << "row " << n;
        else
          ASSERT_EQ(got, table[indices[n] * D + c]) << "row " << n;
      }
    expectClose(dt.data(), dtable, "dtable");
    if (threads == 1) {
      out1 = out, dtable1 = dt;
      continue;
    }
    expectSameBits(dtable1.data(), dt.data(), V * D, "dtable");
  }
}

TEST(EmbeddingTest, MatchesReference) {
  for (auto [V, D] : {std::pair<int64_t, int64_t>{10, 1},
                      {10, 5},
                      {17, 64},
                      {50, 100},
                      {1000, 37}}) {
    runEmbeddingCase<int32_t>(V, D);
    runEmbeddingCase<int64_t>(V, D);
  }
}

/// Rows added in the order of n: the sums of a row's updates are those of
/// float arithmetic, left to right.
TEST(EmbeddingTest, RowsAddInOrder) {
  std::vector<int64_t> indices = {0, 0, 0};
  std::vector<float> dy = {1.0f, 1e8f, -1e8f}, dtable(1);
  nncrt_embedding_backward(indices.data(), dy.data(), dtable.data(), 64, 3, 1,
                           1);
  EXPECT_EQ(dtable[0], (1.0f + 1e8f) - 1e8f);
}

//===----------------------------------------------------------------------===//
// Inconsistent calls
//===----------------------------------------------------------------------===//

TEST(AttentionDeathTest, InconsistentGeometryAborts) {
  float buffer[64] = {};
  float *b = buffer;
  EXPECT_DEATH(
      nncrt_attention_forward(b, b, b, nullptr, b, 1, 1, 0, 2, 2, 2, 1.0f, 0),
      "nnc runtime: error: nncrt_attention_forward\\(B=1 H=1 Tq=0 "
      "Tk=2 Dk=2 Dv=2, scale 1, causal 0\\): sizes must be >= 1");
  EXPECT_DEATH(nncrt_attention_backward(b, b, b, nullptr, b, b, b, b, b, 1, 1,
                                        2, 2, 2, 2, NAN, 1),
               "nncrt_attention_backward.*the scale must be finite");
  EXPECT_DEATH(nncrt_attention_backward(b, b, b, nullptr, b, b, b, b, b, 1, 1,
                                        2, 2, 0, 2, 1.0f, 1),
               "nncrt_attention_backward.*Dk=0.*sizes must be >= 1");
}

TEST(EmbeddingDeathTest, InconsistentGeometryAborts) {
  float buffer[64] = {};
  int64_t indices[4] = {};
  EXPECT_DEATH(
      nncrt_embedding_forward(buffer, indices, buffer, 16, 4, 4, 4),
      "nnc runtime: error: nncrt_embedding_forward\\(16-bit indices, N=4 "
      "V=4 D=4\\): indices must have 32 or 64 bits");
  EXPECT_DEATH(nncrt_embedding_backward(indices, buffer, buffer, 64, 4, 0, 4),
               "nncrt_embedding_backward.*V=0.*sizes must be >= 1");
}
} // namespace
