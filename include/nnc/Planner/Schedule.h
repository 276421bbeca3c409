//===- Schedule.h - Checkpointing schedules ---------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The action vocabulary of a checkpointing schedule and its memory
/// semantics. The Simulator (Simulator.h) enforces exactly what is written
/// here; strategies only emit actions.
///
/// Values. For a chain of L stages the values are
///   a^i     (i in [0, L])  activation, |a^i| = Chain::activationBytes(i);
///   abar^i  (i in [1, L])  saved data of stage i, |abar^i| = savedBytes(i);
///                          it contains a^i, so while abar^i is in memory a^i
///                          is *available* without being stored separately;
///   delta^i (i in [0, L])  gradient w.r.t. a^i, |delta^i| = |a^i|.
///
/// Initial memory: a^0 and delta^L. Goal: delta^0.
///
/// Accounting (the Rotor convention). a^0 belongs to the caller: it is always
/// available, never freed and never counted. Everything else in memory is
/// counted: delta^L from the start (Rotor appends the loss as the last stage,
/// so this is the loss gradient, usually a scalar), checkpoints, saved data,
/// and delta^0 at the end. The memory *during* an action is the memory before
/// it plus the value it creates (inputs and outputs coexist); frees happen
/// when the action ends. The peak is the maximum over all actions.
/// Exactly, with T_f(i) = forwardTransientBytes, T_b(i) =
/// backwardTransientBytes and r(i) = backwardReleasesSaved of stage i:
///   during F_ck(i), F_n(i):  before + |a^i|    + T_f(i)
///   during F_all(i):         before + |abar^i| + (forwardAllTransientBytes
///                                   if set, else T_f(i))
///   during B(i):             before + |delta^{i-1}| + T_b(i)
///                                   - (r(i) ? |abar^i| : 0)
///   during Discard(v):       before - |v|
/// B(i) leaves its backwardResidueBytes behind to the end (after B(i):
/// before + |delta^{i-1}| - |abar^i| - |delta^i| + residue).
/// The memory *after* an action does not depend on the transients or r(i)
/// (a transient is gone when its action ends, and abar^i is freed by B(i)
/// either way), so neither changes which schedules are valid or persistent.
/// The memory between two actions never exceeds the memory during the
/// previous one, so the peak bounds every moment.
///
/// Actions (stage numbers are 1-based):
///   F_ck(i)    needs a^{i-1} available; creates a^i; keeps a^{i-1}. Used to
///              start a forward sweep from a checkpoint that must survive it.
///   F_n(i)     needs a^{i-1} available; creates a^i; then frees a^{i-1} if it
///              is stored on its own (never a^0, and never abar^{i-1}, which
///              only B(i-1) frees). A forward "without saving": the input was
///              a transient value of the sweep.
///   F_all(i)   needs a^{i-1} available; creates abar^i (hence a^i); keeps
///              a^{i-1}.
///   B(i)       needs abar^i and delta^i in memory, and, if stage i has
///              backwardNeedsInput, a^{i-1} available (a^0, stored on its
///              own, or inside abar^{i-1}); creates delta^{i-1}; then frees
///              abar^i and delta^i (never a^{i-1}: whoever stored it frees
///              it). Backward actions therefore run in the order B(L), ...,
///              B(1). Reading a^{i-1} costs no memory: it is counted where it
///              is stored. If stage i has backwardReadsGradientOnly, B(i)
///              needs only delta^i: abar^i may be absent (no F_all(i) before
///              it), and is freed if present; r(i) then releases only what
///              is held.
///   Discard(v) frees v (a^i with i >= 1, or abar^i). a^0 and the running
///              gradient cannot be discarded.
/// A forward action may not create a value that is already in memory.
///
/// Persistence (Rotor's schedule class; see docs/Planner.md). A schedule is
/// *persistent* when (1) abar^i is only ever freed by B(i), (2) an
/// activation a^i that stayed in memory across a backward action (a
/// checkpoint) is only freed once abar^{i+1} is in memory or B(i+1) has run,
/// and (3) if stage i+1 has backwardNeedsInput, an a^i stored on its own is
/// not freed between F_all(i+1) and B(i+1) (B(i+1) would need it again), nor,
/// if it is a checkpoint, at all before B(i+1). (2) and (3) say the same
/// thing: a checkpoint is kept while a later action of its consumer reads
/// it. (4) Between two backward actions (and before the first) forward
/// actions run in strictly increasing stage order: a schedule does not go
/// back to recompute from an earlier checkpoint before the next backward.
/// Rotor's schedules are of this form (each forward phase is one sweep from
/// a checkpoint up to the running gradient's stage). In the default model
/// (4) excludes nothing cheaper; with transients or
/// Stage::backwardReleasesSaved, F_all(t) can need more room than B(t), and
/// a schedule that swaps a small checkpoint for a larger one between them
/// can beat the DP (test GoingBackBeforeABackwardCounterexample).
/// The optimal dynamic program is optimal among persistent schedules; the
/// simulator accepts non-persistent ones and flags them.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_SCHEDULE_H
#define NNC_PLANNER_SCHEDULE_H

#include "nnc/Planner/Chain.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace nnc {
namespace planner {

/// The kinds of values a Discard can name.
enum class ValueKind { Activation, Saved, Gradient };

/// "a", "abar", "delta".
llvm::StringRef valueKindName(ValueKind K);

/// One step of a schedule.
struct Action {
  enum Kind { ForwardCheckpoint, ForwardNoSave, ForwardAll, Backward, Discard };
  Kind kind;
  /// The stage (1-based) for F_* and B; the value's index for Discard.
  unsigned stage;
  /// Which value a Discard frees; ignored for other kinds.
  ValueKind value = ValueKind::Activation;

  static Action fck(unsigned i) { return {ForwardCheckpoint, i}; }
  static Action fn(unsigned i) { return {ForwardNoSave, i}; }
  static Action fall(unsigned i) { return {ForwardAll, i}; }
  static Action backward(unsigned i) { return {Backward, i}; }
  static Action discard(ValueKind v, unsigned i) { return {Discard, i, v}; }

  bool isForward() const { return kind <= ForwardAll; }
  bool operator==(const Action &o) const {
    return kind == o.kind && stage == o.stage &&
           (kind != Discard || value == o.value);
  }
  bool operator!=(const Action &o) const { return !(*this == o); }
};

/// "F_ck", "F_n", "F_all", "B", "Discard".
llvm::StringRef actionKindName(Action::Kind K);

/// A schedule is just the sequence of actions.
using Schedule = std::vector<Action>;

/// Prints one action: "F_ck 1", "B 3", "Discard a2", "Discard abar4".
void print(const Action &A, llvm::raw_ostream &os);
/// Prints a schedule as "F_ck 1, F_n 2, F_all 3, B 3, ...".
void print(const Schedule &S, llvm::raw_ostream &os);
std::string toString(const Schedule &S);

/// JSON form of an action: {"op": "F_ck", "stage": 3}; a discard also has
/// "value": "a" | "abar".
llvm::json::Value toJSON(const Action &A);
bool fromJSON(const llvm::json::Value &V, Action &A, llvm::json::Path P);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_SCHEDULE_H
