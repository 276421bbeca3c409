//===- Chain.cpp - Heterogeneous chain checkpointing problem --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Chain.h"
#include "nnc/Support/ByteSize.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"

#include "nnc/Support/Limits.h"

#include <cmath>
#include <set>

using namespace llvm;
using namespace nnc::planner;

void nnc::planner::scaleCosts(Chain &chain, double forward, double backward) {
  for (Stage &st : chain.stages) {
    st.forwardCost *= forward;
    st.backwardCost *= backward;
    if (st.hotBackwardCost)
      *st.hotBackwardCost *= backward;
  }
}

Error nnc::planner::setMeasuredCosts(Chain &chain,
                                     llvm::ArrayRef<double> firstForward,
                                     llvm::ArrayRef<double> recompute,
                                     double backward,
                                     llvm::ArrayRef<double> coldBackward,
                                     llvm::ArrayRef<double> hotBackward) {
  const size_t n = chain.stages.size();
  if (firstForward.size() != n || recompute.size() != n)
    return createStringError(inconvertibleErrorCode(),
                             "%zu first-forward and %zu recomputation times "
                             "for a chain of %zu stages: the calibration "
                             "measured another model or stage partition",
                             firstForward.size(), recompute.size(), n);
  const bool perStage = !coldBackward.empty() || !hotBackward.empty();
  if (perStage && (coldBackward.size() != n || hotBackward.size() != n))
    return createStringError(inconvertibleErrorCode(),
                             "%zu cold and %zu hot backward times for a "
                             "chain of %zu stages: the calibration measured "
                             "another model or stage partition",
                             coldBackward.size(), hotBackward.size(), n);
  for (auto [i, stage] : llvm::enumerate(chain.stages)) {
    const double first = firstForward[i], again = recompute[i];
    stage.forwardCost = again;
    // A first forward cheaper than its recomputation would make the
    // backward's share negative: the backward keeps at least its own.
    const double extra = std::max(first - again, 0.0);
    const double rest = stage.backwardCost * backward + extra;
    stage.backwardCost = rest + (perStage ? coldBackward[i] : 0.0);
    // A hot backward measured slower than the cold one is noise (the two
    // run the same code, hot on values in cache): priced as cold.
    if (perStage)
      stage.hotBackwardCost =
          rest + std::min(hotBackward[i], coldBackward[i]);
  }
  return Error::success();
}

double Chain::baseCost() const {
  double sum = 0;
  for (const Stage &s : stages)
    sum += s.forwardCost + s.backwardCost;
  if (stages.empty() || !stages.back().hotBackwardCost)
    return sum;
  // Store-all's B(L) follows F_all(L): the only backward it runs hot.
  // Summed in store-all's order, as the simulator sums it, so that its
  // recomputation cost is exactly 0.
  sum = 0;
  for (const Stage &s : stages)
    sum += s.forwardCost;
  sum += *stages.back().hotBackwardCost;
  for (auto it = std::next(stages.rbegin()); it != stages.rend(); ++it)
    sum += it->backwardCost;
  return sum;
}

int64_t Chain::gradientBytes(unsigned i) const {
  int64_t bytes = activationBytes(i);
  for (unsigned k = i + 1; k <= length(); ++k)
    bytes += stage(k).backwardResidueBytes;
  return bytes;
}

Error Chain::validate() const {
  if (stages.empty())
    return createStringError("chain has no stages");
  if (stages.size() > limits::kMaxStages)
    return createStringError("chain has " + Twine(stages.size()) +
                             " stages, over nnc's limit of " +
                             Twine(limits::kMaxStages));
  if (inputBytes <= 0)
    return createStringError("input_bytes must be positive, got " +
                             Twine(inputBytes));
  // Every figure below its limit, so that no sum the planner forms over
  // the chain can overflow (Limits.h).
  auto tooLarge = [&](const Twine &where, StringRef field, int64_t bytes) {
    return createStringError(where + field + " (" + Twine(bytes) +
                             " bytes) is over nnc's limit of " +
                             formatByteSize(limits::kMaxStageBytes) +
                             " per stage");
  };
  if (inputBytes > limits::kMaxStageBytes)
    return tooLarge("", "input_bytes", inputBytes);
  for (unsigned i = 1; i <= length(); ++i) {
    const Stage &s = stage(i);
    std::string where = "stage " + std::to_string(i) + ": ";
    if (!(s.forwardCost >= 0) || !(s.forwardCost <= limits::kMaxStageCost))
      return createStringError(where +
                               "forward_cost must be in [0, 1e30], got " +
                               formatv("{0:e2}", s.forwardCost).str());
    if (!(s.backwardCost >= 0) || !(s.backwardCost <= limits::kMaxStageCost))
      return createStringError(where +
                               "backward_cost must be in [0, 1e30], got " +
                               formatv("{0:e2}", s.backwardCost).str());
    // A hot backward dearer than a cold one would pay a schedule to move a
    // forward away from its backward, which Rotor's recurrence never does.
    if (s.hotBackwardCost &&
        (!(*s.hotBackwardCost >= 0) || !(*s.hotBackwardCost <= s.backwardCost)))
      return createStringError(
          where + "hot_backward_cost must be in [0, backward_cost], got " +
          formatv("{0:e2}", *s.hotBackwardCost).str() + " (backward_cost " +
          formatv("{0:e2}", s.backwardCost).str() + ")");
    for (auto [field, bytes] :
         {std::pair<StringRef, int64_t>{"output_bytes", s.outputBytes},
          {"saved_bytes", s.savedBytes},
          {"forward_transient_bytes", s.forwardTransientBytes},
          {"forward_all_transient_bytes", s.forwardTransientOf(true)},
          {"backward_transient_bytes", s.backwardTransientBytes},
          {"backward_residue_bytes", s.backwardResidueBytes}})
      if (bytes > limits::kMaxStageBytes)
        return tooLarge(where, field, bytes);
    if (s.outputBytes <= 0)
      return createStringError(where + "output_bytes must be positive, got " +
                               Twine(s.outputBytes));
    if (s.savedBytes <= 0)
      return createStringError(where + "saved_bytes must be positive, got " +
                               Twine(s.savedBytes));
    if (s.backwardTransientBytes < 0)
      return createStringError(where +
                               "backward_transient_bytes must be >= 0, got " +
                               Twine(s.backwardTransientBytes));
    if (s.forwardTransientBytes < 0)
      return createStringError(where +
                               "forward_transient_bytes must be >= 0, got " +
                               Twine(s.forwardTransientBytes));
    if (s.forwardTransientOf(true) < 0)
      return createStringError(
          where + "forward_all_transient_bytes must be >= 0, got " +
          Twine(s.forwardTransientOf(true)));
    if (s.backwardResidueBytes < 0)
      return createStringError(where +
                               "backward_residue_bytes must be >= 0, got " +
                               Twine(s.backwardResidueBytes));
    if (s.savedBytes < s.outputBytes)
      return createStringError(where + "saved_bytes (" + Twine(s.savedBytes) +
                               ") is smaller than output_bytes (" +
                               Twine(s.outputBytes) +
                               "); saved data includes the output");
    // A backward that reads only its gradient reads no input either.
    if (s.backwardReadsGradientOnly && s.backwardNeedsInput)
      return createStringError(where + "backward_reads_gradient_only and "
                                       "backward_needs_input contradict "
                                       "each other");
  }
  return Error::success();
}

Chain nnc::planner::makeUniformChain(unsigned length, int64_t bytes) {
  Chain c;
  c.inputBytes = bytes;
  c.stages.assign(length, Stage{1, 1, bytes, bytes});
  return c;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

/// True if every key of `V` (an object) is one of `known`; else reports
/// the first other one at its path: a misspelt optional field would
/// otherwise be silently ignored.
static bool onlyKnownKeys(const json::Value &V, json::Path P,
                          ArrayRef<StringRef> known) {
  const json::Object *object = V.getAsObject();
  if (!object)
    return true; // ObjectMapper reports it
  for (const auto &[key, value] : *object)
    if (!llvm::is_contained(known, StringRef(key))) {
      P.field(key).report("unknown field");
      return false;
    }
  return true;
}

bool nnc::planner::fromJSON(const json::Value &V, Stage &S, json::Path P) {
  json::ObjectMapper O(V, P);
  if (!onlyKnownKeys(V, P,
                     {"forward_cost", "backward_cost", "output_bytes",
                      "saved_bytes", "backward_needs_input",
                      "backward_releases_saved", "backward_transient_bytes",
                      "forward_transient_bytes", "hot_backward_cost",
                      "forward_all_transient_bytes", "backward_residue_bytes",
                      "backward_reads_gradient_only"}))
    return false;
  if (!O || !O.map("forward_cost", S.forwardCost) ||
      !O.map("backward_cost", S.backwardCost) ||
      !O.map("output_bytes", S.outputBytes) ||
      !O.map("saved_bytes", S.savedBytes) ||
      !O.mapOptional("backward_needs_input", S.backwardNeedsInput) ||
      !O.mapOptional("backward_releases_saved", S.backwardReleasesSaved) ||
      !O.mapOptional("backward_transient_bytes", S.backwardTransientBytes) ||
      !O.mapOptional("forward_transient_bytes", S.forwardTransientBytes) ||
      !O.mapOptional("hot_backward_cost", S.hotBackwardCost) ||
      !O.mapOptional("forward_all_transient_bytes",
                     S.forwardAllTransientBytes) ||
      !O.mapOptional("backward_residue_bytes", S.backwardResidueBytes) ||
      !O.mapOptional("backward_reads_gradient_only",
                     S.backwardReadsGradientOnly))
    return false;
  if (S.hotBackwardCost && !(*S.hotBackwardCost >= 0)) {
    P.field("hot_backward_cost").report("must be >= 0");
    return false;
  }
  // Range checks here rather than in validate() so the message carries the
  // JSON path of the offending field.
  if (S.forwardCost < 0) {
    P.field("forward_cost").report("must be >= 0");
    return false;
  }
  if (S.backwardCost < 0) {
    P.field("backward_cost").report("must be >= 0");
    return false;
  }
  if (S.outputBytes <= 0) {
    P.field("output_bytes").report("must be a positive number of bytes");
    return false;
  }
  if (S.savedBytes <= 0) {
    P.field("saved_bytes").report("must be a positive number of bytes");
    return false;
  }
  if (S.backwardTransientBytes < 0) {
    P.field("backward_transient_bytes").report("must be >= 0");
    return false;
  }
  if (S.forwardTransientBytes < 0) {
    P.field("forward_transient_bytes").report("must be >= 0");
    return false;
  }
  if (S.forwardTransientOf(true) < 0) {
    P.field("forward_all_transient_bytes").report("must be >= 0");
    return false;
  }
  if (S.backwardResidueBytes < 0) {
    P.field("backward_residue_bytes").report("must be >= 0");
    return false;
  }
  if (S.savedBytes < S.outputBytes) {
    P.field("saved_bytes")
        .report("must be >= output_bytes (saved data includes the output)");
    return false;
  }
  return true;
}

bool nnc::planner::fromJSON(const json::Value &V, Chain &C, json::Path P) {
  json::ObjectMapper O(V, P);
  if (!onlyKnownKeys(V, P, {"input_bytes", "stages"}))
    return false;
  // Reject a huge stage list before mapping (and allocating) it.
  if (const json::Object *object = V.getAsObject())
    if (const json::Array *stages = object->getArray("stages");
        stages && stages->size() > limits::kMaxStages) {
      static_assert(limits::kMaxStages == 4096, "update the message");
      P.field("stages").report("more stages than nnc's limit of 4096");
      return false;
    }
  if (!O || !O.map("input_bytes", C.inputBytes) || !O.map("stages", C.stages))
    return false;
  if (C.inputBytes <= 0) {
    P.field("input_bytes").report("must be a positive number of bytes");
    return false;
  }
  if (C.stages.empty()) {
    P.field("stages").report("must contain at least one stage");
    return false;
  }
  return true;
}

json::Value nnc::planner::toJSON(const Stage &S) {
  json::Object o{{"forward_cost", S.forwardCost},
                 {"backward_cost", S.backwardCost},
                 {"output_bytes", S.outputBytes},
                 {"saved_bytes", S.savedBytes}};
  // Written only when set, so chains of the default model keep their JSON.
  if (S.backwardNeedsInput)
    o["backward_needs_input"] = true;
  if (S.backwardReleasesSaved)
    o["backward_releases_saved"] = true;
  if (S.backwardTransientBytes != 0)
    o["backward_transient_bytes"] = S.backwardTransientBytes;
  if (S.forwardTransientBytes != 0)
    o["forward_transient_bytes"] = S.forwardTransientBytes;
  if (S.hotBackwardCost)
    o["hot_backward_cost"] = *S.hotBackwardCost;
  if (S.forwardAllTransientBytes)
    o["forward_all_transient_bytes"] = *S.forwardAllTransientBytes;
  if (S.backwardResidueBytes != 0)
    o["backward_residue_bytes"] = S.backwardResidueBytes;
  if (S.backwardReadsGradientOnly)
    o["backward_reads_gradient_only"] = true;
  return o;
}

json::Value nnc::planner::toJSON(const Chain &C) {
  json::Array stages;
  for (const Stage &s : C.stages)
    stages.push_back(toJSON(s));
  return json::Object{{"input_bytes", C.inputBytes},
                      {"stages", std::move(stages)}};
}

/// What llvm::json::parse does not check: nesting depth (it recurses once
/// per level, so a deep document overflows the stack) and duplicate keys
/// (the later one silently wins). A scan of the text, strings skipped, with
/// the keys of every open object; returns the first problem, located.
static std::optional<std::string> checkJSONShape(StringRef text) {
  struct Open {
    bool object;
    std::set<std::string> keys;
  };
  std::vector<Open> open;
  unsigned line = 1;
  bool expectKey = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '"') {
      std::string s;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size())
          s += text[i++];
        s += text[i];
      }
      if (expectKey && !open.empty() && open.back().object &&
          !open.back().keys.insert(s).second)
        return "line " + std::to_string(line) + ": duplicate key \"" + s + "\"";
      expectKey = false;
    } else if (c == '{' || c == '[') {
      if (open.size() >= nnc::limits::kMaxJSONDepth)
        return "line " + std::to_string(line) + ": nested deeper than " +
               std::to_string(nnc::limits::kMaxJSONDepth) + " levels";
      open.push_back({c == '{', {}});
      expectKey = c == '{';
    } else if (c == '}' || c == ']') {
      if (!open.empty())
        open.pop_back();
      expectKey = false;
    } else if (c == ',') {
      expectKey = !open.empty() && open.back().object;
    }
  }
  return std::nullopt; // anything else malformed is json::parse's to say
}

Expected<Chain> nnc::planner::parseChainJSON(StringRef text,
                                             StringRef bufferName) {
  if (std::optional<std::string> problem = checkJSONShape(text))
    return createStringError(inconvertibleErrorCode(),
                             bufferName + ": malformed JSON: " + *problem);
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(
        inconvertibleErrorCode(),
        bufferName + ": malformed JSON: " + toString(value.takeError()));
  Chain chain;
  json::Path::Root root("chain");
  if (!fromJSON(*value, chain, root))
    return createStringError(inconvertibleErrorCode(),
                             bufferName + ": " + toString(root.getError()));
  if (Error e = chain.validate())
    return createStringError(inconvertibleErrorCode(),
                             bufferName + ": " + toString(std::move(e)));
  return chain;
}

//===----------------------------------------------------------------------===//
// Byte sizes
//===----------------------------------------------------------------------===//

Expected<uint64_t> nnc::planner::parseByteSize(StringRef text) {
  auto fail = [&](const Twine &why) {
    return createStringError(inconvertibleErrorCode(),
                             "invalid byte size '" + text + "': " + why);
  };
  StringRef s = text.trim();
  if (s.empty())
    return fail("empty");
  if (s.starts_with("-"))
    return fail("must not be negative");
  size_t numEnd = 0;
  while (numEnd < s.size() && (isDigit(s[numEnd]) || s[numEnd] == '.'))
    ++numEnd;
  StringRef number = s.take_front(numEnd);
  StringRef suffix = s.drop_front(numEnd).trim();
  if (number.empty() || number.count('.') > 1 || number == ".")
    return fail("expected a number, optionally followed by a unit");
  std::optional<double> scale =
      StringSwitch<std::optional<double>>(suffix.lower())
          .Cases("", "b", 1.0)
          .Cases("k", "kib", 1024.0)
          .Cases("m", "mib", 1024.0 * 1024)
          .Cases("g", "gib", 1024.0 * 1024 * 1024)
          .Cases("t", "tib", 1024.0 * 1024 * 1024 * 1024)
          .Case("kb", 1e3)
          .Case("mb", 1e6)
          .Case("gb", 1e9)
          .Case("tb", 1e12)
          .Default(std::nullopt);
  if (!scale)
    return fail("unknown unit '" + suffix +
                "' (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)");
  // Integers are parsed exactly; fractions go through double, which is exact
  // to the byte far beyond any realistic memory size.
  auto overLimit = [&]() {
    return fail("over nnc's limit of " +
                formatByteSize(limits::kMaxBudgetBytes));
  };
  uint64_t whole = 0;
  if (!number.contains('.')) {
    if (number.getAsInteger(10, whole))
      return overLimit();
    std::optional<uint64_t> bytes =
        checkedMulUnsigned(whole, static_cast<uint64_t>(*scale));
    if (!bytes || *bytes > limits::kMaxBudgetBytes)
      return overLimit();
    return *bytes;
  }
  double value = std::strtod(number.str().c_str(), nullptr) * *scale;
  if (!(value <= double(limits::kMaxBudgetBytes)))
    return overLimit();
  // 1.5 KiB is 1536 bytes; 1.5 bytes is no size at all.
  if (value != std::floor(value))
    return fail("not a whole number of bytes (" +
                formatv("{0:f1}", value).str() + ")");
  return static_cast<uint64_t>(value);
}

std::string nnc::planner::formatByteSize(uint64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned u = 0;
  uint64_t exact = bytes;
  while (u < 6 && exact >= 1024 && exact % 1024 == 0) {
    exact /= 1024;
    ++u;
  }
  if (u > 0 || bytes < 1024)
    return std::to_string(exact) + " " + units[u];
  double v = bytes;
  u = 0;
  while (u < 6 && v >= 1024) {
    v /= 1024;
    ++u;
  }
  return formatv("{0:F2} {1}", v, units[u]).str();
}

//===----------------------------------------------------------------------===//
// Budgets on the command line (nnc/Support/ByteSize.h)
//===----------------------------------------------------------------------===//

bool llvm::cl::parser<std::optional<uint64_t>>::parse(
    Option &o, StringRef argName, StringRef arg,
    std::optional<uint64_t> &value) {
  if (arg.trim().empty() || arg.trim() == "none") {
    value = std::nullopt;
    return false;
  }
  Expected<uint64_t> bytes = nnc::planner::parseByteSize(arg);
  if (!bytes)
    return o.error(toString(bytes.takeError()), argName);
  value = *bytes;
  return false;
}

void llvm::cl::parser<std::optional<uint64_t>>::printOptionDiff(
    const Option &o, const std::optional<uint64_t> &value, const OptVal &,
    size_t globalWidth) const {
  printOptionName(o, globalWidth);
  outs() << "= ";
  print(outs(), value);
  outs() << "\n";
}

void llvm::cl::parser<std::optional<uint64_t>>::print(
    raw_ostream &os, const std::optional<uint64_t> &value) {
  if (value)
    os << *value;
}
