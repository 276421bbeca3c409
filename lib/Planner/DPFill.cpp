//===- DPFill.cpp - the DP's vectorized, pruned table fill ----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "CheckpointDPImpl.h"
#include "DPFillKernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llvm;
using namespace nnc::planner;

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
  Lanes backRoom[2]; // m - base by lane (the back branch); -inf if unused
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
    backRoom[l / 8][l % 8] = -kInf;
    if (!used)
      continue;
    const int64_t m = g.m[l];
    const int64_t base = isOwn ? cin(s) : 0, kept = keep(g.kind, s);
    backRoom[l / 8][l % 8] = float(m - base);
    const float fs = F[s] - F[s - 1];
    const int64_t afterFall = m - S[s] - kept;
    const float *next = s < L && afterFall >= 0
                            ? pin.get() + size_t(afterFall) * rows +
                                  pinSlot(s + 1, s + 1) - (s + 1)
                            : nullptr; // next[t] = Pin(s+1, t, afterFall)
    const bool backFits = m >= kept + BK[s];
    // F_all(s) fits iff G[t] <= m - fallAt.
    const int64_t fallAt = base + S[s] + TFA[s];
    // Starting the scans from the entries one budget below (an upper bound:
    // tables only fall as m grows) was measured to scan 10 % fewer blocks,
    // and reading that slice cost more than it saved.
    // Up to vectorFrom one by one, then in vectors (chainBranches).
    for (unsigned t = s; t < vectorFrom; ++t) {
      float v = kInf;
      if (backFits && m - fallAt >= G[t])
        v = s == t ? fs + hotGain[s] : next ? fs + next[t] : kInf;
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
      const int64_t room = m - base - G[t];
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
      // The back branch (B(t) reads only delta^t): the row's segment one
      // shorter, final by now (column t - 1 of this tile or the last);
      // the empty segment [s, s - 1] costs 0.
      if (gradOnly[t]) {
        const float need = float(BKG[t]);
        const float *shorter =
            t > s0 ? w.best.data() + size_t(t - 1 - s0) * R : nullptr;
        const Lanes zero = {};
        for (unsigned h = 0; h < 2; ++h) {
          Lanes v = inf;
          if (shorter)
            std::memcpy(&v, shorter + 8 * h, sizeof(v));
          v = start[h] == float(t) ? zero : v;
          v = start[h] <= float(t) ? v : inf;
          v = need <= backRoom[h] ? v : inf;
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
    for (int64_t c : cinClasses) {
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

llvm::Error CheckpointDP::Impl::fill() {
  rows = size_t(L) * (L + 1) / 2;
  rowStart.assign(L + 2, 0);
  for (unsigned s = 1; s <= L; ++s)
    rowStart[s + 1] = rowStart[s] + (L - s + 1);
  // Own needs a table of its own only if some Own row has a scan of its own
  // (see below); otherwise Own(s, t, m) = Pin(s, t, m - cin) and one slice
  // of it, the current pass's right operands, is enough.
  bool shareScans = false;
  maxCin = 0;
  cinClasses.clear();
  for (unsigned s = 2; s <= L; ++s) {
    shareScans |= !needsInput[s];
    maxCin = std::max(maxCin, cin(s));
    if (cin(s) >= 1) // as the passes' groups have always started at 1
      cinClasses.push_back(cin(s));
  }
  llvm::sort(cinClasses);
  cinClasses.erase(std::unique(cinClasses.begin(), cinClasses.end()),
                   cinClasses.end());
  ownFromPin = !shareScans;
  // Both tables, plus reach, checked before any of them exists: rows is
  // below 2^24 and M + 1 below 2^32 (limits), so the products fit.
  uint64_t tableFloats = uint64_t(rows) * (M + 1) * (ownFromPin ? 1 : 2);
  uint64_t bytes = tableFloats * sizeof(float) +
                   uint64_t(L + 1) * (M + 1) * sizeof(uint32_t);
  if (bytes > nnc::limits::kMaxDPTableBytes)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "the dp tables for " + llvm::Twine(L) + " stages and " +
            llvm::Twine(M + 1) + " budget units need " + formatByteSize(bytes) +
            ", over nnc's limit of " +
            formatByteSize(nnc::limits::kMaxDPTableBytes) +
            " (use fewer --slots, or a coarser chain)");
  // Every entry is written below, so the tables need no initial value.
  pin = Table(rows * (M + 1));
  own = Table(rows * (ownFromPin ? 1 : M + 1));

  // reach: the sweep's peak grows with j, so walk it once per s.
  reach.assign(size_t(L + 1) * (M + 1), 0);
  sweepToEnd.assign(L + 1, 0);
  maxX = *std::max_element(G.begin() + 1, G.end());
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
  Xf.assign(G.begin(), G.end());
  twoF.assign(L + 1, 0);
  for (unsigned j = 1; j <= L; ++j)
    twoF[j] = 2 * F[j - 1];
  if (ownFromPin) {
    for (int64_t p = 0; p <= int64_t(M); ++p)
      fillPassInLanes(p, w);
    return llvm::Error::success();
  }
  w.minRightRing.resize(maxCin + 1);
  for (int64_t p = 0; p <= int64_t(M) + maxCin; ++p)
    fillPassByClasses(p, w);
  return llvm::Error::success();
}
