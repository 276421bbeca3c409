//===- RuntimeABI.h - the functions compiled code calls ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One table of the run-time functions nnc's generated code calls: each
/// function's C name, its signature in the bare-pointer C ABI, and the
/// run-time library that defines it. The codegen passes declare functions
/// from it (declareRuntimeFunction), the JIT resolves the CPU library's
/// entries, and the driver decides which libraries a compiled module links
/// from the functions it declares (getRuntimeLibraries). Adding a run-time
/// primitive is a row here, its C definition in lib/Runtime/<Library>/ and
/// the pass that emits the call.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_RUNTIMEABI_H
#define NNC_CODEGEN_COMMON_RUNTIMEABI_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mlir::nnc {

/// The run-time libraries compiled code may link.
/// (NCCL: the GPU target's all-reduce, which links the CUDA runtime and
/// sets its communicator up over MPI.)
enum class RuntimeLibrary { CPU, CUDA, MPI, NCCL };

/// Every function of the run-time ABI (rows of the table, in order).
enum class RuntimeFunction {
  Sgemm,
  SgemmEpilogue,
  GemmBF16,
  ParallelFor,
  SetNumThreads,
  ProfileMark,
  UseWorkspace,
  Conv2dForward,
  Conv2dBackwardData,
  Conv2dBackwardWeights,
  Pool2dForward,
  Pool2dBackward,
  Conv2dForwardBF16,
  Conv2dBackwardDataBF16,
  Conv2dBackwardWeightsBF16,
  Pool2dForwardBF16,
  Pool2dBackwardBF16,
  Conv2dForwardLayout,
  Conv2dBackwardDataLayout,
  Conv2dBackwardWeightsLayout,
  Pool2dForwardLayout,
  Pool2dBackwardLayout,
  MaxPool2dForwardIndices,
  MaxPool2dBackwardIndices,
  MaxPool2dForwardIndicesBF16,
  MaxPool2dBackwardIndicesBF16,
  MaxPool2dForwardIndicesLayout,
  MaxPool2dBackwardIndicesLayout,
  AttentionForward,
  AttentionBackward,
  EmbeddingForward,
  EmbeddingBackward,
  CudaLaunch,
  CudaStepBegin,
  CudaStepEnd,
  AllReduceStart,
  AllReduceWait,
  NCCLAllReduceStart,
  NCCLAllReduceWait,
};

/// The C types the ABI uses; pointers are opaque.
enum class ABIType { Void, I32, I64, F32, Ptr };

struct RuntimeFunctionInfo {
  RuntimeFunction id;
  llvm::StringLiteral name;
  RuntimeLibrary library;
  ABIType result;
  llvm::ArrayRef<ABIType> args;
};

/// The row of `fn`.
const RuntimeFunctionInfo &getRuntimeFunctionInfo(RuntimeFunction fn);
/// Every row.
llvm::ArrayRef<RuntimeFunctionInfo> getRuntimeFunctions();
/// The row named `symbol`, if it is a run-time function.
const RuntimeFunctionInfo *lookupRuntimeFunction(llvm::StringRef symbol);

/// One argument of a run-time call, in the callee's order: a pointer
/// (`operand`, the call's operand number, or -1 for a null pointer) or a
/// scalar (`scalar`, the attribute the call carries).
struct RuntimeCallArgument {
  ABIType type;
  int64_t operand = -1;
  Attribute scalar;
};

/// How a call's pointers and scalars fail to fill a row's arguments.
enum class RuntimeCallMismatch { TooFewPointers, TooFewScalars, TooMany };

/// The arguments of a call of `info` with `pointers` (operand numbers, -1
/// for null) and `scalars`, in `info.args`' order; failure, with `why`
/// set where given, when they do not fill them exactly (counts are
/// checked before any scalar's type). The scalars' types are the caller's
/// to check: the lowering requires the ABI's, a query may accept what it
/// can pass.
FailureOr<llvm::SmallVector<RuntimeCallArgument>> matchRuntimeCallArguments(
    const RuntimeFunctionInfo &info, llvm::ArrayRef<int64_t> pointers,
    llvm::ArrayRef<Attribute> scalars, RuntimeCallMismatch *why = nullptr);

/// `fn`'s signature as a func.func type and as an LLVM function type.
FunctionType getRuntimeFunctionType(MLIRContext *ctx, RuntimeFunction fn);
LLVM::LLVMFunctionType getRuntimeLLVMFunctionType(MLIRContext *ctx,
                                                  RuntimeFunction fn);

/// The private func.func declaring `fn` at the start of `module`, created
/// on first use. Fails with a located error when the name is taken by
/// anything else (another op, or a function of another type).
FailureOr<func::FuncOp> declareRuntimeFunction(ModuleOp module,
                                               RuntimeFunction fn);
/// The same as an llvm.func, for passes that run after the LLVM lowering.
FailureOr<LLVM::LLVMFuncOp> declareRuntimeLLVMFunction(ModuleOp module,
                                                       RuntimeFunction fn);

/// The global holding the kernels' PTX (NUL-terminated) in the host module
/// of the GPU target: what the CUDA runtime's calls receive as their
/// module, and where the driver reads the PTX it writes out.
inline constexpr llvm::StringLiteral kPTXGlobalName = "__nnc_ptx";

/// The run-time libraries a module in the LLVM dialect calls: those of the
/// run-time functions it declares (external llvm.func of a table name).
llvm::SmallVector<RuntimeLibrary> getRuntimeLibraries(ModuleOp module);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_RUNTIMEABI_H
