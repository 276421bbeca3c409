//===- LowerParallelCalls.cpp - kernel calls through nncrt_parallel_for ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/RuntimeABI.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERPARALLELCALLS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

static constexpr StringLiteral kGrain = "nnc.parallel_grain";

/// Whether a value of `type` fits one 8-byte slot of the argument array.
static bool fitsSlot(Type type) {
  if (isa<LLVM::LLVMPointerType>(type))
    return true;
  if (auto i = dyn_cast<IntegerType>(type))
    return i.getWidth() <= 64;
  return isa<Float16Type, BFloat16Type, Float32Type, Float64Type>(type);
}

namespace {
struct LowerParallelCallsPass
    : public mlir::nnc::impl::LowerParallelCallsBase<LowerParallelCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = b.getI64Type();
    auto voidType = LLVM::LLVMVoidType::get(ctx);

    SmallVector<LLVM::LLVMFuncOp> kernels;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn->hasAttr(kGrain))
        kernels.push_back(fn);
    if (kernels.empty())
      return;

    FailureOr<LLVM::LLVMFuncOp> parallelFor =
        mlir::nnc::declareRuntimeLLVMFunction(
            module, mlir::nnc::RuntimeFunction::ParallelFor);
    if (failed(parallelFor))
      return signalPassFailure();
    SymbolTable symbols(module);
    // One argument array per calling function, as large as the widest
    // kernel's: calls run one after the other (nncrt_parallel_for returns
    // when every piece is done), so they can share it, and a step of
    // thousands of calls keeps a small frame.
    size_t widest = 1;
    for (LLVM::LLVMFuncOp kernel : kernels)
      widest = std::max<size_t>(
          widest,
          kernel.getFunctionType().getNumParams() -
              std::min<size_t>(kernel.getFunctionType().getNumParams(), 2));
    auto callerSlots = LLVM::LLVMArrayType::get(i64, widest);
    llvm::DenseMap<Operation *, Value> arrayOf;

    for (LLVM::LLVMFuncOp kernel : kernels) {
      auto grain = dyn_cast<IntegerAttr>(kernel->getAttr(kGrain));
      ArrayRef<Type> params = kernel.getFunctionType().getParams();
      if (!grain || kernel.isVarArg() || params.size() < 2 ||
          params.end()[-1] != i64 || params.end()[-2] != i64 ||
          !llvm::all_of(params, fitsSlot)) {
        kernel.emitError("nnc-lower-parallel-calls: a kernel marked ")
            << kGrain << " must end in two i64 bounds and take only "
            << "pointers and scalars of at most 8 bytes";
        return signalPassFailure();
      }
      kernel->removeAttr(kGrain);
      ArrayRef<Type> fields = params.drop_back(2);
      auto slots =
          LLVM::LLVMArrayType::get(i64, std::max<size_t>(fields.size(), 1));
      Location loc = kernel.getLoc();

      // <kernel>.task(ctx, lo, hi): the arguments out of their slots.
      b.setInsertionPointAfter(kernel);
      auto task = b.create<LLVM::LLVMFuncOp>(
          loc, (kernel.getName() + ".task").str(),
          LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64}),
          LLVM::Linkage::Internal);
      symbols.insert(task); // renamed if the name is taken
      Block *entry = task.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      SmallVector<Value> args;
      for (auto [k, type] : llvm::enumerate(fields)) {
        Value slot = b.create<LLVM::GEPOp>(
            loc, ptr, slots, entry->getArgument(0),
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(k)});
        args.push_back(b.create<LLVM::LoadOp>(loc, type, slot));
      }
      args.push_back(entry->getArgument(1));
      args.push_back(entry->getArgument(2));
      b.create<LLVM::CallOp>(loc, kernel, args);
      b.create<LLVM::ReturnOp>(loc, ValueRange{});

      // Each call: store the arguments, hand the range to the runtime.
      SmallVector<LLVM::CallOp> calls;
      module.walk([&](LLVM::CallOp call) {
        if (call.getCallee() == kernel.getName() && call->getParentOp() != task)
          calls.push_back(call);
      });
      for (LLVM::CallOp call : calls) {
        // The argument array lives in the entry block of the function (or
        // other isolated region) that holds the call.
        Operation *scope =
            call->getParentWithTrait<OpTrait::IsIsolatedFromAbove>();
        auto caller = dyn_cast_or_null<LLVM::LLVMFuncOp>(scope);
        if (!caller) {
          call.emitError("nnc-lower-parallel-calls: a call of a parallel "
                         "kernel must be in an llvm.func");
          return signalPassFailure();
        }
        Location at = call.getLoc();
        // In the entry block: a call inside a loop must not grow the stack.
        Value &array = arrayOf[caller];
        if (!array) {
          b.setInsertionPointToStart(&caller.getBody().front());
          Value one =
              b.create<LLVM::ConstantOp>(at, i64, b.getI64IntegerAttr(1));
          array = b.create<LLVM::AllocaOp>(at, ptr, callerSlots, one,
                                           /*alignment=*/8);
        }
        b.setInsertionPoint(call);
        ValueRange operands = call.getArgOperands();
        for (unsigned k = 0; k < fields.size(); ++k) {
          Value slot = b.create<LLVM::GEPOp>(
              at, ptr, callerSlots, array,
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(k)});
          b.create<LLVM::StoreOp>(at, operands[k], slot);
        }
        Value taskAddress = b.create<LLVM::AddressOfOp>(at, task);
        Value grainValue = b.create<LLVM::ConstantOp>(at, i64, grain);
        b.create<LLVM::CallOp>(
            at, *parallelFor,
            ValueRange{taskAddress, array, operands[fields.size()],
                       operands[fields.size() + 1], grainValue});
        call.erase();
      }
    }
  }
};
} // namespace
