//===- Classifier.cpp - a compiled classifier's data inputs ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Classifier.h"

#include "llvm/ADT/ArrayRef.h"

using namespace mlir::nnc;

std::optional<ClassifierInputs>
mlir::nnc::findClassifierInputs(const EntryPoint &entry) {
  std::vector<const BufferInfo *> data;
  for (const BufferInfo &b : entry.inputs)
    if (!b.isParam && !b.isState && !b.isRunningStat && b.name != "lr" &&
        b.name != "step")
      data.push_back(&b);
  if (data.size() != 2 || data[0]->shape.size() < 2 ||
      data[0]->cType != "float" || data[1]->shape.size() != 1 ||
      (data[1]->cType != "int32_t" && data[1]->cType != "int64_t") ||
      data[1]->shape[0] != data[0]->shape[0])
    return std::nullopt;
  ClassifierInputs in;
  in.x = data[0];
  in.labels = data[1];
  in.batch = data[0]->shape[0];
  in.features = 1;
  for (int64_t d : llvm::ArrayRef<int64_t>(data[0]->shape).drop_front())
    in.features *= d;
  in.labelsAreI64 = data[1]->cType == "int64_t";
  return in;
}
