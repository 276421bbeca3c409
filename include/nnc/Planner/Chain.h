//===- Chain.h - Heterogeneous chain checkpointing problem ------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The abstract problem the checkpoint planner solves: a chain of L stages in
/// the sense of Beaumont et al., "Optimal checkpointing for heterogeneous
/// chains" (the Rotor paper). Stage i (1-based) reads activation a^{i-1} and
/// produces a^i; its backward reads the saved data abar^i and the gradient
/// delta^i and produces delta^{i-1}, and, when the stage says so
/// (`Stage::backwardNeedsInput`), also its input a^{i-1}.
///
/// This header is the hook through which any front end (the MLIR adapter, an
/// MLP description, a JSON file) hands a problem to the planner: build a
/// `Chain`, call `validate()`, then pick a strategy from Strategies.h.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_CHAIN_H
#define NNC_PLANNER_CHAIN_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnc {
namespace planner {

/// One stage of the chain. Sizes are in bytes, costs in any consistent unit
/// (the tool and the tests use "one forward of a uniform stage" = 1).
struct Stage {
  /// u_f: cost of one forward evaluation of the stage.
  double forwardCost = 0;
  /// u_b: cost of the backward of the stage.
  double backwardCost = 0;
  /// |a^i|, the stage's output activation; also |delta^i|, since a gradient
  /// has the shape of the value it is the gradient of.
  int64_t outputBytes = 0;
  /// |abar^i|: everything the stage's own forward leaves for its backward,
  /// its output included (so savedBytes >= outputBytes). The stage's input
  /// a^{i-1} is *not* part of it; see backwardNeedsInput.
  int64_t savedBytes = 0;
  /// Whether B(i) also reads the stage's input a^{i-1}, e.g. a linear layer
  /// whose weight gradient is delta^T * a^{i-1}. This is Rotor's original
  /// model (there B^l reads delta^l, abar^l and a^{l-1}). a^{i-1} is then read
  /// wherever it already is -- a^0, a checkpoint, or inside abar^{i-1} -- and
  /// counted once, where it is stored; a schedule must keep it available
  /// until B(i) (see Schedule.h). When false (the default) B(i) reads only
  /// abar^i and delta^i, and a checkpointed a^{i-1} can be dropped as soon as
  /// abar^i exists.
  bool backwardNeedsInput = false;
  /// Whether B(i) reads nothing its forward computed, neither abar^i nor
  /// a^{i-1}: only delta^i and static shapes (a flatten's or a reshape's
  /// view, a global average pooling's broadcast). B(i) is then valid
  /// without abar^i in memory, so no schedule has to recompute the stage
  /// (or sweep to it) for its backward: the compiled step would drop that
  /// sweep as dead code. F_all(i) is still allowed (it passes a^i on); B(i)
  /// frees abar^i if it is held. Excludes backwardNeedsInput.
  bool backwardReadsGradientOnly = false;
  /// Whether B(i) releases abar^i before it creates delta^{i-1}. The
  /// compiled backward of a layer runs the activation's VJP first (in place
  /// on delta^i), after which the stage's saved values are dead; only then
  /// does the linear's VJP create delta^{i-1}. When set, the memory *during*
  /// B(i) is  before - |abar^i| + |delta^{i-1}| + backwardTransientBytes
  /// instead of  before + |delta^{i-1}| + backwardTransientBytes. The state
  /// after B(i) is the same either way (abar^i and delta^i freed, delta^{i-1}
  /// held), and so are validity and persistence.
  bool backwardReleasesSaved = false;
  /// Bytes alive only *during* B(i), on top of what it holds and creates:
  /// e.g. the weight gradient dW_i of a training step, created next to
  /// delta^{i-1} and consumed by the update before B(i) ends. >= 0.
  int64_t backwardTransientBytes = 0;
  /// Bytes alive only *during* a forward of stage i (F_ck, F_n or F_all),
  /// on top of its input and the value it creates: intermediates of the
  /// stage that its forward does not keep. >= 0.
  int64_t forwardTransientBytes = 0;
  /// u_b when B(i) runs *hot*: right after F_all(i) (discards between
  /// them aside), on the saved values its forward has just written and the
  /// cache still holds; backwardCost is then the cold price, of a B(i)
  /// reading values stored long before (the measured cost model times
  /// both). Unset, both are backwardCost and every plan is what it was.
  /// >= 0.
  std::optional<double> hotBackwardCost = std::nullopt;

  /// The backward's cost, hot (right after F_all(i)) or cold.
  double backwardCostOf(bool hot) const {
    return hot ? hotBackwardCost.value_or(backwardCost) : backwardCost;
  }
  /// Bytes alive only *during* F_all(i) when they differ from
  /// forwardTransientBytes (unset: the same). A forward that keeps abar^i
  /// needs room for fewer of its intermediates than one that keeps only
  /// a^i: a residual block's F_n holds a convolution's input beside its
  /// output, its F_all keeps that input anyway (in abar^i). >= 0.
  std::optional<int64_t> forwardAllTransientBytes = std::nullopt;
  /// Bytes B(i) leaves alive until the end of the step, beside
  /// delta^{i-1}: with dynamic loss scaling, the stage's parameter
  /// gradients (held for the one all-finite check before any update takes
  /// effect) and its updates' results. Every action after B(i) holds them
  /// (see Chain::gradientBytes); during B(i), backwardTransientBytes counts
  /// them as they are created. >= 0.
  int64_t backwardResidueBytes = 0;

  /// The transient of a forward that keeps abar^i (F_all) or only a^i.
  int64_t forwardTransientOf(bool all) const {
    return all ? forwardAllTransientBytes.value_or(forwardTransientBytes)
               : forwardTransientBytes;
  }
};

/// A chain a^0 -> stage 1 -> a^1 -> ... -> stage L -> a^L.
struct Chain {
  /// |a^0|, the input of stage 1 (and |delta^0|).
  int64_t inputBytes = 0;
  std::vector<Stage> stages;

  /// L, the number of stages.
  unsigned length() const { return stages.size(); }
  /// Stage i, 1-based as in the papers.
  const Stage &stage(unsigned i) const { return stages[i - 1]; }
  /// |a^i| for i in [0, L].
  int64_t activationBytes(unsigned i) const {
    return i == 0 ? inputBytes : stages[i - 1].outputBytes;
  }
  /// |abar^i| for i in [1, L].
  int64_t savedBytes(unsigned i) const { return stages[i - 1].savedBytes; }
  /// What is held with the running gradient delta^i, i in [0, L]: its
  /// |delta^i| and the residues of B(L), ..., B(i + 1), which have run.
  int64_t gradientBytes(unsigned i) const;

  /// Sum of u_f + u_b over all stages, B(L) hot: the cost of a schedule that
  /// computes every forward exactly once (store-all). Recomputation cost is
  /// measured against it.
  double baseCost() const;

  /// Checks the invariants every strategy relies on. Returns a message naming
  /// the first offending stage (1-based), e.g.
  /// "stage 3: saved_bytes (8) is smaller than output_bytes (16)".
  llvm::Error validate() const;
};

/// Measured costs: multiplies every stage's forward cost by \p forward and
/// its backward cost by \p backward (on the compiler's chains, whose costs
/// are FLOPs: seconds per forward and per backward FLOP, which makes costs
/// predicted seconds).
void scaleCosts(Chain &chain, double forward, double backward);

/// Measured costs, in seconds: stage i + 1's first forward took
/// \p firstForward[i] in the compiled step and a recomputation of it
/// \p recompute[i]; its backward costs its FLOPs times \p backward seconds
/// per FLOP, plus, when given, its own measured time: \p coldBackward[i]
/// (store-all's, reading stored values) as backwardCost and
/// \p hotBackward[i] (recompute-all's, right after its recomputation) as
/// hotBackwardCost. Every schedule runs each stage's first forward and
/// backward exactly once, so the stage's forward cost becomes its
/// recomputation's time and both backward costs take the difference: a
/// schedule's cost is then exactly its predicted time. An error if a list
/// is not one time per stage (the backward lists may both be empty).
llvm::Error setMeasuredCosts(Chain &chain, llvm::ArrayRef<double> firstForward,
                             llvm::ArrayRef<double> recompute,
                             double backward,
                             llvm::ArrayRef<double> coldBackward = {},
                             llvm::ArrayRef<double> hotBackward = {});

/// A chain of \p length identical stages: forward and backward cost 1, and
/// every size (input, outputs, saved data) equal to \p bytes. This is the
/// uniform chain of the Griewank-Walther comparison in docs/Planner.md.
Chain makeUniformChain(unsigned length, int64_t bytes = 1);

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

/// Chain JSON: {"input_bytes": N, "stages": [{"forward_cost": F,
/// "backward_cost": B, "output_bytes": X, "saved_bytes": S,
/// "backward_needs_input": true, "backward_releases_saved": true,
/// "backward_transient_bytes": T, "forward_transient_bytes": U,
/// "hot_backward_cost": H, "backward_reads_gradient_only": true}, ...]}.
/// The last six are optional (defaults false, false, 0, 0, backward_cost,
/// false)
/// and only written when they differ from the default, so chains of the
/// default model keep their JSON.
/// Errors are reported through \p P, so they carry their location
/// (e.g. "expected integer at chain.stages[2].output_bytes").
bool fromJSON(const llvm::json::Value &V, Stage &S, llvm::json::Path P);
bool fromJSON(const llvm::json::Value &V, Chain &C, llvm::json::Path P);
llvm::json::Value toJSON(const Stage &S);
llvm::json::Value toJSON(const Chain &C);

/// Parses and validates chain JSON text. The error message is located and
/// human-readable; \p bufferName prefixes syntax errors.
llvm::Expected<Chain> parseChainJSON(llvm::StringRef text,
                                     llvm::StringRef bufferName = "<chain>");

//===----------------------------------------------------------------------===//
// Byte sizes
//===----------------------------------------------------------------------===//

/// Parses a byte count with an optional unit: "4096", "64KiB", "1.5GiB",
/// "10MB". Binary suffixes (K, KiB, M, MiB, G, GiB, T, TiB) are powers of
/// 1024, the SI ones (kB, KB, MB, GB, TB) powers of 1000; "B" is bytes. Case
/// is ignored. Fractions round to the nearest byte. Rejects negative, empty,
/// overflowing and unknown-suffix input with a message saying which.
llvm::Expected<uint64_t> parseByteSize(llvm::StringRef text);

/// Renders \p bytes for humans, exact when possible: "64 MiB", "1536 B",
/// "1.50 GiB".
std::string formatByteSize(uint64_t bytes);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_CHAIN_H
