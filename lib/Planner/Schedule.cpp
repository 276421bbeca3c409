//===- Schedule.cpp - Checkpointing schedules -----------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Schedule.h"

#include "llvm/ADT/StringSwitch.h"

using namespace llvm;
using namespace nnc::planner;

StringRef nnc::planner::valueKindName(ValueKind K) {
  switch (K) {
  case ValueKind::Activation:
    return "a";
  case ValueKind::Saved:
    return "abar";
  case ValueKind::Gradient:
    return "delta";
  }
  llvm_unreachable("unknown value kind");
}

StringRef nnc::planner::actionKindName(Action::Kind K) {
  switch (K) {
  case Action::ForwardCheckpoint:
    return "F_ck";
  case Action::ForwardNoSave:
    return "F_n";
  case Action::ForwardAll:
    return "F_all";
  case Action::Backward:
    return "B";
  case Action::Discard:
    return "Discard";
  }
  llvm_unreachable("unknown action kind");
}

void nnc::planner::print(const Action &A, raw_ostream &os) {
  os << actionKindName(A.kind) << ' ';
  if (A.kind == Action::Discard)
    os << valueKindName(A.value);
  os << A.stage;
}

void nnc::planner::print(const Schedule &S, raw_ostream &os) {
  for (size_t i = 0; i < S.size(); ++i) {
    if (i)
      os << ", ";
    print(S[i], os);
  }
}

std::string nnc::planner::toString(const Schedule &S) {
  std::string out;
  raw_string_ostream os(out);
  print(S, os);
  return out;
}

json::Value nnc::planner::toJSON(const Action &A) {
  json::Object o{{"op", actionKindName(A.kind)}, {"stage", A.stage}};
  if (A.kind == Action::Discard)
    o["value"] = valueKindName(A.value);
  return o;
}

bool nnc::planner::fromJSON(const json::Value &V, Action &A, json::Path P) {
  json::ObjectMapper O(V, P);
  std::string op;
  int64_t stage = 0;
  if (!O || !O.map("op", op) || !O.map("stage", stage))
    return false;
  std::optional<Action::Kind> kind =
      StringSwitch<std::optional<Action::Kind>>(op)
          .Case("F_ck", Action::ForwardCheckpoint)
          .Case("F_n", Action::ForwardNoSave)
          .Case("F_all", Action::ForwardAll)
          .Case("B", Action::Backward)
          .Case("Discard", Action::Discard)
          .Default(std::nullopt);
  if (!kind) {
    P.field("op").report("expected one of F_ck, F_n, F_all, B, Discard");
    return false;
  }
  if (stage < 0) {
    P.field("stage").report("must be >= 0");
    return false;
  }
  A = Action{*kind, static_cast<unsigned>(stage)};
  if (*kind == Action::Discard) {
    std::string value;
    if (!O.map("value", value))
      return false;
    if (value == "a")
      A.value = ValueKind::Activation;
    else if (value == "abar")
      A.value = ValueKind::Saved;
    else if (value == "delta")
      A.value = ValueKind::Gradient;
    else {
      P.field("value").report("expected a, abar or delta");
      return false;
    }
  }
  return true;
}
