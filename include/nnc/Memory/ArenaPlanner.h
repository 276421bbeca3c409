//===- ArenaPlanner.h - Static arena offset assignment ----------*- C++ -*-===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The MLIR-free half of `nnc-plan-memory`: given every buffer of a
/// straight-line schedule as a size plus an inclusive live range of op
/// indices, assign each a static byte offset in a single arena such that two
/// buffers that are live at the same step never share a byte.
///
/// The core is "greedy by size, best fit", the strategy of TensorFlow Lite's
/// arena planner and of XLA's GlobalDecreasingSizeBestFitHeap:
///
///   1. Honour the legal in-place hints (`reuseOf`) by fusing each chain of
///      donor -> recipient -> ... into one block placed at a single offset.
///   2. Sort blocks by footprint, largest first (ties: earlier start, then
///      smaller id, so plans are deterministic).
///   3. For each block, look at the already placed buffers that overlap it in
///      time, in offset order, collect the gaps between them, and take the
///      smallest gap the block fits in (best fit); if none fits, place it
///      above the highest of them.
///
/// Placing big buffers first matters because they are the ones that cannot be
/// squeezed into holes later; best fit keeps big holes intact for the big
/// buffers that remain. A fused block is not a rectangle: each member keeps
/// its own footprint over its own live range (an L shape when a small result
/// takes over a big input), so the donor's bytes beyond the recipient's size
/// are free again after the hand-over. One bounding rectangle would hold them
/// until the recipient dies and can push the peak above that of the plan
/// without the hint.
///
/// Greedy by size alone is not good enough for training: a big short-lived
/// workspace placed first at offset 0 leaves a hole under the long-lived
/// activations, and on 1-5% of synthetic training steps the arena ends up
/// 5-25% above the lower bound. So, as XLA does with its spatial and temporal
/// orders, step 3 is run for several orders and the smallest arena kept,
/// followed by a short seeded local search on the order (see
/// `PlannerOptions`). Greedy by size is always among the candidates, so the
/// result is never worse than it. A pass is O(n^2) in the number of buffers;
/// the default of 8 orders plus at most 2 x 64 search passes (the second 64
/// only while the arena is above the bound) plans a 2400-buffer training
/// step in about 0.1 s.
///
/// Bytes are bytes (DESIGN.md §3): `ArenaPlan::arenaBytes` is exactly the
/// allocation the runtime makes, and `ArenaPlan::maxLiveBytes` is the lower
/// bound no offset assignment can beat, so the ratio of the two is the
/// fragmentation the planner is responsible for.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_MEMORY_ARENAPLANNER_H
#define NNC_MEMORY_ARENAPLANNER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnc::memory {

/// One buffer of the schedule: `size` bytes, live from the op that first
/// writes it (`start`) to the op that last reads it (`end`), both inclusive.
struct BufferInterval {
  /// Caller-chosen identifier, unique within one planning problem.
  int64_t id = 0;
  /// Size in bytes. Zero-sized buffers are legal and get offset 0.
  uint64_t size = 0;
  /// First and last op index at which the buffer is live (inclusive).
  int64_t start = 0;
  int64_t end = 0;
  /// Required offset alignment in bytes (a power of two); 0 means
  /// `PlannerOptions::defaultAlignment`.
  int64_t alignment = 0;
  /// In-place hint: this buffer may take the storage of buffer `*reuseOf`,
  /// whose life ends exactly at this buffer's `start` (an elementwise result
  /// overwriting its dying input). Honoured only when legal; see
  /// `ReuseStatus`.
  std::optional<int64_t> reuseOf;

  /// Presentation only (ignored by the planner): a label for pictures and
  /// diagnostics, and whether the checkpointing plan recomputes this buffer.
  std::string name;
  bool recomputed = false;
};

/// The order in which a greedy best-fit pass considers the buffers. Every
/// order breaks its remaining ties by earlier start, then smaller id.
enum class PlacementOrder {
  /// Largest footprint first: TensorFlow Lite's "greedy by size".
  SizeThenStart,
  /// Largest footprint first, longer life first among equals (XLA's spatial
  /// order).
  SizeThenLifetime,
  /// The buffers live at the step where the lower bound peaks first, then the
  /// rest, each group largest first. Buffers all live at one step stack
  /// without holes, so the peak is packed exactly; this repairs greedy by
  /// size's weak spot, a large short-lived workspace placed at offset 0 that
  /// splits the long-lived activations above it.
  PeakFirst,
  /// As PeakFirst, but the peak's buffers go longest life first: the stack
  /// at the peak then has the long-lived buffers at its bottom and the ones
  /// that die (or were born) close to the peak at its top, so the bytes they
  /// leave before and after it form one run at the top that later buffers can
  /// take whole, instead of holes between survivors.
  PeakFirstThenLifetime,
  /// Longest life first (XLA's temporal order), then largest.
  LifetimeThenSize,
  /// Largest footprint x life first, then largest.
  AreaThenSize,
  /// Schedule order, largest first within a step: what an online allocator
  /// would do.
  StartThenSize,
  /// Most bytes live alongside the buffer over its life first, then largest:
  /// the hardest-to-fit buffers go first.
  ConflictThenSize,
};

struct PlannerOptions {
  /// Alignment for buffers that do not request one. 64 bytes is a cache line
  /// and satisfies every vector ISA nnc targets.
  int64_t defaultAlignment = 64;
  /// Whether `reuseOf` hints are considered at all (off: plan as if absent).
  bool honourReuseHints = true;
  /// Orders to run one greedy best-fit pass in each; the smallest arena wins,
  /// the earlier order on ties. Greedy by size alone leaves 1.2-1.25x the
  /// lower bound on some training-shaped problems (see bench-arena); no
  /// single order is best everywhere, so by default all of them are tried.
  std::vector<PlacementOrder> orders = {
      PlacementOrder::SizeThenStart,   PlacementOrder::SizeThenLifetime,
      PlacementOrder::PeakFirst,       PlacementOrder::PeakFirstThenLifetime,
      PlacementOrder::LifetimeThenSize, PlacementOrder::AreaThenSize,
      PlacementOrder::StartThenSize,   PlacementOrder::ConflictThenSize};
  /// Passes of local search on the winning order (see ArenaPlanner.cpp);
  /// each is one more greedy pass, fewer are run for very large problems and
  /// none once the arena meets the lower bound. 0 disables the search.
  unsigned improvementPasses = 64;
  /// Whether a search that ends above the lower bound is followed by as many
  /// passes of a second one that also weighs how far blocks stick out above
  /// the bound (see ArenaPlanner.cpp). Off: the plain search alone.
  bool guidedSearch = true;

  /// Plain greedy by size, best fit: one pass, no search. The textbook
  /// algorithm, for comparisons and for tests that pin exact offsets.
  static PlannerOptions greedyBySize() {
    PlannerOptions options;
    options.orders = {PlacementOrder::SizeThenStart};
    options.improvementPasses = 0;
    return options;
  }
};

/// What became of a buffer's `reuseOf` hint.
enum class ReuseStatus {
  /// The buffer carried no hint (or hints were disabled).
  NoHint,
  /// The buffer shares its donor's offset.
  Honoured,
  /// The donor id names no buffer of the problem, or the buffer itself.
  UnknownDonor,
  /// The donor's life does not end exactly where this buffer's begins.
  NotAdjacent,
  /// This buffer needs more bytes than the donor provides.
  TooLarge,
  /// Another buffer already took over this donor.
  DonorTaken,
  /// Honouring it would close a cycle of hand-overs (only possible between
  /// buffers that all live at one single step).
  WouldCycle,
};

/// A short human-readable name for `status`, e.g. "honoured".
llvm::StringRef stringifyReuseStatus(ReuseStatus status);

/// The planner's answer. Vectors are parallel to the `buffers` array the plan
/// was computed from.
struct ArenaPlan {
  /// Byte offset of each buffer in the arena.
  std::vector<uint64_t> offsets;
  /// Fate of each buffer's in-place hint.
  std::vector<ReuseStatus> reuse;
  /// The placement order of the winning greedy pass (before any search).
  PlacementOrder order = PlacementOrder::SizeThenStart;
  /// Bytes the arena must have: max over buffers of offset + footprint, where
  /// footprint is the size rounded up to the buffer's alignment.
  uint64_t arenaBytes = 0;
  /// Max over steps of the footprints live at that step, counting a buffer
  /// and the donor whose storage it took once. No valid plan with the same
  /// honoured reuses can have a smaller arena.
  uint64_t maxLiveBytes = 0;

  /// Offset of the buffer with identifier `id`, if it was part of the plan.
  std::optional<uint64_t> offsetOf(int64_t id) const;
  /// Index into the parallel vectors of the buffer with identifier `id`.
  std::optional<size_t> indexOf(int64_t id) const;
  /// Number of honoured in-place hints.
  size_t numReusesHonoured() const;

  /// id -> index into `offsets`/`reuse`.
  llvm::DenseMap<int64_t, size_t> indexById;
};

/// Checks that `buffers` is a well-formed problem: unique ids, start <= end,
/// power-of-two alignments. `planArena` runs this first.
llvm::Error validateBuffers(llvm::ArrayRef<BufferInterval> buffers,
                            const PlannerOptions &options = {});

/// Assigns every buffer an arena offset (see the file comment for the
/// algorithm). Fails only if `validateBuffers` does.
llvm::Expected<ArenaPlan> planArena(llvm::ArrayRef<BufferInterval> buffers,
                                    const PlannerOptions &options = {});

/// Independently re-checks `plan` against `buffers`: every buffer has an
/// offset that is aligned and whose footprint lies inside [0, arenaBytes), no
/// two buffers live at a common step share a byte unless one legally took the
/// other's storage in place (and then only at the hand-over step), and
/// `arenaBytes >= maxLiveBytes`. The error names the offending buffers.
llvm::Error verifyPlan(llvm::ArrayRef<BufferInterval> buffers,
                       const ArenaPlan &plan,
                       const PlannerOptions &options = {});

/// A stretch of steps [start, end] (inclusive) during which `bytes` are held.
struct LiveSpan {
  int64_t start = 0;
  int64_t end = 0;
  uint64_t bytes = 0;
};

/// The bytes held over time when the hand-overs marked `Honoured` in `reuse`
/// (parallel to `buffers`; empty for none) share storage: each buffer holds
/// its footprint over its live range, except that at a hand-over step a donor
/// and its recipient count once, with the larger of their footprints.
std::vector<LiveSpan> computeLiveSpans(llvm::ArrayRef<BufferInterval> buffers,
                                       llvm::ArrayRef<ReuseStatus> reuse,
                                       const PlannerOptions &options = {});

/// Max over steps of the summed bytes of the spans live at that step.
uint64_t computePeakBytes(llvm::ArrayRef<LiveSpan> spans);

/// Max over steps of the summed footprints of the buffers live at that step,
/// ignoring reuse hints: the lower bound for a plan that honours none.
uint64_t computeMaxLiveBytes(llvm::ArrayRef<BufferInterval> buffers,
                             const PlannerOptions &options = {});

/// Bytes `buffer` occupies in the arena: its size rounded up to its
/// alignment, so a neighbour placed right above it stays aligned too.
uint64_t footprintOf(const BufferInterval &buffer,
                     const PlannerOptions &options = {});

} // namespace nnc::memory

#endif // NNC_MEMORY_ARENAPLANNER_H
