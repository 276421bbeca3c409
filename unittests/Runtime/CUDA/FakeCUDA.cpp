//===- FakeCUDA.cpp - a CUDA driver that records what it is asked ---------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Built as libcuda.so.1 with the toolkit's cuda.h, so each entry point gets
// the symbol the real driver exports (cuMemAlloc_v2, cuGraphInstantiate-
// WithFlags, ...), exactly what the runtime looks up. Device memory is host
// memory; kernels do not run, but launches are logged with their stream, a
// capture turns them into graph nodes, and a graph launch logs its nodes as
// run ("exec"). Calls that need a context fail with
// CUDA_ERROR_INVALID_CONTEXT unless the primary one is current on the
// calling thread, as the driver's do.
//
//===----------------------------------------------------------------------===//

#include "FakeCUDA.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

struct CUctx_st {};
struct CUstream_st {
  unsigned flags = 0;
  bool capturing = false;
  std::vector<fakecuda::Call> captured;
};
struct CUmod_st {
  std::string ptx;
};
struct CUfunc_st {
  std::string name;
};
struct CUgraph_st {
  std::vector<fakecuda::Call> nodes;
};
struct CUgraphExec_st {
  std::vector<fakecuda::Call> nodes;
};

namespace {
std::mutex mutex;
CUctx_st primary;
thread_local CUcontext current = nullptr;
std::vector<fakecuda::Call> calls;
std::map<std::string, std::pair<CUresult, int>> failures;
std::vector<std::unique_ptr<CUstream_st>> streams;
std::vector<std::unique_ptr<CUfunc_st>> functions;
int capturingStreams = 0;

/// Logs a call; its injected failure, or INVALID_CONTEXT where `needsContext`
/// and the primary context is not current on this thread.
CUresult enter(const char *api, bool needsContext, CUstream stream = nullptr,
               const std::string &kernel = "", uint64_t firstParam = 0) {
  std::lock_guard<std::mutex> lock(mutex);
  calls.push_back({api, kernel, stream, current, std::this_thread::get_id(),
                   capturingStreams > 0, firstParam, {}});
  auto it = failures.find(api);
  if (it != failures.end() && it->second.second > 0) {
    --it->second.second;
    return it->second.first;
  }
  if (needsContext && current != &primary)
    return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

void run(const fakecuda::Call &launch) {
  fakecuda::Call ran = launch;
  ran.api = "exec";
  {
    std::lock_guard<std::mutex> lock(mutex);
    calls.push_back(ran);
  }
  if (launch.work)
    launch.work();
}
} // namespace

namespace fakecuda {
std::vector<Call> log() {
  std::lock_guard<std::mutex> lock(mutex);
  return calls;
}
void reset() {
  std::lock_guard<std::mutex> lock(mutex);
  calls.clear();
  failures.clear();
}
void failNext(const std::string &api, CUresult result, int times) {
  std::lock_guard<std::mutex> lock(mutex);
  failures[api] = {result, times};
}
CUcontext primaryContext() { return &primary; }
CUcontext currentContext() { return current; }
CUresult enqueue(const std::string &api, CUstream stream, uint64_t firstParam,
                 std::function<void()> work) {
  if (CUresult r = ::enter(api.c_str(), true, stream, "", firstParam))
    return r;
  Call node{api, "", stream, current, std::this_thread::get_id(), false,
            firstParam, std::move(work)};
  if (stream && stream->capturing)
    stream->captured.push_back(node);
  else
    run(node);
  return CUDA_SUCCESS;
}
} // namespace fakecuda

extern "C" {

CUresult cuInit(unsigned) { return enter("cuInit", false); }

CUresult cuGetErrorString(CUresult r, const char **msg) {
  *msg = r == CUDA_ERROR_INVALID_CONTEXT ? "invalid device context"
                                         : "fake error";
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return enter("cuDeviceGetCount", false);
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  *device = ordinal;
  return enter("cuDeviceGet", false);
}

CUresult cuDeviceGetName(char *name, int len, CUdevice) {
  std::strncpy(name, "Fake GPU", len);
  return enter("cuDeviceGetName", false);
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice) {
  *ctx = &primary;
  return enter("cuDevicePrimaryCtxRetain", false);
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
  CUresult r = enter("cuCtxSetCurrent", false);
  if (r == CUDA_SUCCESS)
    current = ctx;
  return r;
}

CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned,
                            CUjit_option *, void **) {
  if (CUresult r = enter("cuModuleLoadDataEx", true))
    return r;
  *module = new CUmod_st{static_cast<const char *>(image)};
  return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule module, const char *name) {
  if (CUresult r = enter("cuModuleGetFunction", true, nullptr, name))
    return r;
  if (module->ptx.find(std::string(".entry ") + name + "(") ==
      std::string::npos)
    return CUDA_ERROR_NOT_FOUND;
  std::lock_guard<std::mutex> lock(mutex);
  functions.push_back(std::make_unique<CUfunc_st>(CUfunc_st{name}));
  *f = functions.back().get();
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned, unsigned, unsigned, unsigned,
                        unsigned, unsigned, unsigned, CUstream stream,
                        void **params, void **) {
  uint64_t first = 0;
  if (params && params[0])
    std::memcpy(&first, params[0], sizeof(first));
  if (CUresult r = enter("cuLaunchKernel", true, stream, f->name, first))
    return r;
  fakecuda::Call launch{"cuLaunchKernel", f->name, stream, current,
                        std::this_thread::get_id(), false, first, {}};
  // The NCCL runtime's kernel (lib/Runtime/NCCL/Scale.ptx): buf[i] *= s.
  if (f->name == "nnc_scale_f32") {
    uint64_t n = 0;
    float s = 0;
    std::memcpy(&n, params[1], sizeof(n));
    std::memcpy(&s, params[2], sizeof(s));
    float *buf = reinterpret_cast<float *>(first);
    launch.work = [buf, n, s] {
      for (uint64_t i = 0; i < n; ++i)
        buf[i] *= s;
    };
  }
  if (stream && stream->capturing)
    stream->captured.push_back(launch);
  else
    run(launch);
  return CUDA_SUCCESS;
}

CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) {
  if (CUresult r = enter("cuMemAlloc", true))
    return r;
  *p = reinterpret_cast<CUdeviceptr>(std::aligned_alloc(256, (bytes + 255) / 256 * 256));
  return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr p) {
  if (CUresult r = enter("cuMemFree", true))
    return r;
  std::free(reinterpret_cast<void *>(p));
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n,
                           CUstream s) {
  if (CUresult r = enter("cuMemcpyHtoDAsync", true, s))
    return r;
  std::memcpy(reinterpret_cast<void *>(d), h, n);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n, CUstream s) {
  if (CUresult r = enter("cuMemcpyDtoHAsync", true, s))
    return r;
  std::memcpy(h, reinterpret_cast<const void *>(d), n);
  return CUDA_SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n,
                         CUstream s) {
  if (CUresult r = enter("cuMemsetD8Async", true, s))
    return r;
  std::memset(reinterpret_cast<void *>(d), v, n);
  return CUDA_SUCCESS;
}

CUresult cuMemGetInfo(size_t *free, size_t *total) {
  *free = size_t(1) << 30;
  *total = size_t(2) << 30;
  return enter("cuMemGetInfo", true);
}

CUresult cuStreamCreate(CUstream *s, unsigned flags) {
  if (CUresult r = enter("cuStreamCreate", true))
    return r;
  std::lock_guard<std::mutex> lock(mutex);
  streams.push_back(std::make_unique<CUstream_st>());
  streams.back()->flags = flags;
  *s = streams.back().get();
  return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream s) {
  return enter("cuStreamSynchronize", true, s);
}

CUresult cuStreamBeginCapture(CUstream s, CUstreamCaptureMode) {
  if (CUresult r = enter("cuStreamBeginCapture", true, s))
    return r;
  std::lock_guard<std::mutex> lock(mutex);
  s->capturing = true;
  s->captured.clear();
  ++capturingStreams;
  return CUDA_SUCCESS;
}

CUresult cuStreamEndCapture(CUstream s, CUgraph *graph) {
  CUresult r = enter("cuStreamEndCapture", true, s);
  std::lock_guard<std::mutex> lock(mutex);
  // Capture ends either way, as the driver's does.
  if (s->capturing)
    --capturingStreams;
  s->capturing = false;
  *graph = r == CUDA_SUCCESS ? new CUgraph_st{std::move(s->captured)} : nullptr;
  return r;
}

CUresult cuGraphInstantiate(CUgraphExec *exec, CUgraph graph,
                            unsigned long long) {
  if (CUresult r = enter("cuGraphInstantiate", true))
    return r;
  *exec = new CUgraphExec_st{graph->nodes};
  return CUDA_SUCCESS;
}

CUresult cuGraphLaunch(CUgraphExec exec, CUstream s) {
  if (CUresult r = enter("cuGraphLaunch", true, s))
    return r;
  for (fakecuda::Call node : exec->nodes) {
    node.stream = s;
    run(node);
  }
  return CUDA_SUCCESS;
}

CUresult cuGraphDestroy(CUgraph graph) {
  delete graph;
  return enter("cuGraphDestroy", false);
}

CUresult cuGraphExecDestroy(CUgraphExec exec) {
  delete exec;
  return enter("cuGraphExecDestroy", false);
}

} // extern "C"
