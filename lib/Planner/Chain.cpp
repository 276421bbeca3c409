//===- Chain.cpp - Heterogeneous chain checkpointing problem --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Chain.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace llvm;
using namespace nnc::planner;

void nnc::planner::scaleCosts(Chain &chain, double forward, double backward) {
  for (Stage &st : chain.stages) {
    st.forwardCost *= forward;
    st.backwardCost *= backward;
  }
}

double Chain::baseCost() const {
  double sum = 0;
  for (const Stage &s : stages)
    sum += s.forwardCost + s.backwardCost;
  return sum;
}

Error Chain::validate() const {
  auto fail = [](const Twine &msg) {
    return createStringError(inconvertibleErrorCode(), msg);
  };
  if (stages.empty())
    return fail("chain has no stages");
  if (inputBytes <= 0)
    return fail("input_bytes must be positive, got " + Twine(inputBytes));
  for (unsigned i = 1; i <= length(); ++i) {
    const Stage &s = stage(i);
    std::string where = "stage " + std::to_string(i) + ": ";
    if (!(s.forwardCost >= 0) || !std::isfinite(s.forwardCost))
      return fail(where + "forward_cost must be finite and >= 0");
    if (!(s.backwardCost >= 0) || !std::isfinite(s.backwardCost))
      return fail(where + "backward_cost must be finite and >= 0");
    if (s.outputBytes <= 0)
      return fail(where + "output_bytes must be positive, got " +
                  Twine(s.outputBytes));
    if (s.savedBytes <= 0)
      return fail(where + "saved_bytes must be positive, got " +
                  Twine(s.savedBytes));
    if (s.backwardTransientBytes < 0)
      return fail(where + "backward_transient_bytes must be >= 0, got " +
                  Twine(s.backwardTransientBytes));
    if (s.forwardTransientBytes < 0)
      return fail(where + "forward_transient_bytes must be >= 0, got " +
                  Twine(s.forwardTransientBytes));
    if (s.savedBytes < s.outputBytes)
      return fail(where + "saved_bytes (" + Twine(s.savedBytes) +
                  ") is smaller than output_bytes (" + Twine(s.outputBytes) +
                  "); saved data includes the output");
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

bool nnc::planner::fromJSON(const json::Value &V, Stage &S, json::Path P) {
  json::ObjectMapper O(V, P);
  if (!O || !O.map("forward_cost", S.forwardCost) ||
      !O.map("backward_cost", S.backwardCost) ||
      !O.map("output_bytes", S.outputBytes) ||
      !O.map("saved_bytes", S.savedBytes) ||
      !O.mapOptional("backward_needs_input", S.backwardNeedsInput) ||
      !O.mapOptional("backward_releases_saved", S.backwardReleasesSaved) ||
      !O.mapOptional("backward_transient_bytes", S.backwardTransientBytes) ||
      !O.mapOptional("forward_transient_bytes", S.forwardTransientBytes))
    return false;
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
  if (S.savedBytes < S.outputBytes) {
    P.field("saved_bytes")
        .report("must be >= output_bytes (saved data includes the output)");
    return false;
  }
  return true;
}

bool nnc::planner::fromJSON(const json::Value &V, Chain &C, json::Path P) {
  json::ObjectMapper O(V, P);
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
  return o;
}

json::Value nnc::planner::toJSON(const Chain &C) {
  json::Array stages;
  for (const Stage &s : C.stages)
    stages.push_back(toJSON(s));
  return json::Object{{"input_bytes", C.inputBytes},
                      {"stages", std::move(stages)}};
}

Expected<Chain> nnc::planner::parseChainJSON(StringRef text,
                                             StringRef bufferName) {
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
  uint64_t whole = 0;
  if (!number.contains('.')) {
    if (number.getAsInteger(10, whole))
      return fail("number too large");
    uint64_t factor = static_cast<uint64_t>(*scale);
    if (whole != 0 && factor > UINT64_MAX / whole)
      return fail("does not fit in 64 bits");
    return whole * factor;
  }
  double value = std::strtod(number.str().c_str(), nullptr) * *scale;
  if (!(value < 1.8e19))
    return fail("does not fit in 64 bits");
  return static_cast<uint64_t>(std::llround(value));
}

std::string nnc::planner::formatByteSize(uint64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  unsigned u = 0;
  uint64_t exact = bytes;
  while (u < 4 && exact >= 1024 && exact % 1024 == 0) {
    exact /= 1024;
    ++u;
  }
  if (u > 0 || bytes < 1024)
    return std::to_string(exact) + " " + units[u];
  double v = bytes;
  u = 0;
  while (u < 4 && v >= 1024) {
    v /= 1024;
    ++u;
  }
  return formatv("{0:F2} {1}", v, units[u]).str();
}
