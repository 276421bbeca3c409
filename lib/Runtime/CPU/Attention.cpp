//===- Attention.cpp - attention and embeddings for CPU code --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// The runtime's scaled dot-product attention and embedding lookups.
//
// Attention runs FlashAttention's algorithm: a block of query rows meets
// the keys a block at a time, with a running maximum and sum per query (an
// online softmax), so the score matrix is never stored; the backward
// recomputes the scores. The block products are one small GEMM kernel,
// C (+)= A·B with B's and C's rows contiguous and its innermost loop along
// them. The scores are held transposed, a row per key, so that they stream
// that way from the query block's one transposed copy, and the softmax's
// sums over the keys run down the columns, a query a vector lane. The
// GEMM's tiles accumulate in vector registers, in the generic vectors of
// GCC and Clang; the library is built for the baseline ISA, so the kernels
// are compiled three times, for SSE2, AVX2 and AVX-512, and the CPU's
// features choose one on the first call.
//
// Short heads (isShort: a few queries and keys, such as a small
// transformer's) would spend most of their time on the blocks' fixed costs
// (a transposed query block, scratch rows of 64, the online rescaling), so
// they run in one piece: a query's scores with 4 keys at a time are dot
// products whose lanes are summed together in a few shuffles (dot4), the
// softmax is a plain one over the row, and the products with v, k, q and
// dout are the block GEMM's tiles on the head's few rows. The heads of a
// thread's task go a batch at a time, each step over the whole batch, so
// that the short dependent steps of different heads overlap.
//
// Determinism: every sum runs in an order fixed by the indices, never by
// the thread count or by where the buffers lie. Threads split the forward
// over (batch, head, query block) and the backward over (batch, head), and
// never share a sum; a key block's gradients add up over the query blocks
// of their head in order, on one thread. A short head's results do not
// depend on the batch it is computed in. Without -ffast-math the compiler
// vectorizes no reduction itself: those here run a query a lane, or (D_i,
// a short head's dot products) add their lanes in a fixed order.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

// The kernels' helpers must be inlined into the ISA-specific entry points
// below to be compiled with their features. The vectors they pass and
// return therefore never cross a call, whose ABI would depend on the
// features: the compilers' warning about that ABI is moot here.
#define NNC_INLINE inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

// A loop of a few iterations (a short head's keys, a row's vectors): left
// as it is, without the unrolled or vectorized copies and their checks
// that cost more than such a loop.
#if defined(__clang__)
#define NNC_SHORT_LOOP _Pragma("clang loop unroll(disable) vectorize(disable)")
#elif defined(__GNUC__)
#define NNC_SHORT_LOOP _Pragma("GCC unroll 1")
#else
#define NNC_SHORT_LOOP
#endif

#if defined(__x86_64__) || defined(__i386__)
#define NNC_X86 1
#define NNC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define NNC_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define NNC_X86 0
#endif

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();

//===----------------------------------------------------------------------===//
// Checks
//===----------------------------------------------------------------------===//

struct AttentionGeometry {
  int64_t B, H, Tq, Tk, Dk, Dv;
  float scale;
  int32_t causal;
};

[[noreturn]] void fail(const char *function, const AttentionGeometry &g,
                       const char *reason) {
  std::fprintf(stderr,
               "nnc runtime: error: %s(B=%lld H=%lld Tq=%lld Tk=%lld Dk=%lld "
               "Dv=%lld, scale %g, causal %d): %s\n",
               function, (long long)g.B, (long long)g.H, (long long)g.Tq,
               (long long)g.Tk, (long long)g.Dk, (long long)g.Dv,
               (double)g.scale, (int)g.causal, reason);
  std::abort();
}

void check(const char *function, const AttentionGeometry &g) {
  for (int64_t v : {g.B, g.H, g.Tq, g.Tk, g.Dk, g.Dv})
    if (v < 1)
      fail(function, g, "sizes must be >= 1");
  if (!std::isfinite(g.scale))
    fail(function, g, "the scale must be finite");
}

struct EmbeddingGeometry {
  int32_t indexBits;
  int64_t N, V, D;
};

void check(const char *function, const EmbeddingGeometry &g) {
  const char *reason = nullptr;
  if (g.indexBits != 32 && g.indexBits != 64)
    reason = "indices must have 32 or 64 bits";
  else if (g.N < 1 || g.V < 1 || g.D < 1)
    reason = "sizes must be >= 1";
  if (!reason)
    return;
  std::fprintf(stderr,
               "nnc runtime: error: %s(%d-bit indices, N=%lld V=%lld D=%lld): "
               "%s\n",
               function, (int)g.indexBits, (long long)g.N, (long long)g.V,
               (long long)g.D, reason);
  std::abort();
}

//===----------------------------------------------------------------------===//
// Vectors
//===----------------------------------------------------------------------===//

/// W floats, and as many 32-bit integers, in the compilers' generic
/// vectors: an SSE, AVX or AVX-512 register, or a few, by the features of
/// the function they are compiled in. A comparison gives an Ints mask, all
/// ones or zeros.
template <int W> struct Vec {
  typedef float Floats __attribute__((vector_size(W * sizeof(float))));
  typedef int32_t Ints __attribute__((vector_size(W * sizeof(int32_t))));
};

template <class V> NNC_INLINE V load(const float *p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <class V> NNC_INLINE void store(float *p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

template <class V> NNC_INLINE V splat(float x) {
  V v;
  for (size_t l = 0; l < sizeof(V) / sizeof(float); ++l)
    v[l] = x;
  return v;
}

template <class V, class M> NNC_INLINE V select(M take, V a, V b) {
  return (V)(((M)a & take) | ((M)b & ~take));
}

/// Lanes added one after another from lane 0: a fixed order.
template <class V> NNC_INLINE float sumLanes(V v) {
  float s = v[0];
  for (size_t l = 1; l < sizeof(V) / sizeof(float); ++l)
    s += v[l];
  return s;
}

/// Lanes added by halves, the upper half onto the lower until one is left:
/// a fixed order too, in a few vector additions.
template <int W> NNC_INLINE float sumHalves(typename Vec<W>::Floats v) {
  if constexpr (W == 4) {
    return (v[0] + v[2]) + (v[1] + v[3]);
  } else {
    typedef typename Vec<W / 2>::Floats Half;
    Half lo, hi;
    std::memcpy(&lo, &v, sizeof(Half));
    std::memcpy(&hi, reinterpret_cast<const char *>(&v) + sizeof(Half),
                sizeof(Half));
    return sumHalves<W / 2>(lo + hi);
  }
}

typedef Vec<4>::Floats Floats4;
typedef Vec<4>::Ints Ints4;

/// The sums of four vectors' lanes, each added as sumHalves adds them
/// (the upper half onto the lower, down to one lane), in a few shuffles:
/// two vectors with a sum each become one with two half-length sums
/// (foldPair), twice, then each quarter is halved in place (foldQuarters)
/// and its first lane taken.
///
/// foldPair's lane o: of the sums that a (the first `keys` of the result's
/// 2·keys) or b hold in blocks of `block` lanes, that of block o / (block
/// / 2), its lane o mod (block / 2) plus the one block / 2 further.
constexpr int foldPairIndex(int W, int block, int o, bool upper) {
  int half = block / 2, keys = W / block, key = o / half, x = o % half;
  return (key < keys ? 0 : W) + key % keys * block + x + (upper ? half : 0);
}

template <int W, int Block, size_t... O>
NNC_INLINE typename Vec<W>::Floats foldPair(typename Vec<W>::Floats a,
                                            typename Vec<W>::Floats b,
                                            std::index_sequence<O...>) {
  return __builtin_shufflevector(a, b, foldPairIndex(W, Block, O, false)...) +
         __builtin_shufflevector(a, b, foldPairIndex(W, Block, O, true)...);
}

/// Each block of v (of `block` lanes, its first half the one to keep)
/// plus itself turned by half a block: its first half lanes then hold
/// the sums of theirs and the next half's.
constexpr int foldTurnIndex(int block, int o) {
  return o / block * block + (o % block + block / 2) % block;
}

template <int W, int Block, size_t... O>
NNC_INLINE typename Vec<W>::Floats foldQuarters(typename Vec<W>::Floats v,
                                                std::index_sequence<O...>) {
  if constexpr (Block == 1) {
    return v;
  } else {
    v += __builtin_shufflevector(v, v, foldTurnIndex(Block, O)...);
    return foldQuarters<W, Block / 2>(v, std::index_sequence<O...>());
  }
}

template <int W>
NNC_INLINE Floats4 sumHalves4(typename Vec<W>::Floats a0,
                              typename Vec<W>::Floats a1,
                              typename Vec<W>::Floats a2,
                              typename Vec<W>::Floats a3) {
  auto lanes = std::make_index_sequence<W>();
  auto u = foldPair<W, W / 2>(foldPair<W, W>(a0, a1, lanes),
                              foldPair<W, W>(a2, a3, lanes), lanes);
  u = foldQuarters<W, W / 4>(u, lanes);
  return __builtin_shufflevector(u, u, 0, W / 4, W / 2, 3 * W / 4);
}

/// {a0·b0, a1·b1, a2·b2, a3·b3} over n floats: four dot products in W
/// lanes while n allows (their sums' lanes added as sumHalves adds them,
/// the four at once), then the rest with vectors of half as many lanes,
/// down to 4, then one at a time. Where a0 to a3 are one, so are their
/// loads.
template <int W>
NNC_INLINE Floats4 dot4(const float *a0, const float *a1, const float *a2,
                        const float *a3, const float *b0, const float *b1,
                        const float *b2, const float *b3, int64_t n) {
  typedef typename Vec<W>::Floats V;
  Floats4 s = splat<Floats4>(0.0f);
  int64_t c = 0;
  if (n >= W) {
    V acc0 = load<V>(a0) * load<V>(b0), acc1 = load<V>(a1) * load<V>(b1),
      acc2 = load<V>(a2) * load<V>(b2), acc3 = load<V>(a3) * load<V>(b3);
    NNC_SHORT_LOOP
    for (c = W; c + W <= n; c += W) {
      acc0 += load<V>(a0 + c) * load<V>(b0 + c);
      acc1 += load<V>(a1 + c) * load<V>(b1 + c);
      acc2 += load<V>(a2 + c) * load<V>(b2 + c);
      acc3 += load<V>(a3 + c) * load<V>(b3 + c);
    }
    s = sumHalves4<W>(acc0, acc1, acc2, acc3);
  }
  if constexpr (W > 4) {
    if (c < n)
      s += dot4<W / 2>(a0 + c, a1 + c, a2 + c, a3 + c, b0 + c, b1 + c, b2 + c,
                       b3 + c, n - c);
  } else {
    NNC_SHORT_LOOP
    for (; c < n; ++c)
      s += Floats4{a0[c], a1[c], a2[c], a3[c]} *
           Floats4{b0[c], b1[c], b2[c], b3[c]};
  }
  return s;
}

/// e^x for x <= 0, the softmax's only arguments (a score less its row's
/// maximum or log-sum-exp), in plain arithmetic that vectorizes: Cephes's
/// expf, within 1 ulp. Below -87, e^x (under 2^-125) is 0, the denormals
/// expf would give left out; -inf gives 0, NaN NaN.
template <int W>
NNC_INLINE typename Vec<W>::Floats expNonPositive(typename Vec<W>::Floats x) {
  typedef typename Vec<W>::Floats V;
  typedef typename Vec<W>::Ints I;
  I inRange = x >= splat<V>(-87.0f); // not for -inf, nor NaN
  V xc = select(inRange, x, splat<V>(-87.0f));
  // n = x·log2(e) rounded to the nearest integer, by adding and taking off
  // 1.5·2^23 (without -ffast-math the compiler keeps both); then e^x =
  // 2^n · e^r with r = x - n·ln 2 in [-ln 2 / 2, ln 2 / 2], ln 2 in two
  // parts so that n·ln2Hi is exact.
  const V magic = splat<V>(12582912.0f);
  V n = (xc * splat<V>(1.44269504088896341f) + magic) - magic;
  V r = xc - n * splat<V>(0.693359375f);
  r = r - n * splat<V>(-2.12194440e-4f);
  V p = splat<V>(1.9875691500e-4f);
  p = p * r + splat<V>(1.3981999507e-3f);
  p = p * r + splat<V>(8.3334519073e-3f);
  p = p * r + splat<V>(4.1665795894e-2f);
  p = p * r + splat<V>(1.6666665459e-1f);
  p = p * r + splat<V>(5.0000001201e-1f);
  p = p * (r * r) + r + splat<V>(1.0f);
  // 2^n for n in [-126, 0], a normal float built from its exponent bits.
  I e = (__builtin_convertvector(n, I) + 127) << 23;
  V y = select(inRange, p * (V)e, splat<V>(0.0f));
  return select(x != x, x, y);
}

//===----------------------------------------------------------------------===//
// The block GEMM
//===----------------------------------------------------------------------===//

/// C (+)= A·B, C an M x N row-major block (ldc), B a K x N row-major block
/// (ldb) and A an M x K block read through strides: A(m, k) = A[m·sam +
/// k·sak], so that a transposed block (P or dS of the backward) is one too.
/// With `accumulate`, each C(m, n) adds A(m, k)·B(k, n) for k = 0, 1, ...
/// to itself, in that order; without, the same sum starts from 0.
struct GemmArgs {
  int64_t M, N, K;
  const float *A;
  int64_t sam, sak;
  const float *B;
  int64_t ldb;
  float *C;
  int64_t ldc;
  bool accumulate;
};

/// Rows [m0, m0 + MR) by columns [n0, n0 + NV·W) of C, in MR·NV vector
/// registers: each step of k loads NV vectors of B's row and broadcasts MR
/// elements of A's column.
template <int W, int MR, int NV>
NNC_INLINE void gemmTile(const GemmArgs &g, int64_t m0, int64_t n0) {
  typedef typename Vec<W>::Floats V;
  V acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v] = g.accumulate ? load<V>(g.C + (m0 + r) * g.ldc + n0 + v * W)
                               : splat<V>(0.0f);
  const float *a = g.A + m0 * g.sam, *b = g.B + n0;
  for (int64_t k = 0; k < g.K; ++k, a += g.sak, b += g.ldb) {
    V bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = load<V>(b + v * W);
    for (int r = 0; r < MR; ++r) {
      float ar = a[r * g.sam];
      for (int v = 0; v < NV; ++v)
        acc[r][v] += ar * bv[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      store(g.C + (m0 + r) * g.ldc + n0 + v * W, acc[r][v]);
}

/// The last `rows` (< MR) rows of a column panel, with a tile of that many.
template <int W, int R, int NV>
NNC_INLINE void gemmLastRows(const GemmArgs &g, int64_t m0, int64_t n0,
                             int64_t rows) {
  if constexpr (R > 0) {
    if (rows == R)
      gemmTile<W, R, NV>(g, m0, n0);
    else
      gemmLastRows<W, R - 1, NV>(g, m0, n0, rows);
  }
}

/// Columns [n0, n0 + NV·W) of C.
template <int W, int MR, int NV>
NNC_INLINE void gemmPanel(const GemmArgs &g, int64_t n0) {
  int64_t m0 = 0;
  for (; m0 + MR <= g.M; m0 += MR)
    gemmTile<W, MR, NV>(g, m0, n0);
  gemmLastRows<W, MR - 1, NV>(g, m0, n0, g.M - m0);
}

/// The whole product: panels of NV vectors, then of one, then the last
/// N mod W columns one at a time (the same sums, in the same order).
template <int W, int MR, int NV> NNC_INLINE void gemm(const GemmArgs &g) {
  int64_t n0 = 0;
  for (; n0 + NV * W <= g.N; n0 += NV * W)
    gemmPanel<W, MR, NV>(g, n0);
  for (; n0 + W <= g.N; n0 += W)
    gemmPanel<W, MR, 1>(g, n0);
  for (int64_t m = 0; m < g.M; ++m)
    for (int64_t n = n0; n < g.N; ++n) {
      float s = g.accumulate ? g.C[m * g.ldc + n] : 0.0f;
      for (int64_t k = 0; k < g.K; ++k)
        s += g.A[m * g.sam + k * g.sak] * g.B[k * g.ldb + n];
      g.C[m * g.ldc + n] = s;
    }
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Query rows and keys per block. The scores are held transposed, a row per
/// key and a column per query (Sᵀ = K qᵀ, with qᵀ transposed once per query
/// block): then no key or value block needs a transposed copy, and the
/// softmax's reductions over the keys run down the columns, a query a
/// lane, in the keys' order. A block's scores, qᵀ and the rows it reads
/// stay in the L1 or L2 cache (16 KiB each at D = 64).
constexpr int64_t rowBlock = 64, keyBlock = 64;

/// The scores' row length: the query block, or Tq if shorter, rounded up to
/// a whole number of every ISA's GEMM panels (32 floats). The columns past
/// the block's queries are computed and dropped; each column's results are
/// the same whatever their number.
int64_t scoreWidth(int64_t Tq) {
  return std::min(rowBlock, (Tq + 31) / 32 * 32);
}

/// Whether heads run in one piece each (Kernels::forwardShort,
/// backwardShort: the scores a dot product each, a plain softmax, no
/// query or key blocks and their fixed costs, several heads a task): when
/// Tq and Tk are both 16 or less, or, under causal masking (whose masked
/// scores the short kernels skip and the blocked ones compute within a
/// block), 64 or less with Dk and Dv 32 or more. Past these, the blocked
/// kernels' GEMMs are the faster (measured with AVX-512 and AVX2).
bool isShort(const AttentionGeometry &g) {
  int64_t T = std::max(g.Tq, g.Tk);
  return T <= 16 || (g.causal && T <= rowBlock && std::min(g.Dk, g.Dv) >= 32);
}

/// Heads a thread takes at least in the short kernels: some 2^17 floats
/// of products and rows.
int64_t shortGrain(const AttentionGeometry &g) {
  int64_t work = (g.Tq * g.Tk + g.Tq + g.Tk) * (g.Dk + g.Dv);
  return std::max<int64_t>(1, (int64_t(1) << 17) / work);
}

struct AttentionTask {
  AttentionGeometry g;
  const float *q, *k, *v, *mask, *out = nullptr, *dout = nullptr;
  float *result = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr;
  int64_t width = 0; // scoreWidth(Tq)
};

/// One allocation for a thread's buffers, each 64-byte aligned (the
/// results do not depend on it; the loads are faster).
class Scratch {
public:
  explicit Scratch(std::initializer_list<int64_t> sizes) {
    int64_t total = 16;
    for (int64_t n : sizes)
      total += (n + 15) / 16 * 16;
    storage.resize(total);
    next = reinterpret_cast<float *>(
        (reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~uintptr_t(63));
  }

  float *take(int64_t n) {
    float *p = next;
    next += (n + 15) / 16 * 16;
    return p;
  }

private:
  std::vector<float> storage;
  float *next;
};

/// t[d][i] = rows[i][d] for a query block's `count` rows of D floats, zeros
/// in columns [count, width): the scores' B operand.
void transposeBlock(const float *rows, int64_t count, int64_t D, int64_t width,
                    float *t) {
  for (int64_t d = 0; d < D; ++d) {
    float *column = t + d * width;
    for (int64_t i = 0; i < count; ++i)
      column[i] = rows[i * D + d];
    std::fill(column + count, column + width, 0.0f);
  }
}

/// The entry points of one ISA, W floats a vector, Gemm its block GEMM.
template <int W, void (*Gemm)(const GemmArgs &)> struct Kernels {
  typedef typename Vec<W>::Floats V;

  /// Sᵀ[j][i] = scale · q_i·k_j + mask_ij for keys [j0, j0 + keys) and the
  /// query block at i0 of `rows` rows, from its qT (`width` columns);
  /// masked scores are -inf. The columns past `rows` (qT's zeros) are 0.
  static NNC_INLINE void scores(const AttentionTask &t, const float *K,
                                const float *qT, int64_t i0, int64_t rows,
                                int64_t j0, int64_t keys, float *ST) {
    const AttentionGeometry &g = t.g;
    int64_t width = t.width;
    Gemm({keys, width, g.Dk, K + j0 * g.Dk, g.Dk, 1, qT, width, ST, width,
          false});
    V scale = splat<V>(g.scale);
    for (int64_t j = 0; j < keys; ++j) {
      float *s = ST + j * width;
      for (int64_t i = 0; i < width; i += W)
        store(s + i, load<V>(s + i) * scale);
      // Key j is masked for queries i < j (top left aligned).
      if (g.causal)
        std::fill(s, s + std::clamp<int64_t>(j0 + j - i0, 0, rows), -inf);
    }
    if (t.mask)
      for (int64_t i = 0; i < rows; ++i) {
        const float *m = t.mask + (i0 + i) * g.Tk + j0;
        for (int64_t j = 0; j < keys; ++j)
          ST[j * width + i] += m[j];
      }
  }

  /// One block's step of the online softmax, for every query of the block
  /// at once: the running maximum m and sum l of e^(s - m) updated, Sᵀ
  /// turned into e^(s - m); returns in `alpha` the factors, e^(m_old -
  /// m_new), that rescale what the earlier blocks summed. A query with no
  /// visible score yet keeps m = -inf and l = 0 (its P is 0: e^(-inf - 0)).
  static NNC_INLINE void softmaxStep(float *ST, int64_t keys, int64_t width,
                                     float *m, float *l, float *alpha) {
    for (int64_t i = 0; i < width; i += W) {
      V mOld = load<V>(m + i), mNew = mOld;
      for (int64_t j = 0; j < keys; ++j) {
        V s = load<V>(ST + j * width + i);
        mNew = select(s > mNew, s, mNew); // NaNs left out: they reach l
      }
      V shift = select(mNew == splat<V>(-inf), splat<V>(0.0f), mNew);
      V sum = splat<V>(0.0f);
      for (int64_t j = 0; j < keys; ++j) {
        V p = expNonPositive<W>(load<V>(ST + j * width + i) - shift);
        store(ST + j * width + i, p);
        sum += p;
      }
      V a = expNonPositive<W>(mOld - shift); // 0 while m was -inf
      store(alpha + i, a);
      store(l + i, load<V>(l + i) * a + sum);
      store(m + i, mNew);
    }
  }

  /// Σ_c a[c]·b[c] in W lanes, then the tail.
  static NNC_INLINE float dot(const float *a, const float *b, int64_t n) {
    V acc = splat<V>(0.0f);
    int64_t c = 0;
    for (; c + W <= n; c += W)
      acc += load<V>(a + c) * load<V>(b + c);
    float s = sumLanes(acc);
    for (; c < n; ++c)
      s += a[c] * b[c];
    return s;
  }

  /// The keys query rows [i0, i0 + rows) see: under causal masking, none
  /// past the last row.
  static int64_t keyEnd(const AttentionGeometry &g, int64_t i0, int64_t rows) {
    return g.causal ? std::min(g.Tk, i0 + rows) : g.Tk;
  }

  /// The forward over items [b, e) of (batch·head, query block).
  static NNC_INLINE void forward(const AttentionTask &t, int64_t b, int64_t e) {
    const AttentionGeometry &g = t.g;
    int64_t width = t.width;
    Scratch scratch(
        {g.Dk * width, keyBlock * width, rowBlock * g.Dv, width, width, width});
    float *qT = scratch.take(g.Dk * width),
          *ST = scratch.take(keyBlock * width),
          *acc = scratch.take(rowBlock * g.Dv), *m = scratch.take(width),
          *l = scratch.take(width), *alpha = scratch.take(width);
    int64_t blocks = (g.Tq + rowBlock - 1) / rowBlock;
    for (int64_t item = b; item < e; ++item) {
      int64_t bh = item / blocks, i0 = item % blocks * rowBlock,
              rows = std::min(rowBlock, g.Tq - i0);
      const float *K = t.k + bh * g.Tk * g.Dk, *Vv = t.v + bh * g.Tk * g.Dv;
      transposeBlock(t.q + (bh * g.Tq + i0) * g.Dk, rows, g.Dk, width, qT);
      std::fill(acc, acc + rows * g.Dv, 0.0f);
      std::fill(m, m + width, -inf);
      std::fill(l, l + width, 0.0f);
      for (int64_t j0 = 0, end = keyEnd(g, i0, rows); j0 < end;
           j0 += keyBlock) {
        int64_t keys = std::min(keyBlock, end - j0);
        scores(t, K, qT, i0, rows, j0, keys, ST);
        softmaxStep(ST, keys, width, m, l, alpha);
        for (int64_t r = 0; r < rows; ++r)
          if (alpha[r] != 1.0f)
            for (float *o = acc + r * g.Dv, *oe = o + g.Dv; o != oe; ++o)
              *o *= alpha[r];
        // acc_i += Σ_j P_ij v_j, P read transposed.
        Gemm({rows, g.Dv, keys, ST, 1, width, Vv + j0 * g.Dv, g.Dv, acc, g.Dv,
              true});
      }
      float *out = t.result + (bh * g.Tq + i0) * g.Dv;
      for (int64_t r = 0; r < rows; ++r) {
        // l is 0 only for a row with no visible key: its output is 0.
        float lr = l[r];
        for (int64_t c = 0; c < g.Dv; ++c)
          out[r * g.Dv + c] = lr == 0.0f ? 0.0f : acc[r * g.Dv + c] / lr;
      }
    }
  }

  /// The backward over heads [b, e) of the batch·head: dq, dk and dv of a
  /// head are zeroed and then summed into, query block after query block.
  static NNC_INLINE void backward(const AttentionTask &t, int64_t b,
                                  int64_t e) {
    const AttentionGeometry &g = t.g;
    int64_t width = t.width;
    Scratch scratch({g.Dk * width, g.Dv * width, keyBlock * width,
                     keyBlock * width, width, width, width, width, width});
    float *qT = scratch.take(g.Dk * width), *dOT = scratch.take(g.Dv * width),
          *PT = scratch.take(keyBlock * width),
          *dST = scratch.take(keyBlock * width), *m = scratch.take(width),
          *l = scratch.take(width), *alpha = scratch.take(width),
          *L = scratch.take(width), *D = scratch.take(width);
    for (int64_t bh = b; bh < e; ++bh) {
      const float *K = t.k + bh * g.Tk * g.Dk, *Vv = t.v + bh * g.Tk * g.Dv;
      float *dK = t.dk + bh * g.Tk * g.Dk, *dV = t.dv + bh * g.Tk * g.Dv;
      std::fill(dK, dK + g.Tk * g.Dk, 0.0f);
      std::fill(dV, dV + g.Tk * g.Dv, 0.0f);
      std::fill(t.dq + bh * g.Tq * g.Dk, t.dq + (bh + 1) * g.Tq * g.Dk, 0.0f);
      for (int64_t i0 = 0; i0 < g.Tq; i0 += rowBlock) {
        int64_t rows = std::min(rowBlock, g.Tq - i0), end = keyEnd(g, i0, rows);
        const float *Q = t.q + (bh * g.Tq + i0) * g.Dk,
                    *dO = t.dout + (bh * g.Tq + i0) * g.Dv,
                    *O = t.out + (bh * g.Tq + i0) * g.Dv;
        float *dQ = t.dq + (bh * g.Tq + i0) * g.Dk;
        transposeBlock(Q, rows, g.Dk, width, qT);
        transposeBlock(dO, rows, g.Dv, width, dOT);
        // The rows' log-sum-exp L = m + log l, from a first pass over the
        // keys, and D = dout·out; L = +inf, so P = 0, for a row with no
        // visible key and past the last row.
        std::fill(m, m + width, -inf);
        std::fill(l, l + width, 0.0f);
        for (int64_t j0 = 0; j0 < end; j0 += keyBlock) {
          int64_t keys = std::min(keyBlock, end - j0);
          scores(t, K, qT, i0, rows, j0, keys, PT);
          softmaxStep(PT, keys, width, m, l, alpha);
        }
        for (int64_t r = 0; r < width; ++r) {
          bool none = r >= rows || m[r] == -inf;
          L[r] = none ? inf : m[r] + std::log(l[r]);
          D[r] = r < rows ? dot(dO + r * g.Dv, O + r * g.Dv, g.Dv) : 0.0f;
        }
        // Pᵀ = e^(Sᵀ - L), dPᵀ = v doutᵀ, dSᵀ = scale·Pᵀ·(dPᵀ - D) (the
        // scale of dq and dk taken in), then the three products.
        for (int64_t j0 = 0; j0 < end; j0 += keyBlock) {
          int64_t keys = std::min(keyBlock, end - j0);
          scores(t, K, qT, i0, rows, j0, keys, PT);
          Gemm({keys, width, g.Dv, Vv + j0 * g.Dv, g.Dv, 1, dOT, width, dST,
                width, false});
          V scale = splat<V>(g.scale);
          for (int64_t j = 0; j < keys; ++j) {
            float *p = PT + j * width, *ds = dST + j * width;
            for (int64_t i = 0; i < width; i += W) {
              V pj = expNonPositive<W>(load<V>(p + i) - load<V>(L + i));
              store(p + i, pj);
              store(ds + i, scale * pj * (load<V>(ds + i) - load<V>(D + i)));
            }
          }
          // dv_j += Σ_i P_ij dout_i; dk_j += Σ_i dS_ij q_i.
          Gemm({keys, g.Dv, rows, PT, width, 1, dO, g.Dv, dV + j0 * g.Dv, g.Dv,
                true});
          Gemm({keys, g.Dk, rows, dST, width, 1, Q, g.Dk, dK + j0 * g.Dk, g.Dk,
                true});
          // dq_i += Σ_j dS_ij k_j, dS read transposed.
          Gemm({rows, g.Dk, keys, dST, 1, width, K + j0 * g.Dk, g.Dk, dQ, g.Dk,
                true});
        }
      }
    }
  }

  //===--------------------------------------------------------------------===//
  // Short sequences: a head in one piece
  //===--------------------------------------------------------------------===//

  /// A short head's scores and their softmax's terms are held a row per
  /// query, of `stride` = Tk rounded up to 4 floats: the keys go 4 at a
  /// time, the dot products of a query with them in one dot4.
  static int64_t headStride(const AttentionGeometry &g) {
    return (g.Tk + 3) / 4 * 4;
  }

  /// The short kernels take heads a batch at a time, each step (scores,
  /// e^x, products) over the whole batch: the steps of different heads
  /// then overlap, where a head alone is a chain of short dependent steps.
  /// Its heads' rows lie one after another, some 512 floats in all.
  static int64_t batchHeads(const AttentionGeometry &g) {
    return std::max<int64_t>(1, 512 / (g.Tq * headStride(g)));
  }

  /// Floats of a batch's rows, rounded up to whole vectors.
  static int64_t batchCells(const AttentionGeometry &g) {
    return (batchHeads(g) * g.Tq * headStride(g) + W - 1) / W * W;
  }

  /// The rows [j, j + 4) of X (ld floats apart), those at or past `rows`
  /// read as the last instead.
  struct Rows4 {
    const float *r0, *r1, *r2, *r3;
  };
  static NNC_INLINE Rows4 rows4(const float *X, int64_t j, int64_t rows,
                                int64_t ld) {
    const float *x0 = X + j * ld;
    if (j + 4 <= rows)
      return {x0, x0 + ld, x0 + 2 * ld, x0 + 3 * ld};
    const float *last = X + (rows - 1) * ld;
    return {x0, std::min(x0 + ld, last), std::min(x0 + 2 * ld, last),
            std::min(x0 + 3 * ld, last)};
  }

  /// Dot products of `a` with the rows [j, j + 4) of X (ld floats apart,
  /// D long), those at or past Tk read as row Tk - 1 instead.
  static NNC_INLINE Floats4 dotKeys(const float *a, const float *X, int64_t j,
                                    int64_t Tk, int64_t ld, int64_t D) {
    Rows4 x = rows4(X, j, Tk, ld);
    return dot4<W>(a, a, a, a, x.r0, x.r1, x.r2, x.r3, D);
  }

  /// The mask's rows at `stride` floats apart (for whole groups of keys),
  /// in `padded` (Tq·stride floats), or null without a mask.
  static NNC_INLINE const float *padMask(const AttentionTask &t,
                                         float *padded) {
    const AttentionGeometry &g = t.g;
    if (!t.mask)
      return nullptr;
    int64_t stride = headStride(g);
    for (int64_t i = 0; i < g.Tq; ++i) {
      std::copy(t.mask + i * g.Tk, t.mask + (i + 1) * g.Tk,
                padded + i * stride);
      std::fill(padded + i * stride + g.Tk, padded + (i + 1) * stride, 0.0f);
    }
    return padded;
  }

  /// A short head's products (P v, dS k, dSᵀ q, Pᵀ dout): the block GEMM's
  /// tiles inlined, 4 rows by 2 vectors, for these few rows.
  static NNC_INLINE void smallGemm(const GemmArgs &a) { gemm<W, 4, 2>(a); }

  /// The softmax of heads [bh0, bh0 + heads), their rows one after another
  /// in P (`stride` floats each): P_ij = e^(S_ij - m_i) · (1 / l_i), m_i
  /// the row's maximum (0 if it is -inf) and l_i the sum of the numerators
  /// (that of the row's 4-lane groups, lanes added as sumHalves adds them),
  /// in l; P is 0 where l_i is (a row with no visible key) and NaN for a
  /// row with a NaN score. S and P: batchCells floats, S set to -inf by
  /// the caller: the groups of 4 keys a row sees (some of) are written, the
  /// others stay -inf, and so 0 in P; a group's keys that its row does not
  /// see (under causal masking or past Tk) are -inf, overwritten, not
  /// added to: a NaN there does not leak. Each step runs over the batch.
  static NNC_INLINE void batchSoftmax(const AttentionTask &t, int64_t bh0,
                                      int64_t heads, const float *mask,
                                      float *S, float *P, float *l) {
    // The sizes in locals: the stores below, memcpy's, could otherwise
    // change t for all the compiler knows.
    const int64_t Tq = t.g.Tq, Tk = t.g.Tk, Dk = t.g.Dk,
                  stride = headStride(t.g);
    const bool causal = t.g.causal;
    const float *q = t.q + bh0 * Tq * Dk, *K = t.k + bh0 * Tk * Dk;
    const Floats4 scale = splat<Floats4>(t.g.scale),
                  minusInf = splat<Floats4>(-inf), zero = splat<Floats4>(0.0f);
    const Ints4 lane = {0, 1, 2, 3};
    for (int64_t h = 0; h < heads; ++h, K += Tk * Dk) {
      float *row = S + h * Tq * stride;
      for (int64_t i = 0; i < Tq; ++i, q += Dk, row += stride) {
        int64_t n = causal ? std::min(Tk, i + 1) : Tk;
        Floats4 m = minusInf, s = minusInf;
        NNC_SHORT_LOOP
        for (int64_t j = 0; j < n; j += 4) {
          s = dotKeys(q, K, j, Tk, Dk, Dk) * scale;
          if (mask)
            s += load<Floats4>(mask + i * stride + j);
          s = select(lane + (int32_t)j < (int32_t)n, s, minusInf);
          store(row + j, s);
          m = select(s > m, s, m); // NaNs left out: they reach l
        }
        // The row's maximum in every lane (m has no NaN), or 0 if -inf.
        Floats4 turned = __builtin_shufflevector(m, m, 2, 3, 0, 1);
        m = select(turned > m, turned, m);
        turned = __builtin_shufflevector(m, m, 1, 0, 3, 2);
        m = select(turned > m, turned, m);
        m = select(m == minusInf, zero, m);
        if (n <= 4) {
          store(row, s - m);
        } else {
          NNC_SHORT_LOOP
          for (int64_t j = 0; j < n; j += 4)
            store(row + j, load<Floats4>(row + j) - m);
        }
      }
    }
    NNC_SHORT_LOOP
    for (int64_t c = 0, cells = heads * Tq * stride; c < cells; c += W)
      store(P + c, expNonPositive<W>(load<V>(S + c)));
    float *row = P;
    for (int64_t r = 0, i = 0; r < heads * Tq;
         ++r, row += stride, i = i + 1 == Tq ? 0 : i + 1) {
      int64_t n = causal ? std::min(Tk, i + 1) : Tk;
      Floats4 sum = load<Floats4>(row);
      NNC_SHORT_LOOP
      for (int64_t j = 4; j < n; j += 4)
        sum += load<Floats4>(row + j);
      float lr = sumHalves<4>(sum);
      l[r] = lr;
      Floats4 inverse = splat<Floats4>(lr == 0.0f ? 0.0f : 1.0f / lr);
      NNC_SHORT_LOOP
      for (int64_t j = 0; j < n; j += 4)
        store(row + j, load<Floats4>(row + j) * inverse);
    }
  }

  /// The forward over heads [b, e) of the batch·head, a batch at a time:
  /// out = P v, a row of zeros where l_i is 0.
  static NNC_INLINE void forwardShort(const AttentionTask &t, int64_t b,
                                      int64_t e) {
    const int64_t Tq = t.g.Tq, Tk = t.g.Tk, Dv = t.g.Dv,
                  stride = headStride(t.g), cells = batchCells(t.g),
                  batch = batchHeads(t.g), masks = t.mask ? Tq * stride : 0;
    Scratch scratch({cells, cells, batch * Tq, masks});
    float *S = scratch.take(cells), *P = scratch.take(cells),
          *l = scratch.take(batch * Tq);
    const float *mask = padMask(t, scratch.take(masks));
    std::fill(S, S + cells, -inf);
    for (int64_t bh0 = b; bh0 < e; bh0 += batch) {
      int64_t heads = std::min(batch, e - bh0);
      batchSoftmax(t, bh0, heads, mask, S, P, l);
      const float *Vv = t.v + bh0 * Tk * Dv;
      float *out = t.result + bh0 * Tq * Dv;
      for (int64_t h = 0; h < heads; ++h, Vv += Tk * Dv, out += Tq * Dv) {
        smallGemm({Tq, Dv, Tk, P + h * Tq * stride, stride, 1, Vv, Dv, out, Dv,
                   false});
        for (int64_t i = 0; i < Tq; ++i)
          if (l[h * Tq + i] == 0.0f)
            std::fill(out + i * Dv, out + (i + 1) * Dv, 0.0f);
      }
    }
  }

  /// The backward over heads [b, e) of the batch·head, a batch at a time:
  /// dS_ij = scale·P_ij·(dout_i·v_j - dout_i·out_i), 0 for a key that
  /// query i does not see, for the whole batch, then dq = dS k, dk = dSᵀ q
  /// and dv = Pᵀ dout head by head.
  static NNC_INLINE void backwardShort(const AttentionTask &t, int64_t b,
                                       int64_t e) {
    const int64_t Tq = t.g.Tq, Tk = t.g.Tk, Dk = t.g.Dk, Dv = t.g.Dv,
                  stride = headStride(t.g), cells = batchCells(t.g),
                  batch = batchHeads(t.g), masks = t.mask ? Tq * stride : 0;
    const bool causal = t.g.causal;
    Scratch scratch({cells, cells, cells, batch * Tq, masks, Tq + 4});
    float *S = scratch.take(cells), *P = scratch.take(cells),
          *dS = scratch.take(cells), *l = scratch.take(batch * Tq);
    const float *mask = padMask(t, scratch.take(masks));
    float *D = scratch.take(Tq + 4);
    std::fill(S, S + cells, -inf);
    std::fill(dS, dS + cells, 0.0f);
    const Floats4 scale = splat<Floats4>(t.g.scale),
                  zero = splat<Floats4>(0.0f);
    const Ints4 lane = {0, 1, 2, 3};
    for (int64_t bh0 = b; bh0 < e; bh0 += batch) {
      int64_t heads = std::min(batch, e - bh0);
      batchSoftmax(t, bh0, heads, mask, S, P, l);
      const float *Vv = t.v + bh0 * Tk * Dv, *dO = t.dout + bh0 * Tq * Dv,
                  *O = t.out + bh0 * Tq * Dv;
      for (int64_t h = 0; h < heads;
           ++h, Vv += Tk * Dv, dO += Tq * Dv, O += Tq * Dv) {
        // D_i = dout_i·out_i, 4 rows at a time.
        for (int64_t i = 0; i < Tq; i += 4) {
          Rows4 x = rows4(dO, i, Tq, Dv), y = rows4(O, i, Tq, Dv);
          store(D + i,
                dot4<W>(x.r0, x.r1, x.r2, x.r3, y.r0, y.r1, y.r2, y.r3, Dv));
        }
        for (int64_t i = 0; i < Tq; ++i) {
          int64_t n = causal ? std::min(Tk, i + 1) : Tk;
          const float *p = P + (h * Tq + i) * stride, *dOi = dO + i * Dv;
          float *ds = dS + (h * Tq + i) * stride;
          Floats4 Di = splat<Floats4>(D[i]);
          NNC_SHORT_LOOP
          for (int64_t j = 0; j < n; j += 4) {
            Floats4 dP = dotKeys(dOi, Vv, j, Tk, Dv, Dv);
            store(ds + j,
                  select(lane + (int32_t)j < (int32_t)n,
                         scale * load<Floats4>(p + j) * (dP - Di), zero));
          }
        }
      }
      for (int64_t h = 0; h < heads; ++h) {
        int64_t bh = bh0 + h;
        const float *dSH = dS + h * Tq * stride, *PH = P + h * Tq * stride;
        smallGemm({Tq, Dk, Tk, dSH, stride, 1, t.k + bh * Tk * Dk, Dk,
                   t.dq + bh * Tq * Dk, Dk, false});
        smallGemm({Tk, Dk, Tq, dSH, 1, stride, t.q + bh * Tq * Dk, Dk,
                   t.dk + bh * Tk * Dk, Dk, false});
        smallGemm({Tk, Dv, Tq, PH, 1, stride, t.dout + bh * Tq * Dv, Dv,
                   t.dv + bh * Tk * Dv, Dv, false});
      }
    }
  }
};

/// The entry points of one ISA's Kernels, for nncrt_parallel_for.
template <class Kernels> struct Tasks {
  static NNC_INLINE void forward(void *ctx, int64_t b, int64_t e) {
    Kernels::forward(*static_cast<AttentionTask *>(ctx), b, e);
  }
  static NNC_INLINE void backward(void *ctx, int64_t b, int64_t e) {
    Kernels::backward(*static_cast<AttentionTask *>(ctx), b, e);
  }
  static NNC_INLINE void forwardShort(void *ctx, int64_t b, int64_t e) {
    Kernels::forwardShort(*static_cast<AttentionTask *>(ctx), b, e);
  }
  static NNC_INLINE void backwardShort(void *ctx, int64_t b, int64_t e) {
    Kernels::backwardShort(*static_cast<AttentionTask *>(ctx), b, e);
  }
};

void gemmGeneric(const GemmArgs &g) { gemm<4, 4, 2>(g); }
typedef Tasks<Kernels<4, gemmGeneric>> GenericTasks;
void forwardGeneric(void *c, int64_t b, int64_t e) {
  GenericTasks::forward(c, b, e);
}
void backwardGeneric(void *c, int64_t b, int64_t e) {
  GenericTasks::backward(c, b, e);
}
void forwardShortGeneric(void *c, int64_t b, int64_t e) {
  GenericTasks::forwardShort(c, b, e);
}
void backwardShortGeneric(void *c, int64_t b, int64_t e) {
  GenericTasks::backwardShort(c, b, e);
}

#if NNC_X86
NNC_TARGET_AVX2 void gemmAvx2(const GemmArgs &g) { gemm<8, 6, 2>(g); }
typedef Tasks<Kernels<8, gemmAvx2>> Avx2Tasks;
NNC_TARGET_AVX2 void forwardAvx2(void *c, int64_t b, int64_t e) {
  Avx2Tasks::forward(c, b, e);
}
NNC_TARGET_AVX2 void backwardAvx2(void *c, int64_t b, int64_t e) {
  Avx2Tasks::backward(c, b, e);
}
NNC_TARGET_AVX2 void forwardShortAvx2(void *c, int64_t b, int64_t e) {
  Avx2Tasks::forwardShort(c, b, e);
}
NNC_TARGET_AVX2 void backwardShortAvx2(void *c, int64_t b, int64_t e) {
  Avx2Tasks::backwardShort(c, b, e);
}

NNC_TARGET_AVX512 void gemmAvx512(const GemmArgs &g) { gemm<16, 8, 2>(g); }
typedef Tasks<Kernels<16, gemmAvx512>> Avx512Tasks;
NNC_TARGET_AVX512 void forwardAvx512(void *c, int64_t b, int64_t e) {
  Avx512Tasks::forward(c, b, e);
}
NNC_TARGET_AVX512 void backwardAvx512(void *c, int64_t b, int64_t e) {
  Avx512Tasks::backward(c, b, e);
}
NNC_TARGET_AVX512 void forwardShortAvx512(void *c, int64_t b, int64_t e) {
  Avx512Tasks::forwardShort(c, b, e);
}
NNC_TARGET_AVX512 void backwardShortAvx512(void *c, int64_t b, int64_t e) {
  Avx512Tasks::backwardShort(c, b, e);
}
#endif

typedef void (*Task)(void *, int64_t, int64_t);

/// The forward and backward of the widest ISA the CPU (and its OS) has, or
/// of the one NNC_ATTENTION_ISA (generic, avx2, avx512) names if the CPU
/// has it: a test's way to the others.
struct AttentionKernels {
  Task forward, backward, forwardShort, backwardShort;
};

AttentionKernels attentionKernels() {
  static const AttentionKernels chosen = [] {
    AttentionKernels kernels{forwardGeneric, backwardGeneric,
                             forwardShortGeneric, backwardShortGeneric};
#if NNC_X86
    const char *env = std::getenv("NNC_ATTENTION_ISA");
    auto capped = [&](const char *isa) {
      return env && std::strcmp(env, isa) == 0;
    };
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
    if (avx512 && !capped("generic") && !capped("avx2"))
      kernels = {forwardAvx512, backwardAvx512, forwardShortAvx512,
                 backwardShortAvx512};
    else if (avx2 && !capped("generic"))
      kernels = {forwardAvx2, backwardAvx2, forwardShortAvx2,
                 backwardShortAvx2};
#endif
    return kernels;
  }();
  return chosen;
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

struct EmbeddingTask {
  EmbeddingGeometry g;
  const void *indices;
  const float *table, *dy;
  float *result; // out, or dtable
};

/// indices[n], whichever its width.
int64_t indexAt(const EmbeddingTask &t, int64_t n) {
  return t.g.indexBits == 32 ? static_cast<const int32_t *>(t.indices)[n]
                             : static_cast<const int64_t *>(t.indices)[n];
}

/// Rows [b, e) of out.
void embeddingForward(void *ctx, int64_t b, int64_t e) {
  const EmbeddingTask &t = *static_cast<const EmbeddingTask *>(ctx);
  int64_t D = t.g.D;
  for (int64_t n = b; n < e; ++n) {
    int64_t i = indexAt(t, n);
    float *row = t.result + n * D;
    if (i >= 0 && i < t.g.V)
      std::copy(t.table + i * D, t.table + (i + 1) * D, row);
    else
      std::fill(row, row + D, std::numeric_limits<float>::quiet_NaN());
  }
}

/// Columns the embedding backward's threads own, in units of 16 (64 bytes:
/// two threads share no cache line of a row but at the unit's edges).
constexpr int64_t columnUnit = 16;

/// Columns [b, e) units of dtable: zeroed, then dy's rows added in order.
void embeddingBackward(void *ctx, int64_t b, int64_t e) {
  const EmbeddingTask &t = *static_cast<const EmbeddingTask *>(ctx);
  int64_t D = t.g.D, c0 = b * columnUnit, c1 = std::min(e * columnUnit, D);
  for (int64_t v = 0; v < t.g.V; ++v)
    std::fill(t.result + v * D + c0, t.result + v * D + c1, 0.0f);
  for (int64_t n = 0; n < t.g.N; ++n) {
    int64_t i = indexAt(t, n);
    if (i < 0 || i >= t.g.V)
      continue;
    float *row = t.result + i * D;
    const float *dy = t.dy + n * D;
    for (int64_t c = c0; c < c1; ++c)
      row[c] += dy[c];
  }
}
} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void nncrt_attention_forward(const float *q, const float *k, const float *v,
                             const float *mask, float *out, int64_t B,
                             int64_t H, int64_t Tq, int64_t Tk, int64_t Dk,
                             int64_t Dv, float scale, int32_t causal) {
  AttentionGeometry g{B, H, Tq, Tk, Dk, Dv, scale, causal};
  check("nncrt_attention_forward", g);
  AttentionTask task{g, q, k, v, mask};
  task.result = out;
  if (isShort(g)) {
    nncrt_parallel_for(attentionKernels().forwardShort, &task, 0, B * H,
                       shortGrain(g));
    return;
  }
  task.width = scoreWidth(Tq);
  int64_t blocks = (Tq + rowBlock - 1) / rowBlock;
  nncrt_parallel_for(attentionKernels().forward, &task, 0, B * H * blocks, 1);
}

void nncrt_attention_backward(const float *q, const float *k, const float *v,
                              const float *mask, const float *out,
                              const float *dout, float *dq, float *dk,
                              float *dv, int64_t B, int64_t H, int64_t Tq,
                              int64_t Tk, int64_t Dk, int64_t Dv, float scale,
                              int32_t causal) {
  AttentionGeometry g{B, H, Tq, Tk, Dk, Dv, scale, causal};
  check("nncrt_attention_backward", g);
  AttentionTask task{g, q, k, v, mask, out, dout};
  task.dq = dq, task.dk = dk, task.dv = dv;
  if (isShort(g)) {
    nncrt_parallel_for(attentionKernels().backwardShort, &task, 0, B * H,
                       shortGrain(g));
    return;
  }
  task.width = scoreWidth(Tq);
  nncrt_parallel_for(attentionKernels().backward, &task, 0, B * H, 1);
}

void nncrt_embedding_forward(const float *table, const void *indices,
                             float *out, int32_t indexBits, int64_t N,
                             int64_t V, int64_t D) {
  EmbeddingGeometry g{indexBits, N, V, D};
  check("nncrt_embedding_forward", g);
  EmbeddingTask task{g, indices, table, nullptr, out};
  // A thread takes 16K floats of out at least.
  nncrt_parallel_for(embeddingForward, &task, 0, N,
                     std::max<int64_t>(1, (int64_t(1) << 14) / D));
}

void nncrt_embedding_backward(const void *indices, const float *dy,
                              float *dtable, int32_t indexBits, int64_t N,
                              int64_t V, int64_t D) {
  EmbeddingGeometry g{indexBits, N, V, D};
  check("nncrt_embedding_backward", g);
  EmbeddingTask task{g, indices, nullptr, dy, dtable};
  // Each thread owns whole columns of dtable, so each element's sum runs
  // on one thread in the order of n; a thread takes 16K floats of work
  // (zeroing and adding) at least.
  int64_t units = (D + columnUnit - 1) / columnUnit,
          work = (N + V) * columnUnit;
  nncrt_parallel_for(embeddingBackward, &task, 0, units,
                     std::max<int64_t>(1, (int64_t(1) << 14) / work));
}
