//===- nnc-opt.cpp - nnc's optimizer driver -------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/ToolUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "nnc/Support/Limits.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

/// Whether MLIR's parser, on some chunk of `input`, reports an error and
/// still returns its operations. MLIR 19 does that where a dialect type's
/// or attribute's sub-parse hits a lexer error the lexer has already
/// reported and then skips (`!llvm.ptr@`: the `@` vanishes), and
/// MlirOptMain would then go on and exit 0. Each chunk is parsed here
/// first, silently and without verification (MlirOptMain's verifier
/// reports its own errors); the driver then prints the error itself.
static bool parserSwallowedAnError(const llvm::MemoryBuffer &input,
                                   const mlir::DialectRegistry &registry,
                                   const mlir::MlirOptMainConfig &config) {
  bool swallowed = false;
  auto check = [&](std::unique_ptr<llvm::MemoryBuffer> chunk,
                   llvm::raw_ostream &) {
    if (swallowed)
      return mlir::success();
    mlir::MLIRContext context(registry,
                              mlir::MLIRContext::Threading::DISABLED);
    context.allowUnregisteredDialects(config.shouldAllowUnregisteredDialects());
    bool reported = false;
    mlir::ScopedDiagnosticHandler quiet(&context, [&](mlir::Diagnostic &d) {
      reported |= d.getSeverity() == mlir::DiagnosticSeverity::Error;
      return mlir::success();
    });
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(chunk), llvm::SMLoc());
    mlir::Block block;
    swallowed = mlir::succeeded(mlir::parseSourceFile(
                    sourceMgr, &block,
                    mlir::ParserConfig(&context, /*verifyAfterParse=*/false))) &&
                reported;
    return mlir::success();
  };
  (void)mlir::splitAndProcessBuffer(
      llvm::MemoryBuffer::getMemBuffer(input.getBuffer(),
                                       input.getBufferIdentifier()),
      check, llvm::nulls(), config.inputSplitMarker());
  return swallowed;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAllPasses();
  mlir::nnc::registerNNCPasses();
  mlir::DialectRegistry registry;
  mlir::nnc::registerNNCDialects(registry);
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "nnc optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) // MLIR's own driver lists them
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputFile, outputFile, registry));
  // The input is read here first, so that text nested deeper than MLIR's
  // recursive parser can take is a located error, not a stack overflow.
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << error << "\n";
    return 1;
  }
  llvm::StringRef text = input->getBuffer();
  if (std::optional<size_t> at = ::nnc::limits::findExcessiveNesting(
          text, ::nnc::limits::kMaxMLIRNesting)) {
    llvm::SourceMgr sourceMgr;
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
    sourceMgr.PrintMessage(
        llvm::SMLoc::getFromPointer(sourceMgr.getMemoryBuffer(id)
                                        ->getBufferStart() +
                                    *at),
        llvm::SourceMgr::DK_Error,
        "brackets nest deeper than " +
            llvm::Twine(::nnc::limits::kMaxMLIRNesting) +
            " levels, over nnc's limit (the parser would overflow its "
            "stack)");
    return 1;
  }
  if (std::optional<size_t> at =
          ::nnc::limits::findNonStringIteratorType(text)) {
    llvm::SourceMgr sourceMgr;
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
    sourceMgr.PrintMessage(
        llvm::SMLoc::getFromPointer(
            sourceMgr.getMemoryBuffer(id)->getBufferStart() + *at),
        llvm::SourceMgr::DK_Error,
        "linalg.generic's iterator_types must be strings (\"parallel\" or "
        "\"reduction\"): MLIR's parser would read this one as a string");
    return 1;
  }
  bool swallowed = !config.shouldVerifyDiagnostics() &&
                   parserSwallowedAnError(*input, registry, config);
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFile, &error);
  if (!output) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry,
                                     config)) ||
      swallowed)
    return 1;
  output->keep();
  return 0;
}
