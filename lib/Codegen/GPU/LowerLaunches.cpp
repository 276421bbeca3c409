//===- LowerLaunches.cpp - kernel launches as CUDA runtime calls ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/Passes.h"

#include "nnc/Codegen/Common/BufferAddress.h"
#include "nnc/Codegen/Common/RuntimeABI.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_GPULOWERLAUNCHES
#include "nnc/Codegen/GPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {

/// A constant, NUL-terminated string global of the host module.
Value stringConstant(OpBuilder &b, ModuleOp module, Location loc,
                     StringRef name, StringRef text,
                     llvm::StringMap<LLVM::GlobalOp> &cache) {
  LLVM::GlobalOp &global = cache[name];
  if (!global) {
    OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
    std::string data = text.str();
    data.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(top.getI8Type(), data.size());
    global = top.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true,
                                        LLVM::Linkage::Internal, name,
                                        top.getStringAttr(data));
  }
  return b.create<LLVM::AddressOfOp>(loc, global);
}

/// A stack array of `values` (i64 each) and its address.
Value stackArray(OpBuilder &b, Location loc, Type elt, ValueRange values) {
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value n = b.create<LLVM::ConstantOp>(loc, b.getI64Type(),
                                       std::max<int64_t>(values.size(), 1));
  Value array = b.create<LLVM::AllocaOp>(loc, ptr, elt, n, 8);
  for (auto [i, v] : llvm::enumerate(values)) {
    Value slot = b.create<LLVM::GEPOp>(loc, ptr, elt, array,
                                       ArrayRef<LLVM::GEPArg>{int32_t(i)});
    b.create<LLVM::StoreOp>(loc, v, slot);
  }
  return array;
}

struct GPULowerLaunchesPass
    : public mlir::nnc::impl::GPULowerLaunchesBase<GPULowerLaunchesPass> {
  using GPULowerLaunchesBase::GPULowerLaunchesBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp op) { launches.push_back(op); });
    auto binaries = llvm::to_vector(module.getOps<gpu::BinaryOp>());
    if (launches.empty() && binaries.empty())
      return;
    if (binaries.size() != 1) {
      module.emitError("nnc-gpu-lower-launches expects one gpu.binary (run "
                       "gpu-module-to-binary{format=isa} first), found ")
          << binaries.size();
      return signalPassFailure();
    }
    gpu::BinaryOp binary = binaries.front();
    std::optional<StringRef> ptx;
    for (Attribute a : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(a);
      auto target =
          object ? dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()) : nullptr;
      if (target && target.getChip() == chip &&
          object.getFormat() == gpu::CompilationTarget::Assembly)
        ptx = object.getObject().getValue();
    }
    if (!ptx) {
      binary.emitError() << "no PTX for chip '" << chip
                         << "' in the gpu.binary (attach that target with "
                            "nvvm-attach-target and use format=isa)";
      return signalPassFailure();
    }

    // The driver links nothing: a function the PTX only declares (a
    // libdevice function when the toolkit's libdevice was not found) would
    // fail at load time on the GPU machine, so it fails here.
    for (StringRef line : llvm::split(*ptx, '\n')) {
      if (!line.trim().starts_with(".extern .func"))
        continue;
      // `.extern .func foo` or `.extern .func (.param .b32 r) __nv_expf`.
      StringRef name = line.trim();
      name = name.substr(name.find_last_of(" \t)") + 1);
      binary.emitError() << "the kernels call '" << name
                         << "', which nothing defines"
                         << (name.starts_with("__nv_")
                                 ? " (a libdevice function: give the CUDA "
                                   "toolkit holding "
                                   "nvvm/libdevice/libdevice.10.bc with "
                                   "cuda-path / --cuda-path)"
                                 : "");
      return signalPassFailure();
    }

    Type i32 = IntegerType::get(ctx, 32), i64 = IntegerType::get(ctx, 64);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    FailureOr<func::FuncOp> launchFn =
        declareRuntimeFunction(module, RuntimeFunction::CudaLaunch);
    FailureOr<func::FuncOp> beginFn =
        declareRuntimeFunction(module, RuntimeFunction::CudaStepBegin);
    FailureOr<func::FuncOp> endFn =
        declareRuntimeFunction(module, RuntimeFunction::CudaStepEnd);
    if (failed(launchFn) || failed(beginFn) || failed(endFn))
      return signalPassFailure();

    llvm::StringMap<LLVM::GlobalOp> strings;
    llvm::StringMap<int32_t> kernelIndex;
    for (gpu::LaunchFuncOp op : launches) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      StringRef kernel = op.getKernelName().getValue();
      auto [it, inserted] =
          kernelIndex.try_emplace(kernel, int32_t(kernelIndex.size()));
      auto c32 = [&](int64_t v) -> Value {
        return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
      };
      auto dim = [&](Value v) -> Value {
        return b.create<arith::IndexCastOp>(loc, i32, v);
      };
      SmallVector<Value> addresses;
      for (Value operand : op.getKernelOperands())
        addresses.push_back(createBufferAddress(b, loc, operand));
      // cuLaunchKernel takes an array of pointers to the arguments.
      Value values = stackArray(b, loc, i64, addresses);
      SmallVector<Value> slots;
      for (unsigned i = 0; i < addresses.size(); ++i)
        slots.push_back(b.create<LLVM::GEPOp>(
            loc, ptr, i64, values, ArrayRef<LLVM::GEPArg>{int32_t(i)}));
      Value params = stackArray(b, loc, ptr, slots);
      gpu::KernelDim3 g = op.getGridSizeOperandValues(),
                      t = op.getBlockSizeOperandValues();
      b.create<func::CallOp>(
          loc, *launchFn,
          ValueRange{stringConstant(b, module, loc, kPTXGlobalName, *ptx, strings),
                     c32(it->second),
                     stringConstant(b, module, loc,
                                    ("__nnc_kernel_" + kernel).str(), kernel,
                                    strings),
                     dim(g.x), dim(g.y), dim(g.z), dim(t.x), dim(t.y), dim(t.z),
                     params});
      op.erase();
    }

    // Each function that launches is a step the runtime may capture as a
    // CUDA graph: step_begin says whether it replayed a graph for these
    // buffers, and then the launches are skipped.
    int32_t fnIndex = 0;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      bool launches = false;
      fn.walk([&](func::CallOp call) {
        launches |= call.getCallee() == launchFn->getSymName();
      });
      // Only a step whose results are all written to buffers (what
      // buffer-results-to-out-params leaves) can skip its body.
      if (!launches || fn.getBody().front().getTerminator()->getNumOperands())
        continue;
      Block &body = fn.getBody().front();
      Location loc = fn.getLoc();
      OpBuilder b = OpBuilder::atBlockBegin(&body);
      SmallVector<Value> addresses;
      for (BlockArgument arg : fn.getArguments())
        if (isa<MemRefType>(arg.getType()))
          addresses.push_back(createBufferAddress(b, loc, arg));
      Value ptxRef = stringConstant(b, module, loc, kPTXGlobalName, *ptx, strings);
      Value id = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(fnIndex));
      Value args = stackArray(b, loc, i64, addresses);
      Value n = b.create<arith::ConstantOp>(
          loc, b.getI32IntegerAttr(addresses.size()));
      Value replayed =
          b.create<func::CallOp>(loc, *beginFn, ValueRange{ptxRef, id, args, n})
              .getResult(0);
      Value zero = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(0));
      Value run = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                          replayed, zero);
      auto ifOp = b.create<scf::IfOp>(loc, run, /*withElse=*/false);
      // Everything after the step_begin call, up to the return, moves into
      // the branch.
      Operation *terminator = body.getTerminator();
      Block &then = ifOp.getThenRegion().front();
      then.getOperations().splice(then.begin(), body.getOperations(),
                                  std::next(ifOp->getIterator()),
                                  terminator->getIterator());
      OpBuilder e(then.getTerminator());
      e.create<func::CallOp>(loc, *endFn, ValueRange{ptxRef, id});
      ++fnIndex;
    }
    binary.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};
} // namespace
