//===- Limits.h - The limits nnc enforces on its inputs ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every input-controlled size and count nnc accepts has a limit here, far
/// above any real network and low enough that the arithmetic built on it
/// cannot overflow and the work it causes stays bounded. docs/Limits.md
/// lists them with the error each gives; a limit is checked where the input
/// is read, before anything is allocated from it.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_LIMITS_H
#define NNC_SUPPORT_LIMITS_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

#include <sys/resource.h>
#include <unistd.h>

namespace nnc::limits {

/// Bytes of one tensor of a model: 1 TiB, past any accelerator's or host's
/// memory. With it, an element count, a byte size or a FLOP count formed
/// from a few shapes fits int64 with room to add thousands of them.
inline constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;

/// Operations of one model function (the derived step has a few times as
/// many): bounds the passes' work, and with kMaxTensorBytes any sum of
/// buffer sizes over a function fits in int64.
inline constexpr int64_t kMaxModelOps = int64_t(1) << 16;

/// Stages of a checkpointing chain. The least-feasible-budget search every
/// plan reports is O(L^2) memory and O(L^3) time (docs/Planner.md): 4096
/// stages take about 0.5 GB and 15 s on one core.
inline constexpr unsigned kMaxStages = 4096;

/// Micro-batches of one step (nnc-accumulate-gradients): the step holds
/// one copy of the planned forward and backward per micro-batch, so its
/// code and compile time grow with the count.
inline constexpr unsigned kMaxMicroBatches = 256;

/// Any byte figure of one stage of a chain (64 TiB): a sum over
/// kMaxStages stages of several of them stays below 2^62.
inline constexpr int64_t kMaxStageBytes = int64_t(1) << 46;

/// Any cost of one stage: finite sums over kMaxStages stages, recomputed
/// O(L) times, stay far below the largest double.
inline constexpr double kMaxStageCost = 1e30;

/// A memory budget (4 EiB): fits int64 with room for the planner's sums.
inline constexpr uint64_t kMaxBudgetBytes = uint64_t(1) << 62;

/// Memory slots of the dp strategy, and the bytes its tables may take
/// (checked before they are allocated).
inline constexpr unsigned kMaxSlots = 100000;
inline constexpr uint64_t kMaxDPTableBytes = uint64_t(4) << 30;

/// Nesting depth of a JSON document nnc reads (a chain is 3 deep): the
/// parser recurses once per level.
inline constexpr unsigned kMaxJSONDepth = 64;

/// Brackets an MLIR text may nest: MLIR's parser, verifier and printer
/// recurse once per level (regions from about 4,000 levels, attribute
/// arrays from about 10,000, overflow an 8 MiB stack and crash); real
/// models nest a handful.
inline constexpr unsigned kMaxMLIRNesting = 1000;

/// The offset in `text` of the first bracket nested deeper than
/// `maxDepth`, if any: (, [, { and < count, outside string literals and
/// `//` comments (a `>` after `-` is an arrow, not a bracket). Unbalanced
/// text is the parser's to report; this only bounds its recursion.
inline std::optional<size_t> findExcessiveNesting(llvm::StringRef text,
                                                  unsigned maxDepth) {
  unsigned depth = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') { // a string literal, with escapes
      for (++i; i < e && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (c == '/' && i + 1 < e && text[i + 1] == '/') {
      i = text.find('\n', i);
      if (i == llvm::StringRef::npos)
        break;
      continue;
    }
    if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > maxDepth)
        return i;
    } else if (c == ')' || c == ']' || c == '}' ||
               (c == '>' && (i == 0 || text[i - 1] != '-'))) {
      depth -= depth > 0;
    }
  }
  return std::nullopt;
}

/// The offset in `text` of an element of a custom-form `linalg.generic`'s
/// `iterator_types` that is not a string literal, if any. MLIR 19's
/// GenericOp::parse reads every element as a StringAttr without checking
/// (getAsValueRange<StringAttr>), so an integer there is read as a string
/// of garbage length: undefined behaviour (the IR fuzzer saw a
/// 0xbebebebe...-byte allocation). Only the custom form (the op name
/// unquoted, its attribute dictionary next) parses that way; the generic
/// form's properties are checked by type. A match on a `//` comment line is
/// skipped; a list that is not strings and commas is the parser's to
/// report.
inline std::optional<size_t> findNonStringIteratorType(llvm::StringRef text) {
  static constexpr llvm::StringLiteral kOp = "linalg.generic";
  static constexpr llvm::StringLiteral kKey = "iterator_types";
  const size_t e = text.size();
  auto skipSpace = [&](size_t i) {
    while (i < e && llvm::isSpace(text[i]))
      ++i;
    return i;
  };
  auto skipString = [&](size_t i) { // i at the opening quote
    for (++i; i < e && text[i] != '"'; ++i)
      if (text[i] == '\\')
        ++i;
    return i + 1;
  };
  for (size_t at = text.find(kOp); at != llvm::StringRef::npos;
       at = text.find(kOp, at + 1)) {
    if (at > 0 && (text[at - 1] == '"' || llvm::isAlnum(text[at - 1]) ||
                   text[at - 1] == '_' || text[at - 1] == '.'))
      continue;
    size_t lineStart = text.rfind('\n', at);
    lineStart = lineStart == llvm::StringRef::npos ? 0 : lineStart + 1;
    if (text.slice(lineStart, at).contains("//"))
      continue;
    size_t i = skipSpace(at + kOp.size());
    if (i >= e || text[i] != '{')
      continue;
    // The dictionary, to its matching brace.
    size_t end = i + 1;
    for (unsigned depth = 1; end < e && depth;) {
      if (text[end] == '"') {
        end = skipString(end);
        continue;
      }
      depth += text[end] == '{';
      depth -= text[end] == '}';
      ++end;
    }
    size_t key = text.slice(i, end).find(kKey);
    if (key == llvm::StringRef::npos)
      continue;
    size_t j = skipSpace(i + key + kKey.size());
    if (j >= end || text[j] != '=')
      continue;
    j = skipSpace(j + 1);
    if (j >= end || text[j] != '[')
      continue;
    for (j = skipSpace(j + 1); j < end && text[j] != ']';) {
      if (text[j] != '"')
        return j;
      j = skipSpace(skipString(j));
      if (j >= end || text[j] != ',')
        break;
      j = skipSpace(j + 1);
    }
  }
  return std::nullopt;
}

/// Register tiles of the generated CPU contractions: rows and columns of
/// a tile, and its vector length. A tile is unrolled into the IR, so its
/// size is the pass's work; real ones are 2-8 by 8-32.
inline constexpr unsigned kMaxTileDim = 64;
inline constexpr unsigned kMaxTileLanes = 256;
/// Threads a compiled step or a calibration run may be asked for.
inline constexpr unsigned kMaxThreads = 1024;
/// Loss-landscape evaluations (nnc-landscape): points of a line, and of a
/// plane (grid²). Each point is a pass over the samples; a million of them
/// is days of work, and the result table is held in memory.
inline constexpr int64_t kMaxLandscapePoints = 1000000;
/// The landscape's extent along a direction: coordinates stay finite and
/// meaningful (weights move by at most this many direction norms).
inline constexpr double kMaxLandscapeRange = 1e6;

/// This machine's physical memory in bytes (0 if unknown). Host buffers a
/// tool allocates from a model's sizes are checked against it first: a
/// failed allocation would abort the process (no exceptions).
inline uint64_t physicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : 0;
}

/// What this process may allocate: its address-space and data limits
/// (ulimit -v, -d) where set, else the physical memory (0 if unknown).
inline uint64_t allocatableBytes() {
  uint64_t bytes = physicalMemoryBytes();
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit limit;
    if (getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        (bytes == 0 || uint64_t(limit.rlim_cur) < bytes))
      bytes = uint64_t(limit.rlim_cur);
  }
  return bytes;
}

} // namespace nnc::limits

#endif // NNC_SUPPORT_LIMITS_H
