//===- Strategies.cpp - Checkpointing strategies --------------------------===//
//
// Part of nnc. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Strategies.h"
#include "nnc/Planner/Simulator.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#ifdef __linux__
#include <sys/mman.h>
#endif
#include <limits>
#include <numeric>

using namespace llvm;
using namespace nnc::planner;

static Error makeError(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

//===----------------------------------------------------------------------===//
// Simple strategies
//===----------------------------------------------------------------------===//

Schedule nnc::planner::storeAll(const Chain &chain) {
  Schedule s;
  const unsigned L = chain.length();
  for (unsigned i = 1; i <= L; ++i)
    s.push_back(Action::fall(i));
  for (unsigned i = L; i >= 1; --i)
    s.push_back(Action::backward(i));
  return s;
}

Schedule nnc::planner::recomputeAll(const Chain &chain) {
  Schedule s;
  for (unsigned i = chain.length(); i >= 1; --i) {
    // Sweep a^0 -> a^{i-1}; only the sweep's current value stays alive.
    for (unsigned k = 1; k < i; ++k)
      s.push_back(k == 1 ? Action::fck(1) : Action::fn(k));
    s.push_back(Action::fall(i));
    // a^{i-1} goes as soon as nothing reads it: right after F_all(i), or
    // after B(i) when the backward reads its input.
    const bool keepInput = chain.stage(i).backwardNeedsInput;
    if (i > 1 && !keepInput)
      s.push_back(Action::discard(ValueKind::Activation, i - 1));
    s.push_back(Action::backward(i));
    if (i > 1 && keepInput)
      s.push_back(Action::discard(ValueKind::Activation, i - 1));
  }
  return s;
}

/// The segment schedule shared by sqrt and Chen's greedy variant.
/// \p bounds = {0 = b_0 < b_1 < ... < b_n = L}; segment g holds stages
/// b_g + 1 .. b_{g+1}. Forward: sweep to a^{b_{n-1}}, keeping every segment
/// input. Backward, last segment first: F_all the segment (its input is
/// dropped as soon as abar of its first stage holds what follows, or after
/// the first stage's backward if that reads it), then B it.
static Schedule segmentSchedule(const Chain &chain,
                                const std::vector<unsigned> &bounds) {
  Schedule s;
  const size_t n = bounds.size() - 1;
  std::vector<bool> isBound(bounds.back() + 1, false);
  for (unsigned b : bounds)
    isBound[b] = true;
  for (unsigned i = 1; i <= bounds[n - 1]; ++i)
    s.push_back(isBound[i - 1] ? Action::fck(i) : Action::fn(i));
  for (size_t g = n; g-- > 0;) {
    const unsigned first = bounds[g] + 1;
    const bool ownsInput = bounds[g] > 0;
    const bool keepInput = chain.stage(first).backwardNeedsInput;
    for (unsigned i = first; i <= bounds[g + 1]; ++i) {
      s.push_back(Action::fall(i));
      if (i == first && ownsInput && !keepInput)
        s.push_back(Action::discard(ValueKind::Activation, bounds[g]));
    }
    for (unsigned i = bounds[g + 1]; i >= first; --i)
      s.push_back(Action::backward(i));
    if (ownsInput && keepInput)
      s.push_back(Action::discard(ValueKind::Activation, bounds[g]));
  }
  return s;
}

Schedule nnc::planner::sqrtSegments(const Chain &chain, unsigned segments) {
  const unsigned L = chain.length();
  if (segments == 0)
    segments = static_cast<unsigned>(std::ceil(std::sqrt(double(L))));
  segments = std::clamp(segments, 1u, L);
  std::vector<unsigned> bounds{0};
  for (unsigned g = 1; g <= segments; ++g)
    bounds.push_back(static_cast<unsigned>((uint64_t(L) * g) / segments));
  return segmentSchedule(chain, bounds);
}

Expected<Schedule> nnc::planner::chenGreedy(const Chain &chain,
                                            uint64_t budgetBytes) {
  const unsigned L = chain.length();
  int64_t maxSaved = 0, total = 0;
  for (unsigned i = 1; i <= L; ++i) {
    maxSaved = std::max(maxSaved, chain.savedBytes(i));
    total += chain.savedBytes(i);
  }
  // Chen et al. grid-search the threshold; we try a geometric grid plus its
  // endpoints, which is enough to see every segmentation of interest without
  // the O(L^2) of trying every prefix sum.
  std::vector<int64_t> thresholds{maxSaved, total};
  const int steps = 256;
  for (int k = 1; k < steps; ++k)
    thresholds.push_back(static_cast<int64_t>(
        maxSaved * std::pow(double(total) / maxSaved, double(k) / steps)));
  std::optional<Schedule> best;
  SimulationResult bestSim;
  int64_t leastPeak = std::numeric_limits<int64_t>::max();
  for (int64_t theta : thresholds) {
    std::vector<unsigned> bounds{0};
    int64_t run = 0;
    for (unsigned i = 1; i <= L; ++i) {
      if (run > 0 && run + chain.savedBytes(i) > theta) {
        bounds.push_back(i - 1);
        run = 0;
      }
      run += chain.savedBytes(i);
    }
    bounds.push_back(L);
    Schedule s = segmentSchedule(chain, bounds);
    SimulationResult sim = simulate(chain, s);
    assert(sim.valid && "segment schedules are valid by construction");
    leastPeak = std::min(leastPeak, sim.peakBytes);
    if (uint64_t(sim.peakBytes) > budgetBytes)
      continue;
    if (!best || sim.computeCost < bestSim.computeCost ||
        (sim.computeCost == bestSim.computeCost &&
         sim.peakBytes < bestSim.peakBytes)) {
      best = std::move(s);
      bestSim = sim;
    }
  }
  if (!best)
    return makeError("chen: no greedy segmentation fits in " +
                     Twine(budgetBytes) +
                     " bytes; the least peak it reaches "
                     "is " +
                     Twine(leastPeak) +
                     " bytes (the minimum feasible "
                     "budget for any strategy is " +
                     Twine(minimumFeasibleBudget(chain)) + " bytes)");
  return std::move(*best);
}

uint64_t nnc::planner::revolveForwardSteps(uint64_t l, uint64_t s) {
  // beta(s, t) = C(s + t, s), computed incrementally and exactly; the values
  // needed for realistic l stay far below 2^64.
  auto binom = [](uint64_t n, uint64_t k) {
    k = std::min(k, n - k);
    unsigned __int128 r = 1;
    for (uint64_t i = 1; i <= k; ++i)
      r = r * (n - k + i) / i;
    return static_cast<uint64_t>(r);
  };
  uint64_t t = 0;
  while (binom(s + t, s) < l)
    ++t;
  return t * l - binom(s + t, s + 1);
}

//===----------------------------------------------------------------------===//
// Minimum feasible budget
//===----------------------------------------------------------------------===//

// The same decomposition as the DP below, with (max, min) instead of
// (+, min) and exact bytes: the least peak of any persistent schedule. Each
// entry remembers its choice (0: the chain branch, j: leaf j) so that the
// least-peak schedule itself can be rebuilt.
namespace {
struct LeastPeak {
  const Chain &chain;
  unsigned L;
  std::vector<int64_t> mp, mo;  // least peak, a^{s-1} pinned / owned
  std::vector<unsigned> cp, co; // the choice that reaches it

  static size_t idx(unsigned s, unsigned t) {
    return size_t(t) * (t - 1) / 2 + (s - 1);
  }

  explicit LeastPeak(const Chain &c) : chain(c), L(c.length()) {
    // Sizes in arrays, read in the inner loop (the Chain accessors check
    // their index on every call).
    std::vector<int64_t> x(L + 1), sv(L + 1), tf(L + 1), backAdds(L + 1);
    for (unsigned i = 0; i <= L; ++i)
      x[i] = chain.activationBytes(i);
    for (unsigned i = 1; i <= L; ++i) {
      const Stage &st = chain.stage(i);
      sv[i] = chain.savedBytes(i);
      tf[i] = st.forwardTransientBytes;
      // What B(i) adds to the memory before it: delta^{i-1}, its transient,
      // and abar^i only if it is still held while delta^{i-1} is created.
      backAdds[i] = x[i - 1] + st.backwardTransientBytes -
                    (st.backwardReleasesSaved ? sv[i] : 0);
    }
    const size_t n = size_t(L) * (L + 1) / 2;
    mp.resize(n);
    mo.resize(n);
    cp.assign(n, 0);
    co.assign(n, 0);
    // The leaves' left parts (s, j - 1), j ascending, again by start, so
    // that the inner loop reads them in order (mp and mo are by end).
    std::vector<int64_t> mpRow(size_t(L + 1) * (L + 1)),
        moRow(size_t(L + 1) * (L + 1));
    // Leaves go in blocks of kBlock, aligned on j: minRight[t][b] is the
    // least mo(j, t), minLeftP[s][b] the least mp(s, j - 1) and minLeftO
    // likewise over the leaves j of block b known so far; sweepMax[b] the
    // largest forward peak x[k] + x[k - 1] + tf[k] over k in block b (the
    // sweep's peak after a block, for a sweep that started before it).
    constexpr unsigned kBlock = 16;
    const unsigned blocks = L / kBlock + 1;
    const int64_t kNone = std::numeric_limits<int64_t>::max();
    std::vector<int64_t> minRight(size_t(L + 1) * blocks, kNone),
        minLeftP(size_t(L + 1) * blocks, kNone),
        minLeftO(size_t(L + 1) * blocks, kNone), sweepMax(blocks, 0);
    for (unsigned k = 1; k <= L; ++k)
      sweepMax[k / kBlock] =
          std::max(sweepMax[k / kBlock], x[k] + x[k - 1] + tf[k]);
    for (unsigned d = 0; d < L; ++d) {
      for (unsigned s = 1; s + d <= L; ++s) {
        const unsigned t = s + d;
        const int64_t cin = s == 1 ? 0 : x[s - 1];
        // An owned input that B(s) reads stays (counted) until B(s).
        const int64_t keep = chain.stage(s).backwardNeedsInput ? cin : 0;
        int64_t rest = s < t ? sv[s] + mp[idx(s + 1, t)] : 0;
        // B(s) starts from abar^s and delta^s; the memory before it is below
        // the peak of what came before (F_all(s), or B(s+1) creating
        // delta^s).
        int64_t back = sv[s] + x[s] + backAdds[s];
        int64_t fall = x[t] + sv[s] + tf[s];
        int64_t pin = std::max({fall, back, rest});
        int64_t own = std::max({cin + fall, keep + back, keep + rest});
        unsigned pinChoice = 0, ownChoice = 0;
        int64_t sweep = 0;
        const int64_t *right = mo.data() + idx(1, t) - 1; // right[j] = mo(j, t)
        const int64_t *leftP = mpRow.data() + size_t(s) * (L + 1) + 1;
        const int64_t *leftO = moRow.data() + size_t(s) * (L + 1) + 1;
        const int64_t *least = minRight.data() + size_t(t) * blocks;
        const int64_t *leastP = minLeftP.data() + size_t(s) * blocks;
        const int64_t *leastO = minLeftO.data() + size_t(s) * blocks;
        for (unsigned j = s + 1; j <= t; ++j) {
          const unsigned k = j - 1;
          sweep = std::max(sweep, x[k] + (k > s ? x[k - 1] : 0) + tf[k]);
          // A whole block of leaves j..j+15 whose least possible peaks
          // reach both bests changes neither: the sweep's peak only grows
          // with j, and the right and left parts are at least their least
          // over the block.
          if (j % kBlock == 0 && j + kBlock - 1 <= t) {
            const unsigned b = j / kBlock;
            const int64_t reach = x[t] + sweep;
            if (std::max({reach, least[b], leastP[b]}) >= pin &&
                std::max({cin + reach, cin + least[b], leastO[b]}) >= own) {
              // On to j + kBlock, whose sweep passes this block's stages
              // (all after s).
              sweep = std::max(sweep, sweepMax[b]);
              j += kBlock - 1;
              continue;
            }
          }
          // leftP[j - 2] = mp(s, j - 1), leftO likewise.
          int64_t p = std::max({x[t] + sweep, right[j], leftP[j - 2]});
          int64_t o =
              std::max({cin + x[t] + sweep, cin + right[j], leftO[j - 2]});
          if (p < pin) {
            pin = p;
            pinChoice = j;
          }
          if (o < own) {
            own = o;
            ownChoice = j;
          }
        }
        mp[idx(s, t)] = pin;
        cp[idx(s, t)] = pinChoice;
        // Owning a^0 is pinning it.
        mo[idx(s, t)] = s == 1 ? pin : own;
        co[idx(s, t)] = s == 1 ? pinChoice : ownChoice;
        mpRow[size_t(s) * (L + 1) + t] = mp[idx(s, t)];
        moRow[size_t(s) * (L + 1) + t] = mo[idx(s, t)];
        // Block minima for the tests above: (s, t) is the right part of
        // leaf s of the segments ending at t, and the left part of leaf
        // t + 1 of those starting at s.
        int64_t &r = minRight[size_t(t) * blocks + s / kBlock];
        r = std::min(r, mo[idx(s, t)]);
        if (t < L) {
          int64_t &lp = minLeftP[size_t(s) * blocks + (t + 1) / kBlock];
          int64_t &lo = minLeftO[size_t(s) * blocks + (t + 1) / kBlock];
          lp = std::min(lp, mp[idx(s, t)]);
          lo = std::min(lo, mo[idx(s, t)]);
        }
      }
    }
  }

  /// Appends the least-peak schedule of [s, t] with a^{s-1} owned or
  /// pinned, in the same actions CheckpointDP::Impl::reconstruct() emits.
  void schedule(bool owned, unsigned s, unsigned t, Schedule &out) const {
    owned = owned && s > 1;
    const unsigned j = (owned ? co : cp)[idx(s, t)];
    if (j == 0) {
      const bool keepInput = owned && chain.stage(s).backwardNeedsInput;
      out.push_back(Action::fall(s));
      if (owned && !keepInput)
        out.push_back(Action::discard(ValueKind::Activation, s - 1));
      if (s < t)
        schedule(/*owned=*/false, s + 1, t, out);
      out.push_back(Action::backward(s));
      if (keepInput)
        out.push_back(Action::discard(ValueKind::Activation, s - 1));
      return;
    }
    out.push_back(Action::fck(s));
    for (unsigned k = s + 1; k < j; ++k)
      out.push_back(Action::fn(k));
    schedule(/*owned=*/true, j, t, out);
    schedule(owned, s, j - 1, out);
  }
};
} // namespace

int64_t nnc::planner::minimumFeasibleBudget(const Chain &chain) {
  return LeastPeak(chain).mp[LeastPeak::idx(1, chain.length())];
}

Schedule nnc::planner::leastPeakSchedule(const Chain &chain) {
  Schedule s;
  LeastPeak(chain).schedule(/*owned=*/false, 1, chain.length(), s);
  return s;
}

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

namespace {
enum class Owner { Pin, Own };
} // namespace

static constexpr float kInf = std::numeric_limits<float>::infinity();

namespace {
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
      report_bad_alloc_error("CheckpointDP: cannot map its tables");
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
} // namespace

namespace {
/// Eight floats (the GCC/Clang vector extension): the lane kernel is written
/// once and compiled for AVX2 and for plain x86-64 by target_clones.
typedef float Lanes __attribute__((vector_size(32)));
/// A lane group: 16 rows s side by side (two Lanes) and 4 segment ends t.
constexpr unsigned kGroupRows = 16, kGroupCols = 4;
/// Leaves are pruned in blocks of kLeafBlock consecutive j, tested first in
/// coarse blocks of kCoarseBlock (a coarse block that cannot be skipped is
/// tested again block by block).
constexpr unsigned kLeafBlock = 16, kCoarseBlock = 64;
} // namespace

struct CheckpointDP::Impl {
  const Chain chain;
  unsigned L = 0;
  unsigned M = 0;               // memory units covered: m in [0, M]
  uint64_t unit = 1;            // bytes per unit
  bool exact = false;           // unit divides every size
  std::vector<int64_t> X;       // |a^i| in units, i in [0, L]
  std::vector<float> Xf;        // X as floats, for vector compares
  std::vector<int64_t> S;       // |abar^i| in units, i in [1, L]
  std::vector<int64_t> TF;      // forward transient of stage i, in units
  std::vector<float> F;         // prefix sums of forward costs, F[0] = 0
  std::vector<float> twoF;      // twoF[j] = 2 F[j-1] (LeafBounds), j >= 1
  std::vector<char> needsInput; // B(i) reads a^{i-1}, i in [1, L]
  /// Memory during B(i) beyond what the enclosing problem and a kept input
  /// hold, in units: (abar^i unless released) + delta^i + delta^{i-1} +
  /// backward transient.
  std::vector<int64_t> BK;
  /// reach[s * (M + 1) + r]: the largest j in [s, L] such that every forward
  /// of the leaf sweep from a^{s-1} to a^{j-1} fits in r units (s: none).
  std::vector<uint32_t> reach;
  /// sweepToEnd[s]: the room a sweep from a^{s-1} to a^{L-1} takes, so that
  /// reach(s, r) = L for every r >= it; maxX: the largest |a^i|, i >= 1.
  std::vector<int64_t> sweepToEnd;
  int64_t maxX = 0;
  int64_t maxCin = 0; // the largest cin(s), s >= 2
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
  double backwardSum = 0;
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

  void fill();
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
    return __builtin_reduce_or(lower) != 0;
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

/// One pass p of fill() when every backward from stage 2 on reads its input.
/// All of the pass's entries are Pin at budget p, and none reads another
/// entry of the pass except its own row's shorter segments: the right
/// operands Own(j, t, p) = Pin(j, t, p - cin(j)) and the chain branch's
/// Pin(s+1, t, p - |abar^s|) are from earlier passes. So the rows go in
/// groups of kGroupRows consecutive starts, each filled by fillGroup.
void CheckpointDP::Impl::fillPassInLanes(int64_t p, LaneBuffers &w) {
  // Own(j, ., p) = Pin(j, ., p - cin(j)): the right operands of this pass,
  // in the one Own slice this mode keeps, and minRight[t * stride + b], the
  // least Own(j, t, p) + 2 F[j-1] over the leaves j of block b (LeafBounds;
  // blockMinima, fused into the copy). A block of kLeafBlock rows at a time:
  // the rows are read and the columns written a cache line at a time.
  float *ownP = own.get();
  const unsigned blocks = L / kLeafBlock + 1;
  const size_t stride = boundStride();
  w.minRight.assign(size_t(L + 1) * stride, kInf);
  const float *rowOf[kLeafBlock];
  for (unsigned b = 0; b < blocks; ++b) {
    const unsigned j0 = std::max(2u, b * kLeafBlock);
    const unsigned j1 = std::min(L, b * kLeafBlock + kLeafBlock - 1);
    for (unsigned j = j0; j <= j1; ++j) {
      const int64_t m = p - cin(j);
      rowOf[j - j0] = m < 0 ? w.infRow.data()
                            : pin.get() + size_t(m) * rows + pinSlot(j, j) -
                                  j; // rowOf[j - j0][t] = Pin(j, t, m)
    }
    auto copyColumn = [&](unsigned t) {
      float *column = ownP + ownSlot(1, t) - 1; // column[j] = Own(j, t, p)
      float least = kInf;
      for (unsigned j = j0, end = std::min(j1, t); j <= end; ++j) {
        const float v = rowOf[j - j0][t];
        column[j] = v;
        least = std::min(least, v + twoF[j]);
      }
      w.minRight[size_t(t) * stride + b] = least;
    };
    // Where all of the block's rows reach t, 8 ends at a time in vectors
    // (copyColumns); the triangle before, and what is left after, one by one.
    unsigned t = j0, vectorEnd = j0;
    if (j1 - j0 + 1 == kLeafBlock) {
      vectorEnd = j1 + (L + 1 - j1) / 8 * 8;
      for (; t < j1; ++t)
        copyColumn(t);
      copyColumns(rowOf, twoF.data() + j0, j1, vectorEnd, ownP + j0 - 1,
                  w.minRight.data() + b, stride);
      t = vectorEnd;
    }
    for (; t <= L; ++t)
      copyColumn(t);
  }
  coarsen(w.minRight.data());
  LaneGroup group;
  group.kind = Owner::Pin;
  for (unsigned s0 = 1; s0 <= L; s0 += kGroupRows) {
    group.count = std::min(kGroupRows, L - s0 + 1);
    for (unsigned l = 0; l < group.count; ++l) {
      group.s[l] = s0 + l;
      group.m[l] = p;
    }
    fillGroup(group, ownP, w.minRight.data(), w);
  }
}

/// Fills the rows of \p g: every entry (g.s[l], t, g.m[l]) of table g.kind,
/// t >= s. \p right is the Own slice, by end, that all of the rows' leaves
/// read (Own(j, t, m - base) with base = cin for Own rows, else 0: the same
/// slice for every row of a group), \p minRight its least per block of
/// leaves (LeafBounds). What each row reads from the tables (its chain
/// branches, which start the scan) and writes (its entries) goes through
/// buffers laid out [t][lane], one row at a time, so that the tables are
/// streamed.
void CheckpointDP::Impl::fillGroup(const LaneGroup &g, const float *right0,
                                   const float *minRight, LaneBuffers &w) {
  constexpr unsigned R = kGroupRows;
  const unsigned blocks = L / kLeafBlock + 1;
  const size_t stride = boundStride();
  const bool isOwn = g.kind == Owner::Own;
  const unsigned s0 = g.s[0];
  const unsigned width = L - s0 + 1; // ends t in [s0, L]
  // best[(t - s0) * R + l]: the chain branch of (s, t), then the entry
  // itself; lim alike: the last feasible leaf j. Lanes not in use or before
  // their row starts get +inf and no bound on their leaves: their results
  // are dropped.
  // The chain branches below write every (t >= s, lane in use); only the
  // rest is filled here: the ends before the last row starts, those past L
  // (columns of the last tile beyond the chain) and unused lanes.
  // From vectorFrom on (t past the last s), every row has started, and the
  // chain branches are read and the entries written 8 ends at a time,
  // transposed in vectors.
  const unsigned vectorFrom = std::min(L + 1, g.s[g.count - 1] + 1);
  const unsigned vectorEnd = vectorFrom + (L + 1 - vectorFrom) / 8 * 8;
  w.best.resize(size_t(width + kGroupCols) * R);
  std::fill(w.best.begin(), w.best.begin() + size_t(vectorFrom - s0) * R, kInf);
  std::fill(w.best.begin() + size_t(width) * R, w.best.end(), kInf);
  if (g.count < R)
    for (unsigned t = vectorFrom; t <= L; ++t)
      std::fill_n(w.best.begin() + size_t(t - s0) * R + g.count, R - g.count,
                  kInf);
  // gt[j * R + l] = sw(s, j) + {Pin|Own}(s, j - 1, m), +inf for j <= s (not
  // a leaf of row s); written for every lane at the end of column j - 1,
  // before any scan reads it, so it needs no initial value.
  w.gt.resize(size_t(L + 2) * R);
  w.minLeft.assign(stride * R, kInf);
  const float *right[kGroupCols];
  LeafBounds bounds;
  bounds.left = w.minLeft.data();
  bounds.coarse = blocks;
  bounds.offset = w.offset;
  bounds.scale = boundScale;
  // A row's leaves are limited by the sweep's room only at budgets below
  // what a sweep to the end of the chain takes beside the largest delta^t;
  // above it (nearly every pass) lim is t, implied by j <= t0.
  bool limited = false;
  Lanes start[2], before[2]; // s and F[s-1] by lane; +inf for unused lanes
  const float *nextOf[R];
  float fsOf[R], roomOf[R];
  for (unsigned l = 0; l < R; ++l) {
    const bool used = l < g.count;
    const unsigned s = used ? g.s[l] : 0;
    start[l / 8][l % 8] = used ? float(s) : kInf;
    before[l / 8][l % 8] = used ? F[s - 1] : kInf;
    w.offset[l] = used ? F[s - 1] + boundSlack : 0;
    nextOf[l] = w.infRow.data();
    fsOf[l] = 0;
    roomOf[l] = -kInf;
    if (!used)
      continue;
    const int64_t m = g.m[l];
    const int64_t base = isOwn ? cin(s) : 0, kept = keep(g.kind, s);
    const float fs = F[s] - F[s - 1];
    const int64_t afterFall = m - S[s] - kept;
    const float *next = s < L && afterFall >= 0
                            ? pin.get() + size_t(afterFall) * rows +
                                  pinSlot(s + 1, s + 1) - (s + 1)
                            : nullptr; // next[t] = Pin(s+1, t, afterFall)
    const bool backFits = m >= kept + BK[s];
    // F_all(s) fits iff X[t] <= m - fallAt.
    const int64_t fallAt = base + S[s] + TF[s];
    // Starting the scans from the entries one budget below (an upper bound:
    // tables only fall as m grows) was measured to scan 10 % fewer blocks,
    // and reading that slice cost more than it saved.
    // Up to vectorFrom one by one, then in vectors (chainBranches).
    for (unsigned t = s; t < vectorFrom; ++t) {
      float v = kInf;
      if (backFits && m - fallAt >= X[t])
        v = s == t ? fs : next ? fs + next[t] : kInf;
      w.best[size_t(t - s0) * R + l] = v;
    }
    nextOf[l] = next ? next : w.infRow.data();
    fsOf[l] = fs;
    roomOf[l] = backFits ? float(m - fallAt) : -kInf;
    if (m - base - maxX >= sweepToEnd[s])
      continue;
    if (!limited)
      w.lim.assign(size_t(width + kGroupCols) * R, float(L));
    limited = true;
    const uint32_t *reachRow = reach.data() + size_t(s) * (M + 1);
    for (unsigned t = s; t <= L; ++t) {
      const int64_t room = m - base - X[t];
      w.lim[size_t(t - s0) * R + l] =
          room < 0 ? float(s) : float(std::min(t, reachRow[room]));
    }
  }
  chainBranches(nextOf, fsOf, roomOf, Xf.data(), vectorFrom, vectorEnd,
                w.best.data() + size_t(vectorFrom - s0) * R);
  for (unsigned l = 0; l < g.count; ++l)
    for (unsigned t = vectorEnd; t <= L; ++t)
      w.best[size_t(t - s0) * R + l] =
          Xf[t] <= roomOf[l] ? fsOf[l] + nextOf[l][t] : kInf;
  for (unsigned t0 = s0; t0 <= L; t0 += kGroupCols) {
    const unsigned cols = std::min(kGroupCols, L - t0 + 1);
    float *acc = w.best.data() + size_t(t0 - s0) * R;
    const float *lim = limited ? w.lim.data() + size_t(t0 - s0) * R : nullptr;
    float minLim = float(t0), maxLim = 0;
    if (lim)
      for (unsigned k = 0; k < cols * R; ++k) {
        minLim = std::min(minLim, lim[k]);
        maxLim = std::max(maxLim, lim[k]);
      }
    for (unsigned c = 0; c < kGroupCols; ++c) {
      const unsigned t = std::min(t0 + c, L);
      right[c] = right0 + ownSlot(1, t) - 1; // right[c][j] = Own(j, t)
      bounds.right[c] = minRight + size_t(t) * stride;
    }
    // Leaves whose left operand is known: j in (s0, t0].
    const unsigned unmasked = unsigned(std::min<float>(minLim, float(t0)));
    if (unmasked > s0)
      groupLeaves(w.gt.data(), right, s0 + 1, unmasked, nullptr, acc, &bounds);
    const unsigned from = std::max(unmasked, s0) + 1;
    const unsigned bounded = unsigned(std::min<float>(maxLim, float(t0)));
    if (lim && bounded >= from)
      groupLeaves(w.gt.data(), right, from, bounded, lim, acc, &bounds);
    // Column by column: leaves in (t0, t], then the column is final and
    // gives each row its left operand for j = t + 1.
    const Lanes inf = (Lanes){} + kInf;
    for (unsigned c = 0; c < cols; ++c) {
      const unsigned t = t0 + c;
      Lanes a[2];
      std::memcpy(a, acc + c * R, sizeof(a));
      for (unsigned j = t0 + 1; j <= t; ++j) {
        Lanes g[2], bound[2];
        std::memcpy(g, w.gt.data() + size_t(j) * R, sizeof(g));
        if (lim)
          std::memcpy(bound, lim + c * R, sizeof(bound));
        for (unsigned h = 0; h < 2; ++h) {
          Lanes v = g[h] + right[c][j];
          if (lim)
            v = float(j) <= bound[h] ? v : inf;
          a[h] = v < a[h] ? v : a[h];
        }
      }
      std::memcpy(acc + c * R, a, sizeof(a));
      if (t == L)
        continue;
      Lanes least[2];
      float *leastAt = w.minLeft.data() + size_t((t + 1) / kLeafBlock) * R;
      float *coarseAt =
          w.minLeft.data() + size_t(blocks + (t + 1) / kCoarseBlock) * R;
      Lanes coarse[2];
      std::memcpy(least, leastAt, sizeof(least));
      std::memcpy(coarse, coarseAt, sizeof(coarse));
      for (unsigned h = 0; h < 2; ++h) {
        // Rows that have not started by t keep +inf.
        Lanes g = (F[t] - before[h]) + a[h];
        g = start[h] <= float(t) ? g : inf;
        std::memcpy(w.gt.data() + size_t(t + 1) * R + 8 * h, &g, sizeof(g));
        Lanes lift = a[h] - F[t]; // LeafBounds' first term, of leaf t + 1
        lift = start[h] <= float(t) ? lift : inf;
        least[h] = lift < least[h] ? lift : least[h];
        coarse[h] = lift < coarse[h] ? lift : coarse[h];
      }
      std::memcpy(leastAt, least, sizeof(least));
      std::memcpy(coarseAt, coarse, sizeof(coarse));
    }
  }
  float *rowOf[R];
  for (unsigned l = 0; l < g.count; ++l) {
    const unsigned s = g.s[l];
    const int64_t m = g.m[l];
    if (isOwn) {
      for (unsigned t = s; t <= L; ++t)
        own[size_t(m) * rows + ownSlot(s, t)] = w.best[size_t(t - s0) * R + l];
    } else {
      float *row = pin.get() + size_t(m) * rows + pinSlot(s, s) - s;
      rowOf[l] = row; // row[t] = Pin(s, t, m)
      for (unsigned t = s; t < vectorFrom; ++t)
        row[t] = w.best[size_t(t - s0) * R + l];
      for (unsigned t = vectorEnd; t <= L; ++t)
        row[t] = w.best[size_t(t - s0) * R + l];
    }
  }
  if (!isOwn)
    storeRows(w.best.data() + size_t(vectorFrom - s0) * R, rowOf, g.count,
              vectorFrom, vectorEnd);
}

/// minRight[t * boundStride() + b] = the least Own(j, t, q) + 2 F[j-1] over
/// the leaves j >= 2 of block b, and the same over coarse blocks after the
/// blocks (LeafBounds), for the Own slice \p slice (by end).
void CheckpointDP::Impl::blockMinima(const float *slice,
                                     std::vector<float> &minRight) const {
  const size_t stride = boundStride();
  minRight.assign(size_t(L + 1) * stride, kInf);
  for (unsigned t = 2; t <= L; ++t) {
    const float *column = slice + ownSlot(1, t) - 1; // column[j] = Own(j, t)
    float *out = minRight.data() + size_t(t) * stride;
    // Block 0 (j from 2) and the last, partial block one by one; the whole
    // blocks between in vectors.
    auto least = [&](unsigned j) {
      out[j / kLeafBlock] = std::min(out[j / kLeafBlock], column[j] + twoF[j]);
    };
    const unsigned whole = (t + 1) / kLeafBlock; // blocks below are whole
    for (unsigned j = 2; j <= std::min(t, kLeafBlock - 1); ++j)
      least(j);
    if (whole > 1)
      blockLeast(column, twoF.data(), 1, whole, out);
    for (unsigned j = std::max(kLeafBlock, whole * kLeafBlock); j <= t; ++j)
      least(j);
  }
  coarsen(minRight.data());
}

void CheckpointDP::Impl::coarsen(float *minRight) const {
  const unsigned blocks = L / kLeafBlock + 1;
  const size_t stride = boundStride();
  constexpr unsigned perCoarse = kCoarseBlock / kLeafBlock;
  for (unsigned t = 0; t <= L; ++t) {
    float *row = minRight + size_t(t) * stride;
    for (unsigned b = 0; b < blocks; ++b)
      row[blocks + b / perCoarse] =
          std::min(row[blocks + b / perCoarse], row[b]);
  }
}

/// One pass p of fill() when some Own row has a scan of its own (some
/// backward from stage 2 on does not read its input). Pass p computes
/// Pin(s, ., p - cin(s)) and Own(s, ., p) for every s, and both read the
/// right operands Own(., ., p - cin(s)); so rows are grouped by cin, and
/// each lane group's leaves read one Own slice. In this order:
///  1. Pin rows s >= 2. They read earlier passes only: right operands at
///     p - cin < p, the chain branch's Pin(s+1, ., p - cin - |abar^s|) from
///     pass p - cin - |abar^s| + |a^s| < p.
///  2. Own rows s >= 2 (p <= M). Where B(s) reads its input, Own is Pin
///     shifted and copied from step 1; the others scan. Their chain branch
///     Pin(s+1, ., p - |abar^s|) is from pass p - |abar^s| + |a^s| <= p:
///     step 1 at the latest.
///  3. Pin(1, ., p): cin = 0, so its right operands are step 2's; then
///     Own(1, ., p) = Pin(1, ., p) (a^0 is never counted nor freed).
void CheckpointDP::Impl::fillPassByClasses(int64_t p, LaneBuffers &w) {
  const int64_t ring = int64_t(w.minRightRing.size());
  auto minRightOf = [&](int64_t q) { return w.minRightRing[q % ring].data(); };
  // The groups of one step, each of kGroupRows rows of one class (cin) and
  // the Own slice q its leaves read, taken in the order of their first rows
  // rather than class by class: groups of different classes cover
  // interleaved rows, and an Own group writes its entries by end, where
  // neighbouring rows share cache lines, so the next group over the same
  // rows finds them still cached. Groups of one step do not read each other.
  struct Planned {
    LaneGroup group;
    int64_t q;
  };
  std::vector<Planned> steps;
  auto groups = [&](Owner kind) {
    steps.clear();
    for (int64_t c = 1; c <= maxCin; ++c) {
      const int64_t q = p - c; // the rows' right operands: Own(., ., q)
      if (q < 0 || (kind == Owner::Pin && q > int64_t(M)))
        continue;
      Planned next;
      next.group.kind = kind;
      next.group.count = 0;
      next.q = q;
      for (unsigned s = 2; s <= L; ++s) {
        if (cin(s) != c || (kind == Owner::Own && needsInput[s]))
          continue;
        LaneGroup &g = next.group;
        g.s[g.count] = s;
        g.m[g.count] = kind == Owner::Pin ? q : p;
        if (++g.count == kGroupRows) {
          steps.push_back(next);
          g.count = 0;
        }
      }
      if (next.group.count)
        steps.push_back(next);
    }
    llvm::sort(steps, [](const Planned &a, const Planned &b) {
      return a.group.s[0] < b.group.s[0];
    });
    for (const Planned &g : steps)
      fillGroup(g.group, own.get() + size_t(g.q) * rows, minRightOf(g.q), w);
  };
  groups(Owner::Pin);
  if (p > int64_t(M))
    return;
  groups(Owner::Own);
  for (unsigned s = 2; s <= L; ++s) {
    const int64_t m = p - cin(s);
    if (m >= 0 && !needsInput[s])
      continue;
    for (unsigned t = s; t <= L; ++t) // Own(s, ., p): infeasible or copied
      own[size_t(p) * rows + ownSlot(s, t)] =
          m < 0 ? kInf : at(Owner::Pin, s, t, m);
  }
  blockMinima(own.get() + size_t(p) * rows, w.minRightRing[p % ring]);
  LaneGroup first;
  first.kind = Owner::Pin;
  first.count = 1;
  first.s[0] = 1;
  first.m[0] = p;
  fillGroup(first, own.get() + size_t(p) * rows, minRightOf(p), w);
  for (unsigned t = 1; t <= L; ++t)
    own[size_t(p) * rows + ownSlot(1, t)] = at(Owner::Pin, 1, t, p);
}

void CheckpointDP::Impl::fill() {
  rows = size_t(L) * (L + 1) / 2;
  rowStart.assign(L + 2, 0);
  for (unsigned s = 1; s <= L; ++s)
    rowStart[s + 1] = rowStart[s] + (L - s + 1);
  // Own needs a table of its own only if some Own row has a scan of its own
  // (see below); otherwise Own(s, t, m) = Pin(s, t, m - cin) and one slice
  // of it, the current pass's right operands, is enough.
  bool shareScans = false;
  maxCin = 0;
  for (unsigned s = 2; s <= L; ++s) {
    shareScans |= !needsInput[s];
    maxCin = std::max(maxCin, cin(s));
  }
  ownFromPin = !shareScans;
  // Every entry is written below, so the tables need no initial value.
  pin = Table(rows * (M + 1));
  own = Table(rows * (ownFromPin ? 1 : M + 1));

  // reach: the sweep's peak grows with j, so walk it once per s.
  reach.assign(size_t(L + 1) * (M + 1), 0);
  sweepToEnd.assign(L + 1, 0);
  maxX = *std::max_element(X.begin() + 1, X.end());
  for (unsigned s = 1; s <= L; ++s) {
    for (unsigned k = s; k < L; ++k)
      sweepToEnd[s] =
          std::max(sweepToEnd[s], X[k] + (k > s ? X[k - 1] : 0) + TF[k]);
    uint32_t *r = reach.data() + size_t(s) * (M + 1);
    int64_t peak = 0;
    unsigned j = s;
    for (int64_t room = 0; room <= int64_t(M); ++room) {
      while (j < L) {
        const unsigned k = j; // the forward of stage k leads to a^k
        const int64_t next =
            std::max(peak, X[k] + (k > s ? X[k - 1] : 0) + TF[k]);
        if (next > room)
          break;
        peak = next;
        ++j;
      }
      r[room] = j;
    }
  }

  // Budget-major, in passes (see fillPassInLanes and fillPassByClasses for
  // why everything an entry reads is done by then).
  LaneBuffers w;
  w.infRow.assign(L + 1, kInf);
  Xf.assign(X.begin(), X.end());
  twoF.assign(L + 1, 0);
  for (unsigned j = 1; j <= L; ++j)
    twoF[j] = 2 * F[j - 1];
  if (ownFromPin) {
    for (int64_t p = 0; p <= int64_t(M); ++p)
      fillPassInLanes(p, w);
    return;
  }
  w.minRightRing.resize(maxCin + 1);
  for (int64_t p = 0; p <= int64_t(M) + maxCin; ++p)
    fillPassByClasses(p, w);
}

void CheckpointDP::Impl::reconstruct(Owner o, unsigned s, unsigned t,
                                     unsigned m, Schedule &out) const {
  if (s == 1)
    o = Owner::Pin;
  const int64_t base = o == Owner::Own ? cin(s) : 0;
  const int64_t kept = keep(o, s);
  assert(at(o, s, t, m) < kInf && "reconstructing an infeasible entry");

  // Re-evaluate the candidates for this entry and take the first (chain,
  // then j ascending) that reaches the table's value. fill() stored the
  // minimum over these same floats (or, on the row-at-a-time path, over
  // the leaves its bound did not prune, which only float rounding of the
  // bound can make larger), so one does.
  const float target = at(o, s, t, m);
  unsigned choice = 0; // 0: chain, else the leaf's j
  bool found = false;
  const int64_t chainLo = std::max(base + X[t] + S[s] + TF[s], kept + BK[s]);
  const float fs = F[s] - F[s - 1];
  if (m >= chainLo)
    found = (s == t ? fs : fs + at(Owner::Pin, s + 1, t, m - S[s] - kept)) <=
            target;
  int64_t sweepPeak = 0;
  for (unsigned j = s + 1; j <= t && !found; ++j) {
    const unsigned k = j - 1;
    sweepPeak = std::max(sweepPeak, X[k] + (k > s ? X[k - 1] : 0) + TF[k]);
    const int64_t lo = base + X[t] + sweepPeak;
    if (lo > int64_t(m))
      break;
    const float sweep = F[j - 1] - F[s - 1];
    const float v = sweep + at(o, s, j - 1, m) + at(Owner::Own, j, t, m - base);
    if (v <= target) {
      choice = j;
      found = true;
    }
  }
  assert(found && "reconstruction disagrees with fill");
  (void)found;

  if (choice == 0) {
    const bool dropInput = o == Owner::Own;
    const bool keepInput = dropInput && needsInput[s];
    out.push_back(Action::fall(s));
    if (dropInput && !keepInput)
      out.push_back(Action::discard(ValueKind::Activation, s - 1));
    if (s < t)
      reconstruct(Owner::Pin, s + 1, t, m - S[s] - kept, out);
    out.push_back(Action::backward(s));
    if (keepInput)
      out.push_back(Action::discard(ValueKind::Activation, s - 1));
    return;
  }
  const unsigned j = choice;
  out.push_back(Action::fck(s));
  for (unsigned k = s + 1; k < j; ++k)
    out.push_back(Action::fn(k));
  reconstruct(Owner::Own, j, t, m - base, out);
  reconstruct(o, s, j - 1, m, out);
}

CheckpointDP::CheckpointDP(std::unique_ptr<Impl> impl)
    : impl(std::move(impl)) {}
CheckpointDP::CheckpointDP(CheckpointDP &&) = default;
CheckpointDP &CheckpointDP::operator=(CheckpointDP &&) = default;
CheckpointDP::~CheckpointDP() = default;

Expected<CheckpointDP> CheckpointDP::solve(const Chain &chain,
                                           uint64_t maxBudgetBytes,
                                           unsigned slots) {
  if (Error e = chain.validate())
    return std::move(e);
  if (slots == 0)
    return makeError("slots must be positive");
  auto impl = std::make_unique<Impl>(chain);
  const unsigned L = chain.length();
  impl->L = L;

  // Exact units when the sizes share a factor that makes the budget fit in
  // `slots` units; otherwise round sizes up to ceil(budget / slots) bytes.
  uint64_t g = chain.inputBytes;
  for (const Stage &st : chain.stages) {
    g = std::gcd(g,
                 std::gcd(uint64_t(st.outputBytes), uint64_t(st.savedBytes)));
    // gcd(g, 0) = g: absent transients do not constrain the unit.
    g = std::gcd(g, std::gcd(uint64_t(st.forwardTransientBytes),
                             uint64_t(st.backwardTransientBytes)));
  }
  impl->exact = maxBudgetBytes / g <= slots;
  if (impl->exact)
    impl->unit = g;
  else
    impl->unit = (maxBudgetBytes + slots - 1) / slots;
  impl->M = static_cast<unsigned>(maxBudgetBytes / impl->unit);
  auto units = [&](int64_t bytes) {
    return static_cast<int64_t>((uint64_t(bytes) + impl->unit - 1) /
                                impl->unit);
  };
  impl->X.resize(L + 1);
  impl->S.assign(L + 1, 0);
  impl->TF.assign(L + 1, 0);
  impl->BK.assign(L + 1, 0);
  impl->F.assign(L + 1, 0);
  impl->needsInput.assign(L + 1, 0);
  for (unsigned i = 0; i <= L; ++i)
    impl->X[i] = units(chain.activationBytes(i));
  double prefix = 0;
  bool integral = true;
  for (unsigned i = 1; i <= L; ++i) {
    const Stage &st = chain.stage(i);
    impl->S[i] = units(chain.savedBytes(i));
    // Each size rounds up on its own, so every sum of held values (and
    // therefore every check) is an upper bound of the exact bytes. A
    // released abar^i is left out of BK rather than subtracted, which keeps
    // that true.
    impl->TF[i] = units(st.forwardTransientBytes);
    impl->BK[i] = (st.backwardReleasesSaved ? 0 : impl->S[i]) + impl->X[i] +
                  impl->X[i - 1] + units(st.backwardTransientBytes);
    impl->needsInput[i] = chain.stage(i).backwardNeedsInput;
    prefix += chain.stage(i).forwardCost;
    impl->F[i] = static_cast<float>(prefix);
    impl->backwardSum += chain.stage(i).backwardCost;
    integral &= chain.stage(i).forwardCost == std::floor(st.forwardCost);
  }
  // The block bound of the leaf scans regroups float sums (LeafBounds). Every
  // finite entry of [s, t] runs each stage of it at most t - s + 1 times
  // (by induction over the recurrence), so is at most L F[L]; with integer
  // costs every value the fill and the bound meet is then an integer below
  // 2 (L + 3) F[L], exact in float below 2^24. Otherwise a margin of 32
  // roundings covers the regrouping (at most 14: 3 in a leaf's sum, 2 in
  // the terms, 2 in the bound, each relative to the best so far plus
  // F[L]).
  if (!integral || 2.0 * (L + 3) * prefix >= 0x1p24) {
    impl->boundScale = 1 + 32 * 0x1p-24f;
    impl->boundSlack = 32 * 0x1p-24f * impl->F[L];
  }
  impl->fill();
  return CheckpointDP(std::move(impl));
}

uint64_t CheckpointDP::unitBytes() const { return impl->unit; }
unsigned CheckpointDP::units() const { return impl->M; }
bool CheckpointDP::isExact() const { return impl->exact; }

double CheckpointDP::optimalCost(uint64_t budgetBytes) const {
  uint64_t m = std::min<uint64_t>(impl->M, budgetBytes / impl->unit);
  float v = impl->at(Owner::Pin, 1, impl->L, m);
  if (v == kInf)
    return std::numeric_limits<double>::infinity();
  return double(v) + impl->backwardSum;
}

double CheckpointDP::segmentForwardCost(unsigned s, unsigned t,
                                        uint64_t budgetBytes) const {
  assert(1 <= s && s <= t && t <= impl->L && "segment out of the chain");
  uint64_t m = std::min<uint64_t>(impl->M, budgetBytes / impl->unit);
  return impl->at(Owner::Pin, s, t, m);
}

Expected<Schedule> CheckpointDP::schedule(uint64_t budgetBytes) const {
  unsigned m = static_cast<unsigned>(
      std::min<uint64_t>(impl->M, budgetBytes / impl->unit));
  if (impl->at(Owner::Pin, 1, impl->L, m) == kInf) {
    int64_t least = minimumFeasibleBudget(impl->chain);
    if (budgetBytes < uint64_t(least))
      return makeError("budget of " + Twine(budgetBytes) +
                       " bytes is infeasible: the minimum feasible budget is " +
                       Twine(least) + " bytes");
    return makeError("budget of " + Twine(budgetBytes) +
                     " bytes is infeasible once sizes "
                     "are rounded up to " +
                     Twine(impl->unit) +
                     "-byte units (the exact "
                     "minimum feasible budget is " +
                     Twine(least) +
                     " bytes); use more "
                     "slots or a larger budget");
  }
  Schedule s;
  impl->reconstruct(Owner::Pin, 1, impl->L, m, s);
  return s;
}

std::vector<FrontierPoint> CheckpointDP::frontier() const {
  std::vector<FrontierPoint> points;
  float last = kInf;
  for (unsigned m = 0; m <= impl->M; ++m) {
    const float v = impl->at(Owner::Pin, 1, impl->L, m);
    if (v < last) {
      points.push_back(
          {uint64_t(m) * impl->unit, double(v) + impl->backwardSum});
      last = v;
    }
  }
  return points;
}

Expected<Schedule> nnc::planner::dp(const Chain &chain, uint64_t budgetBytes,
                                    unsigned slots) {
  // Every forward once is the least any schedule costs: if store-all fits,
  // it is optimal, whatever rounding would make of the budget.
  if (Error e = chain.validate())
    return std::move(e);
  Schedule all = storeAll(chain);
  if (uint64_t(simulate(chain, all).peakBytes) <= budgetBytes)
    return all;
  // Refine no further than tables of 2^28 floats each (1 GiB): a solve
  // holds L(L+1)/2 rows of slots + 1 values in two of them.
  const uint64_t L = chain.length(), rows = L * (L + 1) / 2;
  const unsigned maxSlots = static_cast<unsigned>(std::clamp<uint64_t>(
      (uint64_t(1) << 28) / rows, slots, kMaxRefinedSlots));
  for (;;) {
    Expected<CheckpointDP> solver =
        CheckpointDP::solve(chain, budgetBytes, slots);
    if (!solver)
      return solver.takeError();
    Expected<Schedule> s = solver->schedule(budgetBytes);
    // Infeasible only because of rounding: finer units round every size up
    // by less, and exact units answer for the bytes themselves.
    if (s || solver->isExact() ||
        budgetBytes < uint64_t(minimumFeasibleBudget(chain)))
      return s;
    consumeError(s.takeError());
    // Within the rounding slack of the minimum even at the finest units:
    // the schedule of least peak fits (it is feasible, not the cheapest).
    if (slots >= maxSlots)
      return leastPeakSchedule(chain);
    slots = std::min(maxSlots, slots * 4);
  }
}

//===----------------------------------------------------------------------===//
// One entry point
//===----------------------------------------------------------------------===//

ArrayRef<StringLiteral> nnc::planner::strategyNames() {
  static constexpr StringLiteral names[] = {"store-all", "recompute-all",
                                            "sqrt", "chen", "dp"};
  return names;
}

Expected<Schedule> nnc::planner::planSchedule(const Chain &chain,
                                              StringRef strategy,
                                              std::optional<uint64_t> budget,
                                              unsigned slots) {
  if (!is_contained(strategyNames(), strategy)) {
    std::string valid;
    ArrayRef<StringLiteral> names = strategyNames();
    for (size_t k = 0; k < names.size(); ++k)
      valid += (k == 0                  ? ""
                : k + 1 == names.size() ? " or "
                                        : ", ") +
               names[k].str();
    return makeError("unknown strategy '" + strategy + "' (expected " + valid +
                     ")");
  }
  if (Error e = chain.validate())
    return std::move(e);
  if (strategy == "chen" && !budget)
    return makeError("strategy 'chen' needs a memory budget");
  if (budget) {
    const int64_t least = minimumFeasibleBudget(chain);
    if (*budget < uint64_t(least))
      return makeError("budget " + formatByteSize(*budget) + " (" +
                       Twine(*budget) + " bytes) is below the minimum " +
                       "feasible " + formatByteSize(least) + " (" +
                       Twine(least) + " bytes)");
  }

  Schedule plan;
  if (strategy == "store-all" || (strategy == "dp" && !budget)) {
    plan = storeAll(chain);
  } else if (strategy == "recompute-all") {
    plan = recomputeAll(chain);
  } else if (strategy == "sqrt") {
    plan = sqrtSegments(chain);
  } else {
    Expected<Schedule> planned = strategy == "chen" ? chenGreedy(chain, *budget)
                                                    : dp(chain, *budget, slots);
    if (!planned)
      return planned.takeError();
    plan = std::move(*planned);
  }

  SimulationResult sim = simulate(chain, plan);
  if (!sim.valid)
    return makeError("internal error: " + strategy +
                     " produced an invalid schedule: " + sim.error);
  if (budget && uint64_t(sim.peakBytes) > *budget)
    return makeError(strategy + " needs " + Twine(sim.peakBytes) +
                     " bytes, over the budget of " + Twine(*budget) + " bytes");
  return plan;
}
