//===- nnc-compile.cpp - ahead-of-time compiler driver --------------------===//
//
// Part of nnc.
//
// Compiles a model (a .mlir file, or an MLP given on the command line) into
// an object file or shared library plus a C header; `--report=json` prints
// what was compiled.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Runtime/CostCalibration.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <fstream>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

static cl::OptionCategory cat("nnc-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("[model.mlir]"),
                                      cl::init(""), cl::cat(cat));
static cl::opt<std::string>
    mlpWidths("mlp",
              cl::desc("MLP layer widths, e.g. 784,100,10 (used when no .mlir "
                       "is given)"),
              cl::init("784,100,10"), cl::cat(cat));
static cl::opt<std::string> activation("activation",
                                       cl::desc("relu, sigmoid or tanh"),
                                       cl::init("relu"), cl::cat(cat));
static cl::opt<std::string> loss("loss", cl::desc("cross-entropy or mse"),
                                 cl::init("cross-entropy"), cl::cat(cat));
static cl::opt<int64_t> batch("batch", cl::desc("batch size"), cl::init(128),
                              cl::cat(cat));
static cl::opt<double> dropout("dropout",
                               cl::desc("dropout rate after hidden layers"),
                               cl::init(0.0), cl::cat(cat));
static cl::opt<std::string> init("init",
                                 cl::desc("kaiming, xavier or gaussian"),
                                 cl::init("kaiming"), cl::cat(cat));
static cl::opt<uint64_t> seed("seed", cl::desc("initialization seed"),
                              cl::init(0), cl::cat(cat));
static cl::opt<std::string> name("name", cl::desc("model function name"),
                                 cl::init("mlp"), cl::cat(cat));
static cl::opt<double> learningRate(
    "learning-rate",
    cl::desc("SGD learning rate of the training step; 0 compiles a gradient "
             "function instead"),
    cl::init(0.1), cl::cat(cat));
static cl::opt<std::string> strategy(
    "strategy",
    cl::desc("checkpointing: store-all, recompute-all, sqrt, chen or dp"),
    cl::init("store-all"), cl::cat(cat));
static cl::opt<std::string>
    budget("budget",
           cl::desc("activation memory budget in bytes, KiB/MiB/GiB suffixes "
                    "allowed (chen, dp)"),
           cl::init(""), cl::cat(cat));
static cl::opt<unsigned> slots("slots", cl::desc("memory discretisation of dp"),
                               cl::init(500), cl::cat(cat));
static cl::opt<std::string> costModel(
    "cost-model",
    cl::desc("checkpoint costs: flops, or measured (compile store-all, time "
             "the forward and the step here, plan in predicted seconds)"),
    cl::init("flops"), cl::cat(cat));
static cl::opt<double> forwardFlopSeconds(
    "forward-flop-seconds",
    cl::desc("seconds per forward FLOP, e.g. from an earlier "
             "--cost-model=measured report (with --backward-flop-seconds)"),
    cl::init(0.0), cl::cat(cat));
static cl::opt<double>
    backwardFlopSeconds("backward-flop-seconds",
                        cl::desc("seconds per backward FLOP"), cl::init(0.0),
                        cl::cat(cat));
static cl::opt<std::string> memorySvg(
    "memory-svg",
    cl::desc("draw the training step's arena over time (offset x step, one "
             "box per buffer, recomputed values marked) into this SVG file"),
    cl::init(""), cl::cat(cat));
static cl::opt<std::string>
    output("o",
           cl::desc("output: .o (object), .so (shared library), .ll (LLVM IR) "
                    "or .mlir (LLVM dialect)"),
           cl::value_desc("file"), cl::init(""), cl::cat(cat));
static cl::opt<std::string> header("header",
                                   cl::desc("C header to write (default: "
                                            "the output with .h)"),
                                   cl::init(""), cl::cat(cat));
static cl::opt<std::string> weightsOut(
    "weights-out",
    cl::desc("write the initial MLP parameters as raw little-endian f32, in "
             "parameter order"),
    cl::init(""), cl::cat(cat));
static cl::opt<std::string> report("report", cl::desc("print a report: json"),
                                   cl::init(""), cl::cat(cat));

static int fail(const llvm::Twine &msg) {
  llvm::errs() << "nnc-compile: error: " << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(argc, argv, "nnc ahead-of-time compiler\n");

  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  // Diagnostics point at the source; dumping the whole op helps nobody.
  ctx.printOpOnDiagnostic(false);
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);

  if (!report.empty() && report != "json")
    return fail("unknown report format '" + report + "' (expected json)");

  OwningOpRef<ModuleOp> module;
  SmallVector<std::string> argNames;
  std::optional<MLPSpec> spec;
  if (!inputFile.empty()) {
    std::string error;
    auto file = openInputFile(inputFile, &error);
    if (!file)
      return fail(error);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
    if (!module)
      return 1; // the parser reported where
  } else {
    auto parsed = parseMLPSpec(mlpWidths, activation, loss, batch);
    if (!parsed)
      return fail(llvm::toString(parsed.takeError()));
    auto initKind = parseInit(init);
    if (!initKind)
      return fail(llvm::toString(initKind.takeError()));
    spec = *parsed;
    spec->dropout = dropout;
    spec->init = *initKind;
    spec->seed = seed;
    if (!(dropout >= 0 && dropout < 1))
      return fail("dropout must be in [0, 1)");
    module = buildMLP(ctx, *spec, name);
    argNames = {"x", spec->loss == Loss::CrossEntropy ? "labels" : "targets"};
    for (int64_t l = 1; l <= spec->numLayers(); ++l) {
      argNames.push_back("W" + std::to_string(l));
      argNames.push_back("b" + std::to_string(l));
    }
  }

  if (!weightsOut.empty()) {
    if (!spec)
      return fail("--weights-out needs an MLP spec, not a .mlir model");
    std::ofstream out(weightsOut, std::ios::binary);
    for (const auto &p : initParameters(*spec))
      out.write(reinterpret_cast<const char *>(p.data()),
                p.size() * sizeof(float));
    if (!out)
      return fail("cannot write '" + weightsOut + "'");
  }

  CPUPipelineOptions options;
  options.learningRate = static_cast<double>(learningRate);
  options.strategy = static_cast<std::string>(strategy);
  options.budget = static_cast<std::string>(budget);
  options.slots = static_cast<unsigned>(slots);
  options.memorySvg = static_cast<std::string>(memorySvg);
  options.forwardFlopSeconds = static_cast<double>(forwardFlopSeconds);
  options.backwardFlopSeconds = static_cast<double>(backwardFlopSeconds);
  std::optional<FlopTimes> calibration;
  if (costModel == "measured") {
    if (forwardFlopSeconds > 0 || backwardFlopSeconds > 0)
      return fail("--cost-model=measured measures the times per FLOP; do not "
                  "also give --forward-flop-seconds/--backward-flop-seconds");
    llvm::Expected<FlopTimes> times = measureFlopTimes(*module, options);
    if (!times)
      return fail(llvm::toString(times.takeError()));
    calibration = *times;
    options.forwardFlopSeconds = times->forwardFlopSeconds;
    options.backwardFlopSeconds = times->backwardFlopSeconds;
  } else if (costModel != "flops") {
    return fail("unknown cost model '" + costModel +
                "' (expected flops or measured)");
  }
  FailureOr<CompiledModel> compiled =
      compileForCPU(std::move(module), options, argNames);
  if (failed(compiled))
    return 1;

  if (!output.empty()) {
    StringRef ext = llvm::sys::path::extension(output);
    if (ext == ".mlir") {
      std::error_code ec;
      llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
      if (ec)
        return fail("cannot open '" + output + "': " + ec.message());
      compiled->module->print(out.os());
      out.keep();
    } else if (ext == ".ll") {
      llvm::LLVMContext llvmCtx;
      auto llvmModule = translateModuleToLLVMIR(*compiled->module, llvmCtx);
      if (!llvmModule)
        return 1;
      std::error_code ec;
      llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
      if (ec)
        return fail("cannot open '" + output + "': " + ec.message());
      llvmModule->print(out.os(), nullptr);
      out.keep();
    } else if (ext == ".o") {
      if (failed(emitObjectFile(*compiled->module, output)))
        return 1;
    } else if (ext == ".so") {
      std::string obj = output + ".o";
      if (failed(emitObjectFile(*compiled->module, obj)) ||
          failed(linkSharedLibrary(obj, output)))
        return 1;
      llvm::sys::fs::remove(obj);
    } else {
      return fail("unknown output kind '" + output +
                  "' (expected .o, .so, .ll or .mlir)");
    }
    std::string headerPath = header;
    if (headerPath.empty() && (ext == ".o" || ext == ".so")) {
      SmallString<128> h(output);
      llvm::sys::path::replace_extension(h, ".h");
      headerPath = h.str().str();
    }
    if (!headerPath.empty()) {
      std::error_code ec;
      llvm::ToolOutputFile out(headerPath, ec, llvm::sys::fs::OF_Text);
      if (ec)
        return fail("cannot open '" + headerPath + "': " + ec.message());
      std::string guard = "NNC_" + llvm::StringRef(name).upper() + "_H";
      writeCHeader(*compiled, guard, out.os());
      out.keep();
    }
  }

  if (report == "json") {
    llvm::json::Value r = reportJSON(*compiled, options);
    llvm::json::Object *o = r.getAsObject();
    if (calibration)
      (*o)["calibration"] = toJSON(*calibration);
    if (spec) {
      llvm::json::Array widths;
      for (int64_t w : spec->widths)
        widths.push_back(w);
      (*o)["mlp"] =
          llvm::json::Object{{"widths", std::move(widths)},
                             {"activation", stringify(spec->activation)},
                             {"loss", stringify(spec->loss)},
                             {"batch", spec->batch}};
    }
    llvm::outs() << llvm::formatv("{0:2}", r) << "\n";
  }
  return 0;
}
