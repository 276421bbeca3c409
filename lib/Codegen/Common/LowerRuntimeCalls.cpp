//===- LowerRuntimeCalls.cpp - nn.runtime_call as C calls -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/Passes.h"

#include "nnc/Codegen/Common/BufferAddress.h"
#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERRUNTIMECALLS
#include "nnc/Codegen/Common/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// The run-time library `target`'s host code links.
static RuntimeLibrary libraryOf(Target target) {
  return target == Target::NVPTX ? RuntimeLibrary::CUDA : RuntimeLibrary::CPU;
}

/// The call's arguments in the callee's order, or a located error.
static FailureOr<SmallVector<Value>>
buildArguments(OpBuilder &b, RuntimeCallOp call,
               const RuntimeFunctionInfo &info) {
  Location loc = call.getLoc();
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  RuntimeCallMismatch why;
  FailureOr<SmallVector<RuntimeCallArgument>> matched =
      matchRuntimeCallArguments(info, call.getPointers(),
                                call.getScalars().getValue(), &why);
  if (failed(matched)) {
    switch (why) {
    case RuntimeCallMismatch::TooFewPointers:
      return call.emitOpError()
             << "has too few pointers for '" << info.name << "'";
    case RuntimeCallMismatch::TooFewScalars:
      return call.emitOpError()
             << "has too few scalars for '" << info.name << "'";
    case RuntimeCallMismatch::TooMany:
      return call.emitOpError()
             << "has more pointers or scalars than '" << info.name << "' takes";
    }
  }
  SmallVector<Value> args;
  int64_t scalarIndex = 0;
  for (const RuntimeCallArgument &a : *matched) {
    if (a.type == ABIType::Ptr) {
      args.push_back(
          a.operand < 0
              ? b.create<LLVM::ZeroOp>(loc, ptr).getResult()
              : b.create<LLVM::IntToPtrOp>(
                     loc, ptr,
                     createBufferAddress(b, loc, call->getOperand(a.operand)))
                    .getResult());
      continue;
    }
    auto attr = cast<TypedAttr>(a.scalar);
    Type expected = a.type == ABIType::F32   ? Type(b.getF32Type())
                    : a.type == ABIType::I32 ? Type(b.getI32Type())
                                             : Type(b.getI64Type());
    if (attr.getType() != expected)
      return call.emitOpError()
             << "scalar #" << scalarIndex << " of '" << info.name
             << "' must be " << expected << ", got " << attr;
    ++scalarIndex;
    args.push_back(b.create<arith::ConstantOp>(loc, attr));
  }
  return args;
}

namespace {
struct LowerRuntimeCallsPass
    : public mlir::nnc::impl::LowerRuntimeCallsBase<LowerRuntimeCallsPass> {
  using LowerRuntimeCallsBase::LowerRuntimeCallsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<RuntimeCallOp> calls;
    module.walk([&](RuntimeCallOp call) { calls.push_back(call); });
    OpBuilder b(&getContext());
    for (RuntimeCallOp call : calls) {
      if (call.getNumResults() != 0) {
        call.emitOpError("must be bufferized before it is lowered");
        return signalPassFailure();
      }
      const RuntimeFunctionInfo *info = lookupRuntimeFunction(call.getCallee());
      if (!info) {
        call.emitOpError() << "calls '" << call.getCallee()
                           << "', which is not a run-time function";
        return signalPassFailure();
      }
      // The CPU's host code also calls the data-parallel library, the
      // GPU's its NCCL counterpart (nnc-gpu-lower-all-reduce).
      bool hostLibrary = (info->library == RuntimeLibrary::MPI &&
                          libraryOf(target) == RuntimeLibrary::CPU) ||
                         (info->library == RuntimeLibrary::NCCL &&
                          libraryOf(target) == RuntimeLibrary::CUDA);
      if (info->library != libraryOf(target) && !hostLibrary) {
        call.emitOpError() << "calls '" << info->name << "', a primitive of "
                           << "the "
                           << (info->library == RuntimeLibrary::CPU    ? "CPU"
                               : info->library == RuntimeLibrary::CUDA ? "CUDA"
                               : info->library == RuntimeLibrary::NCCL ? "NCCL"
                                                                       : "MPI")
                           << " run-time library: the "
                           << ::nnc::targets.name(target)
                           << " target has no lowering for it yet";
        return signalPassFailure();
      }
      b.setInsertionPoint(call);
      if (std::optional<int64_t> workspace = call.getWorkspace())
        if (failed(handWorkspace(b, module, call, *workspace)))
          return signalPassFailure();
      FailureOr<SmallVector<Value>> args = buildArguments(b, call, *info);
      FailureOr<func::FuncOp> callee = declareRuntimeFunction(module, info->id);
      if (failed(args) || failed(callee))
        return signalPassFailure();
      b.create<func::CallOp>(call.getLoc(), *callee, *args);
      call.erase();
    }
    if (failed(lowerProfileMarks(module)))
      return signalPassFailure();
  }

  /// nncrt_use_workspace(buffer, its bytes) before `call`: the CPU
  /// runtime's, so another target refuses a call with a workspace.
  LogicalResult handWorkspace(OpBuilder &b, ModuleOp module, RuntimeCallOp call,
                              int64_t workspace) {
    if (libraryOf(target) != RuntimeLibrary::CPU)
      return call.emitOpError()
             << "hands the CPU runtime a workspace: the "
             << ::nnc::targets.name(target) << " target has none";
    FailureOr<func::FuncOp> callee =
        declareRuntimeFunction(module, RuntimeFunction::UseWorkspace);
    if (failed(callee))
      return failure();
    Location loc = call.getLoc();
    Value buffer = call->getOperand(workspace);
    Value address = b.create<LLVM::IntToPtrOp>(
        loc, LLVM::LLVMPointerType::get(b.getContext()),
        createBufferAddress(b, loc, buffer));
    Value bytes = b.create<arith::ConstantOp>(
        loc, b.getI64IntegerAttr(
                 cast<MemRefType>(buffer.getType()).getNumElements()));
    b.create<func::CallOp>(loc, *callee, ValueRange{address, bytes});
    return success();
  }

  /// Each nn.profile_mark becomes the CPU runtime's call; the profile is
  /// the CPU runtime's, so another target refuses it.
  LogicalResult lowerProfileMarks(ModuleOp module) {
    SmallVector<ProfileMarkOp> marks;
    module.walk([&](ProfileMarkOp mark) { marks.push_back(mark); });
    if (marks.empty())
      return success();
    if (libraryOf(target) != RuntimeLibrary::CPU)
      return marks.front().emitOpError()
             << "profiles the step on the CPU runtime: the "
             << ::nnc::targets.name(target) << " target has no profile";
    FailureOr<func::FuncOp> callee =
        declareRuntimeFunction(module, RuntimeFunction::ProfileMark);
    if (failed(callee))
      return failure();
    for (ProfileMarkOp mark : marks) {
      OpBuilder b(mark);
      Value id = b.create<arith::ConstantOp>(mark.getLoc(), mark.getIdAttr());
      b.create<func::CallOp>(mark.getLoc(), *callee, id);
      mark.erase();
    }
    return success();
  }
};
} // namespace
