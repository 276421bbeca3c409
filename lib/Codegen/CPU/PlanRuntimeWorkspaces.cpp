//===- PlanRuntimeWorkspaces.cpp - oneDNN workspaces in the arena ---------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_PLANRUNTIMEWORKSPACES
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
/// A call's arguments as nncrt_workspace_bytes takes them: the scalars in
/// order (an f32 as its bits), a bit per null pointer.
struct WorkspaceQueryArgs {
  SmallVector<int64_t> scalars;
  uint64_t nullPointers = 0;
};
} // namespace

/// `call`'s arguments for the query, or nothing when they do not match the
/// callee's ABI row (nnc-lower-runtime-calls reports that), have more
/// pointers than the mask holds, or a size no operand could have: every
/// size, stride and padding of a call nnc makes is at most its largest
/// operand's element count, and the runtime is not asked about others.
static std::optional<WorkspaceQueryArgs>
getWorkspaceQueryArgs(RuntimeCallOp call, const RuntimeFunctionInfo &info) {
  int64_t bound = 1;
  for (Type t : call->getOperandTypes())
    if (auto shaped = dyn_cast<ShapedType>(t);
        shaped && shaped.hasStaticShape())
      bound = std::max(bound, shaped.getNumElements());
  FailureOr<SmallVector<RuntimeCallArgument>> args = matchRuntimeCallArguments(
      info, call.getPointers(), call.getScalars().getValue());
  if (failed(args))
    return std::nullopt;
  WorkspaceQueryArgs q;
  int64_t pointer = 0;
  for (const RuntimeCallArgument &a : *args) {
    if (a.type == ABIType::Ptr) {
      if (pointer == 64)
        return std::nullopt;
      if (a.operand < 0)
        q.nullPointers |= uint64_t(1) << pointer;
      ++pointer;
      continue;
    }
    if (auto i = dyn_cast<IntegerAttr>(a.scalar);
        i && i.getType().isInteger(a.type == ABIType::I32 ? 32 : 64) &&
        a.type != ABIType::F32) {
      int64_t v = i.getValue().getSExtValue();
      if (v < -bound || v > bound)
        return std::nullopt;
      q.scalars.push_back(v);
    } else if (auto f = dyn_cast<FloatAttr>(a.scalar);
               f && a.type == ABIType::F32 && f.getType().isF32()) {
      q.scalars.push_back(f.getValue().bitcastToAPInt().getZExtValue());
    } else {
      return std::nullopt;
    }
  }
  return q;
}

namespace {
struct PlanRuntimeWorkspacesPass
    : public mlir::nnc::impl::PlanRuntimeWorkspacesBase<
          PlanRuntimeWorkspacesPass> {
  void runOnOperation() override {
    SmallVector<RuntimeCallOp> calls;
    getOperation().walk([&](RuntimeCallOp call) {
      // On tensors, once: a call on buffers is past bufferization.
      if (!call.getWorkspace() &&
          call.getNumResults() == call.getOutputs().size() &&
          call.getNumResults() > 0)
        calls.push_back(call);
    });
    for (RuntimeCallOp call : calls) {
      const RuntimeFunctionInfo *info = lookupRuntimeFunction(call.getCallee());
      if (!info || info->library != RuntimeLibrary::CPU)
        continue;
      std::optional<WorkspaceQueryArgs> args =
          getWorkspaceQueryArgs(call, *info);
      if (!args)
        continue;
      std::string callee = info->name.str();
      int64_t bytes =
          nncrt_workspace_bytes(callee.c_str(), args->scalars.data(),
                                args->scalars.size(), args->nullPointers);
      if (bytes == -1) {
        call.emitWarning() << "the CPU runtime cannot create '" << callee
                           << "' with these arguments here: it keeps no "
                              "workspace in the arena";
        continue;
      }
      if (bytes <= 0) // none needed, or not a call that takes one
        continue;
      addWorkspace(call, bytes);
      ++numWorkspaces;
      workspaceBytes += bytes;
    }
  }

  /// Rebuilds `call` with a `bytes`-byte i8 output as its workspace.
  static void addWorkspace(RuntimeCallOp call, int64_t bytes) {
    OpBuilder b(call);
    Location loc = call.getLoc();
    Value workspace = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{bytes},
                                                b.getIntegerType(8));
    SmallVector<Value> outputs(call.getOutputs());
    outputs.push_back(workspace);
    SmallVector<Type> results(call.getResultTypes());
    results.push_back(workspace.getType());
    auto planned = b.create<RuntimeCallOp>(
        loc, results, call.getCalleeAttr(), call.getInputs(), outputs,
        call.getPointersAttr(), call.getScalarsAttr(),
        b.getI64IntegerAttr(call.getNumOperands()));
    // Attributes other passes left on the call (a profile label) stay.
    for (NamedAttribute a : call->getDiscardableAttrs())
      planned->setAttr(a.getName(), a.getValue());
    call.replaceAllUsesWith(
        planned.getResults().take_front(call.getNumResults()));
    call.erase();
  }
};
} // namespace
