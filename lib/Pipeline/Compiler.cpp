//===- Compiler.cpp - compile a model for the CPU -------------------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Compiler.h"

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::nnc;

const EntryPoint *CompiledModel::find(StringRef role) const {
  for (const EntryPoint &e : entries)
    if (e.role == role)
      return &e;
  return nullptr;
}

static BufferInfo bufferInfo(Type type, std::string name, bool isParam) {
  auto tensor = cast<RankedTensorType>(type);
  BufferInfo info;
  info.name = std::move(name);
  info.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  Type elt = tensor.getElementType();
  info.cType = elt.isF32()         ? "float"
               : elt.isInteger(64) ? "int64_t"
                                   : "int32_t";
  info.bytes = getSizeInBytes(tensor);
  info.isParam = isParam;
  return info;
}

static EntryPoint describe(func::FuncOp fn, StringRef role,
                           ArrayRef<std::string> argNames,
                           ArrayRef<std::string> paramNames) {
  EntryPoint e;
  e.name = fn.getSymName().str();
  e.role = role.str();
  for (BlockArgument arg : fn.getArguments()) {
    unsigned i = arg.getArgNumber();
    bool isParam = fn.getArgAttr(i, NNDialect::getParamAttrName()) != nullptr;
    std::string name =
        i < argNames.size() ? argNames[i] : "arg" + std::to_string(i);
    e.inputs.push_back(bufferInfo(arg.getType(), name, isParam));
  }
  auto results = fn.getFunctionType().getResults();
  for (auto [i, type] : llvm::enumerate(results)) {
    std::string name;
    if (role == "predict")
      name = "output";
    else if (i == 0)
      name = "loss";
    else
      name = (role == "train_step" ? "new_" : "grad_") +
             (i - 1 < paramNames.size() ? paramNames[i - 1]
                                        : "param" + std::to_string(i - 1));
    e.outputs.push_back(bufferInfo(type, name, false));
  }
  return e;
}

FailureOr<::nnc::planner::Chain>
mlir::nnc::buildChainForModel(ModuleOp module) {
  PassManager pm(module->getContext());
  pm.addPass(createVerifyModel());
  pm.addPass(createAutodiff());
  if (failed(pm.run(module)))
    return failure();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (!fn->hasAttr(kGradOfAttrName))
      continue;
    FailureOr<StagePartition> partition = partitionIntoStages(fn);
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
  if (auto plan = gradFn->getAttrOfType<DictionaryAttr>(kCheckpointAttrName)) {
    auto i64 = [&](StringRef name) {
      auto a = plan.getAs<IntegerAttr>(name);
      return a ? a.getInt() : 0;
    };
    auto f64 = [&](StringRef name) {
      auto a = plan.getAs<FloatAttr>(name);
      return a ? a.getValueAsDouble() : 0.0;
    };
    if (auto s = plan.getAs<StringAttr>("strategy"))
      stats.strategy = s.str();
    if (plan.get("budget_bytes"))
      stats.budgetBytes = i64("budget_bytes");
    stats.stages = i64("stages");
    stats.predictedPeakBytes = i64("peak_bytes");
    stats.storeAllPeakBytes = i64("store_all_peak_bytes");
    stats.minBudgetBytes = i64("min_budget_bytes");
    stats.forwardSteps = i64("forward_steps");
    stats.computeCost = f64("compute_cost");
    stats.storeAllCost = f64("store_all_cost");
    stats.recomputeCost = f64("recompute_cost");
    stats.computeFlops = f64("compute_flops");
    stats.storeAllFlops = f64("store_all_flops");
    stats.recomputeFlops = f64("recompute_flops");
    if (auto unit = plan.getAs<StringAttr>("cost_unit"))
      stats.costUnit = unit.str();
  }
  return stats;
}

FailureOr<CompiledModel>
mlir::nnc::compileForCPU(OwningOpRef<ModuleOp> module,
                         const CPUPipelineOptions &options,
                         ArrayRef<std::string> argNames) {
  MLIRContext *ctx = module->getContext();
  PassManager graph(ctx);
  buildNNGraphPipeline(graph, options);
  if (failed(graph.run(*module)))
    return failure();

  CompiledModel result;
  SmallVector<std::string> paramNames;
  for (auto fn : module->getOps<func::FuncOp>()) {
    if (!isModelFunction(fn) || fn->hasAttr(kGradOfAttrName))
      continue;
    for (BlockArgument arg : fn.getArguments())
      if (fn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
        paramNames.push_back(arg.getArgNumber() < argNames.size()
                                 ? argNames[arg.getArgNumber()]
                                 : "param" + std::to_string(paramNames.size()));
  }
  for (auto fn : module->getOps<func::FuncOp>()) {
    if (fn.isExternal())
      continue;
    StringRef role;
    if (fn->hasAttr(kGradOfAttrName)) {
      role = fn.getSymName().ends_with("_train_step") ? "train_step" : "grad";
      result.stats = computeModelStats(fn);
    } else if (isModelFunction(fn)) {
      role = "loss";
    } else if (fn.getSymName().ends_with("_predict")) {
      role = "predict";
    } else {
      continue;
    }
    // The predict function takes the input then the parameters.
    SmallVector<std::string> names(argNames);
    if (role == "predict" && names.size() > 1)
      names.erase(names.begin() + 1);
    result.entries.push_back(describe(fn, role, names, paramNames));
  }

  PassManager bufferize(ctx);
  buildNNBufferizePipeline(bufferize, options);
  if (failed(bufferize.run(*module)))
    return failure();
  for (EntryPoint &e : result.entries) {
    auto fn = module->lookupSymbol<func::FuncOp>(e.name);
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(kArenaBytesAttrName))
      e.workspaceBytes = bytes.getInt();
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(kMaxLiveBytesAttrName))
      e.maxLiveBytes = bytes.getInt();
  }

  PassManager lower(ctx);
  buildLowerToLLVMPipeline(lower);
  if (failed(lower.run(*module)))
    return failure();
  result.module = std::move(module);
  return result;
}

static std::string shapeComment(const BufferInfo &b) {
  std::string s = "[";
  for (size_t i = 0; i < b.shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(b.shape[i]);
  return s + "]";
}

void mlir::nnc::writeCHeader(const CompiledModel &model, StringRef guard,
                             llvm::raw_ostream &os) {
  os << "/* Generated by nnc-compile. Do not edit.\n"
     << " *\n"
     << " * Every buffer is caller-owned, dense, row-major and of the exact\n"
     << " * size shown; nothing is allocated or freed on your behalf beyond\n"
     << " * internal temporaries. Parameters come in layer order, each "
        "layer's\n"
     << " * weight W [out, in] (PyTorch's layout) then its bias b [out].\n"
     << " * Inputs are only read. A training step's outputs may be the same\n"
     << " * buffers as the corresponding parameter inputs (update in place).\n"
     << " * Every entry point takes, last, a workspace of\n"
     << " * <name>_workspace_size() bytes, 64-byte aligned: the static arena\n"
     << " * holding all intermediate values, so a call makes no heap\n"
     << " * allocation. Its contents need not survive between calls.\n"
     << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  for (const EntryPoint &e : model.entries) {
    os << "/* " << e.role << ": ";
    if (e.role == "train_step")
      os << "forward, backward and one SGD step; returns the loss (before the "
            "update) and the updated parameters.";
    else if (e.role == "grad")
      os << "forward and backward; returns the loss and d loss / d param for "
            "each parameter.";
    else if (e.role == "loss")
      os << "forward only; returns the loss.";
    else
      os << "inference; returns the network's output (logits).";
    os << "\n";
    for (const BufferInfo &b : e.inputs)
      os << " *   in  " << b.name << " " << b.cType << shapeComment(b)
         << (b.isParam ? " (parameter)" : "") << "\n";
    for (const BufferInfo &b : e.outputs)
      os << " *   out " << b.name << " " << b.cType << shapeComment(b) << "\n";
    os << " *   workspace: " << e.workspaceBytes << " bytes (lower bound "
       << e.maxLiveBytes << ")\n";
    os << " */\nint64_t " << e.name << "_workspace_size(void);\n";
    os << "void " << e.name << "(";
    bool first = true;
    for (const BufferInfo &b : e.inputs) {
      os << (first ? "" : ", ") << "const " << b.cType << " *" << b.name;
      first = false;
    }
    for (const BufferInfo &b : e.outputs) {
      os << (first ? "" : ", ") << b.cType << " *" << b.name;
      first = false;
    }
    os << (first ? "" : ", ") << "uint8_t *workspace);\n\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

static llvm::json::Array buffersJSON(ArrayRef<BufferInfo> buffers) {
  llvm::json::Array a;
  for (const BufferInfo &b : buffers)
    a.push_back(llvm::json::Object{{"name", b.name},
                                   {"shape", llvm::json::Array(b.shape)},
                                   {"type", b.cType},
                                   {"bytes", b.bytes}});
  return a;
}

llvm::json::Value mlir::nnc::reportJSON(const CompiledModel &model,
                                        const CPUPipelineOptions &options) {
  const ModelStats &s = model.stats;
  llvm::json::Array entries;
  for (const EntryPoint &e : model.entries)
    entries.push_back(llvm::json::Object{{"name", e.name},
                                         {"role", e.role},
                                         {"inputs", buffersJSON(e.inputs)},
                                         {"outputs", buffersJSON(e.outputs)},
                                         {"arena_bytes", e.workspaceBytes},
                                         {"max_live_bytes", e.maxLiveBytes}});
  // The headline figures are those of the training (or gradient) step.
  const EntryPoint *step = model.find("train_step");
  if (!step)
    step = model.find("grad");
  llvm::json::Object checkpoint{
      {"strategy", s.strategy},
      {"budget_bytes", s.budgetBytes ? llvm::json::Value(*s.budgetBytes)
                                     : llvm::json::Value(nullptr)},
      {"stages", s.stages},
      {"predicted_peak_bytes", s.predictedPeakBytes},
      {"store_all_peak_bytes", s.storeAllPeakBytes},
      {"min_budget_bytes", s.minBudgetBytes},
      {"forward_steps", s.forwardSteps},
      {"compute_flops", s.computeFlops},
      {"recompute_flops", s.recomputeFlops},
      {"store_all_flops", s.storeAllFlops},
      {"flop_overhead",
       s.storeAllFlops > 0 ? s.computeFlops / s.storeAllFlops - 1.0 : 0.0},
      // What the plan optimised: FLOPs, or predicted seconds when the costs
      // are measured.
      {"cost_model", s.costUnit == "second" ? "measured" : "flops"},
      {"overhead",
       s.storeAllCost > 0 ? s.computeCost / s.storeAllCost - 1.0 : 0.0}};
  if (s.costUnit == "second") {
    checkpoint["predicted_step_seconds"] = s.computeCost;
    checkpoint["store_all_step_seconds"] = s.storeAllCost;
    checkpoint["forward_flop_seconds"] =
        static_cast<double>(options.forwardFlopSeconds);
    checkpoint["backward_flop_seconds"] =
        static_cast<double>(options.backwardFlopSeconds);
  }
  return llvm::json::Object{
      {"checkpoint", std::move(checkpoint)},
      {"predicted_peak_bytes", s.predictedPeakBytes},
      {"forward_flops", s.forwardFlops},
      {"backward_flops", s.backwardFlops},
      {"flops", s.forwardFlops + s.backwardFlops},
      {"parameters", s.numParams},
      {"parameter_bytes", s.paramBytes},
      {"activation_bytes_saved", s.savedActivationBytes},
      {"learning_rate", static_cast<double>(options.learningRate)},
      {"arena_bytes", step ? step->workspaceBytes : 0},
      {"max_live_bytes", step ? step->maxLiveBytes : 0},
      {"entry_points", std::move(entries)}};
}

LogicalResult mlir::nnc::emitObjectFile(ModuleOp module, StringRef path) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmCtx);
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");

  std::string triple = llvm::sys::getDefaultTargetTriple(), error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return module.emitError() << "no target for " << triple << ": " << error;
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), /*Features=*/"", targetOptions,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  if (llvm::Error err =
          makeOptimizingTransformer(3, 0, tm.get())(llvmModule.get()))
    return module.emitError()
           << "LLVM optimization failed: " << llvm::toString(std::move(err));

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return module.emitError()
           << "cannot open '" << path << "': " << ec.message();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out.os(), nullptr,
                              llvm::CodeGenFileType::ObjectFile))
    return module.emitError("the target cannot emit object files");
  pm.run(*llvmModule);
  out.keep();
  return success();
}

LogicalResult mlir::nnc::linkSharedLibrary(StringRef objectPath,
                                           StringRef libPath) {
  // Prefer the clang of the LLVM we build against, then any cc.
  std::string driver;
  for (StringRef name : {"clang-19", "clang", "cc", "gcc"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      driver = *p;
      break;
    }
  if (driver.empty()) {
    llvm::errs() << "nnc: error: no C compiler driver found to link '"
                 << libPath << "'\n";
    return failure();
  }
  SmallVector<StringRef> args{driver,  "-shared",  "-o",
                              libPath, objectPath, "-lm"};
  std::string error;
  int rc =
      llvm::sys::ExecuteAndWait(driver, args, std::nullopt, {}, 0, 0, &error);
  if (rc != 0) {
    llvm::errs() << "nnc: error: linking '" << libPath << "' failed"
                 << (error.empty() ? "" : ": " + error) << "\n";
    return failure();
  }
  return success();
}
