//===- NNDistributedOps.cpp - verifiers of the data-parallel collectives --===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"

using namespace mlir;
using namespace mlir::nnc;

/// The number of elements of `types` together, or failure (reported on
/// `op`) if it does not fit an i64.
static FailureOr<int64_t> totalElements(Operation *op, TypeRange types) {
  int64_t total = 0;
  for (Type t : types)
    if (llvm::AddOverflow(total, cast<RankedTensorType>(t).getNumElements(),
                          total))
      return op->emitOpError("packs more elements than an i64 counts");
  return total;
}

/// What both ops require of a bucket: a 1-D tensor holding exactly the
/// gradients' elements, and a non-negative bucket number.
static LogicalResult verifyBucket(Operation *op, int64_t bucket,
                                  RankedTensorType bucketType,
                                  TypeRange grads) {
  if (bucket < 0)
    return op->emitOpError("bucket number must not be negative, got ")
           << bucket;
  if (grads.empty())
    return op->emitOpError("needs at least one gradient");
  FailureOr<int64_t> total = totalElements(op, grads);
  if (failed(total))
    return failure();
  if (bucketType.getRank() != 1 || bucketType.getDimSize(0) != *total)
    return op->emitOpError("bucket must be tensor<")
           << *total << "xf32> (the gradients' " << *total << " elements), got "
           << bucketType;
  return success();
}

LogicalResult AllReduceStartOp::verify() {
  return verifyBucket(*this, getBucket(), getResult().getType(),
                      getGrads().getTypes());
}

LogicalResult AllReduceWaitOp::verify() {
  if (failed(verifyBucket(*this, getBucket(), getBucketData().getType(),
                          getGrads().getTypes())))
    return failure();
  auto start = getBucketData().getDefiningOp<AllReduceStartOp>();
  if (!start)
    return success(); // a bucket from elsewhere (a block argument in a test)
  if (start.getBucket() != getBucket())
    return emitOpError("waits for bucket ")
           << getBucket() << " on the data of bucket " << start.getBucket();
  if (start.getGrads().getTypes() != getGrads().getTypes())
    return emitOpError("must unpack the gradients its start packed");
  return success();
}
