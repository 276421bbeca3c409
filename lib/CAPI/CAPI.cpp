//===- CAPI.cpp - nnc's C API ---------------------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The C functions of nnc-c/nnc.h over the C++ library: loadModel,
// compileForCPU and JITModule. Each handle owns what it points to; every
// failure is a message in the context, never an abort.
//
//===----------------------------------------------------------------------===//

#include "nnc-c/nnc.h"

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Training/Distributed.h"
#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Planner/Chain.h"
#include "nnc/Support/Limits.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;

struct nnc_context {
  nnc_context() : mlir(makeRegistry()) { mlir.printOpOnDiagnostic(false); }
  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerNNCDialects(registry);
    return registry;
  }
  MLIRContext mlir;
  std::string error;
};

struct nnc_model {
  nnc_context *context;
  CompiledModel compiled;
  std::unique_ptr<JITModule> jit;
  std::vector<TensorSpec> parameters;
  std::vector<std::vector<float>> values;
};

namespace {
nnc_status fail(nnc_context *c, const llvm::Twine &message) {
  c->error = message.str();
  while (!c->error.empty() && c->error.back() == '\n')
    c->error.pop_back();
  return NNC_ERROR;
}
nnc_status fail(nnc_context *c, llvm::Error error) {
  return fail(c, llvm::toString(std::move(error)));
}

const EntryPoint *entryAt(const nnc_model *m, int entry) {
  if (!m || entry < 0 || entry >= static_cast<int>(m->compiled.entries.size()))
    return nullptr;
  return &m->compiled.entries[entry];
}

nnc_dtype dtypeOf(const BufferInfo &b) {
  if (b.cType == "int64_t")
    return NNC_I64;
  if (b.cType == "int32_t")
    return NNC_I32;
  return NNC_F32;
}

void describe(const BufferInfo &b, nnc_buffer *out) {
  out->name = b.name.c_str();
  out->source_name = b.sourceName.c_str();
  out->dtype = dtypeOf(b);
  out->rank = static_cast<int>(b.shape.size());
  out->shape = b.shape.data();
  out->bytes = b.bytes;
  out->is_parameter = b.isParam;
}

/// MPI is process-wide: nnc_data_parallel_init started it in this process.
bool dataParallelStarted = false;

/// The pipeline options `o` asks for, validated.
/// The library's options from the C struct's, validated as the tools'.
llvm::Error applyOptions(const nnc_options *o, CompileOptions &options) {
  if (!(o->learning_rate >= 0) || !std::isfinite(o->learning_rate))
    return llvm::createStringError("learning_rate must be finite and not "
                                   "negative");
  options.step.learningRate = o->learning_rate;
  if (o->strategy) {
    auto strategy = ::nnc::checkpointStrategies.parse(o->strategy);
    if (!strategy)
      return strategy.takeError();
    options.checkpoint.strategy = *strategy;
  }
  if (o->budget) {
    auto bytes = ::nnc::planner::parseByteSize(o->budget);
    if (!bytes)
      return bytes.takeError();
    options.checkpoint.budget = *bytes;
  }
  if (o->slots)
    options.checkpoint.slots = o->slots;
  if (o->precision) {
    auto precision = ::nnc::precisions.parse(o->precision);
    if (!precision)
      return precision.takeError();
    options.step.precision = *precision;
  }
  if (o->data_parallel) {
    if (!dataParallelStarted)
      return llvm::createStringError(
          "data_parallel needs MPI started first: call "
          "nnc_data_parallel_init (in a program run by mpirun)");
    options.step.allReduce = true;
  }
  return options.validate();
}

nnc_model *compile(nnc_context *c, ModelSource source, const nnc_options *o) {
  nnc_options defaults;
  nnc_options_init(&defaults);
  if (!o)
    o = &defaults;
  CompileOptions options;
  if (llvm::Error err = applyOptions(o, options))
    return fail(c, std::move(err)), nullptr;

  // Diagnostics, located as the tools print them, become the error.
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &c->mlir, os);
  auto failWith = [&](llvm::Error err) -> nnc_model * {
    std::string msg = llvm::toString(std::move(err));
    fail(c, diagnostics.empty() ? msg : diagnostics);
    return nullptr;
  };

  WeightSet initial;
  auto module = loadModel(c->mlir, sourceMgr, source, &initial);
  if (!module)
    return failWith(module.takeError());
  FailureOr<CompiledModel> compiled =
      compileForCPU(std::move(*module), options);
  if (failed(compiled))
    return failWith(llvm::createStringError("compilation failed"));
  // Every rank must run the same step, or the all-reduce would pair
  // unrelated buffers: an error on every rank, as nnc-train's.
  if (options.step.allReduce)
    if (llvm::Error err = checkSameStep(hashStep(*compiled->module)))
      return failWith(std::move(err));
  auto jit = JITModule::create(*compiled->module);
  if (!jit)
    return failWith(jit.takeError());

  auto m = std::make_unique<nnc_model>();
  m->context = c;
  m->compiled = std::move(*compiled);
  m->jit = std::move(*jit);
  m->parameters = m->compiled.parameters();
  // The model holds its parameters: a .mlir model's shapes (each within
  // nnc's per-tensor limit) can still sum beyond memory, and a failed
  // allocation would abort the caller. Check before allocating (sums
  // saturate: the number of parameters is not bounded).
  uint64_t bytes = 0;
  for (const TensorSpec &spec : m->parameters) {
    uint64_t n = sizeof(float);
    for (int64_t d : spec.shape)
      n = llvm::SaturatingMultiply(n, static_cast<uint64_t>(d));
    bytes = llvm::SaturatingAdd(bytes, n);
  }
  if (uint64_t can = ::nnc::limits::allocatableBytes(); can && bytes > can)
    return fail(c, "the model's parameters need " + llvm::Twine(bytes) +
                       " bytes, more than this process may allocate (" +
                       llvm::Twine(can) + " bytes)"),
           nullptr;
  for (const TensorSpec &spec : m->parameters) {
    int64_t n = 1;
    for (int64_t d : spec.shape)
      n *= d;
    // The initial values move into the model (no second copy).
    auto it = llvm::find_if(initial.tensors, [&](const NamedTensor &t) {
      return t.name == spec.name && t.shape == spec.shape;
    });
    m->values.push_back(it != initial.tensors.end()
                            ? std::move(it->data)
                            : std::vector<float>(n, 0.0f));
  }
  return m.release();
}
} // namespace

extern "C" {

const char *nnc_version(void) { return NNC_VERSION_STRING; }

void nnc_options_init(nnc_options *o) {
  if (!o)
    return;
  *o = nnc_options{};
  o->learning_rate = 0.0;
}

nnc_status nnc_data_parallel_init(nnc_context *c, double timeoutSeconds,
                                  int *rank, int *size) {
  if (!c)
    return NNC_ERROR;
  if (!rank || !size)
    return fail(c, "nnc_data_parallel_init: rank and size must not be null");
  auto dp = initDataParallel(timeoutSeconds);
  if (!dp)
    return fail(c, dp.takeError());
  dataParallelStarted = true;
  *rank = dp->rank;
  *size = dp->size;
  return NNC_OK;
}

void nnc_data_parallel_finalize(void) {
  if (dataParallelStarted)
    finalizeDataParallel();
  dataParallelStarted = false;
}

nnc_context *nnc_context_create(void) { return new nnc_context(); }
void nnc_context_destroy(nnc_context *c) { delete c; }
const char *nnc_context_error(const nnc_context *c) {
  return c ? c->error.c_str() : "no context";
}

nnc_model *nnc_compile_file(nnc_context *c, const char *path,
                            const nnc_options *o) {
  if (!c)
    return nullptr;
  // An empty path would mean "the built-in MLP" to the loader.
  if (!path || !*path)
    return fail(c, "nnc_compile_file: no path"), nullptr;
  ModelSource source;
  source.inputFile = path;
  source.name = o && o->name ? o->name : "";
  if (o && o->loss) {
    auto parsed = ::nnc::losses.parse(o->loss);
    if (!parsed)
      return fail(c, parsed.takeError()), nullptr;
    source.loss = *parsed;
  }
  if (o && o->batch > 0)
    source.batch = o->batch;
  return compile(c, std::move(source), o);
}

nnc_model *nnc_compile_mlp(nnc_context *c, const char *widths,
                           const char *activation, const char *loss,
                           int64_t batch, const nnc_options *o) {
  if (!c)
    return nullptr;
  auto spec = parseMLPSpec(widths ? widths : "", batch);
  if (!spec)
    return fail(c, spec.takeError()), nullptr;
  auto act = ::nnc::activations.parse(activation ? activation : "");
  if (!act)
    return fail(c, act.takeError()), nullptr;
  auto lossKind = ::nnc::losses.parse(loss ? loss : "");
  if (!lossKind)
    return fail(c, lossKind.takeError()), nullptr;
  spec->activation = *act;
  spec->loss = *lossKind;
  ModelSource source;
  source.mlp = *spec;
  // An empty name is no name, as for nnc_compile_file (it made a model
  // function named "" and entry points named "_train_step").
  source.name = o && o->name && *o->name ? o->name : "mlp";
  return compile(c, std::move(source), o);
}

void nnc_model_destroy(nnc_model *m) { delete m; }

int nnc_model_num_entries(const nnc_model *m) {
  return m ? static_cast<int>(m->compiled.entries.size()) : 0;
}

int nnc_model_find_entry(const nnc_model *m, nnc_role role) {
  for (int i = 0; i < nnc_model_num_entries(m); ++i)
    if (static_cast<int>(m->compiled.entries[i].role) == static_cast<int>(role))
      return i;
  return -1;
}

const char *nnc_entry_name(const nnc_model *m, int entry) {
  const EntryPoint *e = entryAt(m, entry);
  return e ? e->name.c_str() : nullptr;
}

nnc_role nnc_entry_role(const nnc_model *m, int entry) {
  const EntryPoint *e = entryAt(m, entry);
  return e ? static_cast<nnc_role>(e->role) : NNC_ROLE_LOSS;
}

int nnc_entry_num_inputs(const nnc_model *m, int entry) {
  const EntryPoint *e = entryAt(m, entry);
  return e ? static_cast<int>(e->inputs.size()) : 0;
}

int nnc_entry_num_outputs(const nnc_model *m, int entry) {
  const EntryPoint *e = entryAt(m, entry);
  return e ? static_cast<int>(e->outputs.size()) : 0;
}

nnc_status nnc_entry_input(const nnc_model *m, int entry, int index,
                           nnc_buffer *out) {
  const EntryPoint *e = entryAt(m, entry);
  if (!e || !out || index < 0 || index >= static_cast<int>(e->inputs.size()))
    return m ? fail(m->context, "nnc_entry_input: no such buffer") : NNC_ERROR;
  describe(e->inputs[index], out);
  return NNC_OK;
}

nnc_status nnc_entry_output(const nnc_model *m, int entry, int index,
                            nnc_buffer *out) {
  const EntryPoint *e = entryAt(m, entry);
  if (!e || !out || index < 0 || index >= static_cast<int>(e->outputs.size()))
    return m ? fail(m->context, "nnc_entry_output: no such buffer") : NNC_ERROR;
  describe(e->outputs[index], out);
  return NNC_OK;
}

int64_t nnc_entry_workspace_bytes(const nnc_model *m, int entry) {
  const EntryPoint *e = entryAt(m, entry);
  return e ? e->workspaceBytes : -1;
}

nnc_status nnc_model_run(nnc_model *m, int entry, const void *const *inputs,
                         void *const *outputs) {
  const EntryPoint *e = entryAt(m, entry);
  if (!e)
    return m ? fail(m->context, "nnc_model_run: no such entry point")
             : NNC_ERROR;
  if ((!inputs && !e->inputs.empty()) || (!outputs && !e->outputs.empty()))
    return fail(m->context, "nnc_model_run: missing buffers");
  SmallVector<void *> buffers;
  for (size_t i = 0; i < e->inputs.size(); ++i)
    buffers.push_back(const_cast<void *>(inputs[i]));
  for (size_t i = 0; i < e->outputs.size(); ++i)
    buffers.push_back(outputs[i]);
  if (llvm::any_of(buffers, [](void *p) { return !p; }))
    return fail(m->context, "nnc_model_run: a buffer is NULL");
  if (llvm::Error err =
          m->jit->invokeWithWorkspace(e->name, buffers, e->workspaceBytes))
    return fail(m->context, std::move(err));
  return NNC_OK;
}

int nnc_model_num_parameters(const nnc_model *m) {
  return m ? static_cast<int>(m->parameters.size()) : 0;
}

nnc_status nnc_model_parameter_info(const nnc_model *m, int index,
                                    nnc_buffer *out) {
  int entry = nnc_model_find_entry(m, NNC_ROLE_LOSS);
  if (!m || !out || index < 0 || index >= nnc_model_num_parameters(m) ||
      entry < 0)
    return m ? fail(m->context, "nnc_model_parameter_info: no such parameter")
             : NNC_ERROR;
  int k = 0;
  for (const BufferInfo &b : m->compiled.entries[entry].inputs)
    if ((b.isParam || b.isRunningStat) && k++ == index)
      describe(b, out);
  return NNC_OK;
}

float *nnc_model_parameter(nnc_model *m, int index) {
  if (!m || index < 0 || index >= nnc_model_num_parameters(m))
    return nullptr;
  return m->values[index].data();
}

nnc_status nnc_model_train_step(nnc_model *m, const void *const *data,
                                float *loss) {
  if (!m)
    return NNC_ERROR;
  int entry = nnc_model_find_entry(m, NNC_ROLE_TRAIN_STEP);
  if (entry < 0)
    return fail(m->context, "nnc_model_train_step: the model was compiled "
                            "without a learning rate (no training step)");
  const EntryPoint &e = m->compiled.entries[entry];
  if (!data || !loss)
    return fail(m->context, "nnc_model_train_step: missing buffers");
  // Inputs: data in order, parameters from the model; outputs: the loss,
  // then each parameter updated in place (the header allows the alias).
  SmallVector<const void *> inputs;
  llvm::StringMap<float *> byName;
  size_t d = 0, p = 0;
  for (const BufferInfo &b : e.inputs) {
    bool weight = b.isParam || b.isRunningStat;
    if (weight)
      byName[b.name] = m->values[p].data();
    inputs.push_back(weight ? m->values[p++].data() : data[d++]);
  }
  // Each updated parameter and running statistic (`new_<name>`) over its
  // input.
  SmallVector<void *> outputs{loss};
  for (const BufferInfo &b : llvm::drop_begin(e.outputs)) {
    float *v = StringRef(b.name).starts_with("new_")
                   ? byName.lookup(StringRef(b.name).drop_front(4))
                   : nullptr;
    if (!v)
      return fail(m->context, "nnc_model_train_step: cannot place the "
                              "step's output '" +
                                  b.name + "'");
    outputs.push_back(v);
  }
  if (nnc_status status = nnc_model_run(m, entry, inputs.data(),
                                        outputs.data());
      status != NNC_OK)
    return status;
  if (!std::isfinite(*loss))
    return fail(m->context,
                "nnc_model_train_step: the loss is not finite: a label "
                "outside [0, classes), or diverging training");
  return NNC_OK;
}

nnc_status nnc_model_save_weights(const nnc_model *m, const char *path) {
  if (!m)
    return NNC_ERROR;
  if (!path)
    return fail(m->context, "nnc_model_save_weights: no path");
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<const float *> data;
  for (size_t i = 0; i < m->parameters.size(); ++i) {
    names.push_back(m->parameters[i].name);
    shapes.push_back(m->parameters[i].shape);
    data.push_back(m->values[i].data());
  }
  if (llvm::Error err = saveWeights(path, names, shapes, data))
    return fail(m->context, std::move(err));
  return NNC_OK;
}

nnc_status nnc_model_load_weights(nnc_model *m, const char *path) {
  if (!m)
    return NNC_ERROR;
  if (!path)
    return fail(m->context, "nnc_model_load_weights: no path");
  auto weights = loadWeights(path);
  if (!weights)
    return fail(m->context, weights.takeError());
  auto matched = matchWeights(*weights, m->parameters);
  if (!matched)
    return fail(m->context,
                llvm::Twine(path) + ": " + llvm::toString(matched.takeError()));
  for (size_t i = 0; i < matched->size(); ++i)
    m->values[i] = (*matched)[i]->data;
  return NNC_OK;
}

nnc_status nnc_model_plan_stats(const nnc_model *m, nnc_plan_stats *out) {
  if (!m)
    return NNC_ERROR; // no context to say it in
  if (!out)
    return fail(m->context, "nnc_model_plan_stats: no output struct");
  *out = nnc_plan_stats{};
  const ModelStats &s = m->compiled.stats;
  out->parameters = s.numParams;
  out->parameter_bytes = s.paramBytes;
  out->budget_bytes = -1;
  if (const EntryPoint *step = m->compiled.step())
    out->arena_bytes = step->workspaceBytes;
  CheckpointPlanAttr plan = s.plan;
  if (!plan)
    return fail(m->context, "nnc_model_plan_stats: the model has no "
                            "checkpoint plan");
  out->strategy = ::nnc::checkpointStrategies.name(plan.getStrategy()).data();
  if (std::optional<int64_t> budget = plan.getBudget())
    out->budget_bytes = *budget;
  out->predicted_peak_bytes = plan.getPeakBytes();
  out->store_all_peak_bytes = plan.getStoreAllPeakBytes();
  out->min_budget_bytes = plan.getMinBudgetBytes();
  out->stages = plan.getStages();
  out->forward_steps = plan.getForwardSteps();
  out->compute_flops = plan.getComputeFlops().convertToDouble();
  out->recompute_flops = plan.getRecomputeFlops().convertToDouble();
  out->store_all_flops = plan.getStoreAllFlops().convertToDouble();
  return NNC_OK;
}

} // extern "C"
