//===- Compiler.cpp - compile a model for the CPU -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Compiler.h"

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::nnc;

const EntryPoint *CompiledModel::find(EntryRole role) const {
  for (const EntryPoint &e : entries)
    if (e.role == role)
      return &e;
  return nullptr;
}

const EntryPoint *CompiledModel::step() const {
  const EntryPoint *e = find(EntryRole::TrainStep);
  return e ? e : find(EntryRole::Grad);
}

static BufferInfo bufferInfo(Type type, std::string name, bool isParam,
                             bool isState = false) {
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
    e.inputs.push_back(bufferInfo(arg.getType(), name, isParam, isState));
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

FailureOr<::nnc::planner::Chain>
mlir::nnc::buildChainForModel(ModuleOp module,
                              const CPUPipelineOptions &options) {
  PassManager pm(module->getContext());
  pm.addPass(createVerifyModel());
  pm.addPass(createAutodiff(getAutodiffOptions(options)));
  if (failed(pm.run(module)))
    return failure();
  for (auto fn : module.getOps<func::FuncOp>()) {
    if (!fn->hasAttr(NNDialect::getGradOfAttrName()))
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
  return stats;
}

FailureOr<CompiledModel>
mlir::nnc::compileForCPU(OwningOpRef<ModuleOp> module,
                         const CPUPipelineOptions &options) {
  MLIRContext *ctx = module->getContext();
  PassManager graph(ctx);
  buildNNGraphPipeline(graph, options);
  if (failed(graph.run(*module)))
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

  PassManager bufferize(ctx);
  buildNNBufferizePipeline(bufferize, options);
  if (failed(bufferize.run(*module)))
    return failure();
  for (EntryPoint &e : result.entries) {
    auto fn = module->lookupSymbol<func::FuncOp>(e.name);
    if (auto bytes =
            fn->getAttrOfType<IntegerAttr>(NNDialect::getArenaBytesAttrName()))
      e.workspaceBytes = bytes.getInt();
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(
            NNDialect::getMaxLiveBytesAttrName()))
      e.maxLiveBytes = bytes.getInt();
  }

  PassManager lower(ctx);
  buildLowerToLLVMPipeline(lower);
  if (failed(lower.run(*module)))
    return failure();
  result.module = std::move(module);
  return result;
}
