//===- MPIRuntime.cpp - gradient all-reduce over Open MPI -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/MPI/MPIRuntime.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sched.h>
#include <string>
#include <vector>

namespace {
double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct State {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
  double timeout = 60;
  /// One request per bucket of the step; grown on a bucket's first start
  /// (the step's buffers are the arena's, this is the library's own).
  std::vector<MPI_Request> requests;
  /// Whether bucket i was started and not yet waited for (its request may
  /// be MPI_REQUEST_NULL already: MPI_Testall frees completed ones).
  std::vector<char> inFlight;
  double waitSeconds = 0, startSeconds = 0;
  int64_t waits = 0;
};
State state;

[[noreturn]] void abortJob(const std::string &message) {
  std::fprintf(stderr, "nnc: rank %d: %s\n", state.rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(state.comm == MPI_COMM_NULL ? MPI_COMM_WORLD : state.comm, 1);
  std::abort(); // MPI_Abort does not return
}

void requireInit(const char *fn) {
  if (state.comm == MPI_COMM_NULL) {
    std::fprintf(stderr,
                 "nnc: %s: MPI is not initialized (call nncrt_mpi_init "
                 "before running a data-parallel step)\n",
                 fn);
    std::abort();
  }
}

/// Completes `request` or aborts the job once the deadline has passed.
/// MPI_Test also drives Open MPI's progress engine, which moves the
/// non-blocking collectives still in flight.
void waitBounded(MPI_Request &request, const char *what) {
  double deadline = now() + state.timeout;
  int done = 0;
  for (unsigned spins = 0;; ++spins) {
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      abortJob(std::string(what) + " failed");
    if (done)
      return;
    // Two ranks may share a core (--oversubscribe): let the other run.
    if ((spins & 63) == 63)
      sched_yield();
    if ((spins & 255) == 0 && now() > deadline)
      abortJob(std::string(what) + " did not complete within " +
               std::to_string(state.timeout) +
               " s: another rank exited or hangs; aborting the job");
  }
}
} // namespace

extern "C" {

void nncrt_allreduce_start(float *buf, int64_t count, int64_t bucket) {
  requireInit("nncrt_allreduce_start");
  double t0 = now();
  if (bucket < 0 || count < 0 || count > INT32_MAX)
    abortJob("nncrt_allreduce_start: bucket " + std::to_string(bucket) +
             " of " + std::to_string(count) + " floats is out of range");
  if (state.requests.size() <= size_t(bucket)) {
    state.requests.resize(bucket + 1, MPI_REQUEST_NULL);
    state.inFlight.resize(bucket + 1, 0);
  }
  if (state.inFlight[bucket])
    abortJob("nncrt_allreduce_start: bucket " + std::to_string(bucket) +
             " is still in flight");
  MPI_Iallreduce(MPI_IN_PLACE, buf, static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                 state.comm, &state.requests[bucket]);
  state.inFlight[bucket] = 1;
  // Drive the buckets started before: without a progress thread, Open MPI
  // advances a non-blocking collective only inside MPI calls. (Completed
  // requests become MPI_REQUEST_NULL; inFlight still says they await a
  // wait.)
  int flag = 0;
  MPI_Testall(static_cast<int>(bucket), state.requests.data(), &flag,
              MPI_STATUSES_IGNORE);
  state.startSeconds += now() - t0;
}

void nncrt_allreduce_wait(float *buf, int64_t count, int64_t bucket) {
  requireInit("nncrt_allreduce_wait");
  double t0 = now();
  if (bucket < 0 || size_t(bucket) >= state.inFlight.size() ||
      !state.inFlight[bucket])
    abortJob("nncrt_allreduce_wait: bucket " + std::to_string(bucket) +
             " was not started");
  std::string what = "the all-reduce of gradient bucket " +
                     std::to_string(bucket) + " (" + std::to_string(count) +
                     " floats)";
  // (MPI_Test of a request already completed and freed returns at once.)
  waitBounded(state.requests[bucket], what.c_str());
  state.inFlight[bucket] = 0;
  // The mean over the ranks; one multiplication per element, the same on
  // every rank.
  float scale = 1.0f / static_cast<float>(state.size);
  for (int64_t i = 0; i < count; ++i)
    buf[i] *= scale;
  state.waitSeconds += now() - t0;
  ++state.waits;
}

int32_t nncrt_mpi_init(void) {
  if (state.comm != MPI_COMM_NULL)
    return 0;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    if (int err = MPI_Init(nullptr, nullptr); err != MPI_SUCCESS)
      return err;
  // A private communicator: the step's collectives cannot match a
  // program's own messages on MPI_COMM_WORLD.
  MPI_Comm_dup(MPI_COMM_WORLD, &state.comm);
  MPI_Comm_rank(state.comm, &state.rank);
  MPI_Comm_size(state.comm, &state.size);
  return 0;
}

int32_t nncrt_mpi_rank(void) { return state.rank; }
int32_t nncrt_mpi_size(void) { return state.size; }

void nncrt_mpi_set_timeout(double seconds) {
  if (seconds > 0)
    state.timeout = seconds;
}

void nncrt_mpi_sum_f64(double *values, int64_t count) {
  requireInit("nncrt_mpi_sum_f64");
  MPI_Request request;
  MPI_Iallreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_DOUBLE,
                 MPI_SUM, state.comm, &request);
  waitBounded(request, "a sum of training statistics over the ranks");
}

void nncrt_mpi_allgather_u64(uint64_t value, uint64_t *out) {
  requireInit("nncrt_mpi_allgather_u64");
  MPI_Request request;
  MPI_Iallgather(&value, 1, MPI_UINT64_T, out, 1, MPI_UINT64_T, state.comm,
                 &request);
  waitBounded(request, "the exchange of the compiled steps' hashes");
}

void nncrt_mpi_abort(const char *message) { abortJob(message); }

int32_t nncrt_mpi_finalize(void) {
  if (state.comm == MPI_COMM_NULL)
    return 0;
  MPI_Comm_free(&state.comm);
  state.comm = MPI_COMM_NULL;
  return MPI_Finalize();
}

void nncrt_mpi_get_stats(double *waitSeconds, double *startSeconds,
                         int64_t *waits) {
  *waitSeconds = state.waitSeconds;
  *startSeconds = state.startSeconds;
  *waits = state.waits;
}

void nncrt_mpi_reset_stats(void) {
  state.waitSeconds = state.startSeconds = 0;
  state.waits = 0;
}

double nncrt_mpi_time_allreduce(int64_t count, int32_t repeats) {
  requireInit("nncrt_mpi_time_allreduce");
  std::vector<float> data(std::max<int64_t>(count, 1), 1.0f);
  std::vector<double> times;
  for (int32_t r = 0; r < std::max(repeats, 1); ++r) {
    MPI_Request request;
    MPI_Ibarrier(state.comm, &request);
    waitBounded(request, "a barrier before timing an all-reduce");
    double t0 = now();
    MPI_Iallreduce(MPI_IN_PLACE, data.data(), static_cast<int>(count),
                   MPI_FLOAT, MPI_SUM, state.comm, &request);
    waitBounded(request, "a timed all-reduce");
    times.push_back(now() - t0);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2,
                   times.end());
  return times[times.size() / 2];
}

} // extern "C"
