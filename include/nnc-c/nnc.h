/*===- nnc-c/nnc.h - nnc's C API: compile and train in process ----*- C -*-===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *===----------------------------------------------------------------------===*
 *
 * The JIT path as a small, stable C interface, for C programs and for other
 * languages' foreign-function layers (Python's ctypes loads libnnc.so):
 *
 *   nnc_context *ctx = nnc_context_create();
 *   nnc_options opts; nnc_options_init(&opts);
 *   opts.learning_rate = 0.1; opts.strategy = "dp"; opts.budget = "64KiB";
 *   nnc_model *m = nnc_compile_file(ctx, "model.onnx", &opts);
 *   if (!m) fprintf(stderr, "%s\n", nnc_context_error(ctx));
 *   float loss;
 *   const void *data[] = {x, labels};        // the step's data inputs
 *   nnc_model_train_step(m, data, &loss);     // updates the parameters
 *   nnc_model_save_weights(m, "trained.nncw");
 *   nnc_model_destroy(m);
 *   nnc_context_destroy(ctx);
 *
 * Ownership. Every object is created and destroyed by the functions named
 * for it: a model must be destroyed before its context. Strings and shapes
 * returned by a query belong to the model (or the context, for errors) and
 * stay valid until it is destroyed; the error string until the next failing
 * call on the context. Buffers passed to nnc_model_run and
 * nnc_model_train_step are the caller's and are only used during the call.
 * A model owns its parameters (nnc_model_parameter), its compiled code and
 * one workspace reused by every call, so a step allocates nothing.
 *
 * Thread safety. Different contexts, and the models of different contexts,
 * may be used from different threads at the same time. A context and its
 * models must not be used by two threads at once: they share one MLIR
 * context and one error buffer.
 *
 * Errors. Functions returning nnc_status return NNC_OK or NNC_ERROR;
 * functions returning a pointer return NULL on failure. Either way
 * nnc_context_error() then describes the failure (a located message for a
 * bad model file). No function aborts on bad input.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NNC_C_NNC_H
#define NNC_C_NNC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of nnc this header belongs to, e.g. "0.3.0". */
const char *nnc_version(void);

typedef enum { NNC_OK = 0, NNC_ERROR = 1 } nnc_status;

typedef struct nnc_context nnc_context;
typedef struct nnc_model nnc_model;

/* What an entry point computes (the header of nnc-compile documents each). */
typedef enum {
  NNC_ROLE_LOSS = 0,       /* forward: the loss */
  NNC_ROLE_GRAD = 1,       /* the loss, then d loss / d parameter for each */
  NNC_ROLE_TRAIN_STEP = 2, /* the loss, then each parameter after SGD */
  NNC_ROLE_PREDICT = 3     /* the network's output */
} nnc_role;

typedef enum { NNC_F32 = 0, NNC_I32 = 1, NNC_I64 = 2 } nnc_dtype;

/* Compilation options; nnc_options_init sets the defaults. */
typedef struct {
  /* > 0: a training step with this SGD rate; 0: a gradient function. */
  double learning_rate;
  /* Checkpointing: "store-all" (NULL), "recompute-all", "sqrt", "chen",
   * "dp". */
  const char *strategy;
  /* Activation budget for chen and dp, e.g. "600KiB"; NULL: none. */
  const char *budget;
  /* dp's memory discretisation; 0: the default (500). */
  unsigned slots;
  /* ONNX inference graph: the loss to append, "mse" or "cross-entropy";
   * NULL: the graph computes its loss. */
  const char *loss;
  /* ONNX: the size of symbolic (dynamic) dimensions; 0: none. */
  int64_t batch;
  /* The model function's name; NULL or "": the file's stem (ONNX) or
   * "mlp". */
  const char *name;
  /* "f32" (NULL) or "bf16": mixed precision, matmul operands and the
   * activations between them in bf16 with f32 accumulation, master
   * weights and losses (needs AVX-512 BF16 or AMX; compiling fails
   * with a message otherwise). Buffers the caller passes stay float.
   * "fp16" (the nvptx target's, which this API does not compile for) is
   * refused with a message. */
  const char *precision;
  /* Nonzero: data parallelism. The step averages every gradient over the
   * MPI ranks before its update (buckets of 1 MiB, started as the
   * backward completes them); call nnc_data_parallel_init first. */
  int data_parallel;
} nnc_options;

void nnc_options_init(nnc_options *options);

nnc_context *nnc_context_create(void);
void nnc_context_destroy(nnc_context *context);
/* The last failure's message ("" if none). */
const char *nnc_context_error(const nnc_context *context);

/* Compiles a model file (.onnx or .mlir) for this machine. Its parameters
 * start at an ONNX model's initializers, at zero for a .mlir model. */
nnc_model *nnc_compile_file(nnc_context *context, const char *path,
                            const nnc_options *options);
/* Compiles an MLP: widths such as "784,100,10", activation "relu",
 * "sigmoid" or "tanh", loss "cross-entropy" or "mse"; its parameters start
 * at nnc's Kaiming initialization. */
nnc_model *nnc_compile_mlp(nnc_context *context, const char *widths,
                           const char *activation, const char *loss,
                           int64_t batch, const nnc_options *options);
void nnc_model_destroy(nnc_model *model);

/* One buffer of an entry point. */
typedef struct {
  const char *name;        /* a C identifier */
  const char *source_name; /* the model file's name (ONNX), else name */
  nnc_dtype dtype;
  int rank;
  const int64_t *shape; /* rank entries */
  int64_t bytes;
  int is_parameter;
} nnc_buffer;

int nnc_model_num_entries(const nnc_model *model);
/* The index of the entry with this role, or -1. */
int nnc_model_find_entry(const nnc_model *model, nnc_role role);
const char *nnc_entry_name(const nnc_model *model, int entry);
nnc_role nnc_entry_role(const nnc_model *model, int entry);
int nnc_entry_num_inputs(const nnc_model *model, int entry);
int nnc_entry_num_outputs(const nnc_model *model, int entry);
nnc_status nnc_entry_input(const nnc_model *model, int entry, int index,
                           nnc_buffer *buffer);
nnc_status nnc_entry_output(const nnc_model *model, int entry, int index,
                            nnc_buffer *buffer);
/* The workspace the entry needs (the model provides it). */
int64_t nnc_entry_workspace_bytes(const nnc_model *model, int entry);

/* Runs an entry on caller buffers: every input, then every output, in the
 * entry's order, each dense row-major of its shape. Outputs may alias
 * inputs of the same shape (a training step updating in place). */
nnc_status nnc_model_run(nnc_model *model, int entry, const void *const *inputs,
                         void *const *outputs);

/* The model's own parameters: those of the model function, in order (a
 * batch norm's running statistics among them, as in PyTorch's state_dict;
 * a training step updates them too). */
int nnc_model_num_parameters(const nnc_model *model);
nnc_status nnc_model_parameter_info(const nnc_model *model, int index,
                                    nnc_buffer *buffer);
/* Its values, writable: numElements floats, owned by the model. */
float *nnc_model_parameter(nnc_model *model, int index);

/* One training step on the model's parameters (compiled with a learning
 * rate > 0): `data` are the step's non-parameter inputs in order (x, then
 * labels or targets); the parameters are updated in place, `loss` receives
 * the loss before the update. A loss that is not finite fails the call with
 * NNC_ERROR (after the update): a cross-entropy label outside
 * [0, classes) makes it NaN (that row contributes no gradient), and so
 * does diverging training. */
nnc_status nnc_model_train_step(nnc_model *model, const void *const *data,
                                float *loss);

/* The parameters by name in nnc's weights file (nnc/Frontend/Weights.h),
 * which PyTorch reads back by state_dict key. Loading checks every name and
 * shape and changes nothing on error. */
nnc_status nnc_model_save_weights(const nnc_model *model, const char *path);
nnc_status nnc_model_load_weights(nnc_model *model, const char *path);

/* Data parallelism over MPI (docs/Distributed.md), for a program started
 * by mpirun: starts MPI (if the program has not) and says this process's
 * rank and the number of ranks. Every rank must then compile the same
 * model with the same options and data_parallel set (compiling fails on
 * every rank otherwise: the ranks compare a hash of the compiled step),
 * and give each step its own shard of the global batch; the ranks' steps
 * then update identical weights. A rank that waits longer than
 * timeout_seconds (> 0) in any collective for the others aborts the job
 * with a message (a rank exited or hangs). Fails with a message when nnc
 * was built without MPI. */
nnc_status nnc_data_parallel_init(nnc_context *context, double timeout_seconds,
                                  int *rank, int *size);
/* Ends MPI (once, after the last step of any data-parallel model). */
void nnc_data_parallel_finalize(void);

/* The checkpoint plan's figures (those of --report=json). */
typedef struct {
  const char *strategy;
  int64_t budget_bytes; /* -1: none */
  int64_t predicted_peak_bytes;
  int64_t store_all_peak_bytes;
  int64_t min_budget_bytes;
  int64_t stages;
  int64_t forward_steps;
  double compute_flops;
  double recompute_flops;
  double store_all_flops;
  int64_t arena_bytes; /* the training (or gradient) step's workspace */
  int64_t parameters;
  int64_t parameter_bytes;
} nnc_plan_stats;

nnc_status nnc_model_plan_stats(const nnc_model *model, nnc_plan_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* NNC_C_NNC_H */
