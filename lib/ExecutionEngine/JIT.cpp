//===- JIT.cpp - run compiled models in process ---------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/JIT.h"

#include "nnc/Codegen/CPU/TargetMachine.h"
#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Runtime/CPU/CPURuntime.h"
#ifdef NNC_HAVE_MPI
#include "nnc/Runtime/MPI/MPIRuntime.h"
#endif

#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"

using namespace mlir;
using namespace mlir::nnc;

/// The address of a CPU run-time function, or of a data-parallel one when
/// nnc is built with MPI (both linked into this library); null for another
/// library's.
static void *cpuRuntimeAddress(RuntimeFunction fn) {
  switch (fn) {
  case RuntimeFunction::Sgemm:
    return reinterpret_cast<void *>(&nncrt_sgemm);
  case RuntimeFunction::SgemmEpilogue:
    return reinterpret_cast<void *>(&nncrt_sgemm_epilogue);
  case RuntimeFunction::GemmBF16:
    return reinterpret_cast<void *>(&nncrt_gemm_bf16);
  case RuntimeFunction::ParallelFor:
    return reinterpret_cast<void *>(&nncrt_parallel_for);
  case RuntimeFunction::SetNumThreads:
    return reinterpret_cast<void *>(&nncrt_set_num_threads);
  case RuntimeFunction::ProfileMark:
    return reinterpret_cast<void *>(&nncrt_profile_mark);
  case RuntimeFunction::UseWorkspace:
    return reinterpret_cast<void *>(&nncrt_use_workspace);
  case RuntimeFunction::Conv2dForward:
    return reinterpret_cast<void *>(&nncrt_conv2d_forward);
  case RuntimeFunction::Conv2dBackwardData:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_data);
  case RuntimeFunction::Conv2dBackwardWeights:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_weights);
  case RuntimeFunction::Pool2dForward:
    return reinterpret_cast<void *>(&nncrt_pool2d_forward);
  case RuntimeFunction::Pool2dBackward:
    return reinterpret_cast<void *>(&nncrt_pool2d_backward);
  case RuntimeFunction::Conv2dForwardBF16:
    return reinterpret_cast<void *>(&nncrt_conv2d_forward_bf16);
  case RuntimeFunction::Conv2dBackwardDataBF16:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_data_bf16);
  case RuntimeFunction::Conv2dBackwardWeightsBF16:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_weights_bf16);
  case RuntimeFunction::Pool2dForwardBF16:
    return reinterpret_cast<void *>(&nncrt_pool2d_forward_bf16);
  case RuntimeFunction::Pool2dBackwardBF16:
    return reinterpret_cast<void *>(&nncrt_pool2d_backward_bf16);
  case RuntimeFunction::Conv2dForwardLayout:
    return reinterpret_cast<void *>(&nncrt_conv2d_forward_layout);
  case RuntimeFunction::Conv2dBackwardDataLayout:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_data_layout);
  case RuntimeFunction::Conv2dBackwardWeightsLayout:
    return reinterpret_cast<void *>(&nncrt_conv2d_backward_weights_layout);
  case RuntimeFunction::Pool2dForwardLayout:
    return reinterpret_cast<void *>(&nncrt_pool2d_forward_layout);
  case RuntimeFunction::Pool2dBackwardLayout:
    return reinterpret_cast<void *>(&nncrt_pool2d_backward_layout);
  case RuntimeFunction::MaxPool2dForwardIndices:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_forward_indices);
  case RuntimeFunction::MaxPool2dBackwardIndices:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_backward_indices);
  case RuntimeFunction::MaxPool2dForwardIndicesBF16:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_forward_indices_bf16);
  case RuntimeFunction::MaxPool2dBackwardIndicesBF16:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_backward_indices_bf16);
  case RuntimeFunction::MaxPool2dForwardIndicesLayout:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_forward_indices_layout);
  case RuntimeFunction::MaxPool2dBackwardIndicesLayout:
    return reinterpret_cast<void *>(&nncrt_maxpool2d_backward_indices_layout);
  case RuntimeFunction::AttentionForward:
    return reinterpret_cast<void *>(&nncrt_attention_forward);
  case RuntimeFunction::AttentionBackward:
    return reinterpret_cast<void *>(&nncrt_attention_backward);
  case RuntimeFunction::EmbeddingForward:
    return reinterpret_cast<void *>(&nncrt_embedding_forward);
  case RuntimeFunction::EmbeddingBackward:
    return reinterpret_cast<void *>(&nncrt_embedding_backward);
  case RuntimeFunction::CudaLaunch:
  case RuntimeFunction::CudaStepBegin:
  case RuntimeFunction::CudaStepEnd:
  case RuntimeFunction::NCCLAllReduceStart:
  case RuntimeFunction::NCCLAllReduceWait:
    return nullptr;
  // The data-parallel library, linked in when nnc was built with MPI.
  case RuntimeFunction::AllReduceStart:
#ifdef NNC_HAVE_MPI
    return reinterpret_cast<void *>(&nncrt_allreduce_start);
#else
    return nullptr;
#endif
  case RuntimeFunction::AllReduceWait:
#ifdef NNC_HAVE_MPI
    return reinterpret_cast<void *>(&nncrt_allreduce_wait);
#else
    return nullptr;
#endif
  }
  llvm_unreachable("unknown run-time function");
}

llvm::Expected<std::unique_ptr<JITModule>> JITModule::create(ModuleOp module) {
  // The optimizer needs the host's target machine: without it the loop
  // vectorizer sees no vector registers and leaves every loop scalar.
  auto tm = createHostTargetMachine();
  if (!tm)
    return tm.takeError();
  ExecutionEngineOptions options;
  auto transformer = makeOptimizingTransformer(3, 0, tm->get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, options, std::move(*tm));
  if (!engine)
    return engine.takeError();
  // The CPU runtime is linked into this library: hand its entry points to
  // the JIT by address, so nothing depends on the process's symbol table.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    for (const RuntimeFunctionInfo &info : getRuntimeFunctions()) {
      if (info.library == RuntimeLibrary::CUDA ||
          info.library == RuntimeLibrary::NCCL)
        continue;
      void *address = cpuRuntimeAddress(info.id);
      assert((address || info.library == RuntimeLibrary::MPI) &&
             "every CPU run-time function has an address");
      if (!address) // no MPI in this build: the lookup names the symbol
        continue;
      symbols[interner(info.name)] = {
          llvm::orc::ExecutorAddr::fromPtr(address),
          llvm::JITSymbolFlags::Exported};
    }
    return symbols;
  });
  return std::unique_ptr<JITModule>(new JITModule(std::move(*engine)));
}

llvm::Error JITModule::prepare(StringRef name) {
  auto fn = engine->lookupPacked(name);
  return fn ? llvm::Error::success() : fn.takeError();
}

llvm::Error JITModule::invoke(StringRef name, ArrayRef<void *> buffers) {
  // The packed wrapper takes a pointer to each argument; each argument is
  // itself a buffer pointer.
  SmallVector<void *> pointers(buffers.begin(), buffers.end());
  SmallVector<void *> packed;
  for (void *&p : pointers)
    packed.push_back(&p);
  return engine->invokePacked(name, packed);
}

llvm::Error JITModule::invokeWithWorkspace(StringRef name,
                                           ArrayRef<void *> buffers,
                                           int64_t workspaceBytes) {
  if (workspaceBytes > workspaceCapacity) {
    // 64-byte alignment: what nnc-plan-memory assumes for every offset.
    int64_t rounded = (workspaceBytes + 63) / 64 * 64;
    workspace.reset(std::aligned_alloc(64, rounded));
    if (!workspace)
      return llvm::createStringError("cannot allocate a %lld-byte workspace",
                                     static_cast<long long>(rounded));
    workspaceCapacity = rounded;
  }
  SmallVector<void *> all(buffers.begin(), buffers.end());
  all.push_back(workspace.get());
  return invoke(name, all);
}
