//===- CAPIFuzzer.cpp - fuzz the C API's entry points ---------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Input: a program of calls to nnc-c/nnc.h, one opcode byte and its
// argument bytes at a time, run the way a hostile C caller would: NULL
// handles and pointers, indices out of range, absurd and non-finite
// options, bad paths (missing, a directory, /dev/zero, a FIFO, a full
// device), weights files made of the input's bytes, labels out of range,
// NaN parameters, a training step on a model without one. Every call is
// one the header documents as legal or diagnosed: the harness owns every
// handle, so nothing is used after it is destroyed or destroyed twice, and
// every buffer it passes has the size the entry point declares (the API
// cannot check a raw pointer's extent).
//
// Compiling a model JITs it (tens of milliseconds), so the models the
// calls run on are compiled once, in LLVMFuzzerInitialize, and their
// parameters are restored before each input. Compile calls on the hot path
// always carry at least one argument the API documents as invalid and must
// fail fast; one opcode compiles for real from arguments picked from
// tables, memoized by those arguments (compiling is deterministic).
//
// Contracts beyond "no crash":
//  - a failure (NULL, NNC_ERROR) with a context leaves a non-empty message;
//  - a call with valid arguments succeeds, with a consistent result (a
//    buffer's bytes are the product of its shape times its element size);
//  - a compile call with a documented-invalid argument fails;
//  - nnc_model_load_weights changes nothing when it fails, loads only
//    finite values, and reads back exactly what nnc_model_save_weights
//    wrote;
//  - a training step with a label outside [0, classes) fails, and one
//    that succeeds has a finite loss.
//
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc-c/nnc.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <vector>

using mlir::nnc::fuzz::contractBroken;
using mlir::nnc::fuzz::verbose;

namespace {

/// Reads the program: bytes past the end read as zero, so every input is a
/// complete program.
class Reader {
public:
  Reader(const uint8_t *data, size_t size) : data(data), size(size) {}
  bool done() const { return pos >= size; }
  uint8_t byte() { return pos < size ? data[pos++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v = v << 8 | byte();
    return v;
  }
  template <typename T> const T &pick(llvm::ArrayRef<T> table) {
    return table[byte() % table.size()];
  }
  /// Up to `max` bytes as a string (a length byte, then the bytes).
  std::string str(size_t max) {
    size_t n = std::min<size_t>(byte(), max);
    std::string s;
    for (size_t i = 0; i < n && !done(); ++i)
      s.push_back(static_cast<char>(byte()));
    return s;
  }
  /// The rest of the input, up to `max` bytes (a weights file's contents).
  llvm::ArrayRef<uint8_t> chunk(size_t max) {
    size_t length = u32() & 0xffff; // first: it moves pos
    size_t n = std::min<size_t>({size - std::min(pos, size), max, length});
    llvm::ArrayRef<uint8_t> r(data + pos, n);
    pos += n;
    return r;
  }

private:
  const uint8_t *data;
  size_t size, pos = 0;
};

/// A compiled model and what the harness knows about it.
struct Model {
  nnc_context *context = nullptr;
  nnc_model *model = nullptr;
  int classes = 0; // > 0: a cross-entropy model with this many classes
  std::vector<std::vector<float>> initial;
};

struct State {
  nnc_context *context = nullptr; // owns every model below
  std::vector<Model> models;      // compiled at start-up
  llvm::StringMap<Model> memo;    // compiled by the kCompile opcode
  std::string dir, fuzzFile, outFile, fifo, badMlir;
};
State *state;

void requireError(const nnc_context *c, const char *call) {
  if (c && !*nnc_context_error(c))
    contractBroken(llvm::Twine(call) + " failed with an empty error");
}

/// Saves a model's parameters (start-up) or restores them (each input).
void snapshot(Model &m) {
  m.initial.clear();
  for (int i = 0; i < nnc_model_num_parameters(m.model); ++i) {
    nnc_buffer b;
    if (nnc_model_parameter_info(m.model, i, &b) != NNC_OK)
      contractBroken("nnc_model_parameter_info failed on a valid index");
    float *p = nnc_model_parameter(m.model, i);
    m.initial.emplace_back(p, p + b.bytes / 4);
  }
}
void restore(Model &m) {
  for (size_t i = 0; i < m.initial.size(); ++i)
    std::memcpy(nnc_model_parameter(m.model, i), m.initial[i].data(),
                m.initial[i].size() * sizeof(float));
}
std::vector<std::vector<float>> parameters(nnc_model *m) {
  std::vector<std::vector<float>> all;
  for (int i = 0; i < nnc_model_num_parameters(m); ++i) {
    nnc_buffer b;
    if (nnc_model_parameter_info(m, i, &b) != NNC_OK)
      contractBroken("nnc_model_parameter_info failed on a valid index");
    float *p = nnc_model_parameter(m, i);
    all.emplace_back(p, p + b.bytes / 4);
  }
  return all;
}
bool sameBits(const std::vector<std::vector<float>> &a,
              const std::vector<std::vector<float>> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() ||
        std::memcmp(a[i].data(), b[i].data(), a[i].size() * 4) != 0)
      return false;
  return true;
}

int64_t elementSize(nnc_dtype t) { return t == NNC_I64 ? 8 : 4; }

void checkBuffer(const nnc_buffer &b, const char *call) {
  if (!b.name || !b.source_name || b.rank < 0 || (b.rank > 0 && !b.shape))
    contractBroken(llvm::Twine(call) + ": an incomplete buffer description");
  int64_t n = 1;
  for (int i = 0; i < b.rank; ++i)
    n *= b.shape[i];
  if (n * elementSize(b.dtype) != b.bytes)
    contractBroken(llvm::Twine(call) + ": buffer '" + b.name +
                   "' has bytes != product of its shape x element size");
}

const float kFloats[] = {0.0f,
                         1.0f,
                         -1.0f,
                         0.5f,
                         1e-30f,
                         1e30f,
                         -3e38f,
                         std::numeric_limits<float>::quiet_NaN(),
                         std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::denorm_min()};
const int64_t kLabels[] = {0,       1,         2,         -1, -7, 1000000,
                           INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};

/// One buffer for each input and output of an entry, exactly the size it
/// declares, filled from the program. Returns the number of labels outside
/// [0, classes) it wrote (classes > 0).
struct Buffers {
  std::vector<std::vector<uint8_t>> storage;
  std::vector<void *> inputs, outputs;
};
int fill(Reader &in, const nnc_buffer &b, std::vector<uint8_t> &out,
         int classes) {
  out.assign(std::max<int64_t>(b.bytes, 1), 0);
  uint8_t mode = in.byte();
  int bad = 0;
  if (b.dtype == NNC_F32) {
    auto *f = reinterpret_cast<float *>(out.data());
    for (int64_t i = 0; i < b.bytes / 4; ++i)
      f[i] = mode & 1 ? kFloats[(mode + i) % std::size(kFloats)]
                      : static_cast<float>(int8_t(mode + 31 * i)) / 16;
    if (mode & 2) // a few values from the program
      for (int k = in.byte() % 4; k > 0; --k)
        f[in.byte() % std::max<int64_t>(b.bytes / 4, 1)] =
            in.pick(llvm::ArrayRef(kFloats));
    return 0;
  }
  int64_t n = b.bytes / elementSize(b.dtype);
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = mode & 1 ? in.pick(llvm::ArrayRef(kLabels))
                             : (classes > 0 ? (mode + i) % classes : 0);
    if (b.dtype == NNC_I32)
      label = static_cast<int32_t>(label);
    if (classes > 0 && (label < 0 || label >= classes))
      ++bad;
    if (b.dtype == NNC_I64)
      reinterpret_cast<int64_t *>(out.data())[i] = label;
    else
      reinterpret_cast<int32_t *>(out.data())[i] = static_cast<int32_t>(label);
  }
  return bad;
}

Model *pickModel(Reader &in) {
  size_t k = in.byte() % (state->models.size() + 1);
  return k < state->models.size() ? &state->models[k] : nullptr;
}

const int kIndices[] = {0, 1, 2, 3, -1, 99, INT32_MAX, INT32_MIN};

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

void queryEntries(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  int n = nnc_model_num_entries(m);
  if (n < 0 || (!m && n != 0))
    contractBroken("nnc_model_num_entries out of range");
  int entry = in.pick(llvm::ArrayRef(kIndices));
  bool valid = m && entry >= 0 && entry < n;
  nnc_role role = static_cast<nnc_role>(in.byte() % 4);
  int found = nnc_model_find_entry(m, role);
  if (found >= n || found < -1 ||
      (found >= 0 && nnc_entry_role(m, found) != role))
    contractBroken("nnc_model_find_entry returned an entry of another role");
  const char *name = nnc_entry_name(m, entry);
  if (valid != (name != nullptr))
    contractBroken("nnc_entry_name: NULL iff the entry does not exist");
  (void)nnc_entry_role(m, entry);
  int ins = nnc_entry_num_inputs(m, entry), outs = nnc_entry_num_outputs(m, entry);
  if (ins < 0 || outs < 0 || (!valid && (ins || outs)))
    contractBroken("an entry that does not exist has buffers");
  int64_t workspace = nnc_entry_workspace_bytes(m, entry);
  if (valid ? workspace < 0 : workspace != -1)
    contractBroken("nnc_entry_workspace_bytes out of range");
  int index = in.pick(llvm::ArrayRef(kIndices));
  bool noStruct = in.byte() & 1;
  nnc_buffer b;
  nnc_buffer *out = noStruct ? nullptr : &b;
  bool ok = nnc_entry_input(m, entry, index, out) == NNC_OK;
  if (ok != (valid && out && index >= 0 && index < ins))
    contractBroken("nnc_entry_input succeeded iff its arguments are valid");
  if (ok)
    checkBuffer(b, "nnc_entry_input");
  else if (mm)
    requireError(mm->context, "nnc_entry_input");
  ok = nnc_entry_output(m, entry, index, out) == NNC_OK;
  if (ok != (valid && out && index >= 0 && index < outs))
    contractBroken("nnc_entry_output succeeded iff its arguments are valid");
  if (ok)
    checkBuffer(b, "nnc_entry_output");
  else if (mm)
    requireError(mm->context, "nnc_entry_output");
}

void queryParameters(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  int n = nnc_model_num_parameters(m);
  int index = in.pick(llvm::ArrayRef(kIndices));
  bool valid = m && index >= 0 && index < n;
  nnc_buffer b;
  bool noStruct = in.byte() & 1;
  bool ok = nnc_model_parameter_info(m, index, noStruct ? nullptr : &b) ==
            NNC_OK;
  if (ok != (valid && !noStruct))
    contractBroken("nnc_model_parameter_info succeeded iff its arguments are "
                   "valid");
  if (ok) {
    checkBuffer(b, "nnc_model_parameter_info");
    if (b.dtype != NNC_F32)
      contractBroken("a parameter that is not f32");
  } else if (mm) {
    requireError(mm->context, "nnc_model_parameter_info");
  }
  float *p = nnc_model_parameter(m, index);
  if (valid != (p != nullptr))
    contractBroken("nnc_model_parameter: NULL iff the index is invalid");
}

void planStats(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  nnc_plan_stats s;
  bool noStruct = in.byte() & 1;
  bool ok = nnc_model_plan_stats(m, noStruct ? nullptr : &s) == NNC_OK;
  if (!ok) {
    if (m && !noStruct)
      contractBroken("nnc_model_plan_stats failed on a compiled model");
    if (mm)
      requireError(mm->context, "nnc_model_plan_stats");
    return;
  }
  if (!m || noStruct)
    contractBroken("nnc_model_plan_stats succeeded without a model or struct");
  if (!s.strategy || s.predicted_peak_bytes < 0 || s.parameters < 0 ||
      s.arena_bytes < 0 || !std::isfinite(s.compute_flops))
    contractBroken("nnc_model_plan_stats: inconsistent figures");
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

void writeParameter(Reader &in, Model *mm) {
  if (!mm)
    return;
  int n = nnc_model_num_parameters(mm->model);
  if (n == 0)
    return;
  int index = in.byte() % n;
  nnc_buffer b;
  if (nnc_model_parameter_info(mm->model, index, &b) != NNC_OK)
    contractBroken("nnc_model_parameter_info failed on a valid index");
  float *p = nnc_model_parameter(mm->model, index);
  int64_t count = b.bytes / 4;
  for (int k = in.byte() % 4; k >= 0 && count; --k)
    p[in.u32() % count] = in.pick(llvm::ArrayRef(kFloats));
}

void run(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  int entry = in.byte() % 8 < 6 ? in.byte() % std::max(1, nnc_model_num_entries(m))
                                : in.pick(llvm::ArrayRef(kIndices));
  bool valid = m && entry >= 0 && entry < nnc_model_num_entries(m);
  uint8_t how = in.byte() % 8; // 0: NULL arrays, 1: a NULL buffer
  Buffers bufs;
  int ins = nnc_entry_num_inputs(m, entry), outs = nnc_entry_num_outputs(m, entry);
  bufs.storage.resize(ins + outs);
  for (int i = 0; i < ins + outs; ++i) {
    nnc_buffer b;
    if ((i < ins ? nnc_entry_input(m, entry, i, &b)
                 : nnc_entry_output(m, entry, i - ins, &b)) != NNC_OK)
      contractBroken("a listed buffer cannot be described");
    fill(in, b, bufs.storage[i], mm ? mm->classes : 0);
    (i < ins ? bufs.inputs : bufs.outputs).push_back(bufs.storage[i].data());
  }
  bool nullBuffer = how == 1 && ins + outs > 0;
  if (nullBuffer) {
    int k = in.byte() % (ins + outs);
    (k < ins ? bufs.inputs[k] : bufs.outputs[k - ins]) = nullptr;
  }
  bool nullArrays = how == 0 && ins + outs > 0;
  nnc_status s = nnc_model_run(m, entry, nullArrays ? nullptr : bufs.inputs.data(),
                               nullArrays ? nullptr : bufs.outputs.data());
  bool expectOk = valid && !nullArrays && !nullBuffer;
  if ((s == NNC_OK) != expectOk)
    contractBroken(llvm::Twine("nnc_model_run ") +
                   (s == NNC_OK ? "succeeded" : "failed") +
                   (expectOk ? " on valid" : " on invalid") + " arguments");
  if (s != NNC_OK && mm)
    requireError(mm->context, "nnc_model_run");
}

void trainStep(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  int entry = nnc_model_find_entry(m, NNC_ROLE_TRAIN_STEP);
  uint8_t how = in.byte() % 8; // 0: NULL data, 1: NULL loss
  std::vector<std::vector<uint8_t>> storage;
  std::vector<const void *> data;
  int badLabels = 0;
  for (int i = 0; entry >= 0 && i < nnc_entry_num_inputs(m, entry); ++i) {
    nnc_buffer b;
    if (nnc_entry_input(m, entry, i, &b) != NNC_OK)
      contractBroken("a listed buffer cannot be described");
    if (b.is_parameter)
      continue;
    storage.emplace_back();
    badLabels += fill(in, b, storage.back(), mm->classes);
  }
  for (auto &s : storage)
    data.push_back(s.data());
  float loss = 0;
  auto before = m ? parameters(m) : decltype(parameters(m)){};
  nnc_status s = nnc_model_train_step(m, how == 0 ? nullptr : data.data(),
                                      how == 1 ? nullptr : &loss);
  if (s != NNC_OK) {
    if (mm)
      requireError(mm->context, "nnc_model_train_step");
    if (entry >= 0 && how > 1 && badLabels == 0 &&
        std::isfinite(loss)) // a finite loss cannot be the failure
      contractBroken("nnc_model_train_step failed with a finite loss: " +
                     llvm::Twine(nnc_context_error(mm->context)));
    // Missing buffers are diagnosed before anything runs.
    if (how <= 1 && !sameBits(before, parameters(m)))
      contractBroken("nnc_model_train_step changed the parameters on a "
                     "call without buffers");
    return;
  }
  if (entry < 0 || how <= 1)
    contractBroken("nnc_model_train_step succeeded without a step or buffers");
  if (badLabels)
    contractBroken("nnc_model_train_step accepted a label outside "
                   "[0, classes)");
  if (!std::isfinite(loss))
    contractBroken("nnc_model_train_step succeeded with a non-finite loss");
}

//===----------------------------------------------------------------------===//
// Weights files
//===----------------------------------------------------------------------===//

const char *weightsPath(Reader &in, bool forLoad) {
  switch (in.byte() % 10) {
  case 0: return nullptr;
  case 1: return "";
  case 2: return "/";
  case 3: return "/nonexistent/dir/w.nncw";
  case 4: return forLoad ? "/dev/zero" : "/dev/full";
  case 5: return forLoad ? "/dev/urandom" : "/proc/self/nonexistent";
  case 6: return state->fifo.c_str();
  case 7: return forLoad ? state->badMlir.c_str() : "/proc/version";
  case 8: return state->fuzzFile.c_str();
  default: return state->outFile.c_str();
  }
}

bool allFinite(const std::vector<std::vector<float>> &values) {
  for (const auto &v : values)
    for (float f : v)
      if (!std::isfinite(f))
        return false;
  return true;
}

void saveWeights(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  const char *path = weightsPath(in, false);
  nnc_status s = nnc_model_save_weights(m, path);
  // The paths are the harness's own strings: compare pointers.
  bool writable =
      path == state->outFile.c_str() || path == state->fuzzFile.c_str();
  if (s != NNC_OK) {
    if (mm)
      requireError(mm->context, "nnc_model_save_weights");
    if (m && writable && allFinite(parameters(m)))
      contractBroken("nnc_model_save_weights failed on a writable path: " +
                     llvm::Twine(nnc_context_error(mm->context)));
    return;
  }
  if (!m || !writable)
    contractBroken(llvm::Twine("nnc_model_save_weights wrote to '") +
                   (path ? path : "(null)") + "'");
  // What was saved reads back bit for bit (when it is finite: loading
  // refuses non-finite weights).
  auto saved = parameters(m);
  nnc_status back = nnc_model_load_weights(m, path);
  if (allFinite(saved) && back != NNC_OK)
    contractBroken("weights the model saved do not load back: " +
                   llvm::Twine(nnc_context_error(mm->context)));
  if (!sameBits(saved, parameters(m)))
    contractBroken("a save and load changed the parameters");
}

void loadWeights(Reader &in, Model *mm) {
  nnc_model *m = mm ? mm->model : nullptr;
  const char *path = weightsPath(in, true);
  if (path == state->fuzzFile.c_str()) {
    llvm::ArrayRef<uint8_t> bytes = in.chunk(65536);
    std::error_code ec;
    llvm::raw_fd_ostream os(state->fuzzFile, ec);
    if (ec)
      contractBroken("cannot write the temporary file");
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  }
  auto before = m ? parameters(m) : decltype(parameters(m)){};
  nnc_status s = nnc_model_load_weights(m, path);
  if (s != NNC_OK) {
    if (mm)
      requireError(mm->context, "nnc_model_load_weights");
    if (m && !sameBits(before, parameters(m)))
      contractBroken("a failed nnc_model_load_weights changed the parameters");
    return;
  }
  if (!m || (path != state->fuzzFile.c_str() && path != state->outFile.c_str()))
    contractBroken(llvm::Twine("nnc_model_load_weights read '") +
                   (path ? path : "(null)") + "'");
  if (!allFinite(parameters(m)))
    contractBroken("nnc_model_load_weights loaded a non-finite value");
}

//===----------------------------------------------------------------------===//
// Compiling
//===----------------------------------------------------------------------===//

const char *const kLongName =
    "a_name_of_three_hundred_characters_"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

// Arguments of any kind: valid, odd and invalid.
const char *const kWidths[] = {"4,3,2", "6,4,3", "2,2", "3,5,5,2", "3,1"};
const char *const kActivations[] = {"relu", "sigmoid", "tanh", nullptr,
                                    "bogus"};
const char *const kLosses[] = {"cross-entropy", "mse", nullptr, "bogus", ""};
const int64_t kBatches[] = {1, 2, 3, 5, 0, -1};
const double kRates[] = {0.0,
                         0.1,
                         1e-8,
                         10.0,
                         std::numeric_limits<double>::quiet_NaN(),
                         -1.0,
                         1e39,
                         std::numeric_limits<double>::infinity(),
                         4e-46};
const char *const kStrategies[] = {nullptr, "store-all", "recompute-all",
                                   "sqrt",  "chen",      "dp",
                                   "bogus", ""};
const char *const kBudgets[] = {nullptr, "0",       "1",     "64",
                                "600KiB", "1KiB",   "1e9GiB", "abc",
                                "-1",     "1000000000000000000000"};
const unsigned kSlots[] = {0, 1, 2, 500, 100000, 100001, UINT32_MAX};
const int64_t kOptBatches[] = {0, -5, 4, INT64_MAX};
const char *const kNames[] = {nullptr, "",         "int",   "while", "mlp",
                              "x y",   "loss",     "workspace",
                              "new_W", "_a1",      kLongName, "\xff"};

nnc_options pickOptions(Reader &in, std::string &key) {
  nnc_options o;
  nnc_options_init(&o);
  uint8_t r = in.byte() % std::size(kRates), st = in.byte() % std::size(kStrategies),
          bu = in.byte() % std::size(kBudgets), sl = in.byte() % std::size(kSlots),
          lo = in.byte() % std::size(kLosses), ba = in.byte() % std::size(kOptBatches),
          na = in.byte() % std::size(kNames);
  o.learning_rate = kRates[r];
  o.strategy = kStrategies[st];
  o.budget = kBudgets[bu];
  o.slots = kSlots[sl];
  o.loss = kLosses[lo];
  o.batch = kOptBatches[ba];
  o.name = kNames[na];
  for (uint8_t k : {r, st, bu, sl, lo, ba, na})
    key.push_back(static_cast<char>('a' + k));
  return o;
}

/// Compiles with one argument the header documents as invalid; the rest
/// are anything. Must fail, fast, with a message.
void compileInvalid(Reader &in) {
  std::string key;
  nnc_options o = pickOptions(in, key);
  bool noOptions = in.byte() % 4 == 0;
  const char *widths = in.pick(llvm::ArrayRef(kWidths));
  const char *activation = in.pick(llvm::ArrayRef(kActivations));
  const char *loss = in.pick(llvm::ArrayRef(kLosses));
  int64_t batch = in.pick(llvm::ArrayRef(kBatches));
  std::string fuzzed = in.str(24);
  const char *path = state->badMlir.c_str();
  uint8_t bad = in.byte() % 14;
  const char *what = "";
  switch (bad) {
  case 0: widths = "8,x,2"; what = "widths 8,x,2"; break;
  case 1: widths = in.byte() & 1 ? "" : nullptr; what = "no widths"; break;
  case 2: widths = "0,4"; what = "a zero width"; break;
  case 3: widths = "7"; what = "one width"; break;
  case 4: activation = in.byte() & 1 ? "bogus" : nullptr; what = "activation"; break;
  case 5: loss = in.byte() & 1 ? "bogus" : nullptr; what = "loss"; break;
  case 6: batch = in.pick(llvm::ArrayRef<int64_t>({0, -1, INT64_MIN})); what = "batch"; break;
  case 7:
    o.learning_rate = in.pick(llvm::ArrayRef<double>(
        {std::numeric_limits<double>::quiet_NaN(), -1.0, 1e39,
         std::numeric_limits<double>::infinity(), -1e-30}));
    noOptions = false, what = "learning rate";
    break;
  case 8: o.strategy = in.byte() & 1 ? "bogus" : ""; noOptions = false; what = "strategy"; break;
  case 9: o.budget = in.byte() & 1 ? "12 apples" : "-1KiB"; noOptions = false; what = "budget"; break;
  case 10: o.slots = in.byte() & 1 ? 100001 : UINT32_MAX; noOptions = false; what = "slots"; break;
  case 11:
    // A NUL would end the C string before the letter.
    std::replace(fuzzed.begin(), fuzzed.end(), '\0', 'q');
    fuzzed.push_back('q');
    widths = fuzzed.c_str();
    what = "fuzzed widths ending in a letter";
    break;
  default: {
    // A model file that is no model.
    const char *paths[] = {nullptr, "", "/", "/nonexistent.onnx", "/dev/zero",
                           "/dev/null", "/dev/urandom", state->fifo.c_str(),
                           state->badMlir.c_str(), state->outFile.c_str()};
    path = in.pick(llvm::ArrayRef(paths));
    what = "a file that is no model";
    break;
  }
  }
  nnc_context *fresh = in.byte() & 1 ? nnc_context_create() : nullptr;
  nnc_context *c = in.byte() % 8 == 0 ? nullptr : fresh ? fresh : state->context;
  const nnc_options *opts = noOptions ? nullptr : &o;
  nnc_model *m = bad >= 12
                     ? nnc_compile_file(c, path, opts)
                     : nnc_compile_mlp(c, widths, activation, loss, batch, opts);
  if (m)
    contractBroken(llvm::Twine("a compile call accepted an invalid ") + what);
  requireError(c, bad >= 12 ? "nnc_compile_file" : "nnc_compile_mlp");
  if (verbose())
    llvm::errs() << "  compile (" << what << "): " << nnc_context_error(c)
                 << "\n";
  nnc_context_destroy(fresh);
}

/// Compiles for real one of kConfigs argument sets, each a fixed pick from
/// the tables above (valid and odd values, some invalid), memoized: each
/// set is compiled once per process, so after start-up the opcode costs
/// nothing and the fuzzer's time goes into the calls on the models.
constexpr unsigned kConfigs = 64;
Model *compileValid(Reader &in) {
  unsigned config = in.byte() % kConfigs;
  std::string key = std::to_string(config);
  auto it = state->memo.find(key);
  if (it != state->memo.end())
    return it->second.model ? &it->second : nullptr;
  // A fixed pseudo-random pick per table (an LCG seeded by the set).
  uint32_t x = config * 2654435761u + 12345u;
  auto next = [&](size_t n) {
    x = x * 1103515245u + 12345u;
    return (x >> 16) % n;
  };
  nnc_options o;
  nnc_options_init(&o);
  // Mostly valid options: the invalid ones are compileInvalid's.
  o.learning_rate = kRates[next(4)];
  o.strategy = kStrategies[next(6)];
  o.budget = next(2) ? nullptr : kBudgets[next(std::size(kBudgets))];
  o.slots = kSlots[next(5)];
  o.name = kNames[next(std::size(kNames))];
  const char *widths = kWidths[next(std::size(kWidths))];
  const char *activation = kActivations[next(3)];
  const char *loss = kLosses[next(2)];
  int64_t batch = kBatches[next(4)];
  nnc_model *m = nnc_compile_mlp(state->context, widths, activation, loss,
                                 batch, &o);
  Model &mm = state->memo[key];
  if (!m) {
    requireError(state->context, "nnc_compile_mlp");
    if (verbose())
      llvm::errs() << "  compile: " << nnc_context_error(state->context) << "\n";
    return nullptr;
  }
  mm.context = state->context;
  mm.model = m;
  // The last width is the number of classes of a cross-entropy model.
  if (loss == llvm::StringRef("cross-entropy"))
    mm.classes = std::atoi(std::strrchr(widths, ',') + 1);
  snapshot(mm);
  return &mm;
}

void misc(Reader &in) {
  if (!nnc_version() || !*nnc_version())
    contractBroken("nnc_version is empty");
  nnc_options_init(nullptr);
  if (!nnc_context_error(nullptr))
    contractBroken("nnc_context_error(NULL) is NULL");
  nnc_model_destroy(nullptr);
  nnc_context_destroy(nullptr);
  if (in.byte() & 1) {
    nnc_context *c = nnc_context_create();
    if (*nnc_context_error(c))
      contractBroken("a new context has an error");
    nnc_context_destroy(c);
  }
}

std::string makeTemp(const char *stem, const char *suffix) {
  llvm::SmallString<128> path;
  int fd;
  if (llvm::sys::fs::createTemporaryFile(stem, suffix, fd, path))
    contractBroken("cannot create a temporary file");
  llvm::sys::fs::closeFile(fd);
  return std::string(path);
}

Model compileFixed(const char *widths, const char *activation, const char *loss,
                   int64_t batch, double lr, const char *strategy, int classes) {
  nnc_options o;
  nnc_options_init(&o);
  o.learning_rate = lr;
  o.strategy = strategy;
  Model m;
  m.context = state->context;
  m.classes = classes;
  m.model = nnc_compile_mlp(state->context, widths, activation, loss, batch, &o);
  if (!m.model)
    contractBroken(llvm::Twine("cannot compile the harness's model: ") +
                   nnc_context_error(state->context));
  snapshot(m);
  return m;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  state = new State();
  state->context = nnc_context_create();
  // A cross-entropy training step (dp plan), a gradient-only MSE model, a
  // step with recomputation.
  state->models.push_back(
      compileFixed("6,4,3", "relu", "cross-entropy", 2, 0.1, "dp", 3));
  state->models.push_back(compileFixed("5,3,2", "tanh", "mse", 3, 0.0, nullptr, 0));
  state->models.push_back(
      compileFixed("4,4,4,2", "sigmoid", "cross-entropy", 1, 0.5, "sqrt", 2));
  state->fuzzFile = makeTemp("nnc-capi-fuzzer-in", "nncw");
  state->outFile = makeTemp("nnc-capi-fuzzer-out", "nncw");
  state->badMlir = makeTemp("nnc-capi-fuzzer-bad", "mlir");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(state->badMlir, ec);
    os << "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
          "  %y = nn.bogus %x : tensor<2xf32>\n  return %y\n}\n";
  }
  state->fifo = makeTemp("nnc-capi-fuzzer-fifo", "onnx");
  llvm::sys::fs::remove(state->fifo);
  if (mkfifo(state->fifo.c_str(), 0600) != 0)
    contractBroken("cannot create a FIFO");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return -1;
  for (Model &m : state->models)
    restore(m);
  for (auto &entry : state->memo)
    if (entry.second.model)
      restore(entry.second);
  Reader in(data, size);
  bool compiled = false;
  for (int ops = 0; ops < 48 && !in.done(); ++ops) {
    uint8_t op = in.byte() % 12;
    if (verbose())
      llvm::errs() << "op " << unsigned(op) << "\n";
    switch (op) {
    case 0: queryEntries(in, pickModel(in)); break;
    case 1: queryParameters(in, pickModel(in)); break;
    case 2: planStats(in, pickModel(in)); break;
    case 3: writeParameter(in, pickModel(in)); break;
    case 4: run(in, pickModel(in)); break;
    case 5: case 6: trainStep(in, pickModel(in)); break;
    case 7: saveWeights(in, pickModel(in)); break;
    case 8: loadWeights(in, pickModel(in)); break;
    case 9: compileInvalid(in); break;
    case 10: misc(in); break;
    case 11:
      // At most one real compile per input: it JITs (tens of ms).
      if (!compiled) {
        compiled = true;
        if (Model *m = compileValid(in)) {
          queryEntries(in, m);
          planStats(in, m);
          trainStep(in, m);
          run(in, m);
          saveWeights(in, m);
        }
      }
      break;
    }
  }
  return 0;
}
