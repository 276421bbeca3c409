//===- StreamOps.h - other runtimes' work on the CUDA runtime's stream ----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// What a run-time library linked beside the CUDA runtime (the NCCL
// collectives of lib/Runtime/NCCL) needs to put its work on the runtime's
// one stream: inside a step that is being captured the work joins the CUDA
// graph with the step's kernels, and when the capture fails it runs again,
// in order, with the recorded launches. Hidden: these bind within the
// library (a model's .so) that links both runtimes, like the rest of it.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_RUNTIME_CUDA_STREAMOPS_H
#define NNC_LIB_RUNTIME_CUDA_STREAMOPS_H

#include <cuda.h>

#include <functional>
#include <string>

namespace nnc::cuda_runtime {

#define NNC_CUDA_RUNTIME_INTERNAL __attribute__((visibility("hidden")))

/// Work enqueued on a stream: "" on success, else what failed.
using StreamOp = std::function<std::string(CUstream stream)>;

/// Runs `op` on the runtime's stream, with its context current. Inside a
/// step's capture it is captured between the launches around it (and kept
/// to run again if the capture fails); outside one, a failure sets the
/// runtime's error. False if it was not run (an error is set: errors are
/// sticky) or failed outside a capture.
NNC_CUDA_RUNTIME_INTERNAL bool enqueue(const StreamOp &op);

/// Sets the runtime's error (nnc_cuda_error) unless one is set already.
NNC_CUDA_RUNTIME_INTERNAL void fail(const std::string &message);
/// Whether an error is set.
NNC_CUDA_RUNTIME_INTERNAL bool failed();

/// The driver, the device and its context, current on this thread; false
/// with the error set where there is none.
NNC_CUDA_RUNTIME_INTERNAL bool enter();

/// Loads a PTX module and resolves its kernels now, so that launching them
/// inside a capture loads nothing.
NNC_CUDA_RUNTIME_INTERNAL bool preload(const char *ptx);

} // namespace nnc::cuda_runtime

#endif // NNC_LIB_RUNTIME_CUDA_STREAMOPS_H
