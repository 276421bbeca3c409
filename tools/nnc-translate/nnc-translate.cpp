//===- nnc-translate.cpp - nnc's format translations ----------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// mlir-translate with nnc's importers: `nnc-translate --import-onnx
// model.onnx -o model.mlir`.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ONNX.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::nnc::registerFromONNXTranslation();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "nnc translation driver\n"));
}
