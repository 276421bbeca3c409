//===- FakeCUDA.h - a CUDA driver that records what it is asked -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The control side of FakeCUDA.cpp, a libcuda.so.1 that runs no kernel
/// but enforces what the runtime's correctness depends on (a current
/// context per thread, streams, capture) and logs every call, so tests can
/// check the CUDA runtime's use of the driver on machines without a GPU.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_UNITTESTS_RUNTIME_CUDA_FAKECUDA_H
#define NNC_UNITTESTS_RUNTIME_CUDA_FAKECUDA_H

#include <cuda.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace fakecuda {

/// One driver call, or one kernel the fake device ran ("exec").
struct Call {
  std::string api;    // the entry point as the runtime names it, or "exec"
  std::string kernel; // cuModuleGetFunction, cuLaunchKernel, exec
  CUstream stream = nullptr;
  CUcontext context = nullptr; // current on the calling thread
  std::thread::id thread;
  bool duringCapture = false;  // some stream was capturing
  uint64_t firstParam = 0;     // a launch's first argument (an address)
  /// What running it does to the fake device's memory (host memory), for
  /// the work the fake can do: the NCCL runtime's nnc_scale_f32 kernel and
  /// the fake NCCL's all-reduce. Empty for every other kernel.
  std::function<void()> work;
};

/// The calls since the last reset, in order.
std::vector<Call> log();
void reset();
/// The next `times` calls of `api` fail with `result`.
void failNext(const std::string &api, CUresult result, int times = 1);
/// The context every call must find current (device 0's primary one).
CUcontext primaryContext();
/// The context current on the calling thread.
CUcontext currentContext();
/// Work of another library (the fake NCCL) on `stream`, as a launch: logged
/// as `api`, captured as a graph node while the stream captures, else run.
CUresult enqueue(const std::string &api, CUstream stream, uint64_t firstParam,
                 std::function<void()> work);

} // namespace fakecuda

#endif // NNC_UNITTESTS_RUNTIME_CUDA_FAKECUDA_H
