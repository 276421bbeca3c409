//===- NCCLRuntime.cpp - the gradient all-reduce over NCCL ----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// NCCL through dlopen, as the CUDA runtime opens the driver: nccl.h gives
// the types, libnccl.so.2 is looked up on first use, so a model library
// links without NCCL and a machine without it gets an error message, not a
// loader failure. Every collective goes on the CUDA runtime's stream
// through StreamOps.h: a step the CUDA runtime captures as a graph captures
// its all-reduces too (NCCL supports capture since 2.9).
//
// nncrt_nccl_init makes the ranks of the MPI job (mpirun) the ranks of one
// NCCL communicator: each takes the GPU of its local rank (its index among
// the ranks sharing its node, MPI_COMM_TYPE_SHARED), rank 0 makes NCCL's
// unique id and MPI_Bcast hands it to the others. It is in this file, the
// one object of the archive, so that a model library linking the archive
// for the step's calls exports it too.
//
//===----------------------------------------------------------------------===//

#include "StreamOps.h"

#include "nnc/Runtime/MPI/MPIRuntime.h"

#include <dlfcn.h>
#include <mpi.h>
#include <nccl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#pragma GCC visibility push(protected)
#include "nnc/Runtime/CUDA/CUDARuntime.h"
#include "nnc/Runtime/NCCL/NCCLRuntime.h"
#pragma GCC visibility pop

static_assert(sizeof(ncclUniqueId) == NNC_NCCL_UNIQUE_ID_BYTES,
              "NNC_NCCL_UNIQUE_ID_BYTES follows nccl.h");

namespace cuda = nnc::cuda_runtime;

namespace {

#define NNC_STR(x) #x
#define NNC_XSTR(x) NNC_STR(x)
// The NCCL entry points the runtime uses, each a member `p_<name>`.
#define NNC_NCCL_FUNCTIONS(X)                                                  \
  X(ncclGetVersion)                                                            \
  X(ncclGetErrorString)                                                        \
  X(ncclGetUniqueId)                                                           \
  X(ncclCommInitRank)                                                          \
  X(ncclCommDestroy)                                                           \
  X(ncclAllReduce)

/// NCCL 2.9 is the first whose collectives may be captured in CUDA graphs.
constexpr int kMinVersion = 20900;

/// The kernel the wait launches (Scale.ptx, embedded by CMake).
const char kScalePTX[] =
#include "ScalePTX.inc"
    ;

struct Runtime {
#define NNC_MEMBER(fn) decltype(&fn) p_##fn = nullptr;
  NNC_NCCL_FUNCTIONS(NNC_MEMBER)
#undef NNC_MEMBER
  void *library = nullptr;
  bool loaded = false, usable = false;
  std::string loadError;
  int version = 0;
  ncclComm_t comm = nullptr;
  int rank = 0, size = 1;
  /// Whether bucket i was started and not yet waited for.
  std::vector<char> inFlight;

  /// NCCL's message for `r`.
  std::string describe(ncclResult_t r, const std::string &what) {
    return what + " failed: " + p_ncclGetErrorString(r) + " (ncclResult_t " +
           std::to_string(int(r)) + ")";
  }
  bool check(ncclResult_t r, const std::string &what) {
    if (r == ncclSuccess)
      return true;
    cuda::fail(describe(r, what));
    return false;
  }

  /// Opens NCCL once; false with the CUDA runtime's error set where it
  /// cannot (each later call sets the same message again).
  bool load() {
    if (!loaded) {
      loaded = true;
      loadError = open();
      usable = loadError.empty();
    }
    if (!usable)
      cuda::fail(loadError);
    return usable;
  }

  /// "" or why NCCL is not usable.
  std::string open() {
    const char *path = std::getenv("NNC_NCCL_LIBRARY");
    if (!path || !*path)
      path = "libnccl.so.2";
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      const char *why = dlerror();
      return std::string("no NCCL: ") + (why ? why : path) +
             " (NNC_NCCL_LIBRARY names the library to use)";
    }
#define NNC_LOAD(fn)                                                           \
  p_##fn = reinterpret_cast<decltype(p_##fn)>(dlsym(library, NNC_XSTR(fn)));  \
  if (!p_##fn)                                                                 \
    return std::string(path) + " is no NCCL library: it lacks " NNC_XSTR(fn);
    NNC_NCCL_FUNCTIONS(NNC_LOAD)
#undef NNC_LOAD
    if (p_ncclGetVersion(&version) != ncclSuccess)
      return "ncclGetVersion failed";
    if (version < kMinVersion)
      return "NCCL " + versionString() +
             " is too old: nnc captures its all-reduce in CUDA graphs, "
             "which needs NCCL 2.9 or later";
    return "";
  }

  std::string versionString() const {
    // NCCL_VERSION(X, Y, Z) is X * 10000 + Y * 100 + Z from 2.9 on.
    return std::to_string(version / 10000) + "." +
           std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100);
  }

  /// The communicator, or false with the error naming `fn`.
  bool requireComm(const char *fn) {
    if (comm)
      return true;
    cuda::fail(std::string(fn) +
               ": NCCL is not initialized (call nncrt_nccl_init before "
               "running a data-parallel step)");
    return false;
  }
};

Runtime &rt() {
  static Runtime runtime;
  return runtime;
}

} // namespace

int32_t nncrt_nccl_version(void) {
  Runtime &r = rt();
  return r.load() ? r.version : -1;
}

int32_t nncrt_nccl_rank(void) { return rt().rank; }
int32_t nncrt_nccl_size(void) { return rt().size; }

int32_t nncrt_nccl_get_unique_id(uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES]) {
  Runtime &r = rt();
  ncclUniqueId unique;
  if (!r.load() || !r.check(r.p_ncclGetUniqueId(&unique), "ncclGetUniqueId"))
    return -1;
  std::memcpy(id, unique.internal, sizeof(unique.internal));
  return 0;
}

int32_t nncrt_nccl_init_rank(int32_t rank, int32_t nranks,
                             const uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES]) {
  Runtime &r = rt();
  if (r.comm) {
    cuda::fail("nncrt_nccl_init_rank: NCCL is initialized already");
    return -1;
  }
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    cuda::fail("nncrt_nccl_init_rank: rank " + std::to_string(rank) + " of " +
               std::to_string(nranks) + " is out of range");
    return -1;
  }
  // NCCL takes the device of the context current on this thread: the
  // CUDA runtime's.
  if (!r.load() || !cuda::enter())
    return -1;
  ncclUniqueId unique;
  std::memcpy(unique.internal, id, sizeof(unique.internal));
  if (!r.check(r.p_ncclCommInitRank(&r.comm, nranks, unique, rank),
               "ncclCommInitRank (rank " + std::to_string(rank) + " of " +
                   std::to_string(nranks) + ")"))
    return -1;
  r.rank = rank;
  r.size = nranks;
  // The wait's kernel is loaded now, never inside a step's capture.
  return cuda::preload(kScalePTX) ? 0 : -1;
}

int32_t nncrt_nccl_finalize(void) {
  Runtime &r = rt();
  if (!r.comm)
    return 0;
  int32_t synced = nnc_cuda_synchronize();
  ncclResult_t destroyed = r.p_ncclCommDestroy(r.comm);
  r.comm = nullptr;
  r.rank = 0;
  r.size = 1;
  return synced == 0 && r.check(destroyed, "ncclCommDestroy") ? 0 : -1;
}

void nncrt_nccl_allreduce_start(float *buf, int64_t count, int64_t bucket) {
  Runtime &r = rt();
  if (!r.requireComm("nncrt_nccl_allreduce_start") || cuda::failed())
    return; // sticky, as the CUDA runtime's launches
  if (bucket < 0 || count < 0) {
    cuda::fail("nncrt_nccl_allreduce_start: bucket " + std::to_string(bucket) +
               " of " + std::to_string(count) + " floats is out of range");
    return;
  }
  if (r.inFlight.size() <= size_t(bucket))
    r.inFlight.resize(bucket + 1, 0);
  if (r.inFlight[bucket]) {
    cuda::fail("nncrt_nccl_allreduce_start: bucket " + std::to_string(bucket) +
               " is still in flight");
    return;
  }
  r.inFlight[bucket] = 1;
  std::string what = "ncclAllReduce of gradient bucket " +
                     std::to_string(bucket) + " (" + std::to_string(count) +
                     " floats)";
  cuda::enqueue([&r, buf, count, what](CUstream stream) -> std::string {
    ncclResult_t result =
        r.p_ncclAllReduce(buf, buf, static_cast<size_t>(count), ncclFloat,
                          ncclSum, r.comm, stream);
    return result == ncclSuccess ? "" : r.describe(result, what);
  });
}

void nncrt_nccl_allreduce_wait(float *buf, int64_t count, int64_t bucket) {
  Runtime &r = rt();
  if (!r.requireComm("nncrt_nccl_allreduce_wait"))
    return;
  if (bucket < 0 || size_t(bucket) >= r.inFlight.size() ||
      !r.inFlight[bucket]) {
    cuda::fail("nncrt_nccl_allreduce_wait: bucket " + std::to_string(bucket) +
               " was not started");
    return;
  }
  r.inFlight[bucket] = 0;
  // The stream runs this after the all-reduce the start enqueued: the mean
  // over the ranks, the MPI runtime's multiplication by 1/N. (A launch
  // after an error is skipped, as every launch.)
  uint64_t address = reinterpret_cast<uint64_t>(buf);
  uint64_t n = static_cast<uint64_t>(count);
  float scale = 1.0f / static_cast<float>(r.size);
  void *params[] = {&address, &n, &scale};
  constexpr int64_t kThreads = 256, kMaxBlocks = 1024;
  int64_t blocks = std::min<int64_t>(
      std::max<int64_t>((count + kThreads - 1) / kThreads, 1), kMaxBlocks);
  nncrt_cuda_launch(kScalePTX, 0, "nnc_scale_f32", int32_t(blocks), 1, 1,
                    int32_t(kThreads), 1, 1, params);
}

// ---- The communicator of the MPI job

int32_t nncrt_nccl_init(void) {
  if (int err = nncrt_mpi_init(); err != 0) {
    cuda::fail("nncrt_nccl_init: MPI_Init failed (MPI error " +
               std::to_string(err) + ")");
    return -1;
  }
  MPI_Comm world, node;
  MPI_Comm_dup(MPI_COMM_WORLD, &world);
  int rank = 0, size = 1, localRank = 0, localSize = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &localRank);
  MPI_Comm_size(node, &localSize);
  MPI_Comm_free(&node);

  // One GPU per rank.
  bool ok = true;
  int devices = nnc_cuda_device_count();
  if (devices < 0) {
    ok = false;
  } else if (localRank >= devices) {
    cuda::fail("nncrt_nccl_init: rank " + std::to_string(rank) +
               " is rank " + std::to_string(localRank) + " of " +
               std::to_string(localSize) + " on its node, which has " +
               std::to_string(devices) +
               " CUDA device(s): nnc runs one GPU per rank (start at most " +
               std::to_string(devices) + " ranks per node)");
    ok = false;
  } else {
    ok = nnc_cuda_set_device(localRank) == 0;
  }
  // And NCCL, loaded.
  ok = ok && nncrt_nccl_version() >= 0;
  // Every rank learns whether all can go on: one that stops while the
  // others enter ncclCommInitRank would leave them waiting for it forever.
  int allOk = ok;
  MPI_Allreduce(MPI_IN_PLACE, &allOk, 1, MPI_INT, MPI_MIN, world);

  // Rank 0's unique id, and whether rank 0 could make one.
  struct {
    int32_t ok;
    uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES];
  } message{};
  if (rank == 0 && allOk)
    message.ok = nncrt_nccl_get_unique_id(message.id) == 0;
  MPI_Bcast(&message, sizeof(message), MPI_BYTE, 0, world);
  MPI_Comm_free(&world);
  if (!ok)
    return -1;
  if (!allOk || !message.ok) {
    cuda::fail(std::string("nncrt_nccl_init: ") +
               (allOk ? "rank 0 could not make NCCL's unique id"
                      : "another rank could not take its GPU or load NCCL") +
               " (its nnc_cuda_error() says why)");
    return -1;
  }
  return nncrt_nccl_init_rank(rank, size, message.id);
}
