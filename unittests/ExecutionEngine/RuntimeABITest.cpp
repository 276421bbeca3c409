//===- RuntimeABITest.cpp - the run-time ABI table against the C headers -===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Runtime/CPU/CPURuntime.h"
#include "nnc/Runtime/CUDA/CUDARuntime.h"
#include "nnc/Runtime/NCCL/NCCLRuntime.h"
#ifdef NNC_HAVE_MPI
#include "nnc/Runtime/MPI/MPIRuntime.h"
#endif

#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <type_traits>

using namespace mlir;
using namespace mlir::nnc;

namespace {

/// The ABI type of a C parameter or result type.
template <typename C> ABIType abiType() {
  if constexpr (std::is_void_v<C>)
    return ABIType::Void;
  else if constexpr (std::is_pointer_v<C>)
    return ABIType::Ptr;
  else if constexpr (std::is_same_v<C, float>)
    return ABIType::F32;
  else if constexpr (std::is_integral_v<C> && sizeof(C) == 4)
    return ABIType::I32;
  else {
    static_assert(std::is_integral_v<C> && sizeof(C) == 8,
                  "a type the run-time ABI does not have");
    return ABIType::I64;
  }
}

/// The table's row agrees with the C declaration of type `Fn` (its
/// decltype: no runtime needs to be linked), argument by argument.
template <typename Fn> struct Signature;
template <typename R, typename... A> struct Signature<R(A...)> {
  static void expect(RuntimeFunction id) {
    const RuntimeFunctionInfo &info = getRuntimeFunctionInfo(id);
    SCOPED_TRACE(info.name.str());
    EXPECT_EQ(info.result, abiType<R>());
    std::vector<ABIType> args{abiType<A>()...};
    EXPECT_EQ(std::vector<ABIType>(info.args.begin(), info.args.end()), args);
  }
};

TEST(RuntimeABI, TableMatchesTheRuntimeHeaders) {
  using F = RuntimeFunction;
  Signature<decltype(nncrt_sgemm)>::expect(F::Sgemm);
  Signature<decltype(nncrt_sgemm_epilogue)>::expect(F::SgemmEpilogue);
  Signature<decltype(nncrt_gemm_bf16)>::expect(F::GemmBF16);
  Signature<decltype(nncrt_parallel_for)>::expect(F::ParallelFor);
  Signature<decltype(nncrt_set_num_threads)>::expect(F::SetNumThreads);
  Signature<decltype(nncrt_profile_mark)>::expect(F::ProfileMark);
  Signature<decltype(nncrt_use_workspace)>::expect(F::UseWorkspace);
  Signature<decltype(nncrt_conv2d_forward)>::expect(F::Conv2dForward);
  Signature<decltype(nncrt_conv2d_backward_data)>::expect(
      F::Conv2dBackwardData);
  Signature<decltype(nncrt_conv2d_backward_weights)>::expect(
      F::Conv2dBackwardWeights);
  Signature<decltype(nncrt_pool2d_forward)>::expect(F::Pool2dForward);
  Signature<decltype(nncrt_pool2d_backward)>::expect(F::Pool2dBackward);
  Signature<decltype(nncrt_conv2d_forward_bf16)>::expect(F::Conv2dForwardBF16);
  Signature<decltype(nncrt_conv2d_backward_data_bf16)>::expect(
      F::Conv2dBackwardDataBF16);
  Signature<decltype(nncrt_conv2d_backward_weights_bf16)>::expect(
      F::Conv2dBackwardWeightsBF16);
  Signature<decltype(nncrt_pool2d_forward_bf16)>::expect(F::Pool2dForwardBF16);
  Signature<decltype(nncrt_pool2d_backward_bf16)>::expect(
      F::Pool2dBackwardBF16);
  Signature<decltype(nncrt_conv2d_forward_layout)>::expect(
      F::Conv2dForwardLayout);
  Signature<decltype(nncrt_conv2d_backward_data_layout)>::expect(
      F::Conv2dBackwardDataLayout);
  Signature<decltype(nncrt_conv2d_backward_weights_layout)>::expect(
      F::Conv2dBackwardWeightsLayout);
  Signature<decltype(nncrt_pool2d_forward_layout)>::expect(
      F::Pool2dForwardLayout);
  Signature<decltype(nncrt_pool2d_backward_layout)>::expect(
      F::Pool2dBackwardLayout);
  Signature<decltype(nncrt_maxpool2d_forward_indices)>::expect(
      F::MaxPool2dForwardIndices);
  Signature<decltype(nncrt_maxpool2d_backward_indices)>::expect(
      F::MaxPool2dBackwardIndices);
  Signature<decltype(nncrt_maxpool2d_forward_indices_bf16)>::expect(
      F::MaxPool2dForwardIndicesBF16);
  Signature<decltype(nncrt_maxpool2d_backward_indices_bf16)>::expect(
      F::MaxPool2dBackwardIndicesBF16);
  Signature<decltype(nncrt_maxpool2d_forward_indices_layout)>::expect(
      F::MaxPool2dForwardIndicesLayout);
  Signature<decltype(nncrt_maxpool2d_backward_indices_layout)>::expect(
      F::MaxPool2dBackwardIndicesLayout);
  Signature<decltype(nncrt_attention_forward)>::expect(F::AttentionForward);
  Signature<decltype(nncrt_attention_backward)>::expect(F::AttentionBackward);
  Signature<decltype(nncrt_embedding_forward)>::expect(F::EmbeddingForward);
  Signature<decltype(nncrt_embedding_backward)>::expect(F::EmbeddingBackward);
  Signature<decltype(nncrt_cuda_launch)>::expect(F::CudaLaunch);
  Signature<decltype(nncrt_cuda_step_begin)>::expect(F::CudaStepBegin);
  Signature<decltype(nncrt_cuda_step_end)>::expect(F::CudaStepEnd);
#ifdef NNC_HAVE_MPI
  Signature<decltype(nncrt_allreduce_start)>::expect(F::AllReduceStart);
  Signature<decltype(nncrt_allreduce_wait)>::expect(F::AllReduceWait);
#endif
  EXPECT_EQ(getRuntimeFunctionInfo(F::AllReduceStart).library,
            RuntimeLibrary::MPI);
  // The header is plain C: its declarations are checked whether or not the
  // NCCL runtime is built.
  Signature<decltype(nncrt_nccl_allreduce_start)>::expect(
      F::NCCLAllReduceStart);
  Signature<decltype(nncrt_nccl_allreduce_wait)>::expect(F::NCCLAllReduceWait);
  EXPECT_EQ(getRuntimeFunctionInfo(F::NCCLAllReduceStart).library,
            RuntimeLibrary::NCCL);
  // Every row is checked above, in the enum's order.
  EXPECT_EQ(getRuntimeFunctions().size(), 39u);
}

TEST(RuntimeABI, DeclaresOnceAndRefusesATakenName) {
  MLIRContext ctx;
  ctx.loadDialect<func::FuncDialect, LLVM::LLVMDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  FailureOr<func::FuncOp> first =
      declareRuntimeFunction(*module, RuntimeFunction::Sgemm);
  ASSERT_TRUE(succeeded(first));
  FailureOr<func::FuncOp> again =
      declareRuntimeFunction(*module, RuntimeFunction::Sgemm);
  ASSERT_TRUE(succeeded(again));
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(first->getFunctionType().getNumInputs(), 13u);
  EXPECT_EQ(lookupRuntimeFunction("nncrt_sgemm")->library, RuntimeLibrary::CPU);
  EXPECT_EQ(lookupRuntimeFunction("malloc"), nullptr);
  // The name declared as an llvm.func of another type is refused.
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  EXPECT_TRUE(
      failed(declareRuntimeLLVMFunction(*module, RuntimeFunction::Sgemm)));
}

} // namespace

// --precision=bf16 is refused where bf16 would be emulated.
TEST(MixedPrecision, NeedsHardwareBF16) {
  llvm::StringMap<bool> features;
  features["avx512f"] = true;
  features["avx512bf16"] = false;
  llvm::Error none = mlir::nnc::checkBF16Support(features);
  ASSERT_TRUE(static_cast<bool>(none));
  EXPECT_NE(llvm::toString(std::move(none)).find("AVX-512 BF16 or AMX"),
            std::string::npos);
  features["avx512bf16"] = true;
  EXPECT_FALSE(static_cast<bool>(mlir::nnc::checkBF16Support(features)));
  llvm::StringMap<bool> amx;
  amx["amx-bf16"] = true;
  EXPECT_FALSE(static_cast<bool>(mlir::nnc::checkBF16Support(amx)));
}
