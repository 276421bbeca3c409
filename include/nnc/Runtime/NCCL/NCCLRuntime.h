/*===- NCCLRuntime.h - the GPU target's gradient all-reduce --------*- C -*-===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *===----------------------------------------------------------------------===*
 *
 * What a data-parallel training step compiled for the NVPTX target calls
 * (nn.all_reduce_start/wait, docs/Distributed.md), over NCCL, and what the
 * program running the step calls first. Built where the CUDA runtime is
 * (the toolkit's cuda.h), the toolkit has nccl.h, and CMake finds MPI.
 *
 * NCCL is loaded with dlopen on first use, like the CUDA driver:
 * libnccl.so.2 as the dynamic loader finds it, or the library the
 * environment variable NNC_NCCL_LIBRARY names (a path). A model library
 * therefore links and loads on machines without NCCL; nncrt_nccl_init
 * then fails and nnc_cuda_error() says why ("no NCCL: ..."). Errors are
 * the CUDA runtime's (nnc_cuda_error, sticky): NCCL's work runs on that
 * runtime's one stream, in the step's CUDA graph.
 *
 * Start and wait. nncrt_nccl_allreduce_start enqueues ncclAllReduce (sum,
 * in place) of a bucket on the runtime's stream; nncrt_nccl_allreduce_wait
 * enqueues the division by the number of ranks (one multiplication by
 * 1.0f / N per element, as the MPI runtime's wait). On one stream the wait
 * only orders: the stream runs the all-reduce where the start enqueued it,
 * between the backward's kernels, not beside them.
 *
 * Like the CUDA runtime, it is linked into each model library that calls
 * it and bound to that library's copy (protected symbols): a program calls
 * the nncrt_nccl_* functions of the model's library.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NNC_RUNTIME_NCCL_NCCLRUNTIME_H
#define NNC_RUNTIME_NCCL_NCCLRUNTIME_H

#include <stdint.h>

/* The size of NCCL's unique id (NCCL_UNIQUE_ID_BYTES). */
#define NNC_NCCL_UNIQUE_ID_BYTES 128

#ifdef __cplusplus
extern "C" {
#endif

/* ---- For programs ------------------------------------------------------ */

/* Sets up the communicator of the MPI job (Open MPI's mpirun): initializes
 * MPI if needed (nncrt_mpi_init), runs this rank on the GPU of its local
 * rank (its place among the ranks of its node; one GPU per rank), and
 * creates the NCCL communicator from rank 0's unique id, broadcast with
 * MPI_Bcast. Call it before any other nnc_cuda_* call (it chooses the
 * device). 0, or -1 with nnc_cuda_error() set. */
int32_t nncrt_nccl_init(void);

/* The same without MPI, for programs that bootstrap otherwise: one rank
 * makes the unique id and hands it to every rank, which chooses its device
 * (nnc_cuda_set_device) and calls init_rank. 0, or -1 with the error. */
int32_t nncrt_nccl_get_unique_id(uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES]);
int32_t nncrt_nccl_init_rank(int32_t rank, int32_t nranks,
                             const uint8_t id[NNC_NCCL_UNIQUE_ID_BYTES]);

/* NCCL's version as NCCL_VERSION_CODE (22809 for 2.28.9), loading it if
 * needed; -1 without NCCL, with nnc_cuda_error() set. */
int32_t nncrt_nccl_version(void);
/* This rank and the number of ranks (0 and 1 before init). */
int32_t nncrt_nccl_rank(void);
int32_t nncrt_nccl_size(void);
/* Waits for the stream and destroys the communicator. */
int32_t nncrt_nccl_finalize(void);

/* ---- For compiled code ------------------------------------------------- */

/* `buf` (device memory) holds `count` floats, a packed bucket of
 * gradients; `bucket` numbers it within the step. */
void nncrt_nccl_allreduce_start(float *buf, int64_t count, int64_t bucket);
void nncrt_nccl_allreduce_wait(float *buf, int64_t count, int64_t bucket);

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_NCCL_NCCLRUNTIME_H */
