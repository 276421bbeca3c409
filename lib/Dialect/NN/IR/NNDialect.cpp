//===- NNDialect.cpp - nn dialect -----------------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The dialect, its typed attributes, and the verifier of the discardable
// `nn.*` attributes passes hand each other (NNDialect.td lists them).
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;

#include "nnc/Dialect/NN/IR/NNEnums.cpp.inc"
#include "nnc/Dialect/NN/IR/NNOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "nnc/Dialect/NN/IR/NNAttrs.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "nnc/Dialect/NN/IR/NNOps.cpp.inc"
      >();
  registerAttributes();
}

void NNDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "nnc/Dialect/NN/IR/NNAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// CheckpointPlanAttr
//===----------------------------------------------------------------------===//

LogicalResult
EpilogueAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     EpilogueKind kind, FloatAttr slope) {
  if ((kind == EpilogueKind::LeakyRelu) != bool(slope))
    return emitError() << "an epilogue has a slope exactly when it is "
                          "leaky_relu";
  if (slope && !slope.getType().isF32())
    return emitError() << "an epilogue's slope is an f32, got "
                       << slope.getType();
  return success();
}

LogicalResult CheckpointPlanAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, CheckpointStrategy,
    std::optional<int64_t> budget, int64_t stages,
    ArrayRef<CheckpointAction> schedule, CostUnit, int64_t peakBytes,
    APFloat computeCost, APFloat recomputeCost, int64_t forwardSteps,
    int64_t storeAllPeakBytes, APFloat storeAllCost, int64_t minBudgetBytes,
    APFloat computeFlops, APFloat recomputeFlops, APFloat storeAllFlops,
    bool) {
  if (stages < 1)
    return emitError() << "checkpoint plan needs at least one stage, got "
                       << stages;
  if (budget && *budget < 0)
    return emitError() << "checkpoint plan budget must not be negative, got "
                       << *budget;
  for (auto [i, a] : llvm::enumerate(schedule))
    if (a.stage < 1 || static_cast<int64_t>(a.stage) > stages)
      return emitError() << "checkpoint plan action #" << i << " ("
                         << stringifyCheckpointActionKind(a.kind) << " "
                         << a.stage << ") names a stage outside [1, " << stages
                         << "]";
  for (int64_t v : {peakBytes, forwardSteps, storeAllPeakBytes, minBudgetBytes})
    if (v < 0)
      return emitError() << "checkpoint plan figures must not be negative, "
                            "got "
                         << v;
  for (const APFloat &f : {computeCost, recomputeCost, storeAllCost,
                           computeFlops, recomputeFlops, storeAllFlops})
    if (double v = f.convertToDouble(); !std::isfinite(v) || v < 0)
      return emitError() << "checkpoint plan costs must be finite and not "
                            "negative, got "
                         << v;
  return success();
}

static void printAction(AsmPrinter &p, const CheckpointAction &a) {
  p << stringifyCheckpointActionKind(a.kind) << " ";
  if (a.kind == CheckpointActionKind::Discard)
    p << stringifyDiscardedValue(a.value) << " ";
  p << a.stage;
}

static ParseResult parseAction(AsmParser &p, CheckpointAction &a) {
  StringRef kind;
  SMLoc loc = p.getCurrentLocation();
  if (p.parseKeyword(&kind))
    return failure();
  std::optional<CheckpointActionKind> k = symbolizeCheckpointActionKind(kind);
  if (!k)
    return p.emitError(loc) << "unknown checkpoint action '" << kind
                            << "' (expected F_ck, F_n, F_all, B or Discard)";
  a.kind = *k;
  if (a.kind == CheckpointActionKind::Discard) {
    StringRef value;
    loc = p.getCurrentLocation();
    if (p.parseKeyword(&value))
      return failure();
    std::optional<DiscardedValue> v = symbolizeDiscardedValue(value);
    if (!v)
      return p.emitError(loc)
             << "a Discard frees 'a' or 'abar', not '" << value << "'";
    a.value = *v;
  }
  return p.parseInteger(a.stage);
}

void CheckpointPlanAttr::print(AsmPrinter &p) const {
  p << "<strategy = " << ::nnc::checkpointStrategies.irName(getStrategy());
  if (getBudget())
    p << ", budget = " << *getBudget();
  p << ", stages = " << getStages() << ", schedule = [";
  llvm::interleaveComma(getSchedule(), p,
                        [&](const CheckpointAction &a) { printAction(p, a); });
  p << "], cost_unit = " << stringifyCostUnit(getCostUnit());
  auto f = [&](StringRef key, const APFloat &v) {
    p << ", " << key << " = ";
    p.printFloat(v);
  };
  p << ", peak_bytes = " << getPeakBytes();
  f("compute_cost", getComputeCost());
  f("recompute_cost", getRecomputeCost());
  p << ", forward_steps = " << getForwardSteps();
  p << ", store_all_peak_bytes = " << getStoreAllPeakBytes();
  f("store_all_cost", getStoreAllCost());
  p << ", min_budget_bytes = " << getMinBudgetBytes();
  f("compute_flops", getComputeFlops());
  f("recompute_flops", getRecomputeFlops());
  f("store_all_flops", getStoreAllFlops());
  if (getFusedUpdates())
    p << ", fused_updates = true";
  p << ">";
}

Attribute CheckpointPlanAttr::parse(AsmParser &p, Type) {
  std::optional<CheckpointStrategy> strategy;
  std::optional<int64_t> budget, stages;
  SmallVector<CheckpointAction> schedule;
  bool haveSchedule = false;
  CostUnit unit = CostUnit::Flop;
  bool fusedUpdates = false;
  int64_t ints[4] = {0, 0, 0, 0}; // peak, forward steps, store-all peak, min
  double reals[6] = {0, 0, 0, 0, 0, 0};
  static const char *const intKeys[] = {"peak_bytes", "forward_steps",
                                        "store_all_peak_bytes",
                                        "min_budget_bytes"};
  static const char *const realKeys[] = {"compute_cost",    "recompute_cost",
                                         "store_all_cost",  "compute_flops",
                                         "recompute_flops", "store_all_flops"};
  llvm::StringSet<> seen;
  SMLoc start = p.getCurrentLocation();

  auto parseEntry = [&]() -> ParseResult {
    StringRef key;
    SMLoc loc = p.getCurrentLocation();
    if (p.parseKeyword(&key) || p.parseEqual())
      return failure();
    if (!seen.insert(key).second)
      return p.emitError(loc) << "'" << key << "' appears twice";
    if (key == "strategy") {
      StringRef name;
      SMLoc at = p.getCurrentLocation();
      if (p.parseKeyword(&name))
        return failure();
      strategy = ::nnc::checkpointStrategies.lookupIRName(name);
      if (!strategy)
        return p.emitError(at)
               << "unknown checkpoint strategy '" << name << "' (expected "
               << ::nnc::checkpointStrategies.expected(/*ir=*/true) << ")";
      return success();
    }
    if (key == "budget" || key == "stages") {
      int64_t v;
      if (p.parseInteger(v))
        return failure();
      (key == "budget" ? budget : stages) = v;
      return success();
    }
    if (key == "schedule") {
      haveSchedule = true;
      return p.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        return parseAction(p, schedule.emplace_back());
      });
    }
    if (key == "cost_unit") {
      StringRef name;
      SMLoc at = p.getCurrentLocation();
      if (p.parseKeyword(&name))
        return failure();
      std::optional<CostUnit> u = symbolizeCostUnit(name);
      if (!u)
        return p.emitError(at) << "unknown cost unit '" << name
                               << "' (expected flop or second)";
      unit = *u;
      return success();
    }
    if (key == "fused_updates") {
      SMLoc at = p.getCurrentLocation();
      StringRef value;
      if (p.parseKeyword(&value))
        return failure();
      if (value != "true" && value != "false")
        return p.emitError(at) << "'fused_updates' is true or false, not '"
                               << value << "'";
      fusedUpdates = value == "true";
      return success();
    }
    for (auto [i, k] : llvm::enumerate(intKeys))
      if (key == k)
        return p.parseInteger(ints[i]);
    for (auto [i, k] : llvm::enumerate(realKeys))
      if (key == k)
        return p.parseFloat(reals[i]);
    return p.emitError(loc) << "unknown checkpoint plan field '" << key << "'";
  };
  if (p.parseLess() || p.parseCommaSeparatedList(parseEntry) ||
      p.parseGreater())
    return {};
  if (!strategy || !stages || !haveSchedule) {
    p.emitError(start, "checkpoint plan needs 'strategy', 'stages' and "
                       "'schedule'");
    return {};
  }
  auto f = [](double v) { return APFloat(v); };
  return p.getChecked<CheckpointPlanAttr>(
      p.getContext(), *strategy, budget, *stages, schedule, unit, ints[0],
      f(reals[0]), f(reals[1]), ints[1], ints[2], f(reals[2]), ints[3],
      f(reals[3]), f(reals[4]), f(reals[5]), fusedUpdates);
}

//===----------------------------------------------------------------------===//
// Discardable attribute verification
//===----------------------------------------------------------------------===//

LogicalResult NNDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto onFunction = [&]() -> LogicalResult {
    if (isa<FunctionOpInterface>(op))
      return success();
    return op->emitError() << "'" << name << "' is only valid on functions";
  };
  auto expected = [&](StringRef what) {
    return op->emitError() << "'" << name << "' must be " << what << ", got "
                           << value;
  };
  if (name == getEntryAttrName())
    return isa<EntryRoleAttr>(value) ? onFunction()
                                     : expected("an #nn.entry<...> role");
  if (name == getGradOfAttrName())
    return isa<FlatSymbolRefAttr>(value) ? onFunction()
                                         : expected("a symbol reference");
  if (name == getCheckpointAttrName())
    return isa<CheckpointPlanAttr>(value)
               ? onFunction()
               : expected("an #nn.checkpoint_plan<...>");
  if (name == getEpilogueAttrName())
    return isa<EpilogueAttr>(value) ? success()
                                    : expected("an #nn.epilogue<...>");
  if (name == getStageAttrName() || name == getBackwardStageAttrName()) {
    auto stage = dyn_cast<IntegerAttr>(value);
    if (!stage || !stage.getType().isInteger(64) || stage.getInt() < 1)
      return expected("a positive i64 stage number");
    return success();
  }
  if (name == getGradSeedAttrName() || name == getRecomputedAttrName() ||
      name == getArenaAttrName())
    return isa<UnitAttr>(value) ? success() : expected("a unit attribute");
  if (name == getArenaBytesAttrName() || name == getMaxLiveBytesAttrName() ||
      name == getRuntimeWorkspaceBytesAttrName()) {
    auto bytes = dyn_cast<IntegerAttr>(value);
    if (!bytes || !bytes.getType().isInteger(64) || bytes.getInt() < 0)
      return expected("a non-negative i64 byte count");
    return onFunction();
  }
  return op->emitError() << "unknown nn dialect attribute '" << name << "'";
}

LogicalResult NNDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitError() << "'" << name
                           << "' is only valid on function arguments";
  Type type = fn.getArgumentTypes()[argIndex];
  if (name == getParamAttrName() || name == getStateAttrName() ||
      name == getRunningStatAttrName()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' must be a unit attribute";
    // A parameter (or optimizer state) is a static f32 tensor, or that
    // tensor once bufferized.
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !isa<RankedTensorType, MemRefType>(type) ||
        !shaped.hasStaticShape() || !shaped.getElementType().isF32())
      return op->emitError()
             << "argument #" << argIndex << " is marked '" << name
             << "' but has type " << type << "; "
             << (name == getParamAttrName()   ? "a parameter"
                 : name == getStateAttrName() ? "optimizer state"
                                              : "a running statistic")
             << " must be a statically shaped f32 tensor";
    return success();
  }
  if (name == getNameAttrName() || name == getSourceNameAttrName())
    return isa<StringAttr>(attr.getValue())
               ? success()
               : op->emitError() << "'" << name << "' must be a string";
  if (name == getArenaAttrName()) {
    auto memref = dyn_cast<MemRefType>(type);
    if (!isa<UnitAttr>(attr.getValue()) || !memref || memref.getRank() != 1 ||
        !memref.getElementType().isInteger(8))
      return op->emitError() << "'nn.arena' marks a memref<Nxi8> workspace "
                                "argument, got "
                             << type;
    return success();
  }
  return op->emitError() << "unknown nn dialect argument attribute '" << name
                         << "'";
}

LogicalResult NNDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                     unsigned,
                                                     NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << name
                           << "' is only valid on function results";
  if (name == getNameAttrName())
    return isa<StringAttr>(attr.getValue())
               ? success()
               : op->emitError() << "'nn.name' must be a string";
  return op->emitError() << "unknown nn dialect result attribute '" << name
                         << "'";
}
