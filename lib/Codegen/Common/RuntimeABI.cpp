//===- RuntimeABI.cpp - the functions compiled code calls -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/RuntimeABI.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::nnc;

namespace {
using T = ABIType;
// The signatures of include/nnc/Runtime/CPU/CPURuntime.h and
// include/nnc/Runtime/CUDA/CUDARuntime.h, argument by argument.
constexpr ABIType kSgemmArgs[] = {T::I32, T::I32, T::I64, T::I64, T::I64,
                                  T::F32, T::Ptr, T::I64, T::Ptr, T::I64,
                                  T::F32, T::Ptr, T::I64};
constexpr ABIType kSgemmEpilogueArgs[] = {
    T::I32, T::I32, T::I64, T::I64, T::I64, T::Ptr, T::I64, T::Ptr,
    T::I64, T::F32, T::Ptr, T::I64, T::Ptr, T::I32, T::F32};
constexpr ABIType kGemmBF16Args[] = {
    T::I32, T::I32, T::I64, T::I64, T::I64, T::F32, T::Ptr, T::I64, T::Ptr,
    T::I64, T::F32, T::Ptr, T::I64, T::I32, T::Ptr, T::I32, T::F32};
constexpr ABIType kParallelForArgs[] = {T::Ptr, T::Ptr, T::I64, T::I64, T::I64};
constexpr ABIType kSetNumThreadsArgs[] = {T::I32};
constexpr ABIType kProfileMarkArgs[] = {T::I64};
constexpr ABIType kUseWorkspaceArgs[] = {T::Ptr, T::I64};
// Convolutions and pooling: their pointers, then the geometry (18 and 14
// values: see CPURuntime.h), then the flags.
#define NNC_CONV_GEOMETRY                                                      \
  T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64,      \
      T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64
#define NNC_POOL_GEOMETRY                                                      \
  T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::I64,      \
      T::I64, T::I64, T::I64, T::I64, T::I64
constexpr ABIType kConv2dForwardArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, T::Ptr, NNC_CONV_GEOMETRY, T::I32, T::F32};
constexpr ABIType kConv2dBackwardArgs[] = {T::Ptr, T::Ptr, T::Ptr,
                                           NNC_CONV_GEOMETRY};
// The bf16 convolutions add their result's type (NNCRT_TYPE_*).
constexpr ABIType kConv2dForwardBF16Args[] = {
    T::Ptr, T::Ptr, T::Ptr, T::Ptr, NNC_CONV_GEOMETRY, T::I32, T::F32, T::I32};
constexpr ABIType kConv2dBackwardBF16Args[] = {T::Ptr, T::Ptr, T::Ptr,
                                               NNC_CONV_GEOMETRY, T::I32};
constexpr ABIType kPool2dForwardArgs[] = {T::Ptr, T::Ptr, T::I32,
                                          NNC_POOL_GEOMETRY};
constexpr ABIType kPool2dBackwardArgs[] = {T::Ptr, T::Ptr, T::Ptr, T::I32,
                                           NNC_POOL_GEOMETRY};
// The layout-aware calls: operand and result types (NNCRT_TYPE_*), then
// which pointers are nChw16c (NNCRT_LAYOUT_*, a bit per pointer).
constexpr ABIType kConv2dForwardLayoutArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, T::Ptr, NNC_CONV_GEOMETRY,
    T::I32, T::F32, T::I32, T::I32, T::I32};
constexpr ABIType kConv2dBackwardLayoutArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, NNC_CONV_GEOMETRY, T::I32, T::I32, T::I32};
constexpr ABIType kPool2dForwardLayoutArgs[] = {
    T::Ptr, T::Ptr, T::I32, NNC_POOL_GEOMETRY, T::I32, T::I32};
constexpr ABIType kPool2dBackwardLayoutArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, T::I32, NNC_POOL_GEOMETRY, T::I32, T::I32};
// Max pooling's index form: x, y, positions or positions, dy, dx, then the
// geometry (no kind: max only); the _layout calls add the type and layouts.
constexpr ABIType kMaxPool2dIndicesArgs[] = {T::Ptr, T::Ptr, T::Ptr,
                                             NNC_POOL_GEOMETRY};
constexpr ABIType kMaxPool2dIndicesLayoutArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, NNC_POOL_GEOMETRY, T::I32, T::I32};
// Attention: q, k, v, mask, then the results; B, H, Tq, Tk, Dk, Dv, the
// scale and the causal flag.
#define NNC_ATTENTION_GEOMETRY                                                 \
  T::I64, T::I64, T::I64, T::I64, T::I64, T::I64, T::F32, T::I32
constexpr ABIType kAttentionForwardArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr, NNC_ATTENTION_GEOMETRY};
constexpr ABIType kAttentionBackwardArgs[] = {
    T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr, T::Ptr,
    NNC_ATTENTION_GEOMETRY};
#undef NNC_ATTENTION_GEOMETRY
constexpr ABIType kEmbeddingArgs[] = {T::Ptr, T::Ptr, T::Ptr, T::I32,
                                      T::I64, T::I64, T::I64};
#undef NNC_CONV_GEOMETRY
#undef NNC_POOL_GEOMETRY
constexpr ABIType kCudaLaunchArgs[] = {T::Ptr, T::I32, T::Ptr, T::I32, T::I32,
                                       T::I32, T::I32, T::I32, T::I32, T::Ptr};
constexpr ABIType kCudaStepBeginArgs[] = {T::Ptr, T::I32, T::Ptr, T::I32};
constexpr ABIType kCudaStepEndArgs[] = {T::Ptr, T::I32};
// include/nnc/Runtime/MPI/MPIRuntime.h and NCCL/NCCLRuntime.h: the bucket,
// its length, its number.
constexpr ABIType kAllReduceArgs[] = {T::Ptr, T::I64, T::I64};

using F = RuntimeFunction;
using L = RuntimeLibrary;
const RuntimeFunctionInfo kTable[] = {
    {F::Sgemm, "nncrt_sgemm", L::CPU, T::Void, kSgemmArgs},
    {F::SgemmEpilogue, "nncrt_sgemm_epilogue", L::CPU, T::Void,
     kSgemmEpilogueArgs},
    {F::GemmBF16, "nncrt_gemm_bf16", L::CPU, T::Void, kGemmBF16Args},
    {F::ParallelFor, "nncrt_parallel_for", L::CPU, T::Void, kParallelForArgs},
    {F::SetNumThreads, "nncrt_set_num_threads", L::CPU, T::I32,
     kSetNumThreadsArgs},
    {F::ProfileMark, "nncrt_profile_mark", L::CPU, T::Void, kProfileMarkArgs},
    {F::UseWorkspace, "nncrt_use_workspace", L::CPU, T::Void,
     kUseWorkspaceArgs},
    {F::Conv2dForward, "nncrt_conv2d_forward", L::CPU, T::Void,
     kConv2dForwardArgs},
    {F::Conv2dBackwardData, "nncrt_conv2d_backward_data", L::CPU, T::Void,
     kConv2dBackwardArgs},
    {F::Conv2dBackwardWeights, "nncrt_conv2d_backward_weights", L::CPU, T::Void,
     kConv2dBackwardArgs},
    {F::Pool2dForward, "nncrt_pool2d_forward", L::CPU, T::Void,
     kPool2dForwardArgs},
    {F::Pool2dBackward, "nncrt_pool2d_backward", L::CPU, T::Void,
     kPool2dBackwardArgs},
    {F::Conv2dForwardBF16, "nncrt_conv2d_forward_bf16", L::CPU, T::Void,
     kConv2dForwardBF16Args},
    {F::Conv2dBackwardDataBF16, "nncrt_conv2d_backward_data_bf16", L::CPU,
     T::Void, kConv2dBackwardBF16Args},
    {F::Conv2dBackwardWeightsBF16, "nncrt_conv2d_backward_weights_bf16", L::CPU,
     T::Void, kConv2dBackwardBF16Args},
    {F::Pool2dForwardBF16, "nncrt_pool2d_forward_bf16", L::CPU, T::Void,
     kPool2dForwardArgs},
    {F::Pool2dBackwardBF16, "nncrt_pool2d_backward_bf16", L::CPU, T::Void,
     kPool2dBackwardArgs},
    {F::Conv2dForwardLayout, "nncrt_conv2d_forward_layout", L::CPU, T::Void,
     kConv2dForwardLayoutArgs},
    {F::Conv2dBackwardDataLayout, "nncrt_conv2d_backward_data_layout", L::CPU,
     T::Void, kConv2dBackwardLayoutArgs},
    {F::Conv2dBackwardWeightsLayout, "nncrt_conv2d_backward_weights_layout",
     L::CPU, T::Void, kConv2dBackwardLayoutArgs},
    {F::Pool2dForwardLayout, "nncrt_pool2d_forward_layout", L::CPU, T::Void,
     kPool2dForwardLayoutArgs},
    {F::Pool2dBackwardLayout, "nncrt_pool2d_backward_layout", L::CPU, T::Void,
     kPool2dBackwardLayoutArgs},
    {F::MaxPool2dForwardIndices, "nncrt_maxpool2d_forward_indices", L::CPU,
     T::Void, kMaxPool2dIndicesArgs},
    {F::MaxPool2dBackwardIndices, "nncrt_maxpool2d_backward_indices", L::CPU,
     T::Void, kMaxPool2dIndicesArgs},
    {F::MaxPool2dForwardIndicesBF16, "nncrt_maxpool2d_forward_indices_bf16",
     L::CPU, T::Void, kMaxPool2dIndicesArgs},
    {F::MaxPool2dBackwardIndicesBF16, "nncrt_maxpool2d_backward_indices_bf16",
     L::CPU, T::Void, kMaxPool2dIndicesArgs},
    {F::MaxPool2dForwardIndicesLayout, "nncrt_maxpool2d_forward_indices_layout",
     L::CPU, T::Void, kMaxPool2dIndicesLayoutArgs},
    {F::MaxPool2dBackwardIndicesLayout,
     "nncrt_maxpool2d_backward_indices_layout", L::CPU, T::Void,
     kMaxPool2dIndicesLayoutArgs},
    {F::AttentionForward, "nncrt_attention_forward", L::CPU, T::Void,
     kAttentionForwardArgs},
    {F::AttentionBackward, "nncrt_attention_backward", L::CPU, T::Void,
     kAttentionBackwardArgs},
    {F::EmbeddingForward, "nncrt_embedding_forward", L::CPU, T::Void,
     kEmbeddingArgs},
    {F::EmbeddingBackward, "nncrt_embedding_backward", L::CPU, T::Void,
     kEmbeddingArgs},
    {F::CudaLaunch, "nncrt_cuda_launch", L::CUDA, T::Void, kCudaLaunchArgs},
    {F::CudaStepBegin, "nncrt_cuda_step_begin", L::CUDA, T::I32,
     kCudaStepBeginArgs},
    {F::CudaStepEnd, "nncrt_cuda_step_end", L::CUDA, T::Void, kCudaStepEndArgs},
    {F::AllReduceStart, "nncrt_allreduce_start", L::MPI, T::Void,
     kAllReduceArgs},
    {F::AllReduceWait, "nncrt_allreduce_wait", L::MPI, T::Void, kAllReduceArgs},
    {F::NCCLAllReduceStart, "nncrt_nccl_allreduce_start", L::NCCL, T::Void,
     kAllReduceArgs},
    {F::NCCLAllReduceWait, "nncrt_nccl_allreduce_wait", L::NCCL, T::Void,
     kAllReduceArgs},
};
} // namespace

llvm::ArrayRef<RuntimeFunctionInfo> mlir::nnc::getRuntimeFunctions() {
  return kTable;
}

const RuntimeFunctionInfo &
mlir::nnc::getRuntimeFunctionInfo(RuntimeFunction fn) {
  const RuntimeFunctionInfo &info = kTable[static_cast<size_t>(fn)];
  assert(info.id == fn && "the table's rows follow the enum");
  return info;
}

const RuntimeFunctionInfo *mlir::nnc::lookupRuntimeFunction(StringRef symbol) {
  for (const RuntimeFunctionInfo &info : kTable)
    if (info.name == symbol)
      return &info;
  return nullptr;
}

FailureOr<SmallVector<RuntimeCallArgument>>
mlir::nnc::matchRuntimeCallArguments(const RuntimeFunctionInfo &info,
                                     ArrayRef<int64_t> pointers,
                                     ArrayRef<Attribute> scalars,
                                     RuntimeCallMismatch *why) {
  auto mismatch = [&](RuntimeCallMismatch m) {
    if (why)
      *why = m;
    return failure();
  };
  SmallVector<RuntimeCallArgument> args;
  size_t nextPointer = 0, nextScalar = 0;
  for (ABIType t : info.args) {
    if (t == ABIType::Ptr) {
      if (nextPointer == pointers.size())
        return mismatch(RuntimeCallMismatch::TooFewPointers);
      args.push_back({t, pointers[nextPointer++], Attribute()});
      continue;
    }
    if (nextScalar == scalars.size())
      return mismatch(RuntimeCallMismatch::TooFewScalars);
    args.push_back({t, -1, scalars[nextScalar++]});
  }
  if (nextPointer != pointers.size() || nextScalar != scalars.size())
    return mismatch(RuntimeCallMismatch::TooMany);
  return args;
}

static Type toType(MLIRContext *ctx, ABIType t) {
  switch (t) {
  case ABIType::Void:
    return LLVM::LLVMVoidType::get(ctx);
  case ABIType::I32:
    return IntegerType::get(ctx, 32);
  case ABIType::I64:
    return IntegerType::get(ctx, 64);
  case ABIType::F32:
    return Float32Type::get(ctx);
  case ABIType::Ptr:
    return LLVM::LLVMPointerType::get(ctx);
  }
  llvm_unreachable("unknown ABI type");
}

static SmallVector<Type> argTypes(MLIRContext *ctx,
                                  const RuntimeFunctionInfo &info) {
  return llvm::map_to_vector(info.args,
                             [&](ABIType t) { return toType(ctx, t); });
}

FunctionType mlir::nnc::getRuntimeFunctionType(MLIRContext *ctx,
                                               RuntimeFunction fn) {
  const RuntimeFunctionInfo &info = getRuntimeFunctionInfo(fn);
  SmallVector<Type> results;
  if (info.result != ABIType::Void)
    results.push_back(toType(ctx, info.result));
  return FunctionType::get(ctx, argTypes(ctx, info), results);
}

LLVM::LLVMFunctionType
mlir::nnc::getRuntimeLLVMFunctionType(MLIRContext *ctx, RuntimeFunction fn) {
  const RuntimeFunctionInfo &info = getRuntimeFunctionInfo(fn);
  return LLVM::LLVMFunctionType::get(toType(ctx, info.result),
                                     argTypes(ctx, info));
}

/// The op named `fn` in `module` as an `OpT` of `type`, null if there is
/// none, failure (reported) if the name is taken by something else.
template <typename OpT, typename TypeT>
static FailureOr<OpT> findDeclaration(ModuleOp module, RuntimeFunction fn,
                                      TypeT type) {
  StringRef name = getRuntimeFunctionInfo(fn).name;
  Operation *existing = module.lookupSymbol(name);
  if (!existing)
    return OpT();
  auto op = dyn_cast<OpT>(existing);
  if (!op || op.getFunctionType() != type)
    return existing->emitError()
           << "'" << name
           << "' is taken by something else than the runtime's function";
  return op;
}

FailureOr<func::FuncOp> mlir::nnc::declareRuntimeFunction(ModuleOp module,
                                                          RuntimeFunction fn) {
  FunctionType type = getRuntimeFunctionType(module.getContext(), fn);
  FailureOr<func::FuncOp> found =
      findDeclaration<func::FuncOp>(module, fn, type);
  if (failed(found) || *found)
    return found;
  auto b = OpBuilder::atBlockBegin(module.getBody());
  auto decl = b.create<func::FuncOp>(module.getLoc(),
                                     getRuntimeFunctionInfo(fn).name, type);
  decl.setPrivate();
  return decl;
}

FailureOr<LLVM::LLVMFuncOp>
mlir::nnc::declareRuntimeLLVMFunction(ModuleOp module, RuntimeFunction fn) {
  LLVM::LLVMFunctionType type =
      getRuntimeLLVMFunctionType(module.getContext(), fn);
  FailureOr<LLVM::LLVMFuncOp> found =
      findDeclaration<LLVM::LLVMFuncOp>(module, fn, type);
  if (failed(found) || *found)
    return found;
  auto b = OpBuilder::atBlockBegin(module.getBody());
  return b.create<LLVM::LLVMFuncOp>(module.getLoc(),
                                    getRuntimeFunctionInfo(fn).name, type);
}

SmallVector<RuntimeLibrary> mlir::nnc::getRuntimeLibraries(ModuleOp module) {
  SmallVector<RuntimeLibrary> libraries;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
    if (fn.isExternal())
      if (const RuntimeFunctionInfo *info = lookupRuntimeFunction(fn.getName()))
        if (!llvm::is_contained(libraries, info->library))
          libraries.push_back(info->library);
  return libraries;
}
