//===- Compiler.cpp - compile a model for the CPU -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Compiler.h"

#include "nnc/Codegen/Common/RuntimeABI.h"

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/InitAllPasses.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::nnc;

/// `archive`, or the file of the same name next to the running tool
/// (build/bin -> build/lib, <prefix>/bin -> <prefix>/lib) if there is one.
static std::string runtimeArchive(std::string archive) {
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  if (!exe.empty()) {
    SmallString<256> beside(
        llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
    llvm::sys::path::append(beside, "lib", llvm::sys::path::filename(archive));
    if (llvm::sys::fs::exists(beside))
      archive = beside.str().str();
  }
  return archive;
}

std::vector<std::string> mlir::nnc::cpuRuntimeLinkArguments() {
  return {runtimeArchive(NNC_RUNTIME_CPU_ARCHIVE), "-ldnnl", "-lgomp",
          "-lstdc++"};
}

std::vector<std::string> mlir::nnc::cudaRuntimeLinkArguments() {
#ifdef NNC_RUNTIME_CUDA_ARCHIVE
  return {runtimeArchive(NNC_RUNTIME_CUDA_ARCHIVE), "-ldl", "-lstdc++"};
#else
  return {};
#endif
}

std::vector<std::string> mlir::nnc::mpiRuntimeLinkArguments() {
#ifdef NNC_RUNTIME_MPI_ARCHIVE
  return {runtimeArchive(NNC_RUNTIME_MPI_ARCHIVE), "-lmpi", "-lstdc++"};
#else
  return {};
#endif
}

std::vector<std::string> mlir::nnc::ncclRuntimeLinkArguments() {
#if defined(NNC_RUNTIME_NCCL_ARCHIVE) && defined(NNC_RUNTIME_MPI_ARCHIVE)
  return {runtimeArchive(NNC_RUNTIME_NCCL_ARCHIVE),
          runtimeArchive(NNC_RUNTIME_MPI_ARCHIVE), "-lmpi", "-ldl",
          "-lstdc++"};
#else
  return {};
#endif
}

const EntryPoint *CompiledModel::find(EntryRole role) const {
  for (const EntryPoint &e : entries)
    if (e.role == role)
      return &e;
  return nullptr;
}

std::vector<TensorSpec> CompiledModel::parameters() const {
  std::vector<TensorSpec> specs;
  if (const EntryPoint *model = find(EntryRole::Loss))
    for (const BufferInfo &b : model->inputs)
      if (b.isParam || b.isRunningStat)
        specs.push_back({b.sourceName, b.shape});
  return specs;
}

const EntryPoint *CompiledModel::step() const {
  const EntryPoint *e = find(EntryRole::TrainStep);
  return e ? e : find(EntryRole::Grad);
}

static BufferInfo bufferInfo(Type type, std::string name, bool isParam,
                             StringRef sourceName = {}, bool isState = false) {
  auto tensor = cast<RankedTensorType>(type);
  BufferInfo info;
  info.sourceName = sourceName.empty() ? name : sourceName.str();
  info.name = std::move(name);
  info.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  Type elt = tensor.getElementType();
  info.cType = elt.isF32()         ? "float"
               : elt.isInteger(64) ? "int64_t"
                                   : "int32_t";
  info.bytes = getSizeInBytes(tensor);
  info.isParam = isParam;
  info.isState = isState;
  return info;
}

/// `fn`'s buffers at the graph level: each argument and result under its
/// `nn.name` (nnc-autodiff names the results of what it derives); results
/// without one are the loss, then per parameter its gradient or updated
/// value, named after the model's parameters.
static EntryPoint describe(func::FuncOp fn, EntryRole role,
                           ArrayRef<std::string> paramNames) {
  EntryPoint e;
  e.name = fn.getSymName().str();
  e.role = role;
  for (BlockArgument arg : fn.getArguments()) {
    unsigned i = arg.getArgNumber();
    bool isParam = fn.getArgAttr(i, NNDialect::getParamAttrName()) != nullptr;
    bool isState = fn.getArgAttr(i, NNDialect::getStateAttrName()) != nullptr;
    std::string name = getArgName(fn, i).str();
    if (name.empty())
      name = "arg" + std::to_string(i);
    e.inputs.push_back(bufferInfo(arg.getType(), name, isParam,
                                  getArgSourceName(fn, i), isState));
    e.inputs.back().isRunningStat =
        fn.getArgAttr(i, NNDialect::getRunningStatAttrName()) != nullptr;
  }
  for (auto [i, type] : llvm::enumerate(fn.getFunctionType().getResults())) {
    std::string name;
    if (auto named =
            fn.getResultAttrOfType<StringAttr>(i, NNDialect::getNameAttrName()))
      name = named.getValue().str();
    else if (role == EntryRole::Predict)
      name = i == 0 ? "output" : "output" + std::to_string(i);
    else if (i == 0)
      name = "loss";
    else
      name = (role == EntryRole::TrainStep ? "new_" : "grad_") +
             (i - 1 < paramNames.size() ? paramNames[i - 1]
                                        : "param" + std::to_string(i - 1));
    e.outputs.push_back(bufferInfo(type, name, false));
  }
  return e;
}

/// A pass manager for one stage of the compiler. Where the process
/// registered MLIR's pass-manager command-line options (the tools do, see
/// registerCompilerCLOptions), they apply: --mlir-print-ir-after-all,
/// --mlir-timing, --mlir-pass-pipeline-crash-reproducer and the rest. Each
/// stage's pipeline holds only registered passes, so a crash reproducer
/// replays with nnc-opt.
static void applyToolOptions(PassManager &pm) {
  if (succeeded(applyPassManagerCLOptions(pm)))
    applyDefaultTimingPassManagerCLOptions(pm);
}

/// Runs `build`'s passes on `module` in a pass manager of their own, which
/// is gone (and its timing report printed) when this returns: the reports
/// come out in pipeline order.
static LogicalResult
runStage(ModuleOp module, function_ref<void(OpPassManager &)> build) {
  PassManager pm(module->getContext());
  applyToolOptions(pm);
  build(pm);
  return pm.run(module);
}

void mlir::nnc::registerCompilerCLOptions() {
  // Options that name passes (--mlir-print-ir-before=nnc-plan-memory) are
  // resolved when the command line is parsed: every pass a pipeline may
  // run is registered first.
  registerAllPasses();
  registerNNCPasses();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerAsmPrinterCLOptions();
}

FailureOr<::nnc::planner::Chain>
mlir::nnc::buildChainForModel(ModuleOp module,
                              const CompileOptions &options) {
  if (failed(runStage(module, [&](OpPassManager &pm) {
        pm.addPass(createVerifyModel());
        pm.addPass(createAutodiff(options.step.toAutodiffOptions()));
        // The CPU step's form, as compile() plans it.
        pm.addPass(createMaxPoolIndices());
      })))
    return failure();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (!fn->hasAttr(NNDialect::getGradOfAttrName()))
      continue;
    FailureOr<StagePartition> partition =
        partitionIntoStages(fn, options.step.fusesUpdates(),
                            options.step.lossScaling == LossScaling::Dynamic,
                            options.step.keepCastCopies);
    if (failed(partition))
      return failure();
    return buildChain(fn, *partition);
  }
  return module.emitError("no gradient function was derived");
}

ModelStats mlir::nnc::computeModelStats(func::FuncOp gradFn) {
  ModelStats stats;
  llvm::DenseSet<Operation *> backward = findBackwardOps(gradFn);
  for (BlockArgument arg : gradFn.getArguments())
    if (gradFn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName())) {
      stats.paramBytes += getSizeInBytes(arg.getType());
      stats.numParams += getNumElements(arg.getType());
    } else if (gradFn.getArgAttr(arg.getArgNumber(),
                                 NNDialect::getStateAttrName())) {
      stats.optimizerStateBytes += getSizeInBytes(arg.getType());
    }
  llvm::DenseSet<Value> saved;
  for (Operation &op : gradFn.getBody().front().without_terminator()) {
    int64_t flops = 0;
    if (auto cost = dyn_cast<CostOpInterface>(&op))
      flops = cost.getFlops();
    if (!backward.contains(&op)) {
      stats.forwardFlops += flops;
      continue;
    }
    stats.backwardFlops += flops;
    for (Value v : op.getOperands()) {
      Operation *def = v.getDefiningOp();
      if (def && !backward.contains(def) && !isa<arith::ConstantOp>(def))
        saved.insert(v);
    }
  }
  for (Value v : saved)
    stats.savedActivationBytes += getSizeInBytes(v.getType());
  stats.plan = gradFn->getAttrOfType<CheckpointPlanAttr>(
      NNDialect::getCheckpointAttrName());
  // Each bucket's overlap window: what runs between its start and its wait.
  for (auto start : gradFn.getOps<AllReduceStartOp>()) {
    AllReduceBucket b;
    b.bucket = start.getBucket();
    b.bytes = getSizeInBytes(start.getResult().getType());
    b.gradients = start.getGrads().size();
    for (Operation *op = start->getNextNode(); op; op = op->getNextNode()) {
      if (auto wait = dyn_cast<AllReduceWaitOp>(op);
          wait && static_cast<int64_t>(wait.getBucket()) == b.bucket)
        break;
      if (auto cost = dyn_cast<CostOpInterface>(op))
        b.windowFlops += cost.getFlops();
    }
    stats.allReduceBuckets.push_back(b);
  }
  return stats;
}

llvm::Error mlir::nnc::checkBF16Support(const llvm::StringMap<bool> &features) {
  for (StringRef feature : {"avx512bf16", "amx-bf16"})
    if (features.lookup(feature))
      return llvm::Error::success();
  return llvm::createStringError(
      "--precision=bf16 needs a CPU that multiplies bf16 in hardware "
      "(AVX-512 BF16 or AMX); this one has neither, and emulated bf16 runs "
      "slower than --precision=f32");
}

static FailureOr<CompiledModel> compile(OwningOpRef<ModuleOp> module,
                                        const CompileOptions &options,
                                        Target target) {
  if (options.step.precision != Precision::F32 && target == Target::NVPTX) {
    // The products run on tensor cores through mma.sync with bf16/f16
    // multiplicands and f32 accumulators, which PTX has from sm_80 on.
    if (options.gpu.chip < NVPTXChip::SM80) {
      module->emitError()
          << "--precision=" << ::nnc::precisions.name(options.step.precision)
          << " on the nvptx target needs tensor cores with bf16 and f16 "
             "inputs (mma.sync m16n8k16, sm_80 or newer); --chip="
          << ::nnc::nvptxChips.name(options.gpu.chip) << " has none";
      return failure();
    }
  } else if (options.step.precision == Precision::F16) {
    // oneDNN 2.6 has no f16 matmul or convolution kernels for x86 CPUs
    // (its f16 paths are for GPUs and AVX512-FP16 parts it emulates
    // elsewhere), and nnc's own loops have no f16 kernels either.
    module->emitError("--precision=fp16 is implemented for the nvptx "
                      "target only (tensor cores): on the CPU, oneDNN has "
                      "no fast f16 GEMM; use --precision=bf16 there");
    return failure();
  } else if (options.step.precision == Precision::BF16) {
    if (llvm::Error err = checkBF16Support(llvm::sys::getHostCPUFeatures())) {
      module->emitError(llvm::toString(std::move(err)));
      return failure();
    }
  }
  // Three stages, with what the driver records in between: the entry points
  // at the graph level, then the arena sizes.
  if (failed(runStage(*module, [&](OpPassManager &pm) {
        buildNNGraphPipeline(pm, options, target);
      })))
    return failure();

  CompiledModel result;
  SmallVector<std::string> paramNames;
  for (auto fn : module->getOps<func::FuncOp>()) {
    if (getEntryRole(fn) != EntryRole::Loss)
      continue;
    result.name = fn.getSymName().str();
    for (BlockArgument arg : fn.getArguments()) {
      unsigned i = arg.getArgNumber();
      if (!fn.getArgAttr(i, NNDialect::getParamAttrName()))
        continue;
      std::string name = getArgName(fn, i).str();
      paramNames.push_back(
          name.empty() ? "param" + std::to_string(paramNames.size()) : name);
    }
  }
  for (auto fn : module->getOps<func::FuncOp>()) {
    std::optional<EntryRole> role = getEntryRole(fn);
    if (fn.isExternal() || !role)
      continue;
    if (*role == EntryRole::Grad || *role == EntryRole::TrainStep)
      result.stats = computeModelStats(fn);
    result.entries.push_back(describe(fn, *role, paramNames));
  }

  if (failed(runStage(*module, [&](OpPassManager &pm) {
        buildNNBufferizePipeline(pm, options, target);
      })))
    return failure();
  for (EntryPoint &e : result.entries) {
    auto fn = module->lookupSymbol<func::FuncOp>(e.name);
    if (auto bytes =
            fn->getAttrOfType<IntegerAttr>(NNDialect::getArenaBytesAttrName()))
      e.workspaceBytes = bytes.getInt();
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(
            NNDialect::getMaxLiveBytesAttrName()))
      e.maxLiveBytes = bytes.getInt();
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(
            NNDialect::getRuntimeWorkspaceBytesAttrName()))
      e.runtimeWorkspaceBytes = bytes.getInt();
  }

  if (failed(runStage(*module, [&](OpPassManager &pm) {
        if (target == Target::CPU)
          buildCPUCodegenPipeline(pm, options.cpu);
        else
          buildGPUCodegenPipeline(pm, options.gpu);
      })))
    return failure();
  result.target = target;
  result.module = std::move(module);
  if (target == Target::NVPTX)
    if (auto ptx = result.module->lookupSymbol<LLVM::GlobalOp>(kPTXGlobalName))
      if (auto text = dyn_cast_or_null<StringAttr>(ptx.getValueOrNull()))
        result.ptx = text.getValue().rtrim('\0').str();
  // Code that calls a run-time library links it (and what it needs): the
  // libraries of the run-time functions it declares. The GPU target's host
  // program always needs the CUDA runtime (its buffers are device memory).
  SmallVector<RuntimeLibrary> libraries = getRuntimeLibraries(*result.module);
  if (target == Target::NVPTX &&
      !llvm::is_contained(libraries, RuntimeLibrary::CUDA))
    libraries.push_back(RuntimeLibrary::CUDA);
  // (The GPU target's all-reduce has no library to link in a build
  // without nccl.h or MPI: a located error, not a library that cannot load.)
  if (llvm::is_contained(libraries, RuntimeLibrary::NCCL) &&
      ncclRuntimeLinkArguments().empty()) {
    result.module->emitError(
        "the nvptx target's all-reduce needs nnc's NCCL runtime, which this "
        "build of nnc lacks (it needs the CUDA toolkit's cuda.h and nccl.h, "
        "and MPI)");
    return failure();
  }
  for (RuntimeLibrary library : libraries)
    llvm::append_range(result.linkLibraries,
                       library == RuntimeLibrary::CPU    ? cpuRuntimeLinkArguments()
                       : library == RuntimeLibrary::CUDA ? cudaRuntimeLinkArguments()
                       : library == RuntimeLibrary::NCCL ? ncclRuntimeLinkArguments()
                                                         : mpiRuntimeLinkArguments());
  return result;
}

FailureOr<CompiledModel>
mlir::nnc::compileForCPU(OwningOpRef<ModuleOp> module,
                         const CompileOptions &options) {
  return compile(std::move(module), options, Target::CPU);
}

FailureOr<CompiledModel>
mlir::nnc::compileForGPU(OwningOpRef<ModuleOp> module,
                         const CompileOptions &options) {
  return compile(std::move(module), options, Target::NVPTX);
}
