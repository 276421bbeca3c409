/*===- CUDARuntime.h - what GPU code compiled by nnc calls ---------*- C -*-===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *===----------------------------------------------------------------------===*
 *
 * The NVPTX target's run-time library, on the CUDA driver API. It loads
 * the driver with dlopen when first needed, so nnc builds, links and runs
 * its tests on machines without a GPU or a driver: every entry point then
 * fails cleanly, with nnc_cuda_error() saying why. The driver is
 * libcuda.so.1 (found as the dynamic loader finds it), or the library the
 * environment variable NNC_CUDA_DRIVER names when set (a path; nnc's tests
 * point it at a fake driver that records calls).
 *
 * Compiled host code calls the nncrt_cuda_* functions; programs call the
 * nnc_cuda_* ones to get device memory for parameters, data and the arena,
 * move data, run steps and wait for them.
 *
 * One context and one stream. The runtime uses the primary context (the one
 * the CUDA runtime API and PyTorch use) of device 0, or of the device
 * nnc_cuda_set_device chose (a data-parallel rank takes the GPU of its
 * local rank: NCCL/NCCLRuntime.h), and makes it current on the calling
 * thread at every entry, so any thread may call, and the host
 * program may switch contexts between calls. Not thread-safe: one thread
 * at a time. Every copy, memset and kernel runs on the runtime's one
 * stream, in call order.
 *
 * One runtime per library. The runtime is linked into every compiled model
 * library (.so), which exports the whole nnc_cuda_* API and binds its own
 * calls to its own copy (protected symbols): a process that loads a model
 * with RTLD_LOCAL (ctypes' default) must call the nnc_cuda_* functions of
 * that model's library (its handle), not those of libnnc_runtime_cuda.so
 * or of another model, which have their own stream, graphs and error. Two
 * models in one process share no stream: synchronize one before the other
 * uses its outputs. libnnc_runtime_cuda.so is for programs that link no
 * model, to ask whether a GPU is there.
 *
 * Alignment. Every buffer passed to a compiled entry point must be
 * NNC_CUDA_BUFFER_ALIGNMENT (16) bytes aligned, the workspace 64: the
 * kernels load matmul operands 128 bits at a time. nnc_cuda_malloc gives
 * 256. An entry point given a misaligned buffer runs nothing and sets the
 * error, because a misaligned access in a kernel is a fault that the
 * process cannot recover from (see nnc_cuda_error).
 *
 *===----------------------------------------------------------------------===*/

#ifndef NNC_RUNTIME_CUDA_CUDARUNTIME_H
#define NNC_RUNTIME_CUDA_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

/* The alignment, in bytes, every buffer of a compiled entry point needs. */
#define NNC_CUDA_BUFFER_ALIGNMENT 16

#ifdef __cplusplus
extern "C" {
#endif

/* ---- For programs ------------------------------------------------------ */

/* 1 if a CUDA driver and a device are usable; else 0, and nnc_cuda_error()
 * says why ("no CUDA driver: libcuda.so.1: cannot open shared object file",
 * "no CUDA device", ...). */
int nnc_cuda_available(void);

/* The number of CUDA devices, or -1 without a driver (nnc_cuda_error() says
 * why). Creates no context. */
int nnc_cuda_device_count(void);
/* Runs the runtime on device `ordinal` instead of device 0. Only before any
 * other call but nnc_cuda_device_count (the context, the stream and the
 * loaded modules belong to one device); 0, or -1 with nnc_cuda_error() set
 * (no such device, or too late). */
int nnc_cuda_set_device(int ordinal);

/* The first error since the last nnc_cuda_clear_error(), or NULL. Errors are
 * sticky: once one happened, kernel launches are skipped (their results
 * would be garbage) until it is cleared. Clearing resumes after errors the
 * runtime detected itself (a misaligned buffer, a launch the driver refused,
 * out of memory), not after a fault inside a kernel (an illegal or
 * misaligned address, ...): the driver then loses the context, and every
 * later call fails until the process exits. */
const char *nnc_cuda_error(void);
void nnc_cuda_clear_error(void);

/* Device memory, 256-byte aligned. NULL on failure (out of memory, no
 * device), with nnc_cuda_error() set. nnc_cuda_free waits for the steps
 * launched before it (one may use the buffer). */
void *nnc_cuda_malloc(size_t bytes);
void nnc_cuda_free(void *device);
/* 0 on success, -1 on failure (nnc_cuda_error() says why). Both copies run
 * on the runtime's stream after every step launched before them and are
 * complete when they return (the host memory may be reused at once). A
 * memset runs on that stream too, after the steps before it and before the
 * ones after it, but returns at once. */
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
 * call with some buffers is captured, later calls with the same buffers
 * replay the graph. Each step keeps the graphs of its 8 most recently used
 * buffer sets (rotating batches, swapping W and new_W). Where capturing
 * fails, the step runs plain launches, then and afterwards, and no error
 * is set. */
void nnc_cuda_use_graphs(int enable);
/* Kernel launches and graph replays since the process started. */
uint64_t nnc_cuda_launch_count(void);
uint64_t nnc_cuda_graph_launch_count(void);

/* ---- For compiled code ------------------------------------------------- */

/* Launches kernel `name` (index `kernel` of this module) of the PTX module
 * `ptx` on the runtime's stream. The module is loaded, and every kernel it
 * defines resolved, on first use (never inside a capture). `params` follows
 * cuLaunchKernel: one pointer per kernel argument. */
void nncrt_cuda_launch(const char *ptx, int32_t kernel, const char *name,
                       int32_t gx, int32_t gy, int32_t gz, int32_t bx,
                       int32_t by, int32_t bz, void **params);
/* Around the launches of step `fn` with buffer addresses `args`: returns 1
 * if it replayed a graph captured for these buffers (the caller then skips
 * its launches), else 0 (and captures the launches that follow, when graphs
 * are on). A misaligned buffer sets the error, and the step's launches are
 * skipped. */
int32_t nncrt_cuda_step_begin(const char *ptx, int32_t fn,
                              const uint64_t *args, int32_t nargs);
void nncrt_cuda_step_end(const char *ptx, int32_t fn);

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_CUDA_CUDARUNTIME_H */
