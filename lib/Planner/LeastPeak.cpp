//===- LeastPeak.cpp - the least-memory persistent schedule ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Strategies.h"

#include <algorithm>
#include <limits>

using namespace llvm;
using namespace nnc::planner;

//===----------------------------------------------------------------------===//
// Minimum feasible budget
//===----------------------------------------------------------------------===//

// The same decomposition as the DP below, with (max, min) instead of
// (+, min) and exact bytes: the least peak of any persistent schedule. Each
// entry remembers its choice (0: the chain branch, kBack: the back branch,
// j: leaf j) so that the least-peak schedule itself can be rebuilt.
namespace {
struct LeastPeak {
  const Chain &chain;
  unsigned L;
  std::vector<int64_t> mp, mo;  // least peak, a^{s-1} pinned / owned
  std::vector<unsigned> cp, co; // the choice that reaches it

  static constexpr unsigned kBack = ~0u;

  static size_t idx(unsigned s, unsigned t) {
    return size_t(t) * (t - 1) / 2 + (s - 1);
  }

  explicit LeastPeak(const Chain &c) : chain(c), L(c.length()) {
    // Sizes in arrays, read in the inner loop (the Chain accessors check
    // their index on every call).
    // g: the running gradient with the residues beside it.
    std::vector<int64_t> x(L + 1), g(L + 1), sv(L + 1), tf(L + 1), tfa(L + 1),
        backAdds(L + 1), gradOnlyBack(L + 1);
    for (unsigned i = 0; i <= L; ++i)
      x[i] = chain.activationBytes(i);
    g[L] = x[L];
    for (unsigned i = L; i >= 1; --i)
      g[i - 1] = g[i] - x[i] + x[i - 1] + chain.stage(i).backwardResidueBytes;
    for (unsigned i = 1; i <= L; ++i) {
      const Stage &st = chain.stage(i);
      sv[i] = chain.savedBytes(i);
      tf[i] = st.forwardTransientBytes;
      tfa[i] = st.forwardTransientOf(true);
      // What B(i) adds to the memory before it: delta^{i-1}, its transient,
      // and abar^i only if it is still held while delta^{i-1} is created.
      backAdds[i] = x[i - 1] + st.backwardTransientBytes -
                    (st.backwardReleasesSaved ? sv[i] : 0);
      // B(i) with nothing of stage i held (backwardReadsGradientOnly).
      gradOnlyBack[i] = g[i] + x[i - 1] + st.backwardTransientBytes;
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
        int64_t back = sv[s] + g[s] + backAdds[s];
        int64_t fall = g[t] + sv[s] + tfa[s];
        int64_t pin = std::max({fall, back, rest});
        int64_t own = std::max({cin + fall, keep + back, keep + rest});
        unsigned pinChoice = 0, ownChoice = 0;
        // The back branch: B(t) first, then [s, t-1] (an owned input stays
        // until B(s)).
        if (chain.stage(t).backwardReadsGradientOnly) {
          const int64_t p =
              std::max(gradOnlyBack[t], s < t ? mp[idx(s, t - 1)] : 0);
          const int64_t o = std::max(cin + gradOnlyBack[t],
                                     s < t ? mo[idx(s, t - 1)] : 0);
          if (p < pin) {
            pin = p;
            pinChoice = kBack;
          }
          if (o < own) {
            own = o;
            ownChoice = kBack;
          }
        }
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
            const int64_t reach = g[t] + sweep;
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
          int64_t p = std::max({g[t] + sweep, right[j], leftP[j - 2]});
          int64_t o =
              std::max({cin + g[t] + sweep, cin + right[j], leftO[j - 2]});
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
    if (j == kBack) {
      out.push_back(Action::backward(t));
      if (s < t)
        schedule(owned, s, t - 1, out);
      else if (owned)
        out.push_back(Action::discard(ValueKind::Activation, s - 1));
      return;
    }
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
