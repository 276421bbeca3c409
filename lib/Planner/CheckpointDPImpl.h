//===- CheckpointDPImpl.h - the DP's tables (private) -----------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

///
/// \file
/// Shared by CheckpointDP.cpp (solve, reconstruct) and DPFill.cpp (the
/// vectorized fill): the recurrence, its tables and their layout.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_PLANNER_CHECKPOINTDPIMPL_H
#define NNC_LIB_PLANNER_CHECKPOINTDPIMPL_H

#include "nnc/Planner/Strategies.h"
#include "nnc/Support/Limits.h"

#include "llvm/Support/ErrorHandling.h"

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace nnc {
namespace planner {

//===----------------------------------------------------------------------===//
// Rotor's dynamic program
//===----------------------------------------------------------------------===//
//
// Sub-problems. For a segment [s, t] of stages and m memory units:
//
//   Pin(s, t, m)  a^{s-1} is available for the whole segment but belongs to
//                 someone else (the caller's a^0, or an abar^{s-1} that the
//                 enclosing problem keeps): not counted, never freed.
//   Own(s, t, m)  a^{s-1} is a checkpoint the segment owns: counted (cin =
//                 |a^{s-1}|, 0 for a^0) and freed once no longer needed.
//
// In both, delta^t is in memory and counted, and the goal is delta^{s-1}.
// The value is the least forward cost (backward costs are a constant added
// at the end). m counts everything the sub-problem holds, so the enclosing
// problem passes down what it does not itself occupy.
//
// A persistent schedule for [s, t] starts in one of two ways (Rotor, Thm. 1):
//
//  chain:  F_all(s); abar^s stays until B(s). Own drops a^{s-1} right away
//          (abar^s holds a^s, the only thing later stages read) unless B(s)
//          reads it (backwardNeedsInput: then a^{s-1} stays, counted, until
//          B(s) -- Rotor's original recurrence; keep = cin, else 0). Then the
//          rest [s+1, t] runs with a^s pinned inside abar^s, then B(s):
//            Pin(s, t, m) = u_f(s) + Pin(s+1, t, m - |abar^s|)
//            Own(s, t, m) = u_f(s) + Pin(s+1, t, m - |abar^s| - keep)
//          feasible if  F_all:  [cin] + |delta^t| + |abar^s| + T_f(s) <= m
//                                                              (cin: Own)
//                       B(s):   [keep] + (r(s) ? 0 : |abar^s|) + |delta^s|
//                               + |delta^{s-1}| + T_b(s) <= m
//          (T_f, T_b: the stage's forward/backward transient bytes; r(s):
//          B(s) releases abar^s before creating delta^{s-1}). The memory
//          just before B(s), [keep] + |abar^s| + |delta^s|, needs no check:
//          it is held during F_all(s) (s = t) or during B(s+1), which
//          creates delta^s, both already bounded.
//          A pinned a^{s-1} is available throughout, so Pin needs no change.
//
//  back (B(t) reads only delta^t, backwardReadsGradientOnly): B(t) first,
//          with nothing of stage t in memory, then the rest [s, t-1] as the
//          segment was (the empty segment costs 0):
//            Pin|Own(s, t, m) = Pin|Own(s, t-1, m)
//          feasible if  [cin] + |delta^t| (with residues) + |delta^{t-1}|
//                       + T_b(t) <= m.
//          This is what saves a flatten's or a global pooling's backward the
//          sweep to its stage. An owned a^{s-1} stays until B(s) (a
//          checkpoint is kept until its stage's abar exists or its backward
//          has run), so Own keeps cin throughout. B(t) is cold (backwardSum).
//          It reads only the row's own shorter segment at the same m, which
//          fillGroup has final when it finishes column t.
//
//  leaf j (s < j <= t): sweep F_ck(s), F_n(s+1), ..., F_n(j-1) keeping
//          a^{s-1} and leaving a^{j-1} as a new checkpoint; reverse [j, t]
//          owning a^{j-1}; then reverse [s, j-1] from a^{s-1}:
//            Pin(s, t, m) = sw(s, j) + Pin(s, j-1, m) + Own(j, t, m)
//            Own(s, t, m) = sw(s, j) + Own(s, j-1, m) + Own(j, t, m - cin)
//          with sw(s, j) = sum u_f(s..j-1), feasible if the sweep fits:
//            [cin] + |delta^t| + max_k (|a^{k-1}| [k > s] + |a^k| + T_f(k))
//            <= m.
//
// The answer is Pin(1, L, M) + sum u_b. Tables hold Pin and Own for every
// segment and every m in [0, M]: O(L^2 M) values, O(L) work each, O(L^3 M).
//
// How fill() evaluates it:
//  * Budget-major, in passes: every entry a pass computes reads, besides
//    its own row's shorter segments, only entries of earlier passes (or of
//    an earlier step of the same pass). So the rows of a pass are
//    independent, and kGroupRows = 16 of them advance together over t as
//    vector lanes (fillGroup). When every backward from stage 2 on reads its
//    input, Own is Pin shifted (below) and a pass is one budget p
//    (fillPassInLanes); otherwise pass p computes Pin(s, ., p - cin) and
//    Own(s, ., p), which read the same right operands Own(., ., p - cin),
//    and rows are grouped by cin (fillPassByClasses).
//  * An entry is a reduction over its leaves j of
//      g_s(j) + Own(j, t, m - base),  g_s(j) = sw(s, j) + {Pin|Own}(s, j-1, m)
//    (base = cin for Own, else 0). All rows of a group read the same right
//    operand for a given (j, t), so one broadcast serves 16 rows; 4 ends t
//    at a time, 8 independent vector accumulators (groupLeaves, an AVX2
//    clone on x86-64). Leaves j <= t0 (left operands known) are one scan;
//    the few j in (t0, t] follow column by column.
//  * The leaves scanned are exactly the feasible ones: the sweep's peak only
//    grows with j, so they are j in (s, reach(s, m - base - |delta^t|)],
//    with reach tabulated once per s for every room; above the room a
//    sweep to the chain's end takes, the bound is t itself.
//  * Pruning: a block of 16 leaves is skipped when a lower bound of its
//    leaves, (least of left - F[j-1]) + (least of Own + 2 F[j-1]) - F[s-1]
//    over the block (LeafBounds: the sweep grouped with the right part), is
//    no lower than the best so far of every entry in the tile.
// Exactness: every candidate is the same float as in the plain recurrence
// (the chain branch fs + Pin(...), a leaf (sw + left) + right, summed in that
// order), min does not depend on the order in which candidates are taken,
// and a block is skipped only when no candidate in it can be lower: the
// bound is exact where every value is an integer below 2^24, and otherwise
// must clear the best so far by a margin larger than its rounding error.
// So each entry is the recurrence's minimum, bit for bit. reconstruct()
// re-evaluates one entry's candidates (chain, then j ascending) and takes
// the first that reaches the stored value.
//
// Not used, because it is not exact: the Knuth-Yao restriction of leaf j to
// [j*(s, t-1, m), j*(s+1, t, m)]. On random heterogeneous chains it misses
// the optimum at about 1 % of entries (docs/Planner.md).
//
// Tables are float: costs are sums of stage costs, exact for integer costs
// below 2^24 and within 1e-7 relative otherwise; reported costs come from the
// simulator in double.

enum class Owner { Pin, Own };

inline constexpr float kInf = std::numeric_limits<float>::infinity();

/// A DP table: up to gigabytes, every float written once. On Linux it is
/// mapped with its pages populated up front: one system call instead of a
/// page fault per 4 KiB as the fill first touches them (measured 13-15 %
/// of the solve at L = 1000).
class Table {
public:
  Table() = default;
  explicit Table(size_t floats) : bytes(floats * sizeof(float)) {
#ifdef __linux__
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
      llvm::report_bad_alloc_error("CheckpointDP: cannot map its tables");
    data = static_cast<float *>(p);
#else
    data = new float[floats];
#endif
  }
  Table(const Table &) = delete;
  Table &operator=(const Table &) = delete;
  Table &operator=(Table &&o) noexcept {
    std::swap(data, o.data);
    std::swap(bytes, o.bytes);
    return *this;
  }
  ~Table() {
    if (!data)
      return;
#ifdef __linux__
    munmap(data, bytes);
#else
    delete[] data;
#endif
  }
  float *get() const { return data; }
  float &operator[](size_t i) const { return data[i]; }

private:
  float *data = nullptr;
  size_t bytes = 0;
};

/// Eight floats (the GCC/Clang vector extension): the lane kernel is written
/// once and compiled for AVX2 and for plain x86-64 by target_clones.
typedef float Lanes __attribute__((vector_size(32)));
/// A lane group: 16 rows s side by side (two Lanes) and 4 segment ends t.
constexpr unsigned kGroupRows = 16, kGroupCols = 4;
/// Leaves are pruned in blocks of kLeafBlock consecutive j, tested first in
/// coarse blocks of kCoarseBlock (a coarse block that cannot be skipped is
/// tested again block by block).
constexpr unsigned kLeafBlock = 16, kCoarseBlock = 64;

struct CheckpointDP::Impl {
  const Chain chain;
  unsigned L = 0;
  unsigned M = 0;               // memory units covered: m in [0, M]
  uint64_t unit = 1;            // bytes per unit
  bool exact = false;           // unit divides every size
  std::vector<int64_t> X;       // |a^i| in units, i in [0, L]
  std::vector<float> Xf;        // G as floats, for vector compares
  std::vector<int64_t> S;       // |abar^i| in units, i in [1, L]
  std::vector<int64_t> TF;      // forward transient of stage i, in units
  std::vector<int64_t> TFA;     // the same for F_all(i), in units
  std::vector<float> F;         // prefix sums of forward costs, F[0] = 0
  std::vector<float> twoF;      // twoF[j] = 2 F[j-1] (LeafBounds), j >= 1
  std::vector<char> needsInput; // B(i) reads a^{i-1}, i in [1, L]
  /// B(i) reads only delta^i (the back branch), i in [1, L].
  std::vector<char> gradOnly;
  /// Memory during such a B(i) with no abar^i, in units: G[i] + delta^{i-1}
  /// + backward transient.
  std::vector<int64_t> BKG;
  /// The running gradient delta^i with the residues held beside it
  /// (Chain::gradientBytes), in units, i in [0, L]: every check on the
  /// memory of a segment ending at t counts G[t], never X[t].
  std::vector<int64_t> G;
  /// Memory during B(i) beyond what the enclosing problem and a kept input
  /// hold, in units: (abar^i unless released) + G[i] + delta^{i-1} +
  /// backward transient.
  std::vector<int64_t> BK;
  /// reach[s * (M + 1) + r]: the largest j in [s, L] such that every forward
  /// of the leaf sweep from a^{s-1} to a^{j-1} fits in r units (s: none).
  std::vector<uint32_t> reach;
  /// sweepToEnd[s]: the room a sweep from a^{s-1} to a^{L-1} takes, so that
  /// reach(s, r) = L for every r >= it; maxX: the largest G[i], i >= 1.
  std::vector<int64_t> sweepToEnd;
  int64_t maxX = 0;
  int64_t maxCin = 0; // the largest cin(s), s >= 2
  /// The distinct cin(s), s >= 2, ascending: the classes a fill pass visits.
  /// At most L of them, while maxCin can be close to M: looping over every
  /// c <= maxCin made each pass O(M) and the fill O(M^2) (1.6 s for 4 stages
  /// at the 32768 slots dp() refines to near the minimum budget).
  std::vector<int64_t> cinClasses;
  /// Segments per budget: L(L+1)/2.
  size_t rows = 0;
  /// rowStart[s]: where the segments starting at s begin in a Pin slice.
  std::vector<size_t> rowStart;
  /// Pin and Own, budget-major: each budget m is a slice of `rows` floats.
  /// Within a slice, Pin is stored by start (pinSlot) and Own by end
  /// (ownSlot), so that what fill() reads for one s and t ascending -- the
  /// chain branch's Pin(s+1, t, .), the copied Pin(s, t, .) and the leaves'
  /// right operands Own(j, t, .), j ascending -- is contiguous.
  Table pin, own;
  /// Every backward from stage 2 on reads its input: Own is Pin shifted by
  /// cin and not stored; `own` is one slice, the current pass's.
  bool ownFromPin = false;
  /// Every backward at its cold cost; the tables add hotGain[s] (hot minus
  /// cold, 0 unless the stage has a hot cost) where B(s) directly follows
  /// F_all(s): the chain branch of a one-stage segment, nowhere else.
  double backwardSum = 0;
  std::vector<float> hotGain; // i in [1, L]
  /// The margin by which a block's bound must clear the best so far
  /// (LeafBounds): skip if bound - boundSlack >= best * boundScale. 1 and 0
  /// when every value the fill meets is an integer below 2^24.
  float boundScale = 1, boundSlack = 0;

  explicit Impl(const Chain &c) : chain(c) {}

  size_t pinSlot(unsigned s, unsigned t) const { return rowStart[s] + (t - s); }
  static size_t ownSlot(unsigned s, unsigned t) {
    return size_t(t) * (t - 1) / 2 + (s - 1);
  }
  float at(Owner o, unsigned s, unsigned t, int64_t m) const {
    if (o == Owner::Own && ownFromPin) {
      if (s == 1)
        return at(Owner::Pin, 1, t, m);
      return m < cin(s) ? kInf : at(Owner::Pin, s, t, m - cin(s));
    }
    return o == Owner::Pin ? pin[size_t(m) * rows + pinSlot(s, t)]
                           : own[size_t(m) * rows + ownSlot(s, t)];
  }
  int64_t cin(unsigned s) const { return s == 1 ? 0 : X[s - 1]; }
  /// Units of an owned input that the chain branch keeps until B(s).
  int64_t keep(Owner o, unsigned s) const {
    return o == Owner::Own && needsInput[s] ? cin(s) : 0;
  }

  /// Fills the tables; fails, before allocating them, if they would
  /// take more than limits::kMaxDPTableBytes.
  llvm::Error fill();
  struct LaneBuffers {
    std::vector<float> best, lim, gt, minLeft, minRight, infRow;
    float offset[kGroupRows];
    /// fillPassByClasses: minRight of Own slice q at [q % size()].
    std::vector<std::vector<float>> minRightRing;
  };
  /// Up to kGroupRows rows of one table whose leaves read the same Own
  /// slice; s ascending.
  struct LaneGroup {
    Owner kind;
    unsigned count;
    unsigned s[kGroupRows];
    int64_t m[kGroupRows];
  };
  void fillPassInLanes(int64_t p, LaneBuffers &w);
  void fillPassByClasses(int64_t p, LaneBuffers &w);
  void blockMinima(const float *slice, std::vector<float> &minRight) const;
  /// Bound arrays (LeafBounds) hold, per t or per block-row, the blocks'
  /// minima and then the coarse blocks'.
  size_t boundStride() const {
    return L / kLeafBlock + 1 + L / kCoarseBlock + 1;
  }
  /// Fills the coarse minima of minRight from its blocks' minima.
  void coarsen(float *minRight) const;
  void fillGroup(const LaneGroup &g, const float *right, const float *minRight,
                 LaneBuffers &w);
  void reconstruct(Owner o, unsigned s, unsigned t, unsigned m,
                   Schedule &out) const;
};

} // namespace planner
} // namespace nnc

#endif // NNC_LIB_PLANNER_CHECKPOINTDPIMPL_H
