//===- nnc-compile.cpp - ahead-of-time compiler driver --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Compiles a model (a .mlir file, or an MLP given on the command line) into
// an object file or shared library plus a C header; `--report=json` prints
// what was compiled. A thin main: the options, the model loader, the
// compiler and the writers are library functions (nnc/Pipeline).
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/CostCalibration.h"
#include "nnc/Pipeline/CHeader.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Pipeline/Emit.h"
#include "nnc/Pipeline/Report.h"
#include "nnc/Pipeline/ToolOptions.h"
#include "nnc/Frontend/ModelLoader.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "nnc-compile") << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::OptionCategory cat("nnc-compile options");
  ModelCLOptions modelOptions(cat);
  // Step (SGD at 0.1 unless told otherwise), checkpointing, calibration
  // and both targets' code generation: nnc/Pipeline/Options.h.
  CompileOptions defaults;
  defaults.step.learningRate = 0.1;
  CompileCLOptions compileOptions(cat, StepMode::Compile,
                                  ToolConcerns::Codegen, defaults);
  ::nnc::VocabularyOpt<Target> target("target", cl::desc("What to compile for"),
                                      cl::init(Target::CPU), cl::cat(cat));
  cl::opt<std::string> ptxOut(
      "ptx",
      cl::desc("Where --target=nvptx writes its PTX (default: the output "
               "with .ptx; a .cubin is written beside it when ptxas is "
               "found)"),
      cl::init(""), cl::cat(cat));
  cl::opt<std::string> output(
      "o",
      cl::desc("Output file: .o (object), .so (shared library), .ll (LLVM "
               "IR) or .mlir (LLVM dialect), unless --emit says otherwise"),
      cl::value_desc("file"), cl::init(""), cl::cat(cat));
  cl::opt<OutputKind> emit(
      "emit", cl::desc("What to write to -o (default: from its extension)"),
      cl::values(
          clEnumValN(OutputKind::Object, "obj", "an object file"),
          clEnumValN(OutputKind::SharedLibrary, "shared", "a shared library"),
          clEnumValN(OutputKind::LLVMIR, "llvm", "LLVM IR text"),
          clEnumValN(OutputKind::MLIR, "mlir", "the LLVM dialect")),
      cl::cat(cat));
  cl::opt<std::string> header(
      "header",
      cl::desc("C header to write (default: the .o/.so output with .h)"),
      cl::init(""), cl::cat(cat));
  cl::opt<std::string> weightsIn(
      "weights-in",
      cl::desc("Initial parameter values by name from this nnc weights file "
               "(checked against the model); --weights-out then writes "
               "them"),
      cl::value_desc("file"), cl::init(""), cl::cat(cat));
  cl::opt<std::string> weightsOut(
      "weights-out",
      cl::desc("Write the initial parameters by name as an nnc weights file: "
               "an ONNX model's initializers, an MLP's initialization, or "
               "--weights-in's"),
      cl::value_desc("file"), cl::init(""), cl::cat(cat));
  ::nnc::VocabularyOpt<::nnc::ReportFormat> report(
      "report", cl::desc("Print a report"), cl::init(::nnc::ReportFormat::None),
      cl::cat(cat));
  registerCompilerCLOptions();
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(argc, argv, "nnc ahead-of-time compiler\n");

  llvm::Expected<ModelSource> source = modelOptions.getSource();
  if (!source)
    return fail(llvm::toString(source.takeError()));
  llvm::Expected<CompileOptions> options = compileOptions.get();
  if (!options)
    return fail(llvm::toString(options.takeError()));
  const CalibrationOptions &calibrationOptions =
      compileOptions.getCalibration();
  if (target == Target::NVPTX &&
      calibrationOptions.costModel == CostModel::Measured)
    return fail("--cost-model=measured times the CPU code; give the GPU's "
                "--forward-flop-seconds/--backward-flop-seconds instead");

  std::optional<OutputKind> kind;
  if (emit.getNumOccurrences())
    kind = emit;
  if (!output.empty() && !kind && !(kind = outputKindFromPath(output)))
    return fail("unknown output kind '" + output +
                "' (expected .o, .so, .ll or .mlir, or give --emit)");
  std::string headerPath = header;
  if (headerPath.empty() && kind &&
      (*kind == OutputKind::Object || *kind == OutputKind::SharedLibrary)) {
    SmallString<128> h(output);
    llvm::sys::path::replace_extension(h, ".h");
    headerPath = h.str().str();
  }
  if (!headerPath.empty() && headerPath == output)
    return fail("--header and -o name the same file '" + output + "'");

  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  // Diagnostics point at the source; dumping the whole op helps nobody.
  ctx.printOpOnDiagnostic(false);
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);

  // Initial weights only when they are written out (an MLP's are drawn
  // here; they can be large).
  WeightSet initial;
  auto module =
      loadModel(ctx, sourceMgr, *source,
                weightsOut.empty() || !weightsIn.empty() ? nullptr : &initial);
  if (!module)
    return ::nnc::reportToolError("nnc-compile", module.takeError());
  if (!weightsIn.empty()) {
    auto loaded = loadWeights(weightsIn);
    if (!loaded)
      return fail(llvm::toString(loaded.takeError()));
    initial = std::move(*loaded);
  } else if (!weightsOut.empty() && initial.tensors.empty()) {
    return fail("--weights-out: '" + source->inputFile +
                "' holds no parameter values; give them with --weights-in");
  }

  llvm::Expected<std::optional<FlopTimes>> calibration =
      applyCostModel(**module, calibrationOptions.costModel, *options,
                     calibrationOptions.threads);
  if (!calibration)
    return fail(llvm::toString(calibration.takeError()));
  FailureOr<CompiledModel> compiled =
      target == Target::NVPTX ? compileForGPU(std::move(*module), *options)
                              : compileForCPU(std::move(*module), *options);
  if (failed(compiled))
    return 1;

  // The header is rendered before anything is written: a name it cannot
  // hold fails the run with no file left behind.
  std::string headerText;
  if (!headerPath.empty()) {
    llvm::raw_string_ostream os(headerText);
    if (llvm::Error err = writeCHeader(*compiled, os))
      return fail(llvm::toString(std::move(err)));
  }
  if (!weightsIn.empty() || !weightsOut.empty()) {
    // By name and shape, in the model's parameter order.
    auto matched = matchWeights(initial, compiled->parameters());
    if (!matched)
      return fail((weightsIn.empty() ? "" : "'" + weightsIn + "': ") +
                  llvm::toString(matched.takeError()));
    WeightSet ordered;
    for (const NamedTensor *t : *matched)
      ordered.tensors.push_back(*t);
    if (!weightsOut.empty())
      if (llvm::Error err = saveWeights(weightsOut, ordered))
        return fail(llvm::toString(std::move(err)));
  }
  if (kind && failed(emitCompiledModel(*compiled, output, *kind)))
    return 1;
  if (target == Target::NVPTX && (!output.empty() || !ptxOut.empty())) {
    SmallString<128> ptxPath(ptxOut.empty() ? output : ptxOut);
    if (ptxOut.empty())
      llvm::sys::path::replace_extension(ptxPath, ".ptx");
    SmallString<128> cubin(ptxPath);
    llvm::sys::path::replace_extension(cubin, ".cubin");
    if (auto wrote = emitPTX(*compiled, ptxPath, *options, cubin); !wrote)
      return fail(llvm::toString(wrote.takeError()));
  }
  if (!headerPath.empty()) {
    std::error_code ec;
    llvm::ToolOutputFile out(headerPath, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot open '" + headerPath + "': " + ec.message());
    out.os() << headerText;
    out.keep();
  }

  if (report == ::nnc::ReportFormat::JSON) {
    llvm::json::Value r = reportJSON(*compiled, *options);
    llvm::json::Object *o = r.getAsObject();
    if (*calibration)
      (*o)["calibration"] = toJSON(**calibration);
    if (source->isMLP()) {
      const MLPSpec &spec = source->mlp;
      (*o)["mlp"] =
          llvm::json::Object{{"widths", llvm::json::Array(spec.widths)},
                             {"activation",
                              ::nnc::activations.name(spec.activation)},
                             {"loss", ::nnc::losses.name(spec.loss)},
                             {"batch", spec.batch}};
    }
    llvm::outs() << llvm::formatv("{0:2}", r) << "\n";
  }
  return 0;
}
