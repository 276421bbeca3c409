//===- FakeNCCL.cpp - an NCCL that reduces over identical ranks -----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Built as libnccl.so.2 with the toolkit's nccl.h, beside the fake CUDA
// driver (unittests/Runtime/CUDA/FakeCUDA.cpp), so the NCCL runtime can be
// tested without GPUs or other ranks. A communicator of N ranks behaves as
// if every rank held the same data: an all-reduce (sum) multiplies by N.
// It goes on the fake driver's stream as a launch does: logged as
// "ncclAllReduce", a graph node while the stream captures. Communicators
// need the fake's primary context current, as NCCL needs a device.
//
//===----------------------------------------------------------------------===//

#include "../CUDA/FakeCUDA.h"

#include <nccl.h>

#include <cstring>

struct ncclComm {
  int nranks, rank;
};

extern "C" {

ncclResult_t ncclGetVersion(int *version) {
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char *ncclGetErrorString(ncclResult_t) { return "fake NCCL error"; }

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  std::memset(id->internal, 0x5a, sizeof(id->internal));
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id,
                              int rank) {
  if (fakecuda::currentContext() != fakecuda::primaryContext() ||
      id.internal[0] != 0x5a)
    return ncclInvalidUsage;
  *comm = new ncclComm{nranks, rank};
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count,
                           ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (type != ncclFloat || op != ncclSum)
    return ncclInvalidArgument;
  const float *in = static_cast<const float *>(send);
  float *out = static_cast<float *>(recv);
  float ranks = static_cast<float>(comm->nranks);
  CUresult r = fakecuda::enqueue(
      "ncclAllReduce", stream, reinterpret_cast<uint64_t>(recv),
      [in, out, count, ranks] {
        for (size_t i = 0; i < count; ++i)
          out[i] = in[i] * ranks;
      });
  return r == CUDA_SUCCESS ? ncclSuccess : ncclUnhandledCudaError;
}

} // extern "C"
