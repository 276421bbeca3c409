//===- ArenaPlanner.cpp - Static arena offset assignment ------------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
//
// Greedy-by-size best-fit offset assignment and its independent checker. See
// ArenaPlanner.h for the algorithm and the reasons behind it.
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/ArenaPlanner.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>

using namespace nnc::memory;
using llvm::ArrayRef;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// A unit of placement: one buffer, or a chain of buffers fused by honoured
/// in-place hints, which must share one offset.
struct Block {
  /// Largest member footprint: the sort key.
  uint64_t footprint = 0;
  /// Strictest member alignment: the shared offset must satisfy all.
  uint64_t alignment = 1;
  /// First and last step of any member.
  int64_t start = 0;
  int64_t end = 0;
  /// Smallest member id; the last tie-breaker of every placement order.
  int64_t firstId = 0;
  /// Whether the block is live at the step where the lower bound peaks.
  bool livesAtPeak = false;
  uint64_t conflict = 0;
  /// Indices into the buffer array.
  std::vector<size_t> members;
};

/// One placed buffer: the rectangle later buffers must avoid.
struct Placed {
  int64_t start;
  int64_t end;
  uint64_t offset;
  uint64_t footprint;
};

uint64_t alignmentOf(const BufferInterval &buffer,
                     const PlannerOptions &options) {
  return static_cast<uint64_t>(buffer.alignment ? buffer.alignment
                                                : options.defaultAlignment);
}

bool timesOverlap(int64_t aStart, int64_t aEnd, int64_t bStart, int64_t bEnd) {
  return aStart <= bEnd && bStart <= aEnd;
}

std::string describe(const BufferInterval &buffer) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (!buffer.name.empty())
    os << "'" << buffer.name << "' ";
  os << "(id " << buffer.id << ", " << buffer.size << " bytes, steps ["
     << buffer.start << ", " << buffer.end << "])";
  return text;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public helpers
//===----------------------------------------------------------------------===//

llvm::StringRef nnc::memory::stringifyReuseStatus(ReuseStatus status) {
  switch (status) {
  case ReuseStatus::NoHint:
    return "no hint";
  case ReuseStatus::Honoured:
    return "honoured";
  case ReuseStatus::UnknownDonor:
    return "unknown donor";
  case ReuseStatus::NotAdjacent:
    return "donor not dying where the buffer starts";
  case ReuseStatus::TooLarge:
    return "buffer larger than donor";
  case ReuseStatus::DonorTaken:
    return "donor already reused";
  case ReuseStatus::WouldCycle:
    return "would form a cycle";
  }
  llvm_unreachable("unknown ReuseStatus");
}

std::optional<size_t> ArenaPlan::indexOf(int64_t id) const {
  auto it = indexById.find(id);
  if (it == indexById.end())
    return std::nullopt;
  return it->second;
}

std::optional<uint64_t> ArenaPlan::offsetOf(int64_t id) const {
  if (std::optional<size_t> index = indexOf(id))
    return offsets[*index];
  return std::nullopt;
}

size_t ArenaPlan::numReusesHonoured() const {
  return llvm::count(reuse, ReuseStatus::Honoured);
}

uint64_t nnc::memory::footprintOf(const BufferInterval &buffer,
                                  const PlannerOptions &options) {
  return llvm::alignTo(buffer.size, alignmentOf(buffer, options));
}

std::vector<LiveSpan>
nnc::memory::computeLiveSpans(ArrayRef<BufferInterval> buffers,
                              ArrayRef<ReuseStatus> reuse,
                              const PlannerOptions &options) {
  llvm::DenseMap<int64_t, size_t> indexById;
  for (size_t i = 0; i < buffers.size(); ++i)
    indexById[buffers[i].id] = i;
  llvm::EquivalenceClasses<size_t> groups;
  for (size_t i = 0; i < buffers.size(); ++i)
    groups.insert(i);
  for (size_t i = 0; i < reuse.size() && i < buffers.size(); ++i) {
    if (reuse[i] != ReuseStatus::Honoured || !buffers[i].reuseOf)
      continue;
    auto donor = indexById.find(*buffers[i].reuseOf);
    if (donor != indexById.end())
      groups.unionSets(i, donor->second);
  }

  std::vector<LiveSpan> spans;
  spans.reserve(buffers.size());
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    if (!it->isLeader())
      continue;
    std::vector<size_t> members(groups.member_begin(it), groups.member_end());
    if (members.size() == 1) {
      const BufferInterval &buffer = buffers[members.front()];
      if (uint64_t bytes = footprintOf(buffer, options))
        spans.push_back({buffer.start, buffer.end, bytes});
      continue;
    }
    // A hand-over chain: cut its life at every member boundary and hold, in
    // each piece, the largest footprint of the members live there.
    std::vector<int64_t> cuts;
    for (size_t m : members) {
      cuts.push_back(buffers[m].start);
      cuts.push_back(buffers[m].end + 1);
    }
    llvm::sort(cuts);
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t k = 0; k + 1 < cuts.size(); ++k) {
      uint64_t bytes = 0;
      for (size_t m : members)
        if (buffers[m].start <= cuts[k] && cuts[k] <= buffers[m].end)
          bytes = std::max(bytes, footprintOf(buffers[m], options));
      if (bytes)
        spans.push_back({cuts[k], cuts[k + 1] - 1, bytes});
    }
  }
  return spans;
}

/// The peak of `spans` and the first step at which it is reached.
static std::pair<uint64_t, int64_t> findPeak(ArrayRef<LiveSpan> spans) {
  // Spans are inclusive, so one stops counting at end + 1; every span that
  // ends before a step leaves before the ones starting there are added.
  std::vector<std::pair<int64_t, uint64_t>> adds, removes;
  adds.reserve(spans.size());
  removes.reserve(spans.size());
  for (const LiveSpan &span : spans) {
    if (span.bytes == 0)
      continue;
    adds.push_back({span.start, span.bytes});
    removes.push_back({span.end + 1, span.bytes});
  }
  llvm::sort(adds);
  llvm::sort(removes);
  uint64_t live = 0, peak = 0;
  int64_t peakStep = 0;
  size_t a = 0, r = 0;
  while (a < adds.size()) {
    int64_t step = adds[a].first;
    while (r < removes.size() && removes[r].first <= step)
      live -= removes[r++].second;
    while (a < adds.size() && adds[a].first == step)
      live += adds[a++].second;
    if (live > peak) {
      peak = live;
      peakStep = step;
    }
  }
  return {peak, peakStep};
}

uint64_t nnc::memory::computePeakBytes(ArrayRef<LiveSpan> spans) {
  return findPeak(spans).first;
}

uint64_t nnc::memory::computeMaxLiveBytes(ArrayRef<BufferInterval> buffers,
                                          const PlannerOptions &options) {
  return computePeakBytes(computeLiveSpans(buffers, {}, options));
}

llvm::Error nnc::memory::validateBuffers(ArrayRef<BufferInterval> buffers,
                                         const PlannerOptions &options) {
  if (options.defaultAlignment <= 0 ||
      !llvm::isPowerOf2_64(options.defaultAlignment))
    return llvm::createStringError(
        "default alignment %lld is not a positive power of two",
        static_cast<long long>(options.defaultAlignment));
  if (options.orders.empty())
    return llvm::createStringError("no placement order to plan with");
  llvm::DenseSet<int64_t> seen;
  for (const BufferInterval &buffer : buffers) {
    if (!seen.insert(buffer.id).second)
      return llvm::createStringError("duplicate buffer id " +
                                     std::to_string(buffer.id));
    if (buffer.start > buffer.end)
      return llvm::createStringError("buffer " + describe(buffer) +
                                     " ends before it starts");
    if (buffer.alignment < 0 ||
        (buffer.alignment && !llvm::isPowerOf2_64(buffer.alignment)))
      return llvm::createStringError(
          "buffer " + describe(buffer) + " has alignment " +
          std::to_string(buffer.alignment) + ", not a power of two");
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// planArena
//===----------------------------------------------------------------------===//

/// Decides which in-place hints to honour. Hints are considered in schedule
/// order of the recipients (ties by id), so the outcome does not depend on the
/// order of the input array beyond ids.
static std::vector<ReuseStatus>
resolveReuseHints(ArrayRef<BufferInterval> buffers,
                  const llvm::DenseMap<int64_t, size_t> &indexById,
                  const PlannerOptions &options,
                  llvm::EquivalenceClasses<size_t> &groups) {
  std::vector<ReuseStatus> status(buffers.size(), ReuseStatus::NoHint);
  for (size_t i = 0; i < buffers.size(); ++i)
    groups.insert(i);
  if (!options.honourReuseHints)
    return status;

  std::vector<size_t> recipients;
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].reuseOf)
      recipients.push_back(i);
  llvm::sort(recipients, [&](size_t a, size_t b) {
    return std::make_pair(buffers[a].start, buffers[a].id) <
           std::make_pair(buffers[b].start, buffers[b].id);
  });

  std::vector<bool> donorTaken(buffers.size(), false);
  for (size_t r : recipients) {
    const BufferInterval &recipient = buffers[r];
    auto donorIt = indexById.find(*recipient.reuseOf);
    if (donorIt == indexById.end() || donorIt->second == r) {
      status[r] = ReuseStatus::UnknownDonor;
      continue;
    }
    size_t d = donorIt->second;
    const BufferInterval &donor = buffers[d];
    if (donor.end != recipient.start) {
      status[r] = ReuseStatus::NotAdjacent;
    } else if (recipient.size > donor.size) {
      status[r] = ReuseStatus::TooLarge;
    } else if (donorTaken[d]) {
      status[r] = ReuseStatus::DonorTaken;
    } else if (groups.isEquivalent(r, d)) {
      status[r] = ReuseStatus::WouldCycle;
    } else {
      status[r] = ReuseStatus::Honoured;
      donorTaken[d] = true;
      groups.unionSets(r, d);
    }
  }
  return status;
}

/// The offset for `block`: in the tightest gap among the placed buffers that
/// share a step with one of its members, or above them all if no gap fits.
///
/// A member of footprint f clashes with a placed buffer at [o, o + g) exactly
/// when the block's offset x lies in (o - f, o + g); the complement of the
/// union of those intervals is the set of legal offsets, and each of its
/// bounded pieces is a gap. For a single buffer this is the classic walk over
/// neighbours in offset order, and "tightest" is "smallest hole that fits".
static uint64_t findOffset(const Block &block, ArrayRef<BufferInterval> buffers,
                           ArrayRef<uint64_t> footprints,
                           ArrayRef<Placed> placed) {
  // The members that share a step with one placed buffer forbid intervals
  // that all end at its top, so their union is the one of the widest (the
  // largest footprint): one interval per placed buffer. (One per member and
  // placed buffer, sorted, made a long in-place chain, one block of
  // thousands of members, cubic: 8000 ReLUs planned in 8 s.)
  std::vector<std::pair<uint64_t, uint64_t>> forbidden; // [lo, hi)
  forbidden.reserve(placed.size());
  bool ascending = true;
  for (const Placed &other : placed) {
    if (!timesOverlap(block.start, block.end, other.start, other.end))
      continue;
    uint64_t widest = 0;
    for (size_t m : block.members) {
      if (footprints[m] > widest &&
          timesOverlap(buffers[m].start, buffers[m].end, other.start,
                       other.end))
        widest = footprints[m];
      if (widest == block.footprint) // no member is wider
        break;
    }
    if (widest == 0)
      continue;
    uint64_t lo = other.offset + 1 > widest ? other.offset + 1 - widest : 0;
    ascending &= forbidden.empty() || forbidden.back().first <= lo;
    forbidden.push_back({lo, other.offset + other.footprint});
  }
  // With one member (one footprint) the intervals already ascend with the
  // placed offsets.
  if (!ascending)
    llvm::sort(forbidden);

  uint64_t best = 0;
  uint64_t bestSlack = std::numeric_limits<uint64_t>::max();
  uint64_t cursor = 0; // Lowest offset not yet known to be forbidden.
  for (auto [lo, hi] : forbidden) {
    if (lo > cursor) {
      // Legal offsets [cursor, lo - 1]; slack is the hole's spare bytes.
      uint64_t candidate = llvm::alignTo(cursor, block.alignment);
      uint64_t slack = lo - 1 - cursor;
      if (candidate < lo && slack < bestSlack) {
        bestSlack = slack;
        best = candidate;
      }
    }
    cursor = std::max(cursor, hi);
  }
  if (bestSlack != std::numeric_limits<uint64_t>::max())
    return best;
  return llvm::alignTo(cursor, block.alignment);
}

/// Whether `order` wants block `a` placed before block `b`. Every order is
/// total (ids are unique), so plans never depend on the input order.
static bool placedBefore(PlacementOrder order, const Block &a, const Block &b) {
  auto duration = [](const Block &block) { return block.end - block.start; };
  switch (order) {
  case PlacementOrder::SizeThenStart:
    return std::make_tuple(b.footprint, a.start, a.firstId) <
           std::make_tuple(a.footprint, b.start, b.firstId);
  case PlacementOrder::SizeThenLifetime:
    return std::make_tuple(b.footprint, duration(b), a.start, a.firstId) <
           std::make_tuple(a.footprint, duration(a), b.start, b.firstId);
  case PlacementOrder::PeakFirst:
    return std::make_tuple(b.livesAtPeak, b.footprint, a.start, a.firstId) <
           std::make_tuple(a.livesAtPeak, a.footprint, b.start, b.firstId);
  case PlacementOrder::PeakFirstThenLifetime: {
    // Lifetime ranks only the peak's buffers; the rest go largest first.
    auto peakLife = [&](const Block &block) {
      return block.livesAtPeak ? duration(block) : int64_t(-1);
    };
    return std::make_tuple(b.livesAtPeak, peakLife(b), b.footprint, a.start,
                           a.firstId) <
           std::make_tuple(a.livesAtPeak, peakLife(a), a.footprint, b.start,
                           b.firstId);
  }
  case PlacementOrder::LifetimeThenSize:
    return std::make_tuple(duration(b), b.footprint, a.start, a.firstId) <
           std::make_tuple(duration(a), a.footprint, b.start, b.firstId);
  case PlacementOrder::AreaThenSize:
    return std::make_tuple(b.footprint * (duration(b) + 1), b.footprint,
                           a.start, a.firstId) <
           std::make_tuple(a.footprint * (duration(a) + 1), a.footprint,
                           b.start, b.firstId);
  case PlacementOrder::StartThenSize:
    return std::make_tuple(a.start, b.footprint, a.firstId) <
           std::make_tuple(b.start, a.footprint, b.firstId);
  case PlacementOrder::ConflictThenSize:
    return std::make_tuple(b.conflict, b.footprint, a.start, a.firstId) <
           std::make_tuple(a.conflict, a.footprint, b.start, b.firstId);
  }
  llvm_unreachable("unknown PlacementOrder");
}

/// `blocks`' indices sorted by `order`.
static std::vector<size_t> sequenceFor(PlacementOrder order,
                                       ArrayRef<Block> blocks) {
  std::vector<size_t> sequence(blocks.size());
  std::iota(sequence.begin(), sequence.end(), 0);
  llvm::sort(sequence, [&](size_t a, size_t b) {
    return placedBefore(order, blocks[a], blocks[b]);
  });
  return sequence;
}

/// One greedy best-fit pass over `blocks` in the order `sequence`: the offset
/// of each block and the arena size.
static std::pair<std::vector<uint64_t>, uint64_t>
placeGreedily(ArrayRef<size_t> sequence, ArrayRef<Block> blocks,
              ArrayRef<BufferInterval> buffers, ArrayRef<uint64_t> footprints) {
  std::vector<uint64_t> offsets(blocks.size(), 0);
  uint64_t arenaBytes = 0;
  // Placed buffers, kept sorted by offset so that gaps come out of one walk.
  std::vector<Placed> placed;
  placed.reserve(buffers.size());
  for (size_t index : sequence) {
    const Block &block = blocks[index];
    if (block.footprint == 0)
      continue;
    uint64_t offset = findOffset(block, buffers, footprints, placed);
    offsets[index] = offset;
    for (size_t m : block.members) {
      if (footprints[m] == 0)
        continue;
      Placed rect{buffers[m].start, buffers[m].end, offset, footprints[m]};
      auto pos = llvm::upper_bound(
          placed, rect.offset,
          [](uint64_t offset, const Placed &p) { return offset < p.offset; });
      placed.insert(pos, rect);
      arenaBytes = std::max(arenaBytes, rect.offset + rect.footprint);
    }
  }
  return {std::move(offsets), arenaBytes};
}

llvm::Expected<ArenaPlan>
nnc::memory::planArena(ArrayRef<BufferInterval> buffers,
                       const PlannerOptions &options) {
  if (llvm::Error error = validateBuffers(buffers, options))
    return std::move(error);

  ArenaPlan plan;
  for (size_t i = 0; i < buffers.size(); ++i)
    plan.indexById[buffers[i].id] = i;

  // Fusing an honoured hint into one block, rather than placing the recipient
  // after the fact, lets the chain's whole life compete for space like any
  // other buffer, so the in-place saving is not eaten by fragmentation.
  llvm::EquivalenceClasses<size_t> groups;
  plan.reuse = resolveReuseHints(buffers, plan.indexById, options, groups);
  std::vector<LiveSpan> spans = computeLiveSpans(buffers, plan.reuse, options);
  auto [maxLive, peakStep] = findPeak(spans);
  plan.maxLiveBytes = maxLive;

  std::vector<uint64_t> footprints(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    footprints[i] = footprintOf(buffers[i], options);

  std::vector<Block> blocks;
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    if (!it->isLeader())
      continue;
    Block block;
    block.start = block.firstId = std::numeric_limits<int64_t>::max();
    block.end = std::numeric_limits<int64_t>::min();
    for (auto member = groups.member_begin(it); member != groups.member_end();
         ++member) {
      const BufferInterval &buffer = buffers[*member];
      block.members.push_back(*member);
      block.start = std::min(block.start, buffer.start);
      block.end = std::max(block.end, buffer.end);
      block.firstId = std::min(block.firstId, buffer.id);
      block.alignment = std::max(block.alignment, alignmentOf(buffer, options));
      block.footprint = std::max(block.footprint, footprints[*member]);
    }
    block.livesAtPeak = block.start <= peakStep && peakStep <= block.end;
    blocks.push_back(std::move(block));
  }

  for (Block &a : blocks)
    for (const Block &b : blocks)
      if (a.start <= b.end && b.start <= a.end)
        a.conflict += b.footprint;
  // Every order is a complete greedy pass; keep the smallest arena, the
  // earlier order on ties.
  std::vector<size_t> bestSequence;
  std::vector<uint64_t> bestOffsets;
  bool first = true;
  for (PlacementOrder order : options.orders) {
    std::vector<size_t> sequence = sequenceFor(order, blocks);
    auto [offsets, arenaBytes] =
        placeGreedily(sequence, blocks, buffers, footprints);
    if (first || arenaBytes < plan.arenaBytes) {
      bestSequence = std::move(sequence);
      bestOffsets = std::move(offsets);
      plan.arenaBytes = arenaBytes;
      plan.order = order;
      first = false;
    }
  }

  // Tiny problems (a few ops, or a test) can afford every order: at most
  // 8! = 40320 passes over 8 blocks.
  constexpr size_t kExhaustiveBlocks = 8;
  if (options.improvementPasses && blocks.size() <= kExhaustiveBlocks &&
      plan.arenaBytes > plan.maxLiveBytes) {
    std::vector<size_t> sequence(blocks.size());
    std::iota(sequence.begin(), sequence.end(), 0);
    do {
      auto [offsets, arenaBytes] =
          placeGreedily(sequence, blocks, buffers, footprints);
      if (arenaBytes < plan.arenaBytes) {
        bestSequence = sequence;
        bestOffsets = std::move(offsets);
        plan.arenaBytes = arenaBytes;
      }
    } while (plan.arenaBytes > plan.maxLiveBytes &&
             std::next_permutation(sequence.begin(), sequence.end()));
  }

  // Local search on the winning order: a block that reaches the top of the
  // arena is moved earlier in the sequence (so it lands lower), or one of the
  // blocks live with it and placed before it is moved after it. A change is
  // kept when the arena does not grow, so plateaus can be crossed. The seed is
  // fixed, so plans stay a pure function of the problem. Each pass is a full
  // O(n^2) placement, so the number of passes shrinks for big problems.
  //
  // Several blocks usually share the top, and lowering one of them leaves
  // the arena as it was, so by the arena alone the walk drifts over such a
  // plateau at random. If the first walk ends above the bound, a second one
  // (as many passes) refuses the changes that keep the arena but let more
  // bytes x steps stick out above the bound, which rewards the steps towards
  // a lower top: resnet-8 dp plans 1.4-1.8 % above max-live, which the
  // drifting walk packs only after 1000-4000 passes, pack within 64. It
  // starts where the first walk ended: run alone, it loses what the
  // drifting walk finds on other problems (ResNet-8's store-all step).
  constexpr uint64_t kSearchWork = uint64_t(1) << 27;
  uint64_t numBlocks = std::max<uint64_t>(blocks.size(), 1);
  uint64_t passes = std::min<uint64_t>(options.improvementPasses,
                                       kSearchWork / (numBlocks * numBlocks));
  auto overhang = [&](ArrayRef<uint64_t> offsets) {
    uint64_t total = 0;
    for (size_t b = 0; b < blocks.size(); ++b) {
      uint64_t top = offsets[b] + blocks[b].footprint;
      if (blocks[b].footprint && top > plan.maxLiveBytes)
        total = llvm::SaturatingMultiplyAdd<uint64_t>(
            top - plan.maxLiveBytes, blocks[b].end - blocks[b].start + 1,
            total);
    }
    return total;
  };
  std::mt19937 rng(0x6e6e63);
  for (bool guided : {false, true}) {
    if (guided && !options.guidedSearch)
      break;
    uint64_t bestOverhang = guided ? overhang(bestOffsets) : 0;
    for (uint64_t pass = 0;
         pass < passes && plan.arenaBytes > plan.maxLiveBytes; ++pass) {
      std::vector<size_t> tops;
      for (size_t pos = 1; pos < bestSequence.size(); ++pos) {
        size_t b = bestSequence[pos];
        if (bestOffsets[b] + blocks[b].footprint == plan.arenaBytes)
          tops.push_back(pos);
      }
      if (tops.empty())
        break;
      size_t top =
          tops[std::uniform_int_distribution<size_t>(0, tops.size() - 1)(rng)];
      std::vector<size_t> sequence = bestSequence;
      const Block &topBlock = blocks[sequence[top]];
      std::vector<size_t> blockers;
      for (size_t pos = 0; pos < top; ++pos) {
        const Block &other = blocks[sequence[pos]];
        if (other.start <= topBlock.end && topBlock.start <= other.end)
          blockers.push_back(pos);
      }
      if (blockers.empty() || std::bernoulli_distribution(0.5)(rng)) {
        // Place the top block earlier, so it is placed lower.
        size_t to = std::uniform_int_distribution<size_t>(0, top - 1)(rng);
        std::rotate(sequence.begin() + to, sequence.begin() + top,
                    sequence.begin() + top + 1);
      } else {
        // Place one of the blocks under it after it.
        size_t from = blockers[std::uniform_int_distribution<size_t>(
            0, blockers.size() - 1)(rng)];
        size_t to = std::uniform_int_distribution<size_t>(
            top, sequence.size() - 1)(rng);
        std::rotate(sequence.begin() + from, sequence.begin() + from + 1,
                    sequence.begin() + to + 1);
      }
      auto [offsets, arenaBytes] =
          placeGreedily(sequence, blocks, buffers, footprints);
      uint64_t sticksOut = guided ? overhang(offsets) : 0;
      if (arenaBytes < plan.arenaBytes ||
          (arenaBytes == plan.arenaBytes && sticksOut <= bestOverhang)) {
        bestOverhang = sticksOut;
        bestSequence = std::move(sequence);
        bestOffsets = std::move(offsets);
        plan.arenaBytes = arenaBytes;
      }
    }
  }

  plan.offsets.assign(buffers.size(), 0);
  for (size_t b = 0; b < blocks.size(); ++b)
    for (size_t m : blocks[b].members)
      plan.offsets[m] = bestOffsets[b];
  return plan;
}

//===----------------------------------------------------------------------===//
// verifyPlan
//===----------------------------------------------------------------------===//

llvm::Error nnc::memory::verifyPlan(ArrayRef<BufferInterval> buffers,
                                    const ArenaPlan &plan,
                                    const PlannerOptions &options) {
  if (llvm::Error error = validateBuffers(buffers, options))
    return error;
  if (plan.offsets.size() != buffers.size() ||
      plan.reuse.size() != buffers.size())
    return llvm::createStringError(
        "plan covers " + std::to_string(plan.offsets.size()) + " offsets and " +
        std::to_string(plan.reuse.size()) + " reuse entries for " +
        std::to_string(buffers.size()) + " buffers");

  llvm::DenseMap<int64_t, size_t> indexById;
  for (size_t i = 0; i < buffers.size(); ++i)
    indexById[buffers[i].id] = i;

  // Placement inside the arena and alignment.
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferInterval &buffer = buffers[i];
    uint64_t offset = plan.offsets[i];
    uint64_t alignment = alignmentOf(buffer, options);
    if (offset % alignment != 0)
      return llvm::createStringError("buffer " + describe(buffer) +
                                     " at offset " + std::to_string(offset) +
                                     " is not " + std::to_string(alignment) +
                                     "-byte aligned");
    uint64_t footprint = footprintOf(buffer, options);
    if (footprint &&
        (offset + footprint > plan.arenaBytes || offset + footprint < offset))
      return llvm::createStringError(
          "buffer " + describe(buffer) + " occupies bytes [" +
          std::to_string(offset) + ", " + std::to_string(offset + footprint) +
          ") outside the arena of " + std::to_string(plan.arenaBytes) +
          " bytes");
  }

  // Re-derive the hand-over groups from the plan's claims, trusting none of
  // them: each claimed reuse must be one the planner was allowed to make.
  llvm::EquivalenceClasses<size_t> groups;
  for (size_t i = 0; i < buffers.size(); ++i)
    groups.insert(i);
  std::vector<bool> donorTaken(buffers.size(), false);
  for (size_t r = 0; r < buffers.size(); ++r) {
    if (plan.reuse[r] != ReuseStatus::Honoured)
      continue;
    const BufferInterval &recipient = buffers[r];
    auto donorIt = recipient.reuseOf ? indexById.find(*recipient.reuseOf)
                                     : indexById.end();
    if (donorIt == indexById.end() || donorIt->second == r)
      return llvm::createStringError("buffer " + describe(recipient) +
                                     " claims an in-place reuse of no buffer");
    size_t d = donorIt->second;
    const BufferInterval &donor = buffers[d];
    if (donor.end != recipient.start || recipient.size > donor.size ||
        donorTaken[d] || plan.offsets[r] != plan.offsets[d] ||
        groups.isEquivalent(r, d))
      return llvm::createStringError("buffer " + describe(recipient) +
                                     " claims an illegal in-place reuse "
                                     "of buffer " +
                                     describe(donor));
    donorTaken[d] = true;
    groups.unionSets(r, d);
  }

  // Pairwise: buffers live at a common step must not share a byte, except
  // members of one hand-over chain at the single step where one hands over
  // to the next. Sorting by start bounds the inner loop to the buffers that
  // begin before the outer one ends.
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](size_t a, size_t b) {
    return buffers[a].start < buffers[b].start;
  });
  for (size_t x = 0; x < order.size(); ++x) {
    size_t i = order[x];
    const BufferInterval &a = buffers[i];
    uint64_t aBytes = footprintOf(a, options);
    if (aBytes == 0)
      continue;
    for (size_t y = x + 1; y < order.size(); ++y) {
      size_t j = order[y];
      const BufferInterval &b = buffers[j];
      if (b.start > a.end)
        break;
      uint64_t bBytes = footprintOf(b, options);
      if (bBytes == 0)
        continue;
      uint64_t aOff = plan.offsets[i], bOff = plan.offsets[j];
      if (aOff >= bOff + bBytes || bOff >= aOff + aBytes)
        continue;
      int64_t firstCommon = std::max(a.start, b.start);
      int64_t lastCommon = std::min(a.end, b.end);
      if (firstCommon == lastCommon && groups.isEquivalent(i, j))
        continue;
      return llvm::createStringError(
          "buffer " + describe(a) + " at bytes [" + std::to_string(aOff) +
          ", " + std::to_string(aOff + aBytes) + ") overlaps buffer " +
          describe(b) + " at bytes [" + std::to_string(bOff) + ", " +
          std::to_string(bOff + bBytes) + ") while both are live at steps [" +
          std::to_string(firstCommon) + ", " + std::to_string(lastCommon) +
          "]");
    }
  }

  // The reported lower bound must be the one these hand-overs imply; a wrong
  // one would make every quality figure quoted from the plan meaningless.
  uint64_t maxLive =
      computePeakBytes(computeLiveSpans(buffers, plan.reuse, options));
  if (plan.maxLiveBytes != maxLive)
    return llvm::createStringError("plan reports a max-live lower bound of " +
                                   std::to_string(plan.maxLiveBytes) +
                                   " bytes, the buffers give " +
                                   std::to_string(maxLive));
  if (plan.arenaBytes < maxLive)
    return llvm::createStringError(
        "arena of " + std::to_string(plan.arenaBytes) +
        " bytes is below the max-live lower bound of " +
        std::to_string(maxLive));
  return llvm::Error::success();
}
