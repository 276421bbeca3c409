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
// Every copy and memset runs on the runtime's one stream (the legacy stream
// does not wait for a CU_STREAM_NON_BLOCKING one), and every entry makes the
// primary context current on the calling thread (the host program may have
// switched it, or may call from another thread). Other run-time libraries
// linked beside this one (lib/Runtime/NCCL) put their work on the same
// stream through StreamOps.h, so a captured step contains it.
//
//===----------------------------------------------------------------------===//

#include "StreamOps.h"

#include <cuda.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

// Every function of the API binds to this copy of the runtime within the
// library that links it, whatever else the process loaded (see "One runtime
// per library" in the header): protected, from their first declaration.
#pragma GCC visibility push(protected)
#include "nnc/Runtime/CUDA/CUDARuntime.h"
#pragma GCC visibility pop

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
  X(cuMemcpyHtoDAsync)                                                         \
  X(cuMemcpyDtoHAsync)                                                         \
  X(cuMemsetD8Async)                                                           \
  X(cuMemGetInfo)                                                              \
  X(cuStreamCreate)                                                            \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiate)                                                        \
  X(cuGraphLaunch)                                                             \
  X(cuGraphDestroy)                                                            \
  X(cuGraphExecDestroy)

/// Graphs kept per step: enough for rotating batch buffers or swapping
/// W/new_W without re-capturing; the least recently used one goes first.
constexpr size_t kGraphsPerStep = 8;

/// A kernel of a PTX module: resolved when the module loads, so nothing
/// but launches happens while a step is captured.
struct Kernel {
  CUfunction function = nullptr;
  std::vector<size_t> paramBytes; // from the PTX's .param list
};

struct Module {
  CUmodule module = nullptr;
  std::unordered_map<std::string, Kernel> byName;
  std::vector<const Kernel *> byIndex; // the compiled code's kernel index
};

/// A launch seen while capturing, kept to run it plainly if the capture
/// fails; or another library's work on the stream (`op` set).
struct RecordedLaunch {
  CUfunction function = nullptr;
  unsigned grid[3] = {}, block[3] = {};
  std::vector<std::vector<char>> params;
  nnc::cuda_runtime::StreamOp op;
};

struct Graph {
  std::vector<uint64_t> args;
  CUgraphExec exec = nullptr;
};

/// The graphs of one step, most recently used first.
struct StepGraphs {
  std::list<Graph> graphs;
  bool captureFailed = false; // then the step runs plain launches
};

/// The size in bytes of a PTX parameter declaration's type
/// (`.param .u64 x`, `.param .align 8 .b8 x[16]`); 8 if unknown.
size_t ptxParamBytes(const std::string &decl) {
  size_t open = decl.find('['), close = decl.find(']');
  if (open != std::string::npos && close != std::string::npos)
    return std::strtoul(decl.c_str() + open + 1, nullptr, 10);
  for (const char *type : {".u", ".s", ".b", ".f"}) {
    size_t at = decl.find(type, decl.find(".param") + 6);
    if (at != std::string::npos)
      if (unsigned long bits = std::strtoul(decl.c_str() + at + 2, nullptr, 10))
        return bits / 8;
  }
  return 8;
}

/// The kernels a PTX module defines (`.entry name(...)`) and their
/// parameters' sizes.
std::unordered_map<std::string, std::vector<size_t>>
ptxEntries(const char *ptx) {
  std::unordered_map<std::string, std::vector<size_t>> entries;
  std::string text(ptx);
  for (size_t at = text.find(".entry "); at != std::string::npos;
       at = text.find(".entry ", at + 1)) {
    size_t nameStart = at + 7, paren = text.find('(', nameStart);
    if (paren == std::string::npos)
      break;
    std::string name = text.substr(nameStart, paren - nameStart);
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
      name.pop_back();
    size_t close = text.find(')', paren);
    std::vector<size_t> &params = entries[name];
    size_t p = paren + 1;
    while (true) {
      size_t decl = text.find(".param", p);
      if (decl == std::string::npos || decl > close)
        break;
      size_t end = std::min(text.find_first_of(",)", decl), close);
      // `[16]` may hold the `]` before the closing parenthesis.
      params.push_back(ptxParamBytes(text.substr(decl, end - decl)));
      p = end;
    }
  }
  return entries;
}

struct Runtime {
#define NNC_MEMBER(fn) decltype(&fn) p_##fn = nullptr;
  NNC_CUDA_FUNCTIONS(NNC_MEMBER)
#undef NNC_MEMBER
  void *library = nullptr;
  bool driverLoaded = false, driverUsable = false;
  std::string driverError; // why the driver is not usable
  std::string setUpError;  // why the device is not
  bool initialized = false, usable = false;
  std::string error;
  int deviceCount = 0;
  int ordinal = 0; // the device nnc_cuda_set_device chose (0 by default)
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  char deviceName[256] = "";
  bool graphs = true;
  bool capturing = false, captureBroken = false;
  int32_t capturedFn = -1;
  std::vector<uint64_t> capturedArgs;
  std::vector<RecordedLaunch> recorded;
  std::unordered_map<const char *, Module> modules;
  std::unordered_map<int64_t, StepGraphs> graphsByFn; // (module, fn) -> graphs
  uint64_t launches = 0, graphLaunches = 0;

  void fail(const std::string &what) {
    if (error.empty())
      error = what;
  }
  /// The driver's message for `r`, or "".
  std::string describe(CUresult r, const char *what) {
    const char *msg = nullptr;
    if (p_cuGetErrorString)
      p_cuGetErrorString(r, &msg);
    return std::string(what) + " failed: " + (msg ? msg : "unknown error") +
           " (CUresult " + std::to_string(int(r)) + ")";
  }
  bool check(CUresult r, const char *what) {
    if (r == CUDA_SUCCESS)
      return true;
    fail(describe(r, what));
    return false;
  }

  /// Loads the driver and counts the devices once; false (with error set)
  /// where that is impossible.
  bool loadDriver() {
    if (!driverLoaded) {
      driverLoaded = true;
      std::string before = error;
      error.clear();
      driverUsable = openDriver();
      driverError = error;
      if (!before.empty())
        error = before;
    }
    // Every call that needs the driver says why there is none.
    if (!driverUsable)
      fail(driverError);
    return driverUsable;
  }

  /// Opens the driver and counts the devices; false with the error set.
  bool openDriver() {
    // NNC_CUDA_DRIVER names another driver library (the tests' fake one).
    const char *path = std::getenv("NNC_CUDA_DRIVER");
    if (!path || !*path)
      path = "libcuda.so.1";
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char *why = dlerror();
      fail(std::string("no CUDA driver: ") + (why ? why : path));
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
    return check(p_cuInit(0), "cuInit") &&
           check(p_cuDeviceGetCount(&deviceCount), "cuDeviceGetCount");
  }

  /// Loads the driver and sets up the chosen device once; false (with
  /// error set) where that is impossible.
  bool init() {
    if (!initialized) {
      initialized = true;
      std::string before = error;
      error.clear();
      usable = setUp();
      setUpError = error;
      if (!before.empty())
        error = before;
    }
    // Every call after a failed set-up says why (after a clear too).
    if (!usable)
      fail(setUpError);
    return usable;
  }

  /// The driver, the chosen device, its context and the stream; false
  /// with the error set.
  bool setUp() {
    if (!loadDriver())
      return false;
    if (deviceCount == 0) {
      fail("no CUDA device");
      return false;
    }
    if (ordinal >= deviceCount) {
      fail("no CUDA device " + std::to_string(ordinal) + " (the machine has " +
           std::to_string(deviceCount) + ")");
      return false;
    }
    if (!check(p_cuDeviceGet(&device, ordinal), "cuDeviceGet") ||
        !check(p_cuDevicePrimaryCtxRetain(&context, device),
               "cuDevicePrimaryCtxRetain") ||
        !check(p_cuCtxSetCurrent(context), "cuCtxSetCurrent") ||
        !check(p_cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING),
               "cuStreamCreate"))
      return false;
    p_cuDeviceGetName(deviceName, sizeof(deviceName), device);
    return true;
  }

  /// Every entry point starts here: the driver, and the primary context
  /// current on this thread (a context is per thread, and the host program
  /// may have made another one current since the last call).
  bool enter() {
    return init() && check(p_cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }

  /// Loads `ptx` once and resolves every kernel it defines.
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
    for (auto &[name, params] : ptxEntries(ptx)) {
      Kernel &k = m.byName[name];
      k.paramBytes = params;
      if (!check(p_cuModuleGetFunction(&k.function, m.module, name.c_str()),
                 "cuModuleGetFunction")) {
        error += " (kernel " + name + ")";
        return nullptr;
      }
    }
    return &(modules[ptx] = std::move(m));
  }

  /// Kernel `index` (named `name`) of `m`, cached by index.
  const Kernel *kernel(Module &m, int32_t index, const char *name) {
    if (m.byIndex.size() <= size_t(index))
      m.byIndex.resize(index + 1, nullptr);
    const Kernel *&k = m.byIndex[index];
    if (!k) {
      auto it = m.byName.find(name);
      if (it == m.byName.end()) {
        fail(std::string("the PTX module defines no kernel ") + name);
        return nullptr;
      }
      k = &it->second;
    }
    return k;
  }

  static int64_t stepKey(const char *ptx, int32_t fn) {
    return (int64_t(reinterpret_cast<uintptr_t>(ptx)) << 8) ^ fn;
  }

  bool launch(CUfunction f, const unsigned grid[3], const unsigned block[3],
              void **params, const char *name) {
    if (!check(p_cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0],
                                block[1], block[2], 0, stream, params,
                                nullptr),
               "cuLaunchKernel")) {
      error += std::string(" (kernel ") + name + ")";
      return false;
    }
    ++launches;
    return true;
  }

  void launchGraph(CUgraphExec exec) {
    if (check(p_cuGraphLaunch(exec, stream), "cuGraphLaunch"))
      ++graphLaunches;
  }

  /// Ends a capture that failed: the recorded launches run plainly, and
  /// the step is not captured again.
  void fallBack(StepGraphs &step) {
    step.captureFailed = true;
    for (RecordedLaunch &l : recorded) {
      if (l.op) {
        if (std::string why = l.op(stream); !why.empty()) {
          fail(why);
          break;
        }
        continue;
      }
      std::vector<void *> params;
      for (std::vector<char> &p : l.params)
        params.push_back(p.data());
      if (!launch(l.function, l.grid, l.block, params.data(), "replayed"))
        break;
    }
  }
};

Runtime &rt() {
  static Runtime runtime;
  return runtime;
}

/// Whether every step buffer meets the kernels' alignment (128-bit loads
/// of matmul operands); else the error names the first that does not.
bool checkAlignment(Runtime &r, int32_t fn, const uint64_t *args,
                    int32_t nargs) {
  for (int32_t i = 0; i < nargs; ++i) {
    if (args[i] % NNC_CUDA_BUFFER_ALIGNMENT == 0)
      continue;
    char address[32];
    std::snprintf(address, sizeof(address), "0x%llx",
                  static_cast<unsigned long long>(args[i]));
    r.fail("buffer " + std::to_string(i) + " of step " + std::to_string(fn) +
           " is at " + address + ", not " +
           std::to_string(NNC_CUDA_BUFFER_ALIGNMENT) +
           "-byte aligned: the step was not run");
    return false;
  }
  return true;
}

} // namespace

int nnc_cuda_available(void) { return rt().init() ? 1 : 0; }

int nnc_cuda_device_count(void) {
  Runtime &r = rt();
  return r.loadDriver() ? r.deviceCount : -1;
}

int nnc_cuda_set_device(int ordinal) {
  Runtime &r = rt();
  // The context, the stream and every loaded module belong to one device:
  // the choice comes before them.
  if (r.initialized) {
    if (!r.init())
      return -1; // it says why
    if (ordinal == r.ordinal)
      return 0;
    r.fail("nnc_cuda_set_device(" + std::to_string(ordinal) +
           ") after the CUDA runtime started on device " +
           std::to_string(r.ordinal) +
           ": choose the device before any other nnc_cuda_* call");
    return -1;
  }
  if (!r.loadDriver())
    return -1;
  if (ordinal < 0 || ordinal >= r.deviceCount) {
    r.fail("no CUDA device " + std::to_string(ordinal) + " (the machine has " +
           std::to_string(r.deviceCount) + ")");
    return -1;
  }
  r.ordinal = ordinal;
  return 0;
}

const char *nnc_cuda_error(void) {
  return rt().error.empty() ? nullptr : rt().error.c_str();
}

void nnc_cuda_clear_error(void) { rt().error.clear(); }

void *nnc_cuda_malloc(size_t bytes) {
  Runtime &r = rt();
  CUdeviceptr p = 0;
  if (!r.enter() ||
      !r.check(r.p_cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc"))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

void nnc_cuda_free(void *device) {
  Runtime &r = rt();
  // A step still running may use the buffer.
  if (device && r.enter() &&
      r.check(r.p_cuStreamSynchronize(r.stream), "cuStreamSynchronize"))
    r.check(r.p_cuMemFree(reinterpret_cast<CUdeviceptr>(device)), "cuMemFree");
}

int nnc_cuda_memcpy_to_device(void *device, const void *host, size_t bytes) {
  Runtime &r = rt();
  // On the stream, after the steps before it; complete before returning,
  // so the caller may reuse `host` (pageable memory) at once.
  return r.enter() &&
                 r.check(r.p_cuMemcpyHtoDAsync(
                             reinterpret_cast<CUdeviceptr>(device), host,
                             bytes, r.stream),
                         "cuMemcpyHtoDAsync") &&
                 r.check(r.p_cuStreamSynchronize(r.stream),
                         "cuStreamSynchronize")
             ? 0
             : -1;
}

int nnc_cuda_memcpy_to_host(void *host, const void *device, size_t bytes) {
  Runtime &r = rt();
  return r.enter() &&
                 r.check(r.p_cuMemcpyDtoHAsync(
                             host, reinterpret_cast<CUdeviceptr>(device),
                             bytes, r.stream),
                         "cuMemcpyDtoHAsync") &&
                 r.check(r.p_cuStreamSynchronize(r.stream),
                         "cuStreamSynchronize")
             ? 0
             : -1;
}

int nnc_cuda_memset(void *device, int value, size_t bytes) {
  Runtime &r = rt();
  return r.enter() &&
                 r.check(r.p_cuMemsetD8Async(
                             reinterpret_cast<CUdeviceptr>(device),
                             static_cast<unsigned char>(value), bytes,
                             r.stream),
                         "cuMemsetD8Async")
             ? 0
             : -1;
}

int nnc_cuda_synchronize(void) {
  Runtime &r = rt();
  if (!r.enter() ||
      !r.check(r.p_cuStreamSynchronize(r.stream), "cuStreamSynchronize"))
    return -1;
  return r.error.empty() ? 0 : -1;
}

int nnc_cuda_mem_info(size_t *free_bytes, size_t *total_bytes) {
  Runtime &r = rt();
  return r.enter() && r.check(r.p_cuMemGetInfo(free_bytes, total_bytes),
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

void nncrt_cuda_launch(const char *ptx, int32_t index, const char *name,
                       int32_t gx, int32_t gy, int32_t gz, int32_t bx,
                       int32_t by, int32_t bz, void **params) {
  Runtime &r = rt();
  // Inside a capture step_begin made the context current on this thread.
  if (!(r.capturing ? r.init() : r.enter()) || !r.error.empty())
    return; // sticky: the caller learns at nnc_cuda_synchronize
  Module *m = r.load(ptx);
  const Kernel *k = m ? r.kernel(*m, index, name) : nullptr;
  if (!k)
    return;
  unsigned grid[3] = {unsigned(gx), unsigned(gy), unsigned(gz)};
  unsigned block[3] = {unsigned(bx), unsigned(by), unsigned(bz)};
  if (!r.capturing) {
    r.launch(k->function, grid, block, params, name);
    return;
  }
  RecordedLaunch l{k->function, {grid[0], grid[1], grid[2]},
                   {block[0], block[1], block[2]}, {}, {}};
  for (size_t i = 0; i < k->paramBytes.size(); ++i) {
    const char *p = static_cast<const char *>(params[i]);
    l.params.emplace_back(p, p + k->paramBytes[i]);
  }
  r.recorded.push_back(std::move(l));
  // A launch the capture refuses is no error yet: step_end runs the
  // recorded launches plainly.
  if (r.p_cuLaunchKernel(k->function, gx, gy, gz, bx, by, bz, 0, r.stream,
                         params, nullptr) != CUDA_SUCCESS)
    r.captureBroken = true;
}

int32_t nncrt_cuda_step_begin(const char *ptx, int32_t fn,
                              const uint64_t *args, int32_t nargs) {
  Runtime &r = rt();
  if (!r.enter() || !r.error.empty() || r.capturing)
    return 0;
  // A misaligned buffer would fault in a kernel, and a fault loses the
  // context for the rest of the process: refuse the step instead.
  if (!checkAlignment(r, fn, args, nargs))
    return 0;
  // Loading resolves every kernel, before any capture.
  if (!r.load(ptx) || !r.graphs)
    return 0;
  StepGraphs &step = r.graphsByFn[Runtime::stepKey(ptx, fn)];
  if (step.captureFailed)
    return 0;
  std::vector<uint64_t> now(args, args + nargs);
  for (auto it = step.graphs.begin(); it != step.graphs.end(); ++it) {
    if (it->args != now)
      continue;
    step.graphs.splice(step.graphs.begin(), step.graphs, it);
    r.launchGraph(it->exec);
    return 1;
  }
  if (r.p_cuStreamBeginCapture(r.stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) !=
      CUDA_SUCCESS) {
    step.captureFailed = true; // plain launches, now and later
    return 0;
  }
  r.capturing = true;
  r.captureBroken = false;
  r.capturedFn = fn;
  r.capturedArgs = std::move(now);
  r.recorded.clear();
  return 0;
}

void nncrt_cuda_step_end(const char *ptx, int32_t fn) {
  Runtime &r = rt();
  if (!r.capturing || r.capturedFn != fn)
    return;
  r.capturing = false;
  StepGraphs &step = r.graphsByFn[Runtime::stepKey(ptx, fn)];
  CUgraph graph = nullptr;
  CUresult ended = r.p_cuStreamEndCapture(r.stream, &graph);
  CUgraphExec exec = nullptr;
  bool ok = ended == CUDA_SUCCESS && !r.captureBroken && graph &&
            r.p_cuGraphInstantiate(&exec, graph, 0) == CUDA_SUCCESS;
  if (graph)
    r.p_cuGraphDestroy(graph);
  if (!ok) {
    r.fallBack(step);
    return;
  }
  if (step.graphs.size() == kGraphsPerStep) {
    r.p_cuGraphExecDestroy(step.graphs.back().exec);
    step.graphs.pop_back();
  }
  step.graphs.push_front(Graph{std::move(r.capturedArgs), exec});
  // Capturing recorded the launches without running them: run them now.
  r.launchGraph(exec);
}

// ---- For the other run-time libraries linked beside this one (StreamOps.h)

bool nnc::cuda_runtime::enter() { return rt().enter(); }

void nnc::cuda_runtime::fail(const std::string &message) { rt().fail(message); }

bool nnc::cuda_runtime::failed() { return !rt().error.empty(); }

bool nnc::cuda_runtime::preload(const char *ptx) {
  Runtime &r = rt();
  return r.enter() && r.load(ptx);
}

bool nnc::cuda_runtime::enqueue(const StreamOp &op) {
  Runtime &r = rt();
  // Inside a capture step_begin made the context current on this thread.
  if (!(r.capturing ? r.init() : r.enter()) || !r.error.empty())
    return false; // sticky, as launches
  if (!r.capturing) {
    std::string why = op(r.stream);
    if (!why.empty())
      r.fail(why);
    return why.empty();
  }
  // Captured with the launches around it, and kept in their order to run
  // plainly if the capture fails (step_end then reruns it, as a launch).
  RecordedLaunch l;
  l.op = op;
  r.recorded.push_back(std::move(l));
  if (!op(r.stream).empty())
    r.captureBroken = true;
  return true;
}
