/*===- MPIRuntime.h - the data-parallel run-time library ----------*- C -*-===*\
|*                                                                            *|
|* Part of nnc, under the Apache License v2.0 with LLVM Exceptions.           *|
|* See LICENSE for license information.                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * What a data-parallel training step calls (nn.all_reduce_start/wait, see
 * docs/Distributed.md), over Open MPI, and what the program running the
 * step calls around it. Built only when CMake finds MPI (NNC_HAVE_MPI).
 *
 * Every wait on the other ranks is bounded: a request is polled with
 * MPI_Test until the deadline (nncrt_mpi_set_timeout), then the job is
 * aborted with a message naming what did not complete. A rank that died
 * or hangs therefore ends the job instead of blocking it forever.
 */

#ifndef NNC_RUNTIME_MPI_MPIRUNTIME_H
#define NNC_RUNTIME_MPI_MPIRUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called by compiled steps. `buf` holds `count` floats (a packed bucket of
 * gradients); `bucket` numbers it within the step. start begins an
 * in-place MPI_Iallreduce (sum) of it and drives the ones already in
 * flight; wait completes it and divides by the number of ranks. */
void nncrt_allreduce_start(float *buf, int64_t count, int64_t bucket);
void nncrt_allreduce_wait(float *buf, int64_t count, int64_t bucket);

/* The host side. init calls MPI_Init (once; 0 on success, else the MPI
 * error code) on MPI_COMM_WORLD. */
int32_t nncrt_mpi_init(void);
int32_t nncrt_mpi_rank(void);
int32_t nncrt_mpi_size(void);
/* Seconds a rank waits for the others before aborting the job (> 0). */
void nncrt_mpi_set_timeout(double seconds);
/* Sums `count` doubles over the ranks in place (fixed order: every rank
 * gets the same bits). */
void nncrt_mpi_sum_f64(double *values, int64_t count);
/* Gathers one u64 from every rank into out[0 .. size-1]. */
void nncrt_mpi_allgather_u64(uint64_t value, uint64_t *out);
/* Prints "nnc: rank R: <message>" to stderr and aborts every rank. */
void nncrt_mpi_abort(const char *message);
int32_t nncrt_mpi_finalize(void);

/* Time the steps spent blocked in nncrt_allreduce_wait and in
 * nncrt_allreduce_start since the last reset, and the number of waits. */
void nncrt_mpi_get_stats(double *wait_seconds, double *start_seconds,
                         int64_t *waits);
void nncrt_mpi_reset_stats(void);
/* Seconds one blocking all-reduce of `count` floats takes, the median of
 * `repeats` (a calibration of what the buckets cost when nothing hides
 * them). */
double nncrt_mpi_time_allreduce(int64_t count, int32_t repeats);

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_MPI_MPIRUNTIME_H */
