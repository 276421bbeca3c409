//===- CUDARuntime.cpp - what GPU code compiled by nnc calls --------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The CUDA driver API through dlopen: the toolkit's cuda.h gives the types,
// libcuda.so.1 is looked up at run time, so nothing links the driver and a
// machine without one gets an error message, not a loader failure. CUDA 13
// renames entry points by macro (cuMemAlloc -> cuMemAlloc_v2, cuCtxCreate
// -> cuCtxCreate_v4 with new parameters); each symbol is looked up by its
// expanded name, and the primary context avoids cuCtxCreate altogether.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CUDA/CUDARuntime.h"

#include <cuda.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

#define NNC_STR(x) #x
#define NNC_XSTR(x) NNC_STR(x)
// The driver entry points the runtime uses, each a member `p_<name>`.
#define NNC_CUDA_FUNCTIONS(X)                                                  \
  X(cuInit)                                                                    \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleGetFunction)                                                       \
  X(cuLaunchKernel)                                                            \
  X(cuMemAlloc)                                                                \
  X(cuMemFree)                                                                 \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyDtoH)                                                              \
  X(cuMemsetD8)                                                                \
  X(cuMemGetInfo)                                                              \
  X(cuStreamCreate)                                                            \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiate)                                                        \
  X(cuGraphLaunch)                                                             \
  X(cuGraphDestroy)                                                            \
  X(cuGraphExecDestroy)

struct Module {
  CUmodule module = nullptr;
  std::vector<CUfunction> functions;
};

struct Graph {
  std::vector<uint64_t> args;
  CUgraphExec exec = nullptr;
};

struct Runtime {
#define NNC_MEMBER(fn) decltype(&fn) p_##fn = nullptr;
  NNC_CUDA_FUNCTIONS(NNC_MEMBER)
#undef NNC_MEMBER
  void *library = nullptr;
  bool initialized = false, usable = false;
  std::string error;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  char deviceName[256] = "";
  bool graphs = true;
  bool capturing = false;
  int32_t capturedFn = -1;
  std::vector<uint64_t> capturedArgs;
  std::unordered_map<const char *, Module> modules;
  std::unordered_map<int64_t, Graph> graphsByFn; // (module id, fn) -> graph
  uint64_t launches = 0, graphLaunches = 0;

  void fail(const std::string &what) {
    if (error.empty())
      error = what;
  }
  bool check(CUresult r, const char *what) {
    if (r == CUDA_SUCCESS)
      return true;
    const char *msg = nullptr;
    if (p_cuGetErrorString)
      p_cuGetErrorString(r, &msg);
    fail(std::string(what) + " failed: " + (msg ? msg : "unknown error") +
         " (CUresult " + std::to_string(int(r)) + ")");
    return false;
  }

  /// Loads the driver and sets up device 0 once; false (with error set)
  /// where that is impossible.
  bool init() {
    if (initialized)
      return usable;
    initialized = true;
    library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char *why = dlerror();
      fail(std::string("no CUDA driver: ") + (why ? why : "libcuda.so.1"));
      return false;
    }
#define NNC_LOAD(fn)                                                           \
  p_##fn = reinterpret_cast<decltype(p_##fn)>(                                 \
      dlsym(library, NNC_XSTR(fn)));                                           \
  if (!p_##fn) {                                                               \
    fail("the CUDA driver lacks " NNC_XSTR(fn));                               \
    return false;                                                              \
  }
    NNC_CUDA_FUNCTIONS(NNC_LOAD)
#undef NNC_LOAD
    int count = 0;
    if (!check(p_cuInit(0), "cuInit") ||
        !check(p_cuDeviceGetCount(&count), "cuDeviceGetCount"))
      return false;
    if (count == 0) {
      fail("no CUDA device");
      return false;
    }
    if (!check(p_cuDeviceGet(&device, 0), "cuDeviceGet") ||
        !check(p_cuDevicePrimaryCtxRetain(&context, device),
               "cuDevicePrimaryCtxRetain") ||
        !check(p_cuCtxSetCurrent(context), "cuCtxSetCurrent") ||
        !check(p_cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
               "cuStreamCreate"))
      return false;
    p_cuDeviceGetName(deviceName, sizeof(deviceName), device);
    usable = true;
    return true;
  }

  Module *load(const char *ptx) {
    auto it = modules.find(ptx);
    if (it != modules.end())
      return &it->second;
    Module m;
    char log[8192] = "";
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, reinterpret_cast<void *>(sizeof(log))};
    if (!check(p_cuModuleLoadDataEx(&m.module, ptx, 2, options, values),
               "cuModuleLoadDataEx")) {
      if (log[0])
        error += std::string(": ") + log;
      return nullptr;
    }
    return &(modules[ptx] = std::move(m));
  }
};

Runtime &rt() {
  static Runtime runtime;
  return runtime;
}

} // namespace

int nnc_cuda_available(void) { return rt().init() ? 1 : 0; }

const char *nnc_cuda_error(void) {
  return rt().error.empty() ? nullptr : rt().error.c_str();
}

void nnc_cuda_clear_error(void) { rt().error.clear(); }

void *nnc_cuda_malloc(size_t bytes) {
  Runtime &r = rt();
  CUdeviceptr p = 0;
  if (!r.init() ||
      !r.check(r.p_cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc"))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

void nnc_cuda_free(void *device) {
  Runtime &r = rt();
  if (device && r.init())
    r.check(r.p_cuMemFree(reinterpret_cast<CUdeviceptr>(device)), "cuMemFree");
}

int nnc_cuda_memcpy_to_device(void *device, const void *host, size_t bytes) {
  Runtime &r = rt();
  return r.init() &&
                 r.check(r.p_cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(device),
                                          host, bytes),
                         "cuMemcpyHtoD")
             ? 0
             : -1;
}

int nnc_cuda_memcpy_to_host(void *host, const void *device, size_t bytes) {
  Runtime &r = rt();
  if (!r.init() || !r.check(r.p_cuStreamSynchronize(r.stream),
                            "cuStreamSynchronize"))
    return -1;
  return r.check(r.p_cuMemcpyDtoH(host, reinterpret_cast<CUdeviceptr>(device),
                                  bytes),
                 "cuMemcpyDtoH")
             ? 0
             : -1;
}

int nnc_cuda_memset(void *device, int value, size_t bytes) {
  Runtime &r = rt();
  return r.init() &&
                 r.check(r.p_cuMemsetD8(reinterpret_cast<CUdeviceptr>(device),
                                        static_cast<unsigned char>(value),
                                        bytes),
                         "cuMemsetD8")
             ? 0
             : -1;
}

int nnc_cuda_synchronize(void) {
  Runtime &r = rt();
  if (!r.init() ||
      !r.check(r.p_cuStreamSynchronize(r.stream), "cuStreamSynchronize"))
    return -1;
  return r.error.empty() ? 0 : -1;
}

int nnc_cuda_mem_info(size_t *free_bytes, size_t *total_bytes) {
  Runtime &r = rt();
  return r.init() && r.check(r.p_cuMemGetInfo(free_bytes, total_bytes),
                             "cuMemGetInfo")
             ? 0
             : -1;
}

const char *nnc_cuda_device_name(void) {
  return rt().init() ? rt().deviceName : "";
}

void nnc_cuda_use_graphs(int enable) { rt().graphs = enable != 0; }

uint64_t nnc_cuda_launch_count(void) { return rt().launches; }
uint64_t nnc_cuda_graph_launch_count(void) { return rt().graphLaunches; }

void nncrt_cuda_launch(const char *ptx, int32_t kernel, const char *name,
                       int32_t gx, int32_t gy, int32_t gz, int32_t bx,
                       int32_t by, int32_t bz, void **params) {
  Runtime &r = rt();
  if (!r.init() || !r.error.empty())
    return; // sticky: the caller learns at nnc_cuda_synchronize
  Module *m = r.load(ptx);
  if (!m)
    return;
  if (m->functions.size() <= size_t(kernel))
    m->functions.resize(kernel + 1, nullptr);
  CUfunction &f = m->functions[kernel];
  if (!f && !r.check(r.p_cuModuleGetFunction(&f, m->module, name),
                     "cuModuleGetFunction"))
    return;
  if (r.check(r.p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, 0, r.stream,
                                 params, nullptr),
              "cuLaunchKernel"))
    ++r.launches;
  else
    r.error += std::string(" (kernel ") + name + ")";
}

int32_t nncrt_cuda_step_begin(const char *ptx, int32_t fn,
                              const uint64_t *args, int32_t nargs) {
  Runtime &r = rt();
  if (!r.init() || !r.error.empty() || !r.graphs || r.capturing)
    return 0;
  // The module is loaded before any capture (loading is not a stream
  // operation a capture may contain).
  if (!r.load(ptx))
    return 0;
  int64_t key = (int64_t(reinterpret_cast<uintptr_t>(ptx)) << 8) ^ fn;
  std::vector<uint64_t> now(args, args + nargs);
  auto it = r.graphsByFn.find(key);
  if (it != r.graphsByFn.end() && it->second.args == now) {
    if (r.check(r.p_cuGraphLaunch(it->second.exec, r.stream), "cuGraphLaunch"))
      ++r.graphLaunches;
    return 1;
  }
  if (!r.check(r.p_cuStreamBeginCapture(r.stream,
                                        CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
               "cuStreamBeginCapture"))
    return 0;
  r.capturing = true;
  r.capturedFn = fn;
  r.capturedArgs = std::move(now);
  return 0;
}

void nncrt_cuda_step_end(const char *ptx, int32_t fn) {
  Runtime &r = rt();
  if (!r.capturing || r.capturedFn != fn)
    return;
  r.capturing = false;
  CUgraph graph = nullptr;
  if (!r.check(r.p_cuStreamEndCapture(r.stream, &graph), "cuStreamEndCapture"))
    return;
  CUgraphExec exec = nullptr;
  bool ok = r.check(r.p_cuGraphInstantiate(&exec, graph, 0),
                    "cuGraphInstantiate");
  r.p_cuGraphDestroy(graph);
  if (!ok)
    return;
  int64_t key = (int64_t(reinterpret_cast<uintptr_t>(ptx)) << 8) ^ fn;
  Graph &g = r.graphsByFn[key];
  if (g.exec)
    r.p_cuGraphExecDestroy(g.exec);
  g.exec = exec;
  g.args = r.capturedArgs;
  // Capturing recorded the launches without running them: run them now.
  if (r.check(r.p_cuGraphLaunch(exec, r.stream), "cuGraphLaunch"))
    ++r.graphLaunches;
}
