//===- DPFillKernels.h - vector kernels of the DP fill (private) -*- C++
//-*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

///
/// \file
/// The lane kernels of CheckpointDP's fill, written once with the GCC/Clang
/// vector extension and cloned for AVX2 on x86-64. Included by DPFill.cpp
/// only. CMake checks that the compiler has the extension
/// (NNC_HAVE_VECTOR_EXTENSIONS); __builtin_reduce_or, which GCC 12 lacks,
/// has a portable fallback below.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_PLANNER_DPFILLKERNELS_H
#define NNC_LIB_PLANNER_DPFILLKERNELS_H

#include "CheckpointDPImpl.h"

#include <cstring>

#ifndef __has_builtin
#define __has_builtin(x) 0
#endif

namespace nnc {
namespace planner {

/// Whether any lane of `v` is non-zero.
template <typename V> static inline bool anyLane(V v) {
#if __has_builtin(__builtin_reduce_or)
  return __builtin_reduce_or(v) != 0;
#else
  for (unsigned i = 0; i < sizeof(V) / sizeof(v[0]); ++i)
    if (v[i])
      return true;
  return false;
#endif
}

/// Lower bounds for the leaves of a lane group, per block of leaves. Leaf j
/// of (s, t) costs sw(s, j) + left(s, j - 1) + Own(j, t), with
/// sw(s, j) = F[j-1] - F[s-1]; regrouped, that is
///   (left(s, j - 1) - F[j-1]) + (Own(j, t) + 2 F[j-1]) - F[s-1],
/// and the least of a block's leaves is at least the least first term over
/// the block plus the least second term over the block, less F[s-1].
/// Why this grouping: left(s, j - 1) runs every stage of [s, j - 1] at least
/// once, so its first term is what the left part recomputes, which grows
/// slowly with j; the second holds the sweep to a^{j-1} and the right part,
/// one rising as the other falls. Near an entry's optimum both terms are
/// nearly flat across a block, so the bound is close where it matters. (The
/// plain grouping, least (sw + left) plus least Own, leaves the sweep's rise
/// in one term and its fall in the other: at L = 512 it could not skip
/// blocks holding 34 % of the candidates even against the exact optimum;
/// this one, 3.5 %.)
///
/// The regrouped sum is not the float sum a leaf is evaluated as, so a
/// block is skipped only when the bound clears the best so far by a margin
/// that covers the rounding (Impl::boundScale, boundSlack). With integer
/// costs small enough that every value involved is an integer below 2^24,
/// all of it is exact and the margin is zero.
struct LeafBounds {
  /// [block][lane]: the least left(s, j - 1) - F[j-1] over the block's j;
  /// then, from [coarse][lane], the same over coarse blocks.
  const float *left;
  /// right[c][block]: the least Own(j, t_c, p) + 2 F[j-1] over the block's j;
  /// then, from right[c][coarse], the same over coarse blocks.
  const float *right[kGroupCols];
  unsigned coarse;
  /// [lane]: F[s-1] plus the slack; 0 for lanes not in use.
  const float *offset;
  float scale;
};

/// The leaves of a lane group: for every column c and row lane l,
///   acc[c][l] = min(acc[c][l], min over j in [lo, hi] of g[j][l] + r[c][j])
/// where g holds kGroupRows left operands per j and r[c] a column's right
/// operands by j. With \p lim, only j <= lim[c][l] counts. One right operand
/// serves 16 rows, and 8 independent accumulators keep the adds busy. A
/// block of leaves is skipped when its bound is no lower than any of the 64
/// entries' best so far: it cannot change any of them.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
groupLeaves(const float *__restrict g, const float *const *__restrict r,
            unsigned lo, unsigned hi, const float *__restrict lim,
            float *__restrict acc, const LeafBounds *__restrict bounds) {
  typedef int IntLanes __attribute__((vector_size(32)));
  Lanes a[kGroupCols][2], bound[kGroupCols][2], offset[2];
  std::memcpy(a, acc, sizeof(a));
  std::memcpy(offset, bounds->offset, sizeof(offset));
  if (lim)
    std::memcpy(bound, lim, sizeof(bound));
  const Lanes inf = (Lanes){} + kInf;
  // Whether some leaf of bound index k (LeafBounds) may lower some entry.
  auto mayLower = [&](unsigned k) {
    Lanes left[2];
    std::memcpy(left, bounds->left + size_t(k) * kGroupRows, sizeof(left));
    IntLanes lower = {};
    for (unsigned c = 0; c < kGroupCols; ++c) {
      const float right = bounds->right[c][k];
      lower |= ((left[0] + right) - offset[0] < a[c][0] * bounds->scale) |
               ((left[1] + right) - offset[1] < a[c][1] * bounds->scale);
    }
    return anyLane(lower);
  };
  for (unsigned first = lo; first <= hi;) {
    if (first % kCoarseBlock == 0 && hi - first >= kCoarseBlock - 1 &&
        !mayLower(bounds->coarse + first / kCoarseBlock)) {
      first += kCoarseBlock;
      continue;
    }
    const unsigned block = first / kLeafBlock;
    const unsigned last = std::min(hi, block * kLeafBlock + kLeafBlock - 1);
    if (mayLower(block)) {
      for (unsigned j = first; j <= last; ++j) {
        Lanes g0, g1; // unaligned loads, without a call returning a vector
        std::memcpy(&g0, g + size_t(j) * kGroupRows, sizeof(g0));
        std::memcpy(&g1, g + size_t(j) * kGroupRows + 8, sizeof(g1));
        const Lanes jj = (Lanes){} + float(j);
        for (unsigned c = 0; c < kGroupCols; ++c) {
          const float right = r[c][j];
          Lanes v0 = g0 + right, v1 = g1 + right;
          if (lim) {
            v0 = jj <= bound[c][0] ? v0 : inf;
            v1 = jj <= bound[c][1] ? v1 : inf;
          }
          a[c][0] = v0 < a[c][0] ? v0 : a[c][0];
          a[c][1] = v1 < a[c][1] ? v1 : a[c][1];
        }
      }
    }
    first = last + 1;
  }
  std::memcpy(acc, a, sizeof(a));
}

/// Transposes 8 rows of 8 floats in place (unpacks and lane permutes).
static inline void transpose8(Lanes r[8]) {
  Lanes t[8], u[8];
  for (unsigned k = 0; k < 8; k += 2) {
    t[k] = __builtin_shufflevector(r[k], r[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[k + 1] =
        __builtin_shufflevector(r[k], r[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (unsigned k = 0; k < 8; k += 4)
    for (unsigned h = 0; h < 2; ++h) {
      u[k + 2 * h] = __builtin_shufflevector(t[k + h], t[k + h + 2], 0, 1, 8, 9,
                                             4, 5, 12, 13);
      u[k + 2 * h + 1] = __builtin_shufflevector(t[k + h], t[k + h + 2], 2, 3,
                                                 10, 11, 6, 7, 14, 15);
    }
  for (unsigned c = 0; c < 4; ++c) {
    r[c] = __builtin_shufflevector(u[c], u[c + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[c + 4] =
        __builtin_shufflevector(u[c], u[c + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

/// The Own copy of fillPassInLanes for a block of kLeafBlock rows that all
/// reach every t in [from, to) (a multiple of 8 ends): for each t, the
/// block's values rowOf[k][t] go to column + t (t - 1) / 2 (the slice by
/// end, offset to the block's first row), and least[t * stride] gets the
/// least of rowOf[k][t] + twoF[k] over the block. 8 ends at a time: one
/// vector load per row, the minima across rows, two 8 x 8 transposes.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
copyColumns(const float *const *__restrict rowOf, const float *__restrict twoF,
            unsigned from, unsigned to, float *__restrict column,
            float *__restrict least, unsigned stride) {
  static_assert(kLeafBlock % 8 == 0, "a block is whole 8 x 8 transposes");
  constexpr unsigned parts = kLeafBlock / 8;
  for (unsigned t = from; t + 8 <= to; t += 8) {
    Lanes r[parts][8];
    Lanes low = (Lanes){} + kInf;
    for (unsigned k = 0; k < kLeafBlock; ++k) {
      Lanes v;
      std::memcpy(&v, rowOf[k] + t, sizeof(v));
      r[k / 8][k % 8] = v;
      const Lanes bound = v + twoF[k];
      low = bound < low ? bound : low;
    }
    for (unsigned c = 0; c < 8; ++c)
      least[size_t(t + c) * stride] = low[c];
    for (unsigned h = 0; h < parts; ++h)
      transpose8(r[h]);
    for (unsigned c = 0; c < 8; ++c) {
      float *out = column + size_t(t + c) * (t + c - 1) / 2;
      for (unsigned h = 0; h < parts; ++h)
        std::memcpy(out + 8 * h, &r[h][c], sizeof(Lanes));
    }
  }
}

/// The chain branches of a lane group for t in [from, to) (whole vectors of
/// 8 ends), every row started before \p from: lane l's entry for t,
///   X[t] <= room[l] ? fs[l] + next[l][t] : +inf,
/// goes to best[(t - from) * kGroupRows + l]. Rows are read a vector at a
/// time and transposed into the group's [t][lane] layout.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
chainBranches(const float *const *__restrict next, const float *__restrict fs,
              const float *__restrict room, const float *__restrict Xf,
              unsigned from, unsigned to, float *__restrict best) {
  const Lanes inf = (Lanes){} + kInf;
  for (unsigned t = from; t + 8 <= to; t += 8) {
    Lanes x, r[2][8];
    std::memcpy(&x, Xf + t, sizeof(x));
    for (unsigned l = 0; l < kGroupRows; ++l) {
      Lanes v;
      std::memcpy(&v, next[l] + t, sizeof(v));
      v = fs[l] + v;
      r[l / 8][l % 8] = x <= room[l] ? v : inf;
    }
    transpose8(r[0]);
    transpose8(r[1]);
    for (unsigned c = 0; c < 8; ++c) {
      float *out = best + size_t(t - from + c) * kGroupRows;
      std::memcpy(out, &r[0][c], sizeof(Lanes));
      std::memcpy(out + 8, &r[1][c], sizeof(Lanes));
    }
  }
}

/// The inverse of chainBranches for a group's finished entries: row[l][t] =
/// best[(t - from) * kGroupRows + l] for the first \p count lanes and t in
/// [from, to) (whole vectors of 8 ends).
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
storeRows(const float *__restrict best, float *const *row, unsigned count,
          unsigned from, unsigned to) {
  for (unsigned t = from; t + 8 <= to; t += 8) {
    Lanes r[2][8];
    for (unsigned c = 0; c < 8; ++c) {
      const float *in = best + size_t(t - from + c) * kGroupRows;
      std::memcpy(&r[0][c], in, sizeof(Lanes));
      std::memcpy(&r[1][c], in + 8, sizeof(Lanes));
    }
    transpose8(r[0]);
    transpose8(r[1]);
    for (unsigned l = 0; l < count; ++l)
      std::memcpy(row[l] + t, &r[l / 8][l % 8], sizeof(Lanes));
  }
}

/// out[b] = the least column[j] + twoF[j] over the kLeafBlock leaves j of
/// block b, for the blocks b in [first, last).
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
blockLeast(const float *__restrict column, const float *__restrict twoF,
           unsigned first, unsigned last, float *__restrict out) {
  for (unsigned b = first; b < last; ++b) {
    Lanes low = (Lanes){} + kInf;
    for (unsigned h = 0; h < kLeafBlock; h += 8) {
      Lanes v, f;
      std::memcpy(&v, column + b * kLeafBlock + h, sizeof(v));
      std::memcpy(&f, twoF + b * kLeafBlock + h, sizeof(f));
      v = v + f;
      low = v < low ? v : low;
    }
    float least = low[0];
    for (unsigned k = 1; k < 8; ++k)
      least = std::min(least, low[k]);
    out[b] = least;
  }
}

} // namespace planner
} // namespace nnc

#endif // NNC_LIB_PLANNER_DPFILLKERNELS_H
