//===- Emit.cpp - write a compiled model out ------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Emit.h"

#include "nnc/Codegen/CPU/TargetMachine.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::nnc;

LogicalResult mlir::nnc::emitObjectFile(ModuleOp module, StringRef path) {
  auto tmOr = createHostTargetMachine();
  if (!tmOr)
    return module.emitError() << "no target machine for this host: "
                              << llvm::toString(tmOr.takeError());
  std::unique_ptr<llvm::TargetMachine> tm = std::move(*tmOr);
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmCtx);
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(tm->getTargetTriple().str());
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

llvm::Error mlir::nnc::linkSharedLibrary(StringRef objectPath,
                                         StringRef libPath,
                                         ArrayRef<std::string> libraries) {
  // Prefer the clang of the LLVM we build against, then any cc.
  std::string driver;
  for (StringRef name : {"clang-19", "clang", "cc", "gcc"})
    if (auto p = llvm::sys::findProgramByName(name)) {
      driver = *p;
      break;
    }
  if (driver.empty())
    return llvm::createStringError("no C compiler driver found to link '%s'",
                                   libPath.str().c_str());
  SmallVector<StringRef> args{driver, "-shared", "-o", libPath, objectPath};
  for (const std::string &lib : libraries)
    args.push_back(lib);
  args.push_back("-lm");
  std::string error;
  int rc =
      llvm::sys::ExecuteAndWait(driver, args, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return llvm::createStringError("linking '%s' failed%s",
                                   libPath.str().c_str(),
                                   error.empty() ? "" : (": " + error).c_str());
  return llvm::Error::success();
}

std::optional<OutputKind> mlir::nnc::outputKindFromPath(StringRef path) {
  return llvm::StringSwitch<std::optional<OutputKind>>(
             llvm::sys::path::extension(path))
      .Case(".o", OutputKind::Object)
      .Case(".so", OutputKind::SharedLibrary)
      .Case(".ll", OutputKind::LLVMIR)
      .Case(".mlir", OutputKind::MLIR)
      .Default(std::nullopt);
}

LogicalResult mlir::nnc::emitCompiledModel(const CompiledModel &model,
                                           StringRef path, OutputKind kind) {
  ModuleOp module = *model.module;
  auto open = [&](std::unique_ptr<llvm::ToolOutputFile> &out) -> LogicalResult {
    std::error_code ec;
    out = std::make_unique<llvm::ToolOutputFile>(path, ec,
                                                 llvm::sys::fs::OF_Text);
    if (ec)
      return module.emitError()
             << "cannot open '" << path << "': " << ec.message();
    return success();
  };
  std::unique_ptr<llvm::ToolOutputFile> out;
  switch (kind) {
  case OutputKind::MLIR:
    if (failed(open(out)))
      return failure();
    module.print(out->os());
    out->keep();
    return success();
  case OutputKind::LLVMIR: {
    llvm::LLVMContext llvmCtx;
    auto llvmModule = translateModuleToLLVMIR(module, llvmCtx);
    if (!llvmModule)
      return module.emitError("translation to LLVM IR failed");
    if (failed(open(out)))
      return failure();
    llvmModule->print(out->os(), nullptr);
    out->keep();
    return success();
  }
  case OutputKind::Object:
    return emitObjectFile(module, path);
  case OutputKind::SharedLibrary: {
    std::string obj = (path + ".o").str();
    if (failed(emitObjectFile(module, obj)))
      return failure();
    llvm::Error linked = linkSharedLibrary(obj, path, model.linkLibraries);
    llvm::sys::fs::remove(obj);
    if (linked)
      return module.emitError() << llvm::toString(std::move(linked));
    return success();
  }
  }
  llvm_unreachable("unknown output kind");
}

llvm::Expected<bool> mlir::nnc::emitPTX(const CompiledModel &model,
                                        StringRef path,
                                        const CompileOptions &options,
                                        StringRef cubinPath) {
  if (model.target != Target::NVPTX || model.ptx.empty())
    return llvm::createStringError("the model was not compiled for NVPTX");
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError("cannot open '%s': %s", path.str().c_str(),
                                   ec.message().c_str());
  out.os() << model.ptx;
  out.os().flush();
  out.keep();
  if (cubinPath.empty())
    return false;
  // The toolkit --cuda-path names (else $CUDA_PATH, /usr/local/cuda) first:
  // its ptxas matches the libdevice the kernels linked; then PATH.
  SmallString<128> toolkitBin(options.gpu.getToolkitPath());
  llvm::sys::path::append(toolkitBin, "bin");
  auto ptxas = llvm::sys::findProgramByName("ptxas", {toolkitBin});
  if (!ptxas)
    ptxas = llvm::sys::findProgramByName("ptxas");
  if (!ptxas)
    return false;
  std::string archFlag = ("-arch=" + options.gpu.getChipName()).str();
  SmallVector<StringRef> args{*ptxas, archFlag, path, "-o", cubinPath};
  std::string error;
  SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("nnc-ptxas", "log", log);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0,
                                     0, &error);
  auto text = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (rc != 0)
    return llvm::createStringError(
        "ptxas rejected the PTX of '%s': %s", path.str().c_str(),
        text ? (*text)->getBuffer().str().c_str() : error.c_str());
  return true;
}
