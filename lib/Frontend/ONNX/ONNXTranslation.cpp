//===- ONNXTranslation.cpp - --import-onnx for nnc-translate --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ONNX.h"

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

void mlir::nnc::registerFromONNXTranslation() {
  // The translation's options; constructed on first registration only.
  static cl::opt<std::string> loss(
      "onnx-loss",
      cl::desc("--import-onnx: append this loss (mse or cross-entropy) to an "
               "inference graph"),
      cl::init(""));
  static cl::opt<int64_t> batch(
      "onnx-batch",
      cl::desc("--import-onnx: the size of symbolic (dynamic) dimensions"),
      cl::init(0));
  static cl::opt<std::string> name(
      "onnx-name",
      cl::desc("--import-onnx: the model function's name (default: the "
               "file's stem)"),
      cl::init(""));
  static cl::opt<bool> noPredict(
      "onnx-no-predict",
      cl::desc("--import-onnx: do not emit the <name>_predict function"),
      cl::init(false));

  TranslateToMLIRRegistration(
      "import-onnx", "Import an ONNX model into the nn dialect",
      [](const std::shared_ptr<llvm::SourceMgr> &sourceMgr,
         MLIRContext *ctx) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr->getMemoryBuffer(sourceMgr->getMainFileID());
        ONNXImportOptions options;
        options.name = name;
        options.predict = !noPredict;
        if (batch > 0)
          options.batch = static_cast<int64_t>(batch);
        if (!loss.empty()) {
          auto parsed = ::nnc::losses.parse(loss);
          if (!parsed) {
            emitError(UnknownLoc::get(ctx))
                << "--onnx-loss: " << llvm::toString(parsed.takeError());
            return nullptr;
          }
          options.loss = *parsed;
        }
        FailureOr<ImportedModel> model = importONNXBuffer(
            *ctx, buffer->getBuffer(), buffer->getBufferIdentifier(), options);
        if (failed(model))
          return nullptr;
        return OwningOpRef<Operation *>(model->module.release());
      },
      [](DialectRegistry &registry) {
        registry.insert<NNDialect, func::FuncDialect>();
      });
}
