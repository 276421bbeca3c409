/*===- CUDARuntime.h - what GPU code compiled by nnc calls ---------*- C -*-===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *===----------------------------------------------------------------------===*
 *
 * The NVPTX target's run-time library, on the CUDA driver API. It loads
 * libcuda.so.1 with dlopen when first needed, so nnc builds, links and runs
 * its tests on machines without a GPU or a driver: every entry point then
 * fails cleanly, with nnc_cuda_error() saying why.
 *
 * Compiled host code calls the nncrt_cuda_* functions; programs call the
 * nnc_cuda_* ones to get device memory for parameters, data and the arena,
 * move data, run steps and wait for them. One context (the primary context
 * of device 0) and one stream per process; not thread-safe: use it from one
 * thread at a time.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NNC_RUNTIME_CUDA_CUDARUNTIME_H
#define NNC_RUNTIME_CUDA_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- For programs ------------------------------------------------------ */

/* 1 if a CUDA driver and a device are usable; else 0, and nnc_cuda_error()
 * says why ("no CUDA driver: libcuda.so.1: cannot open shared object file",
 * "no CUDA device", ...). */
int nnc_cuda_available(void);

/* The first error since the last nnc_cuda_clear_error(), or NULL. Errors are
 * sticky: once one happened, kernel launches are skipped (their results
 * would be garbage) until it is cleared. */
const char *nnc_cuda_error(void);
void nnc_cuda_clear_error(void);

/* Device memory, 256-byte aligned (the arena needs 64). NULL on failure
 * (out of memory, no device), with nnc_cuda_error() set. */
void *nnc_cuda_malloc(size_t bytes);
void nnc_cuda_free(void *device);
/* 0 on success, -1 on failure (nnc_cuda_error() says why). */
int nnc_cuda_memcpy_to_device(void *device, const void *host, size_t bytes);
int nnc_cuda_memcpy_to_host(void *host, const void *device, size_t bytes);
int nnc_cuda_memset(void *device, int value, size_t bytes);
/* Waits for every launched step; 0, or -1 with the error (a failed launch,
 * a fault) in nnc_cuda_error(). */
int nnc_cuda_synchronize(void);
/* Free and total device memory in bytes. */
int nnc_cuda_mem_info(size_t *free_bytes, size_t *total_bytes);
/* The device's name, or "" without one. */
const char *nnc_cuda_device_name(void);
/* Whether steps are captured as CUDA graphs (default 1): a step's first
 * call is captured, later calls with the same buffers replay the graph. */
void nnc_cuda_use_graphs(int enable);
/* Kernel launches and graph replays since the process started. */
uint64_t nnc_cuda_launch_count(void);
uint64_t nnc_cuda_graph_launch_count(void);

/* ---- For compiled code ------------------------------------------------- */

/* Launches kernel `name` (index `kernel` of this module) of the PTX module
 * `ptx` (loaded once, on first use) on the runtime's stream. `params`
 * follows cuLaunchKernel: one pointer per kernel argument. */
void nncrt_cuda_launch(const char *ptx, int32_t kernel, const char *name,
                       int32_t gx, int32_t gy, int32_t gz, int32_t bx,
                       int32_t by, int32_t bz, void **params);
/* Around the launches of step `fn` with buffer addresses `args`: returns 1
 * if it replayed a graph captured for these buffers (the caller then skips
 * its launches), else 0 (and captures the launches that follow, when graphs
 * are on). */
int32_t nncrt_cuda_step_begin(const char *ptx, int32_t fn,
                              const uint64_t *args, int32_t nargs);
void nncrt_cuda_step_end(const char *ptx, int32_t fn);

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_CUDA_CUDARUNTIME_H */
