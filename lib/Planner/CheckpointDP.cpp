//===- CheckpointDP.cpp - Rotor's dynamic program: solve, reconstruct -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "CheckpointDPImpl.h"

#include "nnc/Planner/Simulator.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace llvm;
using namespace nnc::planner;

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
  const int64_t chainLo = std::max(base + G[t] + S[s] + TFA[s], kept + BK[s]);
  const float fs = F[s] - F[s - 1];
  if (m >= chainLo)
    found = (s == t ? fs + hotGain[s]
                    : fs + at(Owner::Pin, s + 1, t, m - S[s] - kept)) <=
            target;
  // The back branch: B(t) first, then [s, t-1] as it was.
  constexpr unsigned kBack = ~0u;
  if (!found && gradOnly[t] && m >= base + BKG[t] &&
      (s == t ? 0.f : at(o, s, t - 1, m)) <= target) {
    choice = kBack;
    found = true;
  }
  int64_t sweepPeak = 0;
  for (unsigned j = s + 1; j <= t && !found; ++j) {
    const unsigned k = j - 1;
    sweepPeak = std::max(sweepPeak, X[k] + (k > s ? X[k - 1] : 0) + TF[k]);
    const int64_t lo = base + G[t] + sweepPeak;
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
  if (choice == kBack) {
    out.push_back(Action::backward(t));
    if (s < t)
      reconstruct(o, s, t - 1, m, out);
    else if (o == Owner::Own) // B(s) was the last reader of a^{s-1}
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
    return llvm::createStringError("slots must be positive");
  if (slots > limits::kMaxSlots)
    return llvm::createStringError("slots (" + Twine(slots) +
                                   ") is over nnc's limit of " +
                                   Twine(limits::kMaxSlots));
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
    g = std::gcd(g, std::gcd(uint64_t(st.forwardTransientOf(true)),
                             uint64_t(st.backwardResidueBytes)));
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
  impl->TFA.assign(L + 1, 0);
  impl->BK.assign(L + 1, 0);
  impl->F.assign(L + 1, 0);
  impl->needsInput.assign(L + 1, 0);
  impl->gradOnly.assign(L + 1, 0);
  impl->BKG.assign(L + 1, 0);
  impl->hotGain.assign(L + 1, 0);
  for (unsigned i = 0; i <= L; ++i)
    impl->X[i] = units(chain.activationBytes(i));
  // delta^i with the residues of the backwards before it, each rounded up.
  impl->G.assign(L + 1, 0);
  impl->G[L] = impl->X[L];
  for (unsigned i = L; i >= 1; --i)
    impl->G[i - 1] = impl->G[i] - impl->X[i] + impl->X[i - 1] +
                     units(chain.stage(i).backwardResidueBytes);
  double prefix = 0, gains = 0;
  bool integral = true;
  for (unsigned i = 1; i <= L; ++i) {
    const Stage &st = chain.stage(i);
    impl->S[i] = units(chain.savedBytes(i));
    // Each size rounds up on its own, so every sum of held values (and
    // therefore every check) is an upper bound of the exact bytes. A
    // released abar^i is left out of BK rather than subtracted, which keeps
    // that true.
    impl->TF[i] = units(st.forwardTransientBytes);
    impl->TFA[i] = units(st.forwardTransientOf(true));
    impl->BK[i] = (st.backwardReleasesSaved ? 0 : impl->S[i]) + impl->G[i] +
                  impl->X[i - 1] + units(st.backwardTransientBytes);
    impl->needsInput[i] = chain.stage(i).backwardNeedsInput;
    impl->gradOnly[i] = st.backwardReadsGradientOnly;
    impl->BKG[i] = impl->G[i] + impl->X[i - 1] + units(st.backwardTransientBytes);
    prefix += chain.stage(i).forwardCost;
    impl->F[i] = static_cast<float>(prefix);
    impl->backwardSum += chain.stage(i).backwardCost;
    const double gain = st.backwardCostOf(true) - st.backwardCost;
    impl->hotGain[i] = static_cast<float>(gain);
    gains += std::fabs(gain);
    integral &= chain.stage(i).forwardCost == std::floor(st.forwardCost) &&
                gain == std::floor(gain);
  }
  // The block bound of the leaf scans regroups float sums (LeafBounds). Every
  // finite entry of [s, t] runs each stage of it at most t - s + 1 times
  // (by induction over the recurrence), so is at most L F[L]; with integer
  // costs every value the fill and the bound meet is then an integer below
  // 2 (L + 3) F[L], exact in float below 2^24. Otherwise a margin of 32
  // roundings covers the regrouping (at most 14: 3 in a leaf's sum, 2 in
  // the terms, 2 in the bound, each relative to the best so far plus
  // F[L]). Hot backwards add their gains, each at most once to an entry: a
  // value moves by at most their sum, and one below 0 (a gain larger than
  // the forward before it) is at least minus that sum, which the scale
  // would shrink rather than widen, so the slack covers it three times.
  if (!integral || 2.0 * (L + 3) * (prefix + gains) >= 0x1p24) {
    impl->boundScale = 1 + 32 * 0x1p-24f;
    impl->boundSlack =
        32 * 0x1p-24f * (impl->F[L] + 3 * static_cast<float>(gains));
  }
  if (Error e = impl->fill())
    return std::move(e);
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
      return llvm::createStringError(
          "budget of " + Twine(budgetBytes) +
          " bytes is infeasible: the minimum feasible budget is " +
          Twine(least) + " bytes");
    return llvm::createStringError("budget of " + Twine(budgetBytes) +
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
