//===- PlanMemory.cpp - static arena planning of bufferized functions -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The MLIR side of memory planning: derive a problem (sizes and live ranges
// over the straight-line schedule) from the IR, let the MLIR-free planner
// solve it, and rewrite every allocation into a view of one workspace.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Memory/ArenaPlanner.h"
#include "nnc/Memory/ArenaSVG.h"
#include "nnc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <numeric>

namespace mlir::nnc {
#define GEN_PASS_DEF_PLANMEMORY
#include "nnc/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// Index of the top-level op of `block` that contains `op`.
static int64_t positionIn(Block &block, Operation *op,
                          const llvm::DenseMap<Operation *, int64_t> &index) {
  Operation *top = block.findAncestorOpInBlock(*op);
  return top ? index.lookup(top) : -1;
}

/// Orders functions so that callees come before their callers.
static SmallVector<func::FuncOp> calleesFirst(ModuleOp module) {
  SmallVector<func::FuncOp> order;
  llvm::DenseSet<Operation *> seen;
  std::function<void(func::FuncOp)> visit = [&](func::FuncOp fn) {
    if (!seen.insert(fn).second)
      return;
    fn.walk([&](func::CallOp call) {
      if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee()))
        visit(callee);
    });
    order.push_back(fn);
  };
  for (auto fn : module.getOps<func::FuncOp>())
    visit(fn);
  return order;
}

/// True if `generic` reads `input` and writes `output` at the same element
/// in each iteration and touches neither elsewhere: the output may then
/// overwrite the input in place.
static bool isInPlaceable(linalg::GenericOp generic, Value input,
                          Value output) {
  if (generic.getNumReductionLoops() != 0)
    return false;
  OpOperand *in = nullptr, *out = nullptr;
  for (OpOperand &operand : generic->getOpOperands()) {
    if (operand.get() != input && operand.get() != output)
      continue;
    if (operand.get() == input && !in && generic.isDpsInput(&operand))
      in = &operand;
    else if (operand.get() == output && !out && generic.isDpsInit(&operand))
      out = &operand;
    else
      return false; // used twice: no simple element-for-element pairing
  }
  if (!in || !out || generic.payloadUsesValueFromOperand(out))
    return false;
  AffineMap inMap = generic.getMatchingIndexingMap(in);
  return inMap == generic.getMatchingIndexingMap(out) && inMap.isPermutation();
}

/// The call `alloc` is the workspace of (nn.runtime_call's `workspace`),
/// if that is its only use.
static RuntimeCallOp getWorkspaceCall(memref::AllocOp alloc) {
  if (!alloc->hasOneUse())
    return {};
  OpOperand &use = *alloc->use_begin();
  auto call = dyn_cast<RuntimeCallOp>(use.getOwner());
  if (!call || call.getWorkspace() != int64_t(use.getOperandNumber()))
    return {};
  return call;
}

namespace {
struct PlanMemoryPass : public mlir::nnc::impl::PlanMemoryBase<PlanMemoryPass> {
  using PlanMemoryBase::PlanMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::DenseMap<Operation *, int64_t> workspaceOf; // callee -> bytes
    for (func::FuncOp fn : calleesFirst(module))
      if (!fn.isExternal() && failed(planFunction(module, fn, workspaceOf)))
        return signalPassFailure();
  }

  /// Adds to `buffers` and `plan` the runtime calls' workspaces that fit
  /// without growing the arena, largest first; the other calls lose theirs
  /// and run in the runtime's own. The arena is what the checkpoint plan
  /// predicted and the budget bounds: scratch the planner did not price
  /// goes where no tensor lives, or stays outside.
  LogicalResult placeWorkspaces(
      func::FuncOp fn, std::vector<::nnc::memory::BufferInterval> &buffers,
      SmallVector<memref::AllocOp> &allocs,
      ArrayRef<::nnc::memory::BufferInterval> workspaces,
      ArrayRef<memref::AllocOp> workspaceAllocs,
      const ::nnc::memory::PlannerOptions &options,
      ::nnc::memory::ArenaPlan &plan, int64_t &leftBytes) {
    if (workspaces.empty())
      return success();
    SmallVector<size_t> order(workspaces.size());
    std::iota(order.begin(), order.end(), 0);
    llvm::sort(order, [&](size_t a, size_t b) {
      return std::make_pair(-int64_t(workspaces[a].size), a) <
             std::make_pair(-int64_t(workspaces[b].size), b);
    });
    uint64_t limit = plan.arenaBytes;
    // A trial plan of `buffers` with `extra` appended; it replaces `plan`
    // when the arena stays within the limit.
    auto tryWith = [&](ArrayRef<size_t> extra) -> FailureOr<bool> {
      std::vector<::nnc::memory::BufferInterval> trial = buffers;
      for (size_t w : extra) {
        trial.push_back(workspaces[w]);
        trial.back().id = trial.size() - 1;
      }
      auto planned = ::nnc::memory::planArena(trial, options);
      if (!planned)
        return fn.emitError() << "arena planning failed: "
                              << llvm::toString(planned.takeError());
      if (planned->arenaBytes > limit)
        return false;
      plan = std::move(*planned);
      return true;
    };
    // All at once first: usually they fit among the dead tensors.
    SmallVector<size_t> kept;
    FailureOr<bool> all = tryWith(order);
    if (failed(all))
      return failure();
    if (*all) {
      kept = order;
    } else {
      for (size_t w : order) {
        kept.push_back(w);
        FailureOr<bool> fits = tryWith(kept);
        if (failed(fits))
          return failure();
        if (!*fits)
          kept.pop_back();
      }
    }
    llvm::SmallDenseSet<size_t> keptSet(kept.begin(), kept.end());
    for (size_t w : kept) {
      buffers.push_back(workspaces[w]);
      buffers.back().id = buffers.size() - 1;
      allocs.push_back(workspaceAllocs[w]);
    }
    for (auto [w, constAlloc] : llvm::enumerate(workspaceAllocs)) {
      memref::AllocOp alloc = constAlloc;
      if (keptSet.contains(w)) {
        ++numWorkspacesPlaced;
        continue;
      }
      RuntimeCallOp call = getWorkspaceCall(alloc);
      call.getOutputsMutable().erase(*call.getWorkspace() -
                                     call.getInputs().size());
      call.removeWorkspaceAttr();
      alloc.erase();
      ++numWorkspacesLeft;
      workspaceBytesLeft += workspaces[w].size;
      leftBytes = std::max<int64_t>(leftBytes, workspaces[w].size);
    }
    return success();
  }

  LogicalResult
  planFunction(ModuleOp module, func::FuncOp fn,
               llvm::DenseMap<Operation *, int64_t> &workspaceOf) {
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("nnc-plan-memory expects straight-line functions "
                          "(one block); run it before lowering to loops");
    // A function with arguments gets its workspace as one more, and its
    // calls pass it; a func.constant of it would keep the old type.
    // (References in attributes, such as a gradient's link to its model,
    // carry no type.)
    if (fn.getNumArguments() != 0)
      if (std::optional<SymbolTable::UseRange> uses =
              SymbolTable::getSymbolUses(fn, module))
        for (const SymbolTable::SymbolUse &use : *uses)
          if (isa<func::ConstantOp>(use.getUser()))
            return use.getUser()->emitError()
                   << "nnc-plan-memory cannot add a workspace argument to @"
                   << fn.getSymName() << ": it is used as a value";
    Block &body = fn.getBody().front();
    OpBuilder b(fn.getContext());

    // A call to a planned function passes it a workspace, which is just one
    // more buffer of this function's arena.
    for (auto call : llvm::to_vector(body.getOps<func::CallOp>())) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      auto it = callee ? workspaceOf.find(callee) : workspaceOf.end();
      if (it == workspaceOf.end())
        continue;
      b.setInsertionPoint(call);
      Value ws = b.create<memref::AllocOp>(
          call.getLoc(), MemRefType::get({it->second}, b.getI8Type()));
      call->insertOperands(call->getNumOperands(), ws);
    }

    llvm::DenseMap<Operation *, int64_t> index;
    for (auto [i, op] : llvm::enumerate(body))
      index[&op] = i;

    SmallVector<memref::AllocOp> allocs, workspaceAllocs;
    std::vector<::nnc::memory::BufferInterval> buffers, workspaces;
    llvm::DenseMap<Value, int64_t> bufferId;
    for (auto alloc : body.getOps<memref::AllocOp>()) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity())
        return alloc.emitOpError(
            "cannot be planned: the arena needs static, identity-layout "
            "buffers");
      // Sized with overflow checks: this pass may run on any IR, and an
      // arena offset built from a wrapped size would overlap buffers.
      std::string why;
      FailureOr<int64_t> size = getCheckedSizeInBytes(type, why);
      if (failed(size))
        return alloc.emitOpError("cannot be planned: ") << type << " " << why;
      if (alloc->hasAttr(NNDialect::getArenaAttrName()))
        continue;
      // Live from its first to its last user, following views of it.
      int64_t first = INT64_MAX, last = -1;
      SmallVector<Value> worklist{alloc.getResult()};
      while (!worklist.empty()) {
        Value v = worklist.pop_back_val();
        for (Operation *user : v.getUsers()) {
          if (auto view = dyn_cast<ViewLikeOpInterface>(user))
            if (view.getViewSource() == v)
              for (Value r : user->getResults())
                worklist.push_back(r);
          int64_t pos = positionIn(body, user, index);
          first = std::min(first, pos);
          last = std::max(last, pos);
        }
      }
      if (last < 0) // never used: keep it alive at its own position
        first = last = index.lookup(alloc);
      ::nnc::memory::BufferInterval interval;
      interval.id = buffers.size();
      interval.size = *size;
      interval.start = first;
      interval.end = last;
      interval.alignment = alignment;
      // Label the box after the op that writes the buffer first.
      Operation *writer = nullptr;
      for (Operation *user : alloc->getUsers())
        if (Operation *top = body.findAncestorOpInBlock(*user);
            top && index.lookup(top) == first)
          writer = top;
      if (writer) {
        interval.name = writer->getName().getStringRef().str();
        if (auto stage = writer->getAttrOfType<IntegerAttr>(
                NNDialect::getStageAttrName()))
          interval.name += " (stage " + std::to_string(stage.getInt()) + ")";
        interval.recomputed =
            writer->hasAttr(NNDialect::getRecomputedAttrName());
      }
      if (getWorkspaceCall(alloc)) {
        // oneDNN's buffers in it want 64 bytes whatever the option says.
        interval.alignment = std::max<int64_t>(alignment, 64);
        workspaces.push_back(interval);
        workspaceAllocs.push_back(alloc);
        continue;
      }
      bufferId[alloc.getResult()] = interval.id;
      buffers.push_back(interval);
      allocs.push_back(alloc);
    }

    // In-place hints: an elementwise result born where an input dies.
    if (inPlace)
      for (auto generic : body.getOps<linalg::GenericOp>()) {
        int64_t pos = index.lookup(generic);
        for (Value out : generic.getDpsInits()) {
          auto outIt = bufferId.find(out);
          if (outIt == bufferId.end() || buffers[outIt->second].start != pos)
            continue;
          for (Value in : generic.getDpsInputs()) {
            auto inIt = bufferId.find(in);
            if (inIt == bufferId.end() || buffers[inIt->second].end != pos ||
                !isInPlaceable(generic, in, out))
              continue;
            buffers[outIt->second].reuseOf = inIt->second;
            break;
          }
        }
      }

    ::nnc::memory::PlannerOptions options;
    options.defaultAlignment = alignment;
    options.honourReuseHints = inPlace;
    auto plan = ::nnc::memory::planArena(buffers, options);
    if (!plan)
      return fn.emitError()
             << "arena planning failed: " << llvm::toString(plan.takeError());
    int64_t leftWorkspaceBytes = 0;
    if (failed(placeWorkspaces(fn, buffers, allocs, workspaces,
                               workspaceAllocs, options, *plan,
                               leftWorkspaceBytes)))
      return failure();
    if (llvm::Error err = ::nnc::memory::verifyPlan(buffers, *plan, options))
      return fn.emitError()
             << "arena plan is invalid: " << llvm::toString(std::move(err));

    // The checkpoint plan promised a peak within its budget; an arena that
    // breaks that promise is an error with the figures, never a silent
    // overrun.
    if (auto cp = fn->getAttrOfType<CheckpointPlanAttr>(
            NNDialect::getCheckpointAttrName()))
      if (std::optional<int64_t> budget = cp.getBudget();
          budget && static_cast<int64_t>(plan->arenaBytes) > *budget)
        return fn.emitError()
               << "the arena needs " << plan->arenaBytes
               << " bytes, over the checkpoint budget of " << *budget
               << " bytes (predicted peak " << cp.getPeakBytes()
               << " bytes, max-live lower bound " << plan->maxLiveBytes
               << " bytes)";

    if (!svg.empty() && fn->hasAttr(NNDialect::getGradOfAttrName())) {
      ::nnc::memory::SVGOptions pic;
      pic.title = ("arena of @" + fn.getSymName()).str();
      std::error_code ec;
      llvm::raw_fd_ostream os(svg, ec, llvm::sys::fs::OF_Text);
      if (ec)
        return fn.emitError()
               << "cannot write '" << svg << "': " << ec.message();
      os << ::nnc::memory::renderArenaSVG(buffers, *plan, options, pic);
    }

    // The workspace: a trailing argument, or for a driver without
    // arguments one allocation on entry.
    int64_t arenaBytes = plan->arenaBytes;
    auto arenaType = MemRefType::get({arenaBytes}, b.getI8Type());
    Value arena;
    if (fn.getNumArguments() == 0) {
      b.setInsertionPointToStart(&body);
      auto alloc = b.create<memref::AllocOp>(fn.getLoc(), arenaType,
                                             b.getI64IntegerAttr(alignment));
      alloc->setAttr(NNDialect::getArenaAttrName(), b.getUnitAttr());
      arena = alloc;
    } else {
      fn.insertArgument(fn.getNumArguments(), arenaType,
                        b.getDictionaryAttr(b.getNamedAttr(
                            NNDialect::getArenaAttrName(), b.getUnitAttr())),
                        fn.getLoc());
      arena = fn.getArguments().back();
      workspaceOf[fn] = arenaBytes;
      // `<fn>_workspace_size()` tells a caller how much to provide.
      b.setInsertionPointAfter(fn);
      auto sizeFn = b.create<func::FuncOp>(
          fn.getLoc(), (fn.getSymName() + "_workspace_size").str(),
          b.getFunctionType({}, {b.getI64Type()}));
      Block *entry = sizeFn.addEntryBlock();
      b.setInsertionPointToStart(entry);
      b.create<func::ReturnOp>(
          fn.getLoc(), ValueRange{b.create<arith::ConstantOp>(
                           fn.getLoc(), b.getI64IntegerAttr(arenaBytes))});
    }

    for (auto [i, alloc] : llvm::enumerate(allocs)) {
      b.setInsertionPoint(alloc);
      Value offset = b.create<arith::ConstantIndexOp>(
          alloc.getLoc(), static_cast<int64_t>(plan->offsets[i]));
      Value view = b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(),
                                            arena, offset, ValueRange{});
      alloc.replaceAllUsesWith(view);
      alloc.erase();
    }
    fn->setAttr(NNDialect::getArenaBytesAttrName(),
                b.getI64IntegerAttr(arenaBytes));
    fn->setAttr(NNDialect::getMaxLiveBytesAttrName(),
                b.getI64IntegerAttr(static_cast<int64_t>(plan->maxLiveBytes)));
    if (leftWorkspaceBytes)
      fn->setAttr(NNDialect::getRuntimeWorkspaceBytesAttrName(),
                  b.getI64IntegerAttr(leftWorkspaceBytes));
    return success();
  }
};
} // namespace
