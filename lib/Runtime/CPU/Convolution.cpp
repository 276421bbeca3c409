//===- Convolution.cpp - convolution and pooling for CPU code -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// The runtime's 2-D convolutions and poolings on NCHW / OIHW buffers.
// Convolutions run oneDNN primitives, cached per thread like the GEMM's
// matmul primitives (CPURuntime.cpp), in a workspace the caller's arena may
// provide (nncrt_use_workspace); max pooling is the runtime's own kernels
// (portable, and AVX-512 ones chosen at run time), for PyTorch's choice of
// the element a window's gradient goes to, and so is average pooling where
// windows do not overlap (AvgPool.inc), oneDNN's primitive elsewhere.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "Threads.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <tuple>
#include <type_traits>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// oneDNN's CPU engine is built on OpenMP here (Debian's libdnnl: libgomp);
// its thread count is OpenMP's.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);

namespace {
//===----------------------------------------------------------------------===//
// Geometry and its checks
//===----------------------------------------------------------------------===//

/// A convolution call's 18 geometry values, in the ABI's order.
struct ConvGeometry {
  int64_t N, C, H, W, K, KH, KW, OH, OW, strideH, strideW, padTop, padLeft,
      padBottom, padRight, dilationH, dilationW, groups;
};

/// A pooling call's 14 geometry values, in the ABI's order.
struct PoolGeometry {
  int64_t N, C, H, W, OH, OW, KH, KW, strideH, strideW, padTop, padLeft,
      padBottom, padRight;
};

/// A workspace-size query (nncrt_workspace_bytes) running on this thread:
/// the entry points create their primitives and note the largest
/// workspace, but run nothing, and a failure throws QueryFailed to the
/// query rather than aborting the compiler that asked.
struct WorkspaceQuery {
  size_t bytes = 0;
};
struct QueryFailed {};
thread_local WorkspaceQuery *workspaceQuery = nullptr;

/// A caller's workspace (nncrt_use_workspace): `planned` until the next
/// convolution or pooling call takes it (its geometry check), `current`
/// during that call.
struct PlannedWorkspace {
  char *data = nullptr;
  size_t bytes = 0;
};
thread_local PlannedWorkspace plannedWorkspace, currentWorkspace;

[[noreturn]] void fail(const char *function, const ConvGeometry &g,
                       const char *reason) {
  if (workspaceQuery)
    throw QueryFailed();
  std::fprintf(stderr,
               "nnc runtime: error: %s(N=%lld C=%lld H=%lld W=%lld, K=%lld "
               "KH=%lld KW=%lld, OH=%lld OW=%lld, stride %lldx%lld, padding "
               "top %lld left %lld bottom %lld right %lld, dilation "
               "%lldx%lld, groups %lld): %s\n",
               function, (long long)g.N, (long long)g.C, (long long)g.H,
               (long long)g.W, (long long)g.K, (long long)g.KH, (long long)g.KW,
               (long long)g.OH, (long long)g.OW, (long long)g.strideH,
               (long long)g.strideW, (long long)g.padTop, (long long)g.padLeft,
               (long long)g.padBottom, (long long)g.padRight,
               (long long)g.dilationH, (long long)g.dilationW,
               (long long)g.groups, reason);
  std::abort();
}

[[noreturn]] void fail(const char *function, const PoolGeometry &g,
                       int32_t kind, const char *reason) {
  if (workspaceQuery)
    throw QueryFailed();
  std::fprintf(stderr,
               "nnc runtime: error: %s(kind %d, N=%lld C=%lld H=%lld W=%lld, "
               "OH=%lld OW=%lld, window %lldx%lld, stride %lldx%lld, "
               "padding top %lld left %lld bottom %lld right %lld): %s\n",
               function, (int)kind, (long long)g.N, (long long)g.C,
               (long long)g.H, (long long)g.W, (long long)g.OH, (long long)g.OW,
               (long long)g.KH, (long long)g.KW, (long long)g.strideH,
               (long long)g.strideW, (long long)g.padTop, (long long)g.padLeft,
               (long long)g.padBottom, (long long)g.padRight, reason);
  std::abort();
}

/// The output size along one axis, or -1 if the window does not fit the
/// padded input (the division must not round a negative numerator up to 0).
int64_t outputSize(int64_t in, int64_t padBefore, int64_t padAfter,
                   int64_t window, int64_t dilation, int64_t stride) {
  // Absurd values (a workspace query of a fuzzed call) must not overflow.
  int64_t padded, reach, span;
  if (__builtin_add_overflow(in, padBefore, &padded) ||
      __builtin_add_overflow(padded, padAfter, &padded) ||
      __builtin_mul_overflow(dilation, window - 1, &reach) ||
      __builtin_sub_overflow(padded, reach, &span) || span < 1)
    return -1;
  return (span - 1) / stride + 1;
}

/// bf16 as the runtime's buffers hold it (uint16_t bit patterns): widening
/// is exact, narrowing rounds to nearest even (a NaN stays a quiet NaN), as
/// the compiled kernels' conversions do.
inline float widenBF16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
inline uint16_t narrowBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  // Both candidates, then a select: the loops calling this vectorize.
  uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  uint32_t quiet = (bits >> 16) | 0x40u;
  return uint16_t((bits & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
}

void check(const char *function, const ConvGeometry &g) {
  currentWorkspace = std::exchange(plannedWorkspace, {});
  for (int64_t v : {g.N, g.C, g.H, g.W, g.K, g.KH, g.KW, g.OH, g.OW, g.strideH,
                    g.strideW, g.dilationH, g.dilationW, g.groups})
    if (v < 1)
      fail(function, g, "sizes, strides, dilations and groups must be >= 1");
  for (int64_t v : {g.padTop, g.padLeft, g.padBottom, g.padRight})
    if (v < 0)
      fail(function, g, "paddings must be >= 0");
  if (g.C % g.groups || g.K % g.groups)
    fail(function, g, "C and K must be divisible by groups");
  if (g.OH != outputSize(g.H, g.padTop, g.padBottom, g.KH, g.dilationH,
                         g.strideH) ||
      g.OW !=
          outputSize(g.W, g.padLeft, g.padRight, g.KW, g.dilationW, g.strideW))
    fail(function, g,
         "OH, OW must be (H + padTop + padBottom - dilationH*(KH-1) - 1) / "
         "strideH + 1 and the same for W");
}

void check(const char *function, const PoolGeometry &g, int32_t kind) {
  currentWorkspace = std::exchange(plannedWorkspace, {});
  if (kind != NNCRT_POOL_MAX && kind != NNCRT_POOL_AVG_INCLUDE_PAD &&
      kind != NNCRT_POOL_AVG_EXCLUDE_PAD)
    fail(function, g, kind, "unknown pooling kind");
  for (int64_t v :
       {g.N, g.C, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.strideH, g.strideW})
    if (v < 1)
      fail(function, g, kind, "sizes and strides must be >= 1");
  // A window entirely in the padding would have no maximum and nothing to
  // average over; PyTorch even asks for padding <= window / 2.
  if (g.padTop < 0 || g.padBottom < 0 || g.padLeft < 0 || g.padRight < 0 ||
      g.padTop >= g.KH || g.padBottom >= g.KH || g.padLeft >= g.KW ||
      g.padRight >= g.KW)
    fail(function, g, kind,
         "paddings must be >= 0 and under the window's size");
  if (kind == NNCRT_POOL_MAX && g.H > int64_t(UINT32_MAX) / g.W)
    fail(function, g, kind,
         "max pooling takes planes (H*W) of under 2^32 elements");
  if (g.OH != outputSize(g.H, g.padTop, g.padBottom, g.KH, 1, g.strideH) ||
      g.OW != outputSize(g.W, g.padLeft, g.padRight, g.KW, 1, g.strideW))
    fail(function, g, kind,
         "OH, OW must be (H + padTop + padBottom - KH) / strideH + 1 and "
         "the same for W");
}

//===----------------------------------------------------------------------===//
// Cached oneDNN primitives
//===----------------------------------------------------------------------===//

/// What a cached primitive computes.
enum class Op : int64_t {
  ConvForward,
  ConvBackwardData,
  ConvBackwardWeights,
  AvgPoolForward,
  AvgPoolBackward,
};

/// Everything a primitive is specialised for: the operation, its geometry
/// (a pooling's fills the first 14 slots), options and the thread count
/// (oneDNN blocks the problem, and splits its reductions, for the threads
/// it was created with).
struct Key {
  std::array<int64_t, 25> v;
  bool operator==(const Key &o) const { return v == o.v; }
};

struct KeyHash {
  size_t operator()(const Key &k) const {
    size_t h = 0;
    for (int64_t x : k.v)
      h = h * 0x9E3779B97F4A7C15ull + std::hash<int64_t>()(x);
    return h;
  }
};

/// One of a primitive's tensors as the caller holds it, a plain row-major
/// buffer whose pointer is set per call. Where the primitive runs in
/// another layout, `inner` is a buffer of that layout at `offset` in the
/// thread's workspace, and `reorder` copies into it before the primitive
/// (an argument) or out of it after (a result).
struct Operand {
  int arg = 0; // DNNL_ARG_*
  bool result = false;
  dnnl_memory_t user = nullptr, inner = nullptr, reorderScratch = nullptr;
  dnnl_primitive_t reorder = nullptr;
  size_t offset = 0;
};

/// A created primitive with its operands. Its blocked-layout buffers and
/// one scratchpad (shared by the primitive and its reorders, which run one
/// after another) hold nothing from one call to the next, so they are not
/// the primitive's own: they lie in its thread's workspace (see
/// PrimitiveCache), `workspaceBytes` of it, which every primitive of the
/// thread shares. The runtime then holds the largest call's buffers, not
/// the sum over every geometry a network has (164.6 MiB for a ResNet-20 at
/// batch 128, more than its whole arena).
struct Primitive {
  static constexpr int maxOperands = 4;
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_t scratch = nullptr;
  Operand operands[maxOperands];
  int numOperands = 0;
  size_t scratchOffset = 0, workspaceBytes = 0;

  ~Primitive() {
    for (Operand &o : operands) {
      for (dnnl_memory_t m : {o.user, o.inner, o.reorderScratch})
        if (m)
          dnnl_memory_destroy(m);
      if (o.reorder)
        dnnl_primitive_destroy(o.reorder);
    }
    if (scratch)
      dnnl_memory_destroy(scratch);
    if (primitive)
      dnnl_primitive_destroy(primitive);
  }

  /// Runs the primitive on the buffers `data` (one per operand, in their
  /// order; null for an absent optional operand such as the bias), with
  /// `workspace` (at least workspaceBytes, 64-byte aligned) for its own.
  dnnl_status_t run(dnnl_stream_t stream, char *workspace,
                    const void *const *data) {
    dnnl_status_t status = dnnl_success;
    for (int i = 0; i < numOperands && status == dnnl_success; ++i) {
      Operand &o = operands[i];
      status = dnnl_memory_set_data_handle(o.user, const_cast<void *>(data[i]));
      if (status == dnnl_success && o.inner)
        status = dnnl_memory_set_data_handle(o.inner, workspace + o.offset);
      if (status == dnnl_success && o.reorderScratch)
        status = dnnl_memory_set_data_handle(o.reorderScratch,
                                             workspace + scratchOffset);
    }
    if (status == dnnl_success && scratch)
      status = dnnl_memory_set_data_handle(scratch, workspace + scratchOffset);
    for (int i = 0; i < numOperands && status == dnnl_success; ++i)
      if (operands[i].reorder && !operands[i].result)
        status = runReorder(stream, operands[i], operands[i].user,
                            operands[i].inner);
    if (status != dnnl_success)
      return status;
    dnnl_exec_arg_t args[maxOperands + 1];
    int nargs = 0;
    for (int i = 0; i < numOperands; ++i)
      args[nargs++] = {operands[i].arg, operands[i].inner ? operands[i].inner
                                                          : operands[i].user};
    if (scratch)
      args[nargs++] = {DNNL_ARG_SCRATCHPAD, scratch};
    status = dnnl_primitive_execute(primitive, stream, nargs, args);
    for (int i = 0; i < numOperands && status == dnnl_success; ++i)
      if (operands[i].reorder && operands[i].result)
        status = runReorder(stream, operands[i], operands[i].inner,
                            operands[i].user);
    if (status == dnnl_success)
      status = dnnl_stream_wait(stream);
    return status;
  }

private:
  static dnnl_status_t runReorder(dnnl_stream_t stream, const Operand &o,
                                  dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    int nargs = 2;
    if (o.reorderScratch)
      args[nargs++] = {DNNL_ARG_SCRATCHPAD, o.reorderScratch};
    return dnnl_primitive_execute(o.reorder, stream, nargs, args);
  }
};

/// How to build one operand: its argument, the query (and index) for the
/// layout the primitive chose and the caller's plain layout.
struct OperandSpec {
  int arg;
  dnnl_query_t query;
  int index;
  dnnl_memory_desc_t plain;
  bool result;
};

const dnnl_memory_desc_t *scratchpadDesc(const_dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t *md =
      dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  return md && dnnl_memory_desc_get_size(md) ? md : nullptr;
}

size_t roundUp64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/// The primitive of `pd` with its operands: a reorder and an inner buffer
/// for each operand whose chosen layout is not the caller's, laid out one
/// after another in the workspace, then the scratchpad. Every buffer's
/// pointer is set per call (Primitive::run).
dnnl_status_t build(dnnl_engine_t engine, const_dnnl_primitive_desc_t pd,
                    const OperandSpec *specs, int numSpecs,
                    std::unique_ptr<Primitive> &result) {
  auto p = std::make_unique<Primitive>();
  size_t scratchBytes = 0, operandBytes = 0;
  dnnl_status_t status = dnnl_primitive_create(&p->primitive, pd);
  if (const dnnl_memory_desc_t *md = scratchpadDesc(pd)) {
    scratchBytes = dnnl_memory_desc_get_size(md);
    if (status == dnnl_success)
      status = dnnl_memory_create(&p->scratch, md, engine, DNNL_MEMORY_NONE);
  }
  dnnl_primitive_attr_t attr = nullptr;
  if (status == dnnl_success)
    status = dnnl_primitive_attr_create(&attr);
  if (status == dnnl_success)
    status = dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                     dnnl_scratchpad_mode_user);
  for (int i = 0; i < numSpecs && status == dnnl_success; ++i) {
    const OperandSpec &s = specs[i];
    Operand &o = p->operands[p->numOperands++];
    o.arg = s.arg;
    o.result = s.result;
    status = dnnl_memory_create(&o.user, &s.plain, engine, DNNL_MEMORY_NONE);
    const dnnl_memory_desc_t *chosen =
        dnnl_primitive_desc_query_md(pd, s.query, s.index);
    if (status != dnnl_success || !chosen ||
        dnnl_memory_desc_equal(chosen, &s.plain))
      continue;
    o.offset = operandBytes;
    operandBytes += roundUp64(dnnl_memory_desc_get_size(chosen));
    status = dnnl_memory_create(&o.inner, chosen, engine, DNNL_MEMORY_NONE);
    dnnl_primitive_desc_t reorderPd = nullptr;
    if (status == dnnl_success)
      status = s.result
                   ? dnnl_reorder_primitive_desc_create(
                         &reorderPd, chosen, engine, &s.plain, engine, attr)
                   : dnnl_reorder_primitive_desc_create(
                         &reorderPd, &s.plain, engine, chosen, engine, attr);
    if (status != dnnl_success)
      break;
    status = dnnl_primitive_create(&o.reorder, reorderPd);
    if (const dnnl_memory_desc_t *md = scratchpadDesc(reorderPd)) {
      scratchBytes = std::max(scratchBytes, dnnl_memory_desc_get_size(md));
      if (status == dnnl_success)
        status =
            dnnl_memory_create(&o.reorderScratch, md, engine, DNNL_MEMORY_NONE);
    }
    dnnl_primitive_desc_destroy(reorderPd);
  }
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  p->scratchOffset = operandBytes;
  p->workspaceBytes = operandBytes + roundUp64(scratchBytes);
  if (status == dnnl_success)
    result = std::move(p);
  return status;
}

/// Primitives by key, per thread (a thread's steps never wait for
/// another's), with the thread's engine, stream and workspace: the one
/// buffer every primitive of the thread runs in when its caller planned
/// none (nncrt_use_workspace), grown when a call needs more (only between
/// calls, so no buffer is in use).
class PrimitiveCache {
public:
  ~PrimitiveCache() {
    map.clear();
    if (stream)
      dnnl_stream_destroy(stream);
    if (engine)
      dnnl_engine_destroy(engine);
    std::free(workspace);
  }

  /// The primitive for `key`, created by `create(engine, result)` on the
  /// key's first call; a failure's status is returned and nothing cached.
  template <typename Create>
  dnnl_status_t lookup(const Key &key, Create create, Primitive *&result) {
    auto it = map.find(key);
    if (it != map.end()) {
      result = it->second.get();
      return dnnl_success;
    }
    if (!engine) { // both or neither: a stream-less engine cannot run
      dnnl_status_t status = dnnl_engine_create(&engine, dnnl_cpu, 0);
      if (status != dnnl_success) {
        engine = nullptr;
        return status;
      }
      status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
      if (status != dnnl_success) {
        dnnl_engine_destroy(engine);
        engine = nullptr;
        stream = nullptr;
        return status;
      }
    }
    std::unique_ptr<Primitive> created;
    dnnl_status_t status = create(engine, created);
    if (status != dnnl_success)
      return status;
    result = created.get();
    map.emplace(key, std::move(created));
    return dnnl_success;
  }

  /// Runs `p`, one of this cache's primitives, on the caller's `data`, in
  /// the call's planned workspace if it is large enough, else in the
  /// thread's own.
  dnnl_status_t run(Primitive &p, const void *const *data) {
    // A workspace query (nncrt_workspace_bytes) records the need and runs
    // nothing.
    if (workspaceQuery) {
      workspaceQuery->bytes = std::max(workspaceQuery->bytes, p.workspaceBytes);
      return dnnl_success;
    }
    PlannedWorkspace planned = std::exchange(currentWorkspace, {});
    if (planned.data && planned.bytes >= p.workspaceBytes)
      return p.run(stream, planned.data, data);
    if (p.workspaceBytes > workspaceBytes) {
      // (A multiple of 64, as build() sums them.)
      void *grown = std::aligned_alloc(64, p.workspaceBytes);
      if (!grown)
        return dnnl_out_of_memory;
      std::free(workspace);
      workspace = static_cast<char *>(grown);
      workspaceBytes = p.workspaceBytes;
    }
    return p.run(stream, workspace, data);
  }

private:
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  char *workspace = nullptr;
  size_t workspaceBytes = 0;
  std::unordered_map<Key, std::unique_ptr<Primitive>, KeyHash> map;
};

thread_local PrimitiveCache primitiveCache;

[[noreturn]] void failStatus(const char *function, const ConvGeometry &g,
                             const char *what, dnnl_status_t status) {
  char reason[96];
  std::snprintf(reason, sizeof(reason), "%s failed with oneDNN status %d", what,
                (int)status);
  fail(function, g, reason);
}

[[noreturn]] void failStatus(const char *function, const PoolGeometry &g,
                             int32_t kind, const char *what,
                             dnnl_status_t status) {
  char reason[96];
  std::snprintf(reason, sizeof(reason), "%s failed with oneDNN status %d", what,
                (int)status);
  fail(function, g, kind, reason);
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// A convolution primitive's options beyond its geometry.
struct ConvOptions {
  Op op;
  bool bias;
  int32_t activation;
  float slope;
  /// The type of the operands it reads (x, w, dy: f32, or bf16 in a
  /// mixed-precision step) and of the tensor it writes (y, dx or dw).
  dnnl_data_type_t in = dnnl_f32, out = dnnl_f32;
  /// Which activations the caller holds in nChw16c (BlockedSrc: x or dx,
  /// BlockedDst: y or dy); the others are NCHW.
  unsigned blocked = 0;
};

/// (A max pooling's backward reads x and writes dx: BlockedDx is dx.)
enum : unsigned { BlockedSrc = 1, BlockedDst = 2, BlockedDx = 4 };

/// The type of each convolution tensor for `o`: every operand `in`, the
/// one it writes `out`.
void tensorTypes(const ConvOptions &o, dnnl_data_type_t &src,
                 dnnl_data_type_t &weights, dnnl_data_type_t &dst) {
  src = weights = dst = o.in;
  switch (o.op) {
  case Op::ConvForward:
    dst = o.out;
    break;
  case Op::ConvBackwardData:
    src = o.out;
    break;
  default:
    weights = o.out;
    break;
  }
}

/// Which of the activation tensors oneDNN may lay out as it likes
/// (dnnl_format_tag_any; the weights always may: they are small, and the
/// direct kernels want them blocked): AnySrc the input side (x or dx),
/// AnyDst the output side (y or dy).
/// Nhwc offers both activations channels-last whatever the caller holds
/// (see createConv).
enum : unsigned { AnySrc = 1, AnyDst = 2, Nhwc = 4 };

/// The layouts a convolution is created with, tried in order: the first
/// whose implementation is one of oneDNN's direct (jit) kernels wins, else
/// the first oneDNN can create at all (NCHW throughout, its gemm kernels,
/// nothing reordered). On NCHW, oneDNN 2.6 has direct kernels only for an
/// input of few channels (a first layer's), and its gemm (im2col) ones
/// lose to the direct kernels on their blocked layouts even counting the
/// reorders: on the Fashion-MNIST CNN's layers (batch 128, AVX-512, ms at
/// 1 / 2 threads) 12.8 / 8.2 against 9.1 / 4.6 for a 32-to-64-channel
/// 14x14 forward, 14.7 / 7.8 against 9.4 / 4.9 for its data gradient, 13.1
/// / 7.0 against 10.1 / 5.0 for its weight gradient, 2.9 / 4.4 against 2.5
/// / 1.5 for the first layer's (1 to 32 channels, 28x28) weight gradient,
/// and a tie (2.2 / 1.8 against 2.2 / 1.9) for that layer's forward, which
/// is little arithmetic for the output it writes. Hence "a direct kernel,
/// reordering as little as that takes": the first layer's input stays
/// NCHW rather than being padded from 1 channel to a block of 16.
constexpr unsigned layoutCandidates[] = {0, AnyDst, AnySrc, AnySrc | AnyDst};

/// The implementations oneDNN chose for this thread's bf16 convolutions,
/// each once (nncrt_conv2d_bf16_impl).
thread_local std::string bf16ConvImpls;

/// The name of the implementation oneDNN chose for `pd`, or null.
const char *implName(const_dnnl_primitive_desc_t pd) {
  const char *impl = nullptr;
  return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) ==
                 dnnl_success
             ? impl
             : nullptr;
}

void recordImpl(std::string &list, const_dnnl_primitive_desc_t pd) {
  const char *impl = implName(pd);
  if (!impl)
    return;
  std::string name(impl);
  for (size_t at = 0; at < list.size();) {
    size_t end = std::min(list.find(", ", at), list.size());
    if (list.compare(at, end - at, name) == 0)
      return;
    at = end + 2;
  }
  list += (list.empty() ? "" : ", ") + name;
}

bool isAMXKernel(const_dnnl_primitive_desc_t pd) {
  const char *impl = implName(pd);
  return impl && std::strstr(impl, "amx");
}

/// Whether oneDNN may run AMX here (the CPU has it and DNNL_MAX_CPU_ISA
/// does not rule it out).
bool oneDNNMayRunAMX() {
  static const bool amx = [] {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core_amx) ==
           dnnl_cpu_isa_avx512_core_amx;
  }();
  return amx;
}

bool isDirectKernel(const_dnnl_primitive_desc_t pd) {
  const char *impl = implName(pd);
  return impl && !std::strstr(impl, "gemm") && !std::strstr(impl, "ref");
}

/// The convolution descriptors' tensors: plain (the caller's) and as
/// offered to oneDNN under a layout mask.
struct ConvDescs {
  dnnl_memory_desc_t src, weights, dst, bias;    // plain
  dnnl_memory_desc_t srcAny, weightsAny, dstAny; // offered
  dnnl_dims_t strides, dilates, padL, padR;
};

dnnl_status_t initDescs(const ConvGeometry &g, const ConvOptions &o,
                        unsigned mask, ConvDescs &d) {
  dnnl_dims_t src = {g.N, g.C, g.H, g.W}, dst = {g.N, g.K, g.OH, g.OW},
              bias = {g.K};
  // OIHW with groups is [groups, K/groups, C/groups, KH, KW], the same
  // memory; oneDNN takes a grouped convolution's weights that way.
  bool grouped = g.groups > 1;
  dnnl_dims_t weights = {g.K, g.C, g.KH, g.KW};
  if (grouped) {
    dnnl_dims_t w5 = {g.groups, g.K / g.groups, g.C / g.groups, g.KH, g.KW};
    std::memcpy(weights, w5, sizeof(w5));
  }
  int wDims = grouped ? 5 : 4;
  dnnl_format_tag_t wTag = grouped ? dnnl_goihw : dnnl_oihw;
  // A blocked activation is offered as it is (except under Nhwc): that
  // layout is the caller's (and the one oneDNN's AVX-512 direct kernels
  // read), so the call reorders nothing.
  dnnl_format_tag_t srcTag = o.blocked & BlockedSrc ? dnnl_nChw16c : dnnl_nchw,
                    dstTag = o.blocked & BlockedDst ? dnnl_nChw16c : dnnl_nchw;
  if (o.blocked & BlockedSrc)
    mask &= ~AnySrc;
  if (o.blocked & BlockedDst)
    mask &= ~AnyDst;
  dnnl_format_tag_t offeredSrc = mask & Nhwc    ? dnnl_nhwc
                                 : mask & AnySrc ? dnnl_format_tag_any
                                                 : srcTag,
                    offeredDst = mask & Nhwc    ? dnnl_nhwc
                                 : mask & AnyDst ? dnnl_format_tag_any
                                                 : dstTag;
  dnnl_data_type_t srcT, wT, dstT;
  tensorTypes(o, srcT, wT, dstT);
  dnnl_status_t status;
  if ((status = dnnl_memory_desc_init_by_tag(&d.src, 4, src, srcT, srcTag)) ||
      (status = dnnl_memory_desc_init_by_tag(&d.weights, wDims, weights, wT,
                                             wTag)) ||
      (status = dnnl_memory_desc_init_by_tag(&d.dst, 4, dst, dstT, dstTag)) ||
      (status =
           dnnl_memory_desc_init_by_tag(&d.bias, 1, bias, dnnl_f32, dnnl_x)) ||
      (status =
           dnnl_memory_desc_init_by_tag(&d.srcAny, 4, src, srcT, offeredSrc)) ||
      (status = dnnl_memory_desc_init_by_tag(&d.weightsAny, wDims, weights, wT,
                                             dnnl_format_tag_any)) ||
      (status =
           dnnl_memory_desc_init_by_tag(&d.dstAny, 4, dst, dstT, offeredDst)))
    return status;
  // oneDNN counts dilation from 0 (dense), PyTorch from 1.
  d.strides[0] = g.strideH, d.strides[1] = g.strideW;
  d.dilates[0] = g.dilationH - 1, d.dilates[1] = g.dilationW - 1;
  d.padL[0] = g.padTop, d.padL[1] = g.padLeft;
  d.padR[0] = g.padBottom, d.padR[1] = g.padRight;
  return dnnl_success;
}

/// The primitive descriptor of `o` on the layouts of `mask`. The direct
/// algorithm throughout: Winograd's changes the arithmetic.
dnnl_status_t createConvPd(dnnl_engine_t engine, const ConvGeometry &g,
                           const ConvOptions &o, unsigned mask, ConvDescs &d,
                           dnnl_primitive_desc_t &pd) {
  dnnl_status_t status = initDescs(g, o, mask, d);
  if (status != dnnl_success)
    return status;
  // A backward's hint is the forward it differentiates, which reads and
  // writes the operands' type (a bf16 one writing f32 gradients is hinted
  // by the all-bf16 forward).
  dnnl_memory_desc_t hintSrc = d.srcAny, hintWeights = d.weightsAny,
                     hintDst = d.dstAny;
  if (o.op != Op::ConvForward)
    hintSrc.data_type = hintWeights.data_type = hintDst.data_type = o.in;
  dnnl_convolution_desc_t forward, desc;
  status = dnnl_dilated_convolution_forward_desc_init(
      &forward, dnnl_forward_training, dnnl_convolution_direct, &hintSrc,
      &hintWeights, o.op == Op::ConvForward && o.bias ? &d.bias : nullptr,
      &hintDst, d.strides, d.dilates, d.padL, d.padR);
  if (status != dnnl_success)
    return status;
  // A backward primitive is created with its forward's as a hint.
  dnnl_primitive_desc_t hint = nullptr;
  if (o.op != Op::ConvForward) {
    status =
        dnnl_primitive_desc_create(&hint, &forward, nullptr, engine, nullptr);
    if (status == dnnl_success)
      status =
          o.op == Op::ConvBackwardData
              ? dnnl_dilated_convolution_backward_data_desc_init(
                    &desc, dnnl_convolution_direct, &d.srcAny, &d.weightsAny,
                    &d.dstAny, d.strides, d.dilates, d.padL, d.padR)
              : dnnl_dilated_convolution_backward_weights_desc_init(
                    &desc, dnnl_convolution_direct, &d.srcAny, &d.weightsAny,
                    nullptr, &d.dstAny, d.strides, d.dilates, d.padL, d.padR);
  } else {
    desc = forward;
  }
  dnnl_primitive_attr_t attr = nullptr;
  if (status == dnnl_success)
    status = dnnl_primitive_attr_create(&attr);
  if (status == dnnl_success)
    status = dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                     dnnl_scratchpad_mode_user);
  // The activation as an eltwise post-op: relu with a negative slope is
  // x > 0 ? x : slope·x, the leaky relu nnc computes.
  if (status == dnnl_success && o.activation != NNCRT_ACTIVATION_NONE) {
    dnnl_post_ops_t postOps;
    status = dnnl_post_ops_create(&postOps);
    if (status == dnnl_success) {
      status = dnnl_post_ops_append_eltwise(
          postOps, 1.0f, dnnl_eltwise_relu,
          o.activation == NNCRT_ACTIVATION_LEAKY_RELU ? o.slope : 0.0f, 0.0f);
      if (status == dnnl_success)
        status = dnnl_primitive_attr_set_post_ops(attr, postOps);
      dnnl_post_ops_destroy(postOps);
    }
  }
  if (status == dnnl_success)
    status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, hint);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  if (hint)
    dnnl_primitive_desc_destroy(hint);
  return status;
}

dnnl_status_t createConv(dnnl_engine_t engine, const ConvGeometry &g,
                         const ConvOptions &o,
                         std::unique_ptr<Primitive> &result) {
  dnnl_status_t status = dnnl_unimplemented;
  ConvDescs d, fallbackDescs;
  dnnl_primitive_desc_t pd = nullptr, fallback = nullptr;
  // A blocked operand's layout is fixed: the masks that would free it repeat
  // an earlier candidate.
  unsigned fixed = (o.blocked & BlockedSrc ? AnySrc : 0) |
                   (o.blocked & BlockedDst ? AnyDst : 0);
  // On a CPU with AMX, oneDNN 2.6 has AMX convolutions for channels-last
  // activations only; on nChw16c it runs AVX-512 BF16 ones. On the
  // Fashion-MNIST CNN's 32-to-64-channel 14x14 layer (batch 128, one
  // thread) those took 8.4 / 8.5 / 9.9 ms (forward, data, weights) against
  // 0.50 / 0.53 / 2.6 ms channels-last: far more than the reorders from
  // and to the caller's layout cost. So a bf16 convolution is first
  // offered channels-last, taken if oneDNN runs it on AMX.
  if (o.in == dnnl_bf16 && oneDNNMayRunAMX()) {
    dnnl_primitive_desc_t candidate = nullptr;
    ConvDescs candidateDescs;
    if (createConvPd(engine, g, o, Nhwc, candidateDescs, candidate) ==
        dnnl_success) {
      if (isAMXKernel(candidate)) {
        pd = candidate;
        d = candidateDescs;
      } else {
        dnnl_primitive_desc_destroy(candidate);
      }
    }
  }
  for (unsigned mask : layoutCandidates) {
    if (pd)
      break;
    if (mask & fixed)
      continue;
    dnnl_primitive_desc_t candidate = nullptr;
    ConvDescs candidateDescs;
    dnnl_status_t candidateStatus =
        createConvPd(engine, g, o, mask, candidateDescs, candidate);
    if (candidateStatus != dnnl_success) {
      status = candidateStatus;
      continue;
    }
    if (isDirectKernel(candidate)) {
      pd = candidate;
      d = candidateDescs;
      break;
    }
    if (fallback) {
      dnnl_primitive_desc_destroy(candidate);
      continue;
    }
    fallback = candidate;
    fallbackDescs = candidateDescs;
  }
  if (pd) {
    if (fallback)
      dnnl_primitive_desc_destroy(fallback);
  } else if (fallback) {
    pd = fallback;
    d = fallbackDescs;
  } else {
    return status;
  }
  // The caller's buffers in its order (see runConv).
  OperandSpec specs[4];
  int n = 0;
  switch (o.op) {
  case Op::ConvForward:
    specs[n++] = {DNNL_ARG_SRC, dnnl_query_src_md, 0, d.src, false};
    specs[n++] = {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, d.weights, false};
    specs[n++] = {DNNL_ARG_DST, dnnl_query_dst_md, 0, d.dst, true};
    if (o.bias) // the bias is the weights' second descriptor
      specs[n++] = {DNNL_ARG_BIAS, dnnl_query_weights_md, 1, d.bias, false};
    break;
  case Op::ConvBackwardData:
    specs[n++] = {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, d.dst, false};
    specs[n++] = {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, d.weights, false};
    specs[n++] = {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0, d.src, true};
    break;
  default:
    specs[n++] = {DNNL_ARG_SRC, dnnl_query_src_md, 0, d.src, false};
    specs[n++] = {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, d.dst, false};
    specs[n++] = {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md, 0,
                  d.weights, true};
    break;
  }
  if (o.in == dnnl_bf16)
    recordImpl(bf16ConvImpls, pd);
  status = build(engine, pd, specs, n, result);
  dnnl_primitive_desc_destroy(pd);
  return status;
}

Key convKey(const ConvGeometry &g, const ConvOptions &o) {
  int32_t slopeBits = 0;
  if (o.activation == NNCRT_ACTIVATION_LEAKY_RELU)
    std::memcpy(&slopeBits, &o.slope, sizeof(slopeBits));
  return Key{{(int64_t)o.op,
              g.N,
              g.C,
              g.H,
              g.W,
              g.K,
              g.KH,
              g.KW,
              g.OH,
              g.OW,
              g.strideH,
              g.strideW,
              g.padTop,
              g.padLeft,
              g.padBottom,
              g.padRight,
              g.dilationH,
              g.dilationW,
              g.groups,
              (int64_t)o.bias,
              (int64_t)o.activation,
              (int64_t)slopeBits,
              (int64_t)omp_get_max_threads(),
              (int64_t)o.in << 16 | (int64_t)o.out,
              (int64_t)o.blocked}};
}

/// Runs a convolution on the caller's buffers, in createConv's operand
/// order.
void runConv(const char *function, const ConvGeometry &g, const ConvOptions &o,
             const void *const *data) {
  Primitive *p = nullptr;
  dnnl_status_t status = primitiveCache.lookup(
      convKey(g, o),
      [&](dnnl_engine_t engine, std::unique_ptr<Primitive> &result) {
        return createConv(engine, g, o, result);
      },
      p);
  if (status != dnnl_success)
    failStatus(function, g, "creating the convolution", status);
  status = primitiveCache.run(*p, data);
  if (status != dnnl_success)
    failStatus(function, g, "the convolution", status);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// Average pooling on the caller's buffers, NCHW or nChw16c as `blocked`
/// says for x (or dx: BlockedSrc) and y (or dy: BlockedDst): oneDNN's
/// kernels take either as it is (and a forward refuses to choose its
/// input's layout); on NCHW they are 3 to 5 times slower, which is why
/// the runtime's own kernels (AvgPool.inc) take the cases they win.
dnnl_status_t createAvgPool(dnnl_engine_t engine, const PoolGeometry &g,
                            int32_t kind, bool backward, dnnl_data_type_t type,
                            unsigned blocked,
                            std::unique_ptr<Primitive> &result) {
  dnnl_alg_kind_t alg = kind == NNCRT_POOL_AVG_INCLUDE_PAD
                            ? dnnl_pooling_avg_include_padding
                            : dnnl_pooling_avg_exclude_padding;
  dnnl_memory_desc_t src, dst;
  dnnl_dims_t srcDims = {g.N, g.C, g.H, g.W}, dstDims = {g.N, g.C, g.OH, g.OW};
  dnnl_dims_t strides = {g.strideH, g.strideW}, kernel = {g.KH, g.KW},
              dilation = {0, 0}, padL = {g.padTop, g.padLeft},
              padR = {g.padBottom, g.padRight};
  dnnl_status_t status;
  if ((status = dnnl_memory_desc_init_by_tag(
           &src, 4, srcDims, type,
           blocked & BlockedSrc ? dnnl_nChw16c : dnnl_nchw)) ||
      (status = dnnl_memory_desc_init_by_tag(&dst, 4, dstDims, type,
                                             blocked & BlockedDst ? dnnl_nChw16c
                                                                  : dnnl_nchw)))
    return status;
  dnnl_pooling_v2_desc_t forward, desc;
  status = dnnl_pooling_v2_forward_desc_init(
      &forward, backward ? dnnl_forward_training : dnnl_forward_inference, alg,
      &src, &dst, strides, kernel, dilation, padL, padR);
  // A backward primitive is created with its forward's as a hint.
  dnnl_primitive_desc_t hint = nullptr;
  if (status == dnnl_success && backward) {
    status =
        dnnl_primitive_desc_create(&hint, &forward, nullptr, engine, nullptr);
    if (status == dnnl_success)
      status = dnnl_pooling_v2_backward_desc_init(
          &desc, alg, &src, &dst, strides, kernel, dilation, padL, padR);
  } else {
    desc = forward;
  }
  dnnl_primitive_attr_t attr = nullptr;
  if (status == dnnl_success)
    status = dnnl_primitive_attr_create(&attr);
  if (status == dnnl_success)
    status = dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                     dnnl_scratchpad_mode_user);
  dnnl_primitive_desc_t pd = nullptr;
  if (status == dnnl_success)
    status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, hint);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  if (hint)
    dnnl_primitive_desc_destroy(hint);
  if (status != dnnl_success)
    return status;
  OperandSpec specs[2] = {
      {backward ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC,
       backward ? dnnl_query_diff_dst_md : dnnl_query_src_md, 0,
       backward ? dst : src, false},
      {backward ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST,
       backward ? dnnl_query_diff_src_md : dnnl_query_dst_md, 0,
       backward ? src : dst, true}};
  status = build(engine, pd, specs, 2, result);
  dnnl_primitive_desc_destroy(pd);
  return status;
}

/// y = avgpool(x) (forward) or dx from dy (backward).
void runAvgPool(const char *function, const PoolGeometry &g, int32_t kind,
                bool backward, dnnl_data_type_t type, const void *in, void *out,
                unsigned blocked = 0) {
  Op op = backward ? Op::AvgPoolBackward : Op::AvgPoolForward;
  Key key{{(int64_t)op, g.N, g.C, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.strideH,
           g.strideW, g.padTop, g.padLeft, g.padBottom, g.padRight,
           (int64_t)kind, (int64_t)omp_get_max_threads(), (int64_t)type,
           (int64_t)blocked}};
  Primitive *p = nullptr;
  dnnl_status_t status = primitiveCache.lookup(
      key,
      [&](dnnl_engine_t engine, std::unique_ptr<Primitive> &result) {
        return createAvgPool(engine, g, kind, backward, type, blocked, result);
      },
      p);
  if (status != dnnl_success)
    failStatus(function, g, kind, "creating the pooling", status);
  const void *data[2] = {in, out};
  status = primitiveCache.run(*p, data);
  if (status != dnnl_success)
    failStatus(function, g, kind, "the pooling", status);
}

// Max pooling is plain loops rather than oneDNN's: its backward needs a
// workspace recorded by a training forward (and nnc may recompute that
// forward, or not run it, before the backward), and which of a window's
// equal maxima (or NaNs) gets the gradient is left unspecified, while nnc
// matches PyTorch's CPU kernel: the first maximum in row-major order, as
// `if (val > maxval || isnan(val))` picks it. The forward is the same loop
// so that it picks the same element.

/// The part of window `o` along one axis that lies in the input: [b, e).
inline void windowBounds(int64_t o, int64_t stride, int64_t pad, int64_t window,
                         int64_t in, int64_t &b, int64_t &e) {
  int64_t start = o * stride - pad;
  b = std::max<int64_t>(start, 0);
  e = std::min(start + window, in);
}

/// Output columns whose windows the max pooling loops advance together:
/// they keep each column's running maximum in a lane of a vector register.
constexpr int64_t poolLanes = 8;

/// bf16 to f32 for a row, poolLanes at a time in vector registers (the
/// compilers' generic vector extension: the scalar loop stays scalar).
typedef uint16_t Halves
    __attribute__((vector_size(poolLanes * sizeof(uint16_t))));
typedef uint32_t Words __attribute__((vector_size(poolLanes * sizeof(uint32_t))));
inline void widenRow(const uint16_t *in, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + poolLanes <= n; i += poolLanes) {
    Halves h;
    std::memcpy(&h, in + i, sizeof(h));
    Words w = __builtin_convertvector(h, Words) << 16;
    std::memcpy(out + i, &w, sizeof(w));
  }
  for (; i < n; ++i)
    out[i] = widenBF16(in[i]);
}

/// f32 to bf16 (narrowBF16) for a row, poolLanes at a time.
inline void narrowRow(const float *in, uint16_t *out, int64_t n) {
  int64_t i = 0;
  for (; i + poolLanes <= n; i += poolLanes) {
    Words bits;
    std::memcpy(&bits, in + i, sizeof(bits));
    Words rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    Words quiet = (bits >> 16) | 0x40u;
    Words nan = (Words)((bits & 0x7fffffffu) > 0x7f800000u);
    Halves h = __builtin_convertvector((quiet & nan) | (rounded & ~nan), Halves);
    std::memcpy(out + i, &h, sizeof(h));
  }
  for (; i < n; ++i)
    out[i] = narrowBF16(in[i]);
}

/// A thread's copy of the plane being pooled, kept between calls so that a
/// step allocates nothing after its first: its rows with -inf in place of
/// the left and right padding, and beyond them room for the columns the
/// last group of poolLanes windows reads (their results are dropped).
/// Without left and right padding the rows keep their stride, so a plane
/// is one copy (a dropped window reads into the next row, the last row's
/// into -inf past the end).
struct PaddedPlane {
  std::vector<float> data;
  int64_t stride = 0; // floats per row

  void prepare(const PoolGeometry &g) {
    int64_t groups = (g.OW + poolLanes - 1) / poolLanes;
    bool padded = g.padLeft || g.padRight;
    stride = padded ? std::max(g.padLeft + g.W + g.padRight,
                               groups * poolLanes * g.strideW + g.KW)
                    : g.W;
    data.assign(g.H * stride + poolLanes * g.strideW + g.KW,
                -std::numeric_limits<float>::infinity());
  }

  /// Copies plane x in, f32 or bf16 (widened exactly).
  template <typename T> void load(const PoolGeometry &g, const T *x) {
    auto copy = [](const T *b, const T *e, float *to) {
      if constexpr (std::is_same_v<T, float>)
        std::copy(b, e, to);
      else
        widenRow(b, to, e - b);
    };
    if (stride == g.W) {
      copy(x, x + g.H * g.W, data.data());
      return;
    }
    for (int64_t h = 0; h < g.H; ++h)
      copy(x + h * g.W, x + (h + 1) * g.W,
           data.data() + h * stride + g.padLeft);
  }
};

thread_local PaddedPlane paddedPlane;
/// A thread's f32 sums of a bf16 plane's gradient, rounded once at the end.
thread_local std::vector<float> planeGradient;

/// poolLanes floats, and as many indices, in vectors of the compilers'
/// generic vector extension (GCC, Clang): SSE or NEON registers, whichever
/// the target has. A comparison gives an Indices mask, all ones or zeros.
typedef float Floats __attribute__((vector_size(poolLanes * sizeof(float))));
typedef uint32_t Indices
    __attribute__((vector_size(poolLanes * sizeof(uint32_t))));

/// The elements PyTorch's CPU max pooling picks in windows (oh, ow0 ...
/// ow0 + poolLanes - 1): the first in-bounds element, replaced in
/// row-major order by a greater one or a NaN (`if (val > maxval ||
/// isnan(val))`); maxval gets their values and, WithIndex, index their
/// indices in the plane. A padding column reads -inf, which the condition
/// never takes, as PyTorch skips it. The windows advance together, with
/// masks rather than branches: random data mispredicts every other branch,
/// and the compiler's own vectorization keeps the indices' selects scalar.
/// StrideW is the column stride when it is a constant (1, 2), else 0.
template <int64_t StrideW, bool WithIndex>
void windowArgmax(const PoolGeometry &g, const PaddedPlane &plane, int64_t oh,
                  int64_t ow0, float *maxval, uint32_t *index) {
  const int64_t sW = StrideW ? StrideW : g.strideW;
  int64_t h0, h1;
  windowBounds(oh, g.strideH, g.padTop, g.KH, g.H, h0, h1);
  Floats m;
  Indices at, lane;
  for (int64_t l = 0; l < poolLanes; ++l) {
    m[l] = -std::numeric_limits<float>::infinity();
    // Indices wrap around in the dropped lanes only (check() bounds the
    // plane to 2^32 elements).
    lane[l] = uint32_t((ow0 + l) * sW - g.padLeft);
    at[l] =
        uint32_t(h0 * g.W + std::max<int64_t>((ow0 + l) * sW - g.padLeft, 0));
  }
  for (int64_t h = h0; h < h1; ++h) {
    const float *row = plane.data.data() + h * plane.stride + ow0 * sW;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      Floats v;
      for (int64_t l = 0; l < poolLanes; ++l)
        v[l] = row[l * sW + kw];
      Indices take = (Indices)((v > m) | (v != v));
      m = (Floats)(((Indices)v & take) | ((Indices)m & ~take));
      if (WithIndex)
        at = ((lane + uint32_t(h * g.W + kw)) & take) | (at & ~take);
    }
  }
  for (int64_t l = 0; l < poolLanes; ++l) {
    maxval[l] = m[l];
    if (WithIndex)
      index[l] = at[l];
  }
}

template <bool WithIndex>
void windowArgmax(const PoolGeometry &g, const PaddedPlane &plane, int64_t oh,
                  int64_t ow0, float *maxval, uint32_t *index) {
  switch (g.strideW) {
  case 1:
    return windowArgmax<1, WithIndex>(g, plane, oh, ow0, maxval, index);
  case 2:
    return windowArgmax<2, WithIndex>(g, plane, oh, ow0, maxval, index);
  default:
    return windowArgmax<0, WithIndex>(g, plane, oh, ow0, maxval, index);
  }
}

/// A max pooling on buffers of T (float, or uint16_t for bf16).
template <typename T> struct MaxPoolTask {
  const PoolGeometry &g;
  const T *x, *dy;
  T *out; // y, or dx
};

/// The forward over planes [b, e) of the N·C. A bf16 maximum is one of
/// the plane's values, so narrowing it back is exact.
template <typename T> void maxPoolForward(void *ctx, int64_t b, int64_t e) {
  const MaxPoolTask<T> &t = *static_cast<const MaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  PaddedPlane &plane = paddedPlane;
  plane.prepare(g);
  float maxval[poolLanes];
  uint32_t index[poolLanes];
  for (int64_t p = b; p < e; ++p) {
    plane.load(g, t.x + p * g.H * g.W);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow0 = 0; ow0 < g.OW; ow0 += poolLanes) {
        windowArgmax<false>(g, plane, oh, ow0, maxval, index);
        T *y = t.out + (p * g.OH + oh) * g.OW + ow0;
        for (int64_t l = 0, n = std::min(poolLanes, g.OW - ow0); l < n; ++l)
          if constexpr (std::is_same_v<T, float>)
            y[l] = maxval[l];
          else { // a bf16 value (or -inf): its upper half, exactly
            uint32_t bits;
            std::memcpy(&bits, &maxval[l], sizeof(bits));
            y[l] = uint16_t(bits >> 16);
          }
      }
  }
}

/// The backward over planes [b, e): each plane is one thread's, and its
/// windows add up in row-major order (PyTorch's), so the result does not
/// depend on the thread count either.
template <typename T> void maxPoolBackward(void *ctx, int64_t b, int64_t e) {
  const MaxPoolTask<T> &t = *static_cast<const MaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  PaddedPlane &plane = paddedPlane;
  plane.prepare(g);
  constexpr bool f32 = std::is_same_v<T, float>;
  // bf16 windows that do not overlap give each element of dx one term at
  // most: 0 + dy, exact in bf16, so dx is written directly (the same bits
  // as the f32 sum rounded: -0 becomes +0, a NaN quiet).
  bool direct = !f32 && g.strideH >= g.KH && g.strideW >= g.KW;
  if (!f32 && !direct)
    planeGradient.resize(g.H * g.W);
  float maxval[poolLanes];
  uint32_t index[poolLanes];
  for (int64_t p = b; p < e; ++p) {
    plane.load(g, t.x + p * g.H * g.W);
    T *out = t.out + p * g.H * g.W;
    float *dx = nullptr;
    if constexpr (f32)
      dx = out;
    else if (!direct)
      dx = planeGradient.data();
    if (direct)
      std::fill(out, out + g.H * g.W, T(0));
    else
      std::fill(dx, dx + g.H * g.W, 0.0f);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow0 = 0; ow0 < g.OW; ow0 += poolLanes) {
        windowArgmax<true>(g, plane, oh, ow0, maxval, index);
        const T *dy = t.dy + (p * g.OH + oh) * g.OW + ow0;
        for (int64_t l = 0, n = std::min(poolLanes, g.OW - ow0); l < n; ++l)
          if constexpr (f32) {
            dx[index[l]] += dy[l];
          } else if (direct) {
            uint16_t h = dy[l];
            out[index[l]] = h == 0x8000u                  ? uint16_t(0)
                            : (h & 0x7fffu) > 0x7f80u ? uint16_t(h | 0x40u)
                                                      : h;
          } else {
            dx[index[l]] += widenBF16(dy[l]);
          }
      }
    if constexpr (!f32)
      if (!direct)
        narrowRow(dx, out, g.H * g.W);
  }
}

/// Planes per thread at least: a piece of under ~32K input elements is not
/// worth a thread.
int64_t planeGrain(const PoolGeometry &g) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / (g.H * g.W));
}

// Max pooling with an operand in nChw16c. The unit of work is 16 channels
// of one image, whichever the layouts: unit u's elements start at u·16·P
// (P the plane's positions) in NCHW and in nChw16c alike, and lie at
// lane·P + position in the one, position·16 + lane in the other. The 16
// channels advance together in the lanes of a vector, each through its
// window in row-major order with PyTorch's rule, so every channel picks the
// element the plain loops pick, and its gradients add up in the same order.

constexpr int64_t blockLanes = 16;
typedef float BlockFloats
    __attribute__((vector_size(blockLanes * sizeof(float))));
typedef uint32_t BlockIndices
    __attribute__((vector_size(blockLanes * sizeof(uint32_t))));

/// Element (lane l, position s) of a unit, in nChw16c or NCHW (P
/// positions a plane).
template <bool Blocked>
inline int64_t unitOffset(int64_t l, int64_t s, int64_t P) {
  return Blocked ? s * blockLanes + l : l * P + s;
}

template <typename T> inline float widen(T v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return widenBF16(v);
}

typedef uint16_t BlockHalves
    __attribute__((vector_size(blockLanes * sizeof(uint16_t))));

/// The 16 lanes at position s of a unit, widened to f32: one vector load
/// where they are contiguous (nChw16c).
template <bool Blocked, typename T>
inline BlockFloats loadLanes(const T *unit, int64_t s, int64_t P) {
  BlockFloats v;
  if constexpr (Blocked && std::is_same_v<T, float>) {
    std::memcpy(&v, unit + s * blockLanes, sizeof(v));
  } else if constexpr (Blocked) {
    BlockHalves h;
    std::memcpy(&h, unit + s * blockLanes, sizeof(h));
    BlockIndices w = __builtin_convertvector(h, BlockIndices) << 16;
    std::memcpy(&v, &w, sizeof(v));
  } else {
    for (int64_t l = 0; l < blockLanes; ++l)
      v[l] = widen(unit[l * P + s]);
  }
  return v;
}

/// Stores 16 lanes at position s of a unit: f32 values, or bf16 ones
/// (exact: their upper halves).
template <bool Blocked, typename T>
inline void storeLanes(T *unit, int64_t s, int64_t P, BlockFloats v) {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (Blocked)
      std::memcpy(unit + s * blockLanes, &v, sizeof(v));
    else
      for (int64_t l = 0; l < blockLanes; ++l)
        unit[l * P + s] = v[l];
  } else {
    BlockHalves h = __builtin_convertvector((BlockIndices)v >> 16, BlockHalves);
    if constexpr (Blocked)
      std::memcpy(unit + s * blockLanes, &h, sizeof(h));
    else
      for (int64_t l = 0; l < blockLanes; ++l)
        unit[l * P + s] = h[l];
  }
}

/// A max pooling on buffers of T with `blocked` (BlockedSrc: x, BlockedDst:
/// y or dy, BlockedDx: dx) saying which are nChw16c.
template <typename T> struct BlockedMaxPoolTask {
  const PoolGeometry &g;
  const T *x, *dy;
  T *out; // y, or dx
  unsigned blocked;
};

/// Window (oh, ow)'s maxima for the 16 lanes of a unit of x and, WithIndex,
/// their positions in the plane.
template <bool XBlocked, bool WithIndex, typename T>
inline void unitArgmax(const PoolGeometry &g, const T *x, int64_t oh,
                       int64_t ow, BlockFloats &m, BlockIndices &at) {
  const int64_t P = g.H * g.W;
  int64_t h0, h1, w0, w1;
  windowBounds(oh, g.strideH, g.padTop, g.KH, g.H, h0, h1);
  windowBounds(ow, g.strideW, g.padLeft, g.KW, g.W, w0, w1);
  for (int64_t l = 0; l < blockLanes; ++l)
    m[l] = -std::numeric_limits<float>::infinity();
  if (WithIndex)
    at = BlockIndices{} + uint32_t(h0 * g.W + w0);
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      int64_t s = h * g.W + w;
      BlockFloats v = loadLanes<XBlocked>(x, s, P);
      BlockIndices take = (BlockIndices)((v > m) | (v != v));
      m = (BlockFloats)(((BlockIndices)v & take) | ((BlockIndices)m & ~take));
      if (WithIndex)
        at = ((BlockIndices{} + uint32_t(s)) & take) | (at & ~take);
    }
}

template <typename T, bool XBlocked, bool YBlocked>
void blockedMaxPoolForward(void *ctx, int64_t b, int64_t e) {
  const auto &t = *static_cast<const BlockedMaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  const int64_t OP = g.OH * g.OW;
  BlockFloats m;
  BlockIndices at;
  for (int64_t u = b; u < e; ++u) {
    const T *x = t.x + u * blockLanes * g.H * g.W;
    T *y = t.out + u * blockLanes * OP;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        unitArgmax<XBlocked, false>(g, x, oh, ow, m, at);
        // A bf16 maximum (or -inf) is a bf16 value: stored exactly.
        storeLanes<YBlocked>(y, oh * g.OW + ow, OP, m);
      }
  }
}

/// Whether the windows tile the plane exactly: each element of x is in one.
bool windowsTile(const PoolGeometry &g) {
  return g.strideH == g.KH && g.strideW == g.KW && g.OH * g.KH == g.H &&
         g.OW * g.KW == g.W && !g.padTop && !g.padLeft && !g.padBottom &&
         !g.padRight;
}

/// A thread's f32 gradient of one unit, [position][lane].
thread_local std::vector<float> unitGradient;

/// The backward: each unit's windows add up in row-major order into f32
/// (PyTorch's order, and the plain loops'), rounded once for bf16 (which
/// gives the plain loops' bits where they write dy directly too: 0 + dy is
/// dy, with -0 made +0 and a NaN quiet). An f32 dx in nChw16c is its own
/// accumulator.
template <typename T, bool XBlocked, bool DyBlocked, bool DxBlocked>
void blockedMaxPoolBackward(void *ctx, int64_t b, int64_t e) {
  const auto &t = *static_cast<const BlockedMaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  const int64_t P = g.H * g.W, OP = g.OH * g.OW;
  constexpr bool inPlace = std::is_same_v<T, float> && DxBlocked;
  // Windows that tile the plane exactly (the usual 2x2, stride 2) give
  // each element of dx one term: dx is written window by window, 0 + dy
  // at the maximum and 0 elsewhere, the same values as the sums (and
  // roundings) below, in one pass.
  bool tiles = windowsTile(g);
  BlockFloats m;
  BlockIndices at;
  if (tiles) {
    for (int64_t u = b; u < e; ++u) {
      const T *x = t.x + u * blockLanes * P;
      const T *dy = t.dy + u * blockLanes * OP;
      T *out = t.out + u * blockLanes * P;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          unitArgmax<XBlocked, true>(g, x, oh, ow, m, at);
          BlockFloats d = 0.0f + loadLanes<DyBlocked>(dy, oh * g.OW + ow, OP);
          for (int64_t h = oh * g.KH; h < (oh + 1) * g.KH; ++h)
            for (int64_t w = ow * g.KW; w < (ow + 1) * g.KW; ++w) {
              int64_t s = h * g.W + w;
              BlockIndices hit = at == uint32_t(s);
              BlockFloats v = (BlockFloats)((BlockIndices)d & hit);
              if constexpr (std::is_same_v<T, float>) {
                storeLanes<DxBlocked>(out, s, P, v);
              } else {
                for (int64_t l = 0; l < blockLanes; ++l)
                  out[unitOffset<DxBlocked>(l, s, P)] = narrowBF16(v[l]);
              }
            }
        }
    }
    return;
  }
  if (!inPlace)
    unitGradient.resize(P * blockLanes);
  for (int64_t u = b; u < e; ++u) {
    const T *x = t.x + u * blockLanes * P;
    const T *dy = t.dy + u * blockLanes * OP;
    T *out = t.out + u * blockLanes * P;
    float *dx;
    if constexpr (inPlace)
      dx = out;
    else
      dx = unitGradient.data();
    std::fill(dx, dx + P * blockLanes, 0.0f);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        unitArgmax<XBlocked, true>(g, x, oh, ow, m, at);
        BlockFloats d = loadLanes<DyBlocked>(dy, oh * g.OW + ow, OP);
        for (int64_t l = 0; l < blockLanes; ++l)
          dx[at[l] * blockLanes + l] += d[l];
      }
    if constexpr (!inPlace)
      for (int64_t s = 0; s < P; ++s)
        for (int64_t l = 0; l < blockLanes; ++l) {
          float v = dx[s * blockLanes + l];
          if constexpr (std::is_same_v<T, float>)
            out[unitOffset<DxBlocked>(l, s, P)] = v;
          else
            out[unitOffset<DxBlocked>(l, s, P)] = narrowBF16(v);
        }
  }
}

/// Units per thread at least, as planeGrain.
int64_t unitGrain(const PoolGeometry &g) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / (blockLanes * g.H * g.W));
}

/// The kernel for `blocked`'s layouts (all 8 combinations of a backward's).
template <typename T, bool X, bool Y>
void (*backwardKernel(unsigned blocked))(void *, int64_t, int64_t) {
  return blocked & BlockedDx ? blockedMaxPoolBackward<T, X, Y, true>
                             : blockedMaxPoolBackward<T, X, Y, false>;
}
template <typename T, bool X>
void (*poolKernel(unsigned blocked, bool backward))(void *, int64_t, int64_t) {
  if (backward)
    return blocked & BlockedDst ? backwardKernel<T, X, true>(blocked)
                                : backwardKernel<T, X, false>(blocked);
  return blocked & BlockedDst ? blockedMaxPoolForward<T, X, true>
                              : blockedMaxPoolForward<T, X, false>;
}

//===----------------------------------------------------------------------===//
// Max pooling with AVX-512
//===----------------------------------------------------------------------===//

// The same kernels for CPUs with AVX-512 (chosen at run time: the library
// is built for baseline x86-64): the 16 lanes of a unit are one zmm, and
// PyTorch's rule `v > m || isnan(v)` is two mask compares OR'd, so each
// lane picks the element the plain loops pick and its gradients add up in
// the same order. An operand in NCHW goes through a thread's [P][16] copy
// of its unit (16x16 transposes), so that one kernel serves every layout.
// NNC_MAXPOOL_ISA=generic selects the portable kernels above (tests).

#if defined(__x86_64__)
#define NNC_POOL_AVX512 1
#define NNC_TARGET_POOL                                                        \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define NNC_POOL_INLINE NNC_TARGET_POOL inline __attribute__((always_inline))

/// The first n of 16 lanes.
NNC_POOL_INLINE __mmask16 firstLanes(int64_t n) {
  return __mmask16(0xffffu >> (blockLanes - n));
}

/// 16 values widened to f32 (bf16 is the upper half of an f32).
NNC_POOL_INLINE __m512 widen16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
template <typename T> NNC_POOL_INLINE __m512 load16(const T *p) {
  if constexpr (std::is_same_v<T, float>)
    return _mm512_loadu_ps(p);
  else
    return widen16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
}
/// The first n lanes from p, zeros in the others.
template <typename T> NNC_POOL_INLINE __m512 load16(const T *p, __mmask16 n) {
  if constexpr (std::is_same_v<T, float>)
    return _mm512_maskz_loadu_ps(n, p);
  else
    return widen16(_mm256_maskz_loadu_epi16(n, p));
}

/// f32 lanes as bf16: their upper halves (Round false: exact for a bf16
/// value, as the forward's maxima) or narrowBF16's rounding.
template <bool Round> NNC_POOL_INLINE __m256i narrow16(__m512 v) {
  __m512i bits = _mm512_castps_si512(v);
  __m512i upper = _mm512_srli_epi32(bits, 16);
  if constexpr (Round) {
    __m512i lsb = _mm512_and_si512(upper, _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)),
                         lsb),
        16);
    __m512i quiet = _mm512_or_si512(upper, _mm512_set1_epi32(0x40));
    upper = _mm512_mask_mov_epi32(
        rounded, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), quiet);
  }
  return _mm512_cvtepi32_epi16(upper);
}
template <bool Round, typename T> NNC_POOL_INLINE void store16(T *p, __m512 v) {
  if constexpr (std::is_same_v<T, float>)
    _mm512_storeu_ps(p, v);
  else
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), narrow16<Round>(v));
}
template <bool Round, typename T>
NNC_POOL_INLINE void store16(T *p, __mmask16 n, __m512 v) {
  if constexpr (std::is_same_v<T, float>)
    _mm512_mask_storeu_ps(p, n, v);
  else
    _mm256_mask_storeu_epi16(p, n, narrow16<Round>(v));
}

/// r[i][j] becomes r[j][i].
NNC_POOL_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

/// An NCHW unit (16 planes of P) as [P][16] f32.
template <typename T>
NNC_TARGET_POOL void unitToBlocked(const T *unit, int64_t P, float *out) {
  __m512 r[16];
  for (int64_t s0 = 0; s0 < P; s0 += blockLanes) {
    int64_t n = std::min(blockLanes, P - s0);
    for (int64_t l = 0; l < blockLanes; ++l)
      r[l] = load16(unit + l * P + s0, firstLanes(n));
    transpose16(r);
    for (int64_t j = 0; j < n; ++j)
      _mm512_storeu_ps(out + (s0 + j) * blockLanes, r[j]);
  }
}

/// [P][16] f32 as an NCHW unit, bf16 narrowed as store16<Round>.
template <bool Round, typename T>
NNC_TARGET_POOL void unitToPlain(const float *in, int64_t P, T *unit) {
  __m512 r[16];
  for (int64_t s0 = 0; s0 < P; s0 += blockLanes) {
    int64_t n = std::min(blockLanes, P - s0);
    for (int64_t j = 0; j < blockLanes; ++j)
      r[j] = j < n ? _mm512_loadu_ps(in + (s0 + j) * blockLanes)
                   : _mm512_setzero_ps();
    transpose16(r);
    for (int64_t l = 0; l < blockLanes; ++l)
      store16<Round>(unit + l * P + s0, firstLanes(n), r[l]);
  }
}

/// PyTorch's rule for a running maximum m and the next element v.
NNC_POOL_INLINE __mmask16 takes(__m512 v, __m512 m) {
  return _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
         _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

/// The maximum of a 2x2 window's elements v0 ... v3 in row-major order.
NNC_POOL_INLINE __m512 max2x2(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
  // vmaxps(v, m) is `v > m ? v : m`: the rule but for a NaN v (rare:
  // those windows take the rule's two compares). The first element needs
  // no test: -inf < v0, or v0 is -inf.
  __m512 m = _mm512_max_ps(v3, _mm512_max_ps(v2, _mm512_max_ps(v1, v0)));
  if (_mm512_cmp_ps_mask(v1, v2, _CMP_UNORD_Q) |
      _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q)) {
    m = v0;
    for (__m512 v : {v1, v2, v3})
      m = _mm512_mask_mov_ps(m, takes(v, m), v);
  }
  return m;
}

/// Which of a 2x2 window's elements v0 ... v3 is its maximum, lane by
/// lane: the last the rule takes, or the first if it takes none.
NNC_POOL_INLINE void argmax2x2(__m512 v0, __m512 v1, __m512 v2, __m512 v3,
                               __mmask16 at[4]) {
  __m512 m = v0;
  __mmask16 t1 = takes(v1, m);
  m = _mm512_mask_mov_ps(m, t1, v1);
  __mmask16 t2 = takes(v2, m);
  m = _mm512_mask_mov_ps(m, t2, v2);
  __mmask16 t3 = takes(v3, m);
  at[0] = ~(t1 | t2 | t3);
  at[1] = t1 & ~(t2 | t3);
  at[2] = t2 & ~t3;
  at[3] = t3;
}

/// Whether the windows are 2x2 with stride 2 and no padding (the CNNs'),
/// which the kernels unroll.
bool isPool2x2(const PoolGeometry &g) {
  return g.KH == 2 && g.KW == 2 && g.strideH == 2 && g.strideW == 2 &&
         !g.padTop && !g.padLeft && !g.padBottom && !g.padRight;
}

/// Window (oh, ow)'s maxima in a [P][16] unit of x and, WithIndex, their
/// positions (as unitArgmax).
template <bool WithIndex, typename TX>
NNC_POOL_INLINE void windowMax(const PoolGeometry &g, const TX *x, int64_t oh,
                               int64_t ow, __m512 &m, __m512i &at) {
  int64_t h0, h1, w0, w1;
  windowBounds(oh, g.strideH, g.padTop, g.KH, g.H, h0, h1);
  windowBounds(ow, g.strideW, g.padLeft, g.KW, g.W, w0, w1);
  m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  if (WithIndex)
    at = _mm512_set1_epi32(int32_t(h0 * g.W + w0));
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      int64_t s = h * g.W + w;
      __m512 v = load16(x + s * blockLanes);
      __mmask16 take = takes(v, m);
      m = _mm512_mask_mov_ps(m, take, v);
      if (WithIndex)
        at = _mm512_mask_mov_epi32(at, take, _mm512_set1_epi32(int32_t(s)));
    }
}

/// The forward of one unit of 2x2 windows, x and y in [P][16], in two
/// sweeps of each row of windows so that x goes in address order (as
/// tiles2x2BackwardUnit): vmaxps(v, m) is `v > m ? v : m`, the rule but
/// for a NaN v; a sweep that meets one is done again with the rule's two
/// compares. (The first element needs no test: -inf < v0, or it is -inf.)
template <typename TX, typename TY>
NNC_TARGET_POOL void forward2x2Unit(const PoolGeometry &g, const TX *x, TY *y) {
  constexpr int64_t chunk = 32; // windows a sweep
  __m512 top[chunk];
  const int64_t row = g.W * blockLanes;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const TX *x0 = x + 2 * oh * row, *x1 = x0 + row;
    TY *out = y + oh * g.OW * blockLanes;
    for (int64_t ow0 = 0; ow0 < g.OW; ow0 += chunk) {
      int64_t n = std::min(chunk, g.OW - ow0);
      int64_t at0 = 2 * ow0 * blockLanes;
      __mmask16 nan = 0;
      for (int64_t i = 0; i < n; ++i) {
        const TX *p = x0 + at0 + 2 * i * blockLanes;
        __m512 v1 = load16(p + blockLanes);
        top[i] = _mm512_max_ps(v1, load16(p));
        nan |= _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
      }
      for (int64_t i = 0; i < n; ++i) {
        const TX *p = x1 + at0 + 2 * i * blockLanes;
        __m512 v2 = load16(p), v3 = load16(p + blockLanes);
        nan |= _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
        // A bf16 maximum (or -inf) is a bf16 value: stored exactly.
        store16<false>(out + (ow0 + i) * blockLanes,
                       _mm512_max_ps(v3, _mm512_max_ps(v2, top[i])));
      }
      if (!nan)
        continue;
      for (int64_t i = 0; i < n; ++i) {
        const TX *p = x0 + at0 + 2 * i * blockLanes, *q = p + row;
        __m512 m = load16(p);
        for (__m512 v :
             {load16(p + blockLanes), load16(q), load16(q + blockLanes)})
          m = _mm512_mask_mov_ps(m, takes(v, m), v);
        store16<false>(out + (ow0 + i) * blockLanes, m);
      }
    }
  }
}

/// The forward of one unit, x and y in [P][16].
template <bool Pool2x2, typename TX, typename TY>
NNC_TARGET_POOL void forwardUnit(const PoolGeometry &g, const TX *x, TY *y) {
  if constexpr (Pool2x2)
    return forward2x2Unit(g, x, y);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      __m512 m;
      __m512i at;
      windowMax<false>(g, x, oh, ow, m, at);
      // A bf16 maximum (or -inf) is a bf16 value: stored exactly.
      store16<false>(y + (oh * g.OW + ow) * blockLanes, m);
    }
}

/// The backward of one unit whose windows tile the plane: dx is written
/// once, 0 + dy where the window's maximum is and +0 elsewhere (the sums
/// and roundings of the general case, as blockedMaxPoolBackward).
template <typename TX, typename TD, typename TO>
NNC_TARGET_POOL void tilesBackwardUnit(const PoolGeometry &g, const TX *x,
                                       const TD *dy, TO *dx) {
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      __m512 d = _mm512_add_ps(_mm512_setzero_ps(),
                               load16(dy + (oh * g.OW + ow) * blockLanes));
      __m512 m;
      __m512i at;
      windowMax<true>(g, x, oh, ow, m, at);
      for (int64_t h = oh * g.KH; h < (oh + 1) * g.KH; ++h)
        for (int64_t w = ow * g.KW; w < (ow + 1) * g.KW; ++w) {
          int64_t s = h * g.W + w;
          __mmask16 hit =
              _mm512_cmpeq_epi32_mask(at, _mm512_set1_epi32(int32_t(s)));
          store16<true>(dx + s * blockLanes, _mm512_maskz_mov_ps(hit, d));
        }
    }
}

/// tilesBackwardUnit for 2x2 tiles, in two sweeps of each row of windows
/// so that x and dx go in address order, as in NCHW (measured faster than
/// a window at a time, whose two rows are streams 2W positions apart): the
/// windows' top rows (the rule's first compare), then their bottom rows,
/// which finish the argmax and write the top rows' gradients; the bottom
/// rows' wait in registers or L1 and go out last.
template <typename TX, typename TD, typename TO>
NNC_TARGET_POOL void tiles2x2BackwardUnit(const PoolGeometry &g, const TX *x,
                                          const TD *dy, TO *dx) {
  constexpr int64_t chunk = 32; // windows a sweep
  __m512 top[chunk], bottom[2 * chunk];
  __mmask16 took[chunk];
  const int64_t row = g.W * blockLanes;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const TX *x0 = x + 2 * oh * row, *x1 = x0 + row;
    TO *dx0 = dx + 2 * oh * row, *dx1 = dx0 + row;
    const TD *d = dy + oh * g.OW * blockLanes;
    for (int64_t ow0 = 0; ow0 < g.OW; ow0 += chunk) {
      int64_t n = std::min(chunk, g.OW - ow0);
      int64_t at0 = 2 * ow0 * blockLanes;
      for (int64_t i = 0; i < n; ++i) {
        const TX *p = x0 + at0 + 2 * i * blockLanes;
        __m512 v0 = load16(p), v1 = load16(p + blockLanes);
        took[i] = takes(v1, v0);
        top[i] = _mm512_mask_mov_ps(v0, took[i], v1);
      }
      for (int64_t i = 0; i < n; ++i) {
        const TX *p = x1 + at0 + 2 * i * blockLanes;
        __m512 v2 = load16(p), v3 = load16(p + blockLanes);
        __mmask16 t1 = took[i], t2 = takes(v2, top[i]);
        __mmask16 t3 = takes(v3, _mm512_mask_mov_ps(top[i], t2, v2));
        __m512 grad = _mm512_add_ps(_mm512_setzero_ps(),
                                    load16(d + (ow0 + i) * blockLanes));
        TO *q = dx0 + at0 + 2 * i * blockLanes;
        store16<true>(q, _mm512_maskz_mov_ps(~(t1 | t2 | t3), grad));
        store16<true>(q + blockLanes,
                      _mm512_maskz_mov_ps(t1 & ~(t2 | t3), grad));
        bottom[2 * i] = _mm512_maskz_mov_ps(t2 & ~t3, grad);
        bottom[2 * i + 1] = _mm512_maskz_mov_ps(t3, grad);
      }
      for (int64_t j = 0; j < 2 * n; ++j)
        store16<true>(dx1 + at0 + j * blockLanes, bottom[j]);
    }
  }
}

/// The backward of one unit in general: windows in row-major order, each
/// adding its dy to the f32 sum at its maximum, into a zeroed [P][16] acc.
template <typename TX, typename TD>
NNC_TARGET_POOL void sumsBackwardUnit(const PoolGeometry &g, const TX *x,
                                      const TD *dy, float *acc) {
  std::fill(acc, acc + g.H * g.W * blockLanes, 0.0f);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      __m512 m;
      __m512i at;
      windowMax<true>(g, x, oh, ow, m, at);
      __m512 d = load16(dy + (oh * g.OW + ow) * blockLanes);
      int64_t h0, h1, w0, w1;
      windowBounds(oh, g.strideH, g.padTop, g.KH, g.H, h0, h1);
      windowBounds(ow, g.strideW, g.padLeft, g.KW, g.W, w0, w1);
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) {
          int64_t s = h * g.W + w;
          __mmask16 hit =
              _mm512_cmpeq_epi32_mask(at, _mm512_set1_epi32(int32_t(s)));
          float *a = acc + s * blockLanes;
          _mm512_storeu_ps(a, _mm512_mask_add_ps(_mm512_loadu_ps(a), hit,
                                                 _mm512_loadu_ps(a), d));
        }
    }
}

/// A thread's [P][16] copies of NCHW operands and f32 sums: x, dy, out.
thread_local std::vector<float> unitStage[3];

/// Unit u of an operand: itself where it is blocked, else its [P][16] f32
/// copy in `stage`.
template <bool Blocked, typename T>
NNC_POOL_INLINE const std::conditional_t<Blocked, T, float> *
stagedUnit(const T *tensor, int64_t u, int64_t P, std::vector<float> &stage) {
  const T *unit = tensor + u * blockLanes * P;
  if constexpr (Blocked) {
    return unit;
  } else {
    stage.resize(P * blockLanes);
    unitToBlocked(unit, P, stage.data());
    return stage.data();
  }
}

template <typename T, bool XBlocked, bool YBlocked, bool Pool2x2>
NNC_TARGET_POOL void avx512MaxPoolForward(void *ctx, int64_t b, int64_t e) {
  const auto &t = *static_cast<const BlockedMaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  const int64_t P = g.H * g.W, OP = g.OH * g.OW;
  std::vector<float> &ys = unitStage[2];
  if (!YBlocked)
    ys.resize(OP * blockLanes);
  for (int64_t u = b; u < e; ++u) {
    auto x = stagedUnit<XBlocked>(t.x, u, P, unitStage[0]);
    T *y = t.out + u * blockLanes * OP;
    if constexpr (YBlocked) {
      forwardUnit<Pool2x2>(g, x, y);
    } else {
      forwardUnit<Pool2x2>(g, x, ys.data());
      unitToPlain</*Round=*/false>(ys.data(), OP, y);
    }
  }
}

/// How a backward's windows lie: 2x2 tiles, other tiles, or in general.
enum class Windows { Tiles2x2, Tiles, General };

template <typename T, bool XBlocked, bool DyBlocked, bool DxBlocked,
          Windows Kind>
NNC_TARGET_POOL void avx512MaxPoolBackward(void *ctx, int64_t b, int64_t e) {
  const auto &t = *static_cast<const BlockedMaxPoolTask<T> *>(ctx);
  const PoolGeometry &g = t.g;
  const int64_t P = g.H * g.W, OP = g.OH * g.OW;
  // Where dx is written or summed in [P][16] f32 before it goes out.
  constexpr bool direct =
      DxBlocked && (Kind != Windows::General || std::is_same_v<T, float>);
  std::vector<float> &outs = unitStage[2];
  if (!direct)
    outs.resize(P * blockLanes);
  for (int64_t u = b; u < e; ++u) {
    auto x = stagedUnit<XBlocked>(t.x, u, P, unitStage[0]);
    auto dy = stagedUnit<DyBlocked>(t.dy, u, OP, unitStage[1]);
    T *dx = t.out + u * blockLanes * P;
    auto *acc = [&] {
      if constexpr (direct)
        return dx;
      else
        return outs.data();
    }();
    if constexpr (Kind == Windows::General)
      sumsBackwardUnit(g, x, dy, acc);
    else if constexpr (Kind == Windows::Tiles2x2)
      tiles2x2BackwardUnit(g, x, dy, acc);
    else
      tilesBackwardUnit(g, x, dy, acc);
    if constexpr (!direct && DxBlocked) {
      for (int64_t s = 0; s < P; ++s)
        store16<true>(dx + s * blockLanes,
                      _mm512_loadu_ps(outs.data() + s * blockLanes));
    } else if constexpr (!direct) {
      unitToPlain</*Round=*/true>(outs.data(), P, dx);
    }
  }
}

typedef void (*PoolTask)(void *, int64_t, int64_t);

template <typename T, bool X, bool Dy, bool Dx>
PoolTask avx512BackwardKernel(const PoolGeometry &g) {
  bool tiles = windowsTile(g);
  if (tiles && isPool2x2(g))
    return avx512MaxPoolBackward<T, X, Dy, Dx, Windows::Tiles2x2>;
  if (tiles)
    return avx512MaxPoolBackward<T, X, Dy, Dx, Windows::Tiles>;
  return avx512MaxPoolBackward<T, X, Dy, Dx, Windows::General>;
}
template <typename T, bool X, bool Dy>
PoolTask avx512BackwardKernel(const PoolGeometry &g, unsigned blocked) {
  return blocked & BlockedDx ? avx512BackwardKernel<T, X, Dy, true>(g)
                             : avx512BackwardKernel<T, X, Dy, false>(g);
}
template <typename T, bool X, bool Y>
PoolTask avx512ForwardKernel(const PoolGeometry &g) {
  return isPool2x2(g) ? avx512MaxPoolForward<T, X, Y, true>
                      : avx512MaxPoolForward<T, X, Y, false>;
}
template <typename T, bool X>
PoolTask avx512PoolKernel(const PoolGeometry &g, unsigned blocked,
                          bool backward) {
  if (backward)
    return blocked & BlockedDst ? avx512BackwardKernel<T, X, true>(g, blocked)
                                : avx512BackwardKernel<T, X, false>(g, blocked);
  return blocked & BlockedDst ? avx512ForwardKernel<T, X, true>(g)
                              : avx512ForwardKernel<T, X, false>(g);
}

// The plain (NCHW) 2x2 max pooling: 16 windows of a row at once, their
// elements split from 32 columns into even and odd ones (and the
// gradients' interleaved back), with the rule as above.

/// The 2n columns of row r from column 2 * ow0 (n <= 16 windows), as the
/// windows' left and right elements.
template <typename T>
NNC_POOL_INLINE void splitColumns(const T *r, int64_t ow0, int64_t n,
                                  __m512 &left, __m512 &right) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                         22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  __m512 a = load16(r + 2 * ow0, firstLanes(std::min<int64_t>(2 * n, 16)));
  __m512 b = load16(r + 2 * ow0 + blockLanes,
                    firstLanes(std::max<int64_t>(2 * n - 16, 0)));
  left = _mm512_permutex2var_ps(a, even, b);
  right = _mm512_permutex2var_ps(a, odd, b);
}

/// Stores left, right interleaved as 2n columns of row r from 2 * ow0.
template <typename T>
NNC_POOL_INLINE void joinColumns(T *r, int64_t ow0, int64_t n, __m512 left,
                                 __m512 right) {
  const __m512i low =
      _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
  store16<true>(r + 2 * ow0, firstLanes(std::min<int64_t>(2 * n, 16)),
                _mm512_permutex2var_ps(left, low, right));
  store16<true>(r + 2 * ow0 + blockLanes,
                firstLanes(std::max<int64_t>(2 * n - 16, 0)),
                _mm512_permutex2var_ps(left, high, right));
}

template <typename T>
NNC_TARGET_POOL void avx512PlainForward2x2(void *ctx, int64_t b, int64_t e) {
  const MaxPoolTask<T> &t = *static_cast<const MaxPoolTask<T> *>(ctx);
  const PoolGeometry g = t.g;
  for (int64_t p = b; p < e; ++p)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const T *r0 = t.x + (p * g.H + 2 * oh) * g.W, *r1 = r0 + g.W;
      T *y = t.out + (p * g.OH + oh) * g.OW;
      for (int64_t ow0 = 0; ow0 < g.OW; ow0 += blockLanes) {
        int64_t n = std::min(blockLanes, g.OW - ow0);
        __m512 v0, v1, v2, v3;
        splitColumns(r0, ow0, n, v0, v1);
        splitColumns(r1, ow0, n, v2, v3);
        store16<false>(y + ow0, firstLanes(n), max2x2(v0, v1, v2, v3));
      }
    }
}

/// The backward of 2x2 tiles: dx written once, as tilesBackwardUnit.
template <typename T>
NNC_TARGET_POOL void avx512PlainBackward2x2(void *ctx, int64_t b, int64_t e) {
  const MaxPoolTask<T> &t = *static_cast<const MaxPoolTask<T> *>(ctx);
  const PoolGeometry g = t.g;
  for (int64_t p = b; p < e; ++p)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      int64_t top = (p * g.H + 2 * oh) * g.W;
      const T *r0 = t.x + top, *r1 = r0 + g.W;
      const T *dy = t.dy + (p * g.OH + oh) * g.OW;
      for (int64_t ow0 = 0; ow0 < g.OW; ow0 += blockLanes) {
        int64_t n = std::min(blockLanes, g.OW - ow0);
        __m512 v0, v1, v2, v3;
        splitColumns(r0, ow0, n, v0, v1);
        splitColumns(r1, ow0, n, v2, v3);
        __mmask16 at[4];
        argmax2x2(v0, v1, v2, v3, at);
        __m512 d =
            _mm512_add_ps(_mm512_setzero_ps(), load16(dy + ow0, firstLanes(n)));
        joinColumns(t.out + top, ow0, n, _mm512_maskz_mov_ps(at[0], d),
                    _mm512_maskz_mov_ps(at[1], d));
        joinColumns(t.out + top + g.W, ow0, n, _mm512_maskz_mov_ps(at[2], d),
                    _mm512_maskz_mov_ps(at[3], d));
      }
    }
}

/// Whether the AVX-512 kernels run: the CPU has them and
/// NNC_MAXPOOL_ISA=generic does not ask for the portable ones (read at
/// every call, so that a test can compare both).
bool useAvx512MaxPool() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
  }();
  const char *isa = std::getenv("NNC_MAXPOOL_ISA");
  return supported && !(isa && std::strcmp(isa, "generic") == 0);
}
#else
#define NNC_POOL_AVX512 0
#endif

template <typename T>
void blockedMaxPool(const PoolGeometry &g, const T *x, const T *dy, T *out,
                    unsigned blocked) {
  BlockedMaxPoolTask<T> task{g, x, dy, out, blocked};
  bool backward = dy != nullptr;
  void (*fn)(void *, int64_t, int64_t) =
      blocked & BlockedSrc ? poolKernel<T, true>(blocked, backward)
                           : poolKernel<T, false>(blocked, backward);
#if NNC_POOL_AVX512
  if (useAvx512MaxPool())
    fn = blocked & BlockedSrc
             ? avx512PoolKernel<T, true>(g, blocked, backward)
             : avx512PoolKernel<T, false>(g, blocked, backward);
#endif
  nncrt_parallel_for(fn, &task, 0, g.N * g.C / blockLanes, unitGrain(g));
}
} // namespace

// Average pooling's own kernels: they share the max pooling's helpers.
#include "AvgPool.inc"

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

namespace {
/// The checks and the call common to the f32 and bf16 entry points.
void convForward(const char *function, const ConvGeometry &g, const void *x,
                 const void *w, const float *bias, void *y, int32_t activation,
                 float slope, dnnl_data_type_t in, dnnl_data_type_t out,
                 unsigned blocked = 0) {
  check(function, g);
  if (activation != NNCRT_ACTIVATION_NONE &&
      activation != NNCRT_ACTIVATION_RELU &&
      activation != NNCRT_ACTIVATION_LEAKY_RELU) {
    char reason[48];
    std::snprintf(reason, sizeof(reason), "unknown activation %d",
                  (int)activation);
    fail(function, g, reason);
  }
  const void *data[4] = {x, w, y, bias};
  runConv(
      function, g,
      {Op::ConvForward, bias != nullptr, activation, slope, in, out, blocked},
      data);
}

void convBackward(const char *function, const ConvGeometry &g, Op op,
                  const void *a, const void *b, void *out,
                  dnnl_data_type_t inType, dnnl_data_type_t outType,
                  unsigned blocked = 0) {
  check(function, g);
  const void *data[3] = {a, b, out};
  runConv(function, g,
          {op, false, NNCRT_ACTIVATION_NONE, 0.0f, inType, outType, blocked},
          data);
}

/// The oneDNN type of a bf16 call's result type argument.
dnnl_data_type_t resultType(const char *function, const ConvGeometry &g,
                            int32_t type) {
  if (type != NNCRT_TYPE_F32 && type != NNCRT_TYPE_BF16) {
    char reason[48];
    std::snprintf(reason, sizeof(reason), "unknown result type %d", (int)type);
    fail(function, g, reason);
  }
  return type == NNCRT_TYPE_BF16 ? dnnl_bf16 : dnnl_f32;
}

/// The operand types of a layout-aware convolution: `in` for what it reads,
/// `out` for what it writes (the _bf16 calls' rule; f32 operands write f32).
void convTypes(const char *function, const ConvGeometry &g, int32_t inType,
               int32_t outType, dnnl_data_type_t &in, dnnl_data_type_t &out) {
  in = resultType(function, g, inType);
  out = resultType(function, g, outType);
  if (in == dnnl_f32 && out != dnnl_f32)
    fail(function, g, "f32 operands take an f32 result");
}

/// The BlockedSrc / BlockedDst of a convolution's `layouts`, whose bits
/// srcBit and dstBit are its activations' pointers.
unsigned convLayouts(const char *function, const ConvGeometry &g,
                     int32_t layouts, int srcBit, int dstBit) {
  if (layouts & ~((1 << srcBit) | (1 << dstBit)))
    fail(function, g, "layouts marks a pointer that is not an activation");
  unsigned blocked = (layouts >> srcBit & 1 ? BlockedSrc : 0) |
                     (layouts >> dstBit & 1 ? BlockedDst : 0);
  if ((blocked & BlockedSrc && g.C % blockLanes) ||
      (blocked & BlockedDst && g.K % blockLanes))
    fail(function, g, "an nChw16c operand needs channels divisible by 16");
  return blocked;
}

/// A pooling's `layouts`: bit i the i-th pointer (x, y; or x, dy, dx).
unsigned poolLayouts(const char *function, const PoolGeometry &g, int32_t kind,
                     int32_t layouts, int pointers) {
  if (layouts & ~((1 << pointers) - 1))
    fail(function, g, kind, "layouts marks a pointer the call does not take");
  if (layouts && g.C % blockLanes)
    fail(function, g, kind,
         "an nChw16c operand needs channels divisible by 16");
  return unsigned(layouts);
}

template <typename T>
void poolForward(const char *function, const PoolGeometry &g, int32_t kind,
                 const T *x, T *y, unsigned blocked = 0) {
  check(function, g, kind);
  // A workspace query runs no kernel: only oneDNN's need a workspace.
  if (workspaceQuery && kind == NNCRT_POOL_MAX)
    return;
  if (kind != NNCRT_POOL_MAX &&
      ownAvgPool(g, kind, /*backward=*/false, x, y, blocked,
                 /*dryRun=*/workspaceQuery != nullptr))
    return;
  if (kind != NNCRT_POOL_MAX)
    return runAvgPool(function, g, kind, /*backward=*/false,
                      std::is_same_v<T, float> ? dnnl_f32 : dnnl_bf16, x, y,
                      blocked);
  if (blocked)
    return blockedMaxPool<T>(g, x, nullptr, y, blocked);
  MaxPoolTask<T> task{g, x, nullptr, y};
  void (*fn)(void *, int64_t, int64_t) = maxPoolForward<T>;
#if NNC_POOL_AVX512
  if (isPool2x2(g) && useAvx512MaxPool())
    fn = avx512PlainForward2x2<T>;
#endif
  nncrt_parallel_for(fn, &task, 0, g.N * g.C, planeGrain(g));
}

/// `blocked`: BlockedSrc x, BlockedDst dy, BlockedDx dx.
template <typename T>
void poolBackward(const char *function, const PoolGeometry &g, int32_t kind,
                  const T *x, const T *dy, T *dx, unsigned blocked = 0) {
  check(function, g, kind);
  if (workspaceQuery && kind == NNCRT_POOL_MAX)
    return;
  if (kind != NNCRT_POOL_MAX &&
      ownAvgPool(g, kind, /*backward=*/true, dy, dx, blocked,
                 /*dryRun=*/workspaceQuery != nullptr))
    return;
  if (kind != NNCRT_POOL_MAX)
    return runAvgPool(function, g, kind, /*backward=*/true,
                      std::is_same_v<T, float> ? dnnl_f32 : dnnl_bf16, dy, dx,
                      (blocked & BlockedDx ? BlockedSrc : 0) |
                          (blocked & BlockedDst));
  if (!x)
    fail(function, g, kind, "max pooling's backward needs the input x");
  if (blocked)
    return blockedMaxPool<T>(g, x, dy, dx, blocked);
  MaxPoolTask<T> task{g, x, dy, dx};
  void (*fn)(void *, int64_t, int64_t) = maxPoolBackward<T>;
#if NNC_POOL_AVX512
  if (isPool2x2(g) && windowsTile(g) && useAvx512MaxPool())
    fn = avx512PlainBackward2x2<T>;
#endif
  nncrt_parallel_for(fn, &task, 0, g.N * g.C, planeGrain(g));
}
} // namespace

#define NNC_CONV_GEOMETRY_PARAMS                                               \
  int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,           \
      int64_t KW, int64_t OH, int64_t OW, int64_t strideH, int64_t strideW,    \
      int64_t padTop, int64_t padLeft, int64_t padBottom, int64_t padRight,    \
      int64_t dilationH, int64_t dilationW, int64_t groups
#define NNC_CONV_GEOMETRY                                                      \
  ConvGeometry {                                                               \
    N, C, H, W, K, KH, KW, OH, OW, strideH, strideW, padTop, padLeft,          \
        padBottom, padRight, dilationH, dilationW, groups                      \
  }
#define NNC_POOL_GEOMETRY_PARAMS                                               \
  int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,          \
      int64_t KH, int64_t KW, int64_t strideH, int64_t strideW,                \
      int64_t padTop, int64_t padLeft, int64_t padBottom, int64_t padRight
#define NNC_POOL_GEOMETRY                                                      \
  PoolGeometry {                                                               \
    N, C, H, W, OH, OW, KH, KW, strideH, strideW, padTop, padLeft, padBottom,  \
        padRight                                                               \
  }

void nncrt_conv2d_forward(const float *x, const float *w, const float *bias,
                          float *y, NNC_CONV_GEOMETRY_PARAMS,
                          int32_t activation, float slope) {
  convForward("nncrt_conv2d_forward", NNC_CONV_GEOMETRY, x, w, bias, y,
              activation, slope, dnnl_f32, dnnl_f32);
}

void nncrt_conv2d_backward_data(const float *dy, const float *w, float *dx,
                                NNC_CONV_GEOMETRY_PARAMS) {
  convBackward("nncrt_conv2d_backward_data", NNC_CONV_GEOMETRY,
               Op::ConvBackwardData, dy, w, dx, dnnl_f32, dnnl_f32);
}

void nncrt_conv2d_backward_weights(const float *x, const float *dy, float *dw,
                                   NNC_CONV_GEOMETRY_PARAMS) {
  convBackward("nncrt_conv2d_backward_weights", NNC_CONV_GEOMETRY,
               Op::ConvBackwardWeights, x, dy, dw, dnnl_f32, dnnl_f32);
}

void nncrt_conv2d_forward_bf16(const void *x, const void *w, const float *bias,
                               void *y, NNC_CONV_GEOMETRY_PARAMS,
                               int32_t activation, float slope, int32_t yType) {
  const char *function = "nncrt_conv2d_forward_bf16";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  convForward(function, g, x, w, bias, y, activation, slope, dnnl_bf16,
              resultType(function, g, yType));
}

void nncrt_conv2d_backward_data_bf16(const void *dy, const void *w, void *dx,
                                     NNC_CONV_GEOMETRY_PARAMS, int32_t dxType) {
  const char *function = "nncrt_conv2d_backward_data_bf16";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  convBackward(function, g, Op::ConvBackwardData, dy, w, dx, dnnl_bf16,
               resultType(function, g, dxType));
}

void nncrt_conv2d_backward_weights_bf16(const void *x, const void *dy,
                                        void *dw, NNC_CONV_GEOMETRY_PARAMS,
                                        int32_t dwType) {
  const char *function = "nncrt_conv2d_backward_weights_bf16";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  convBackward(function, g, Op::ConvBackwardWeights, x, dy, dw, dnnl_bf16,
               resultType(function, g, dwType));
}

const char *nncrt_conv2d_bf16_impl(void) { return bf16ConvImpls.c_str(); }

void nncrt_pool2d_forward(const float *x, float *y, int32_t kind,
                          NNC_POOL_GEOMETRY_PARAMS) {
  poolForward("nncrt_pool2d_forward", NNC_POOL_GEOMETRY, kind, x, y);
}

void nncrt_pool2d_backward(const float *x, const float *dy, float *dx,
                           int32_t kind, NNC_POOL_GEOMETRY_PARAMS) {
  poolBackward("nncrt_pool2d_backward", NNC_POOL_GEOMETRY, kind, x, dy, dx);
}

void nncrt_pool2d_forward_bf16(const void *x, void *y, int32_t kind,
                               NNC_POOL_GEOMETRY_PARAMS) {
  poolForward("nncrt_pool2d_forward_bf16", NNC_POOL_GEOMETRY, kind,
              static_cast<const uint16_t *>(x), static_cast<uint16_t *>(y));
}

void nncrt_pool2d_backward_bf16(const void *x, const void *dy, void *dx,
                                int32_t kind, NNC_POOL_GEOMETRY_PARAMS) {
  poolBackward("nncrt_pool2d_backward_bf16", NNC_POOL_GEOMETRY, kind,
               static_cast<const uint16_t *>(x),
               static_cast<const uint16_t *>(dy), static_cast<uint16_t *>(dx));
}

void nncrt_conv2d_forward_layout(const void *x, const void *w,
                                 const float *bias, void *y,
                                 NNC_CONV_GEOMETRY_PARAMS, int32_t activation,
                                 float slope, int32_t xType, int32_t yType,
                                 int32_t layouts) {
  const char *function = "nncrt_conv2d_forward_layout";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  dnnl_data_type_t in, out;
  convTypes(function, g, xType, yType, in, out);
  convForward(function, g, x, w, bias, y, activation, slope, in, out,
              convLayouts(function, g, layouts, /*x*/ 0, /*y*/ 3));
}

void nncrt_conv2d_backward_data_layout(const void *dy, const void *w, void *dx,
                                       NNC_CONV_GEOMETRY_PARAMS, int32_t dyType,
                                       int32_t dxType, int32_t layouts) {
  const char *function = "nncrt_conv2d_backward_data_layout";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  dnnl_data_type_t in, out;
  convTypes(function, g, dyType, dxType, in, out);
  convBackward(function, g, Op::ConvBackwardData, dy, w, dx, in, out,
               convLayouts(function, g, layouts, /*dx*/ 2, /*dy*/ 0));
}

void nncrt_conv2d_backward_weights_layout(const void *x, const void *dy,
                                          void *dw, NNC_CONV_GEOMETRY_PARAMS,
                                          int32_t xType, int32_t dwType,
                                          int32_t layouts) {
  const char *function = "nncrt_conv2d_backward_weights_layout";
  ConvGeometry g = NNC_CONV_GEOMETRY;
  dnnl_data_type_t in, out;
  convTypes(function, g, xType, dwType, in, out);
  convBackward(function, g, Op::ConvBackwardWeights, x, dy, dw, in, out,
               convLayouts(function, g, layouts, /*x*/ 0, /*dy*/ 1));
}

void nncrt_pool2d_forward_layout(const void *x, void *y, int32_t kind,
                                 NNC_POOL_GEOMETRY_PARAMS, int32_t type,
                                 int32_t layouts) {
  const char *function = "nncrt_pool2d_forward_layout";
  PoolGeometry g = NNC_POOL_GEOMETRY;
  // Bits x, y are BlockedSrc, BlockedDst.
  unsigned blocked = poolLayouts(function, g, kind, layouts, 2);
  if (type == NNCRT_TYPE_F32)
    poolForward(function, g, kind, static_cast<const float *>(x),
                static_cast<float *>(y), blocked);
  else if (type == NNCRT_TYPE_BF16)
    poolForward(function, g, kind, static_cast<const uint16_t *>(x),
                static_cast<uint16_t *>(y), blocked);
  else
    fail(function, g, kind, "unknown type");
}

void nncrt_pool2d_backward_layout(const void *x, const void *dy, void *dx,
                                  int32_t kind, NNC_POOL_GEOMETRY_PARAMS,
                                  int32_t type, int32_t layouts) {
  const char *function = "nncrt_pool2d_backward_layout";
  PoolGeometry g = NNC_POOL_GEOMETRY;
  // Bits x, dy, dx are BlockedSrc, BlockedDst, BlockedDx.
  unsigned blocked = poolLayouts(function, g, kind, layouts, 3);
  if (type == NNCRT_TYPE_F32)
    poolBackward(function, g, kind, static_cast<const float *>(x),
                 static_cast<const float *>(dy), static_cast<float *>(dx),
                 blocked);
  else if (type == NNCRT_TYPE_BF16)
    poolBackward(function, g, kind, static_cast<const uint16_t *>(x),
                 static_cast<const uint16_t *>(dy), static_cast<uint16_t *>(dx),
                 blocked);
  else
    fail(function, g, kind, "unknown type");
}

#undef NNC_CONV_GEOMETRY_PARAMS
#undef NNC_CONV_GEOMETRY
#undef NNC_POOL_GEOMETRY_PARAMS
#undef NNC_POOL_GEOMETRY

// Max pooling's index form: its kernels share this file's helpers.
#include "MaxPoolIndices.inc"

//===----------------------------------------------------------------------===//
// Workspace planning
//===----------------------------------------------------------------------===//

namespace {
/// The arguments of a queried call: non-null pointers where the caller's
/// will be (a primitive depends on whether a bias is there), never read.
class QueryArguments {
public:
  QueryArguments(const int64_t *scalars, int64_t numScalars,
                 uint64_t nullPointers)
      : scalars(scalars), numScalars(numScalars), nullPointers(nullPointers) {}

  template <typename T> T next() {
    if constexpr (std::is_pointer_v<T>) {
      bool null = nextPointer < 64 && (nullPointers >> nextPointer & 1);
      ++nextPointer;
      return null ? nullptr : reinterpret_cast<T>(&placeholder);
    } else {
      if (nextScalar >= numScalars)
        throw QueryFailed();
      int64_t v = scalars[nextScalar++];
      if constexpr (std::is_same_v<T, float>) {
        uint32_t bits = uint32_t(v);
        float f;
        std::memcpy(&f, &bits, sizeof(f));
        return f;
      } else {
        if (v < std::numeric_limits<T>::min() ||
            v > std::numeric_limits<T>::max())
          throw QueryFailed();
        return T(v);
      }
    }
  }

  /// Calls `fn` with the arguments in order (a braced list evaluates its
  /// elements left to right; a call's arguments have no order).
  template <typename... Args> void call(void (*fn)(Args...)) {
    std::tuple<Args...> args{next<Args>()...};
    if (nextScalar != numScalars)
      throw QueryFailed();
    std::apply(fn, args);
  }

private:
  alignas(64) static inline char placeholder[64];
  const int64_t *scalars;
  int64_t numScalars;
  uint64_t nullPointers;
  int64_t nextScalar = 0;
  int nextPointer = 0;
};

/// The entry points that may run a oneDNN primitive.
#define NNC_WORKSPACE_CALL(name)                                               \
  {#name, [](QueryArguments &a) { a.call(&name); }}
const struct {
  const char *name;
  void (*call)(QueryArguments &);
} workspaceCalls[] = {
    NNC_WORKSPACE_CALL(nncrt_conv2d_forward),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_data),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_weights),
    NNC_WORKSPACE_CALL(nncrt_conv2d_forward_bf16),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_data_bf16),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_weights_bf16),
    NNC_WORKSPACE_CALL(nncrt_conv2d_forward_layout),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_data_layout),
    NNC_WORKSPACE_CALL(nncrt_conv2d_backward_weights_layout),
    NNC_WORKSPACE_CALL(nncrt_pool2d_forward),
    NNC_WORKSPACE_CALL(nncrt_pool2d_backward),
    NNC_WORKSPACE_CALL(nncrt_pool2d_forward_bf16),
    NNC_WORKSPACE_CALL(nncrt_pool2d_backward_bf16),
    NNC_WORKSPACE_CALL(nncrt_pool2d_forward_layout),
    NNC_WORKSPACE_CALL(nncrt_pool2d_backward_layout),
};
#undef NNC_WORKSPACE_CALL
} // namespace

int64_t nncrt_workspace_bytes(const char *callee, const int64_t *scalars,
                              int64_t numScalars, uint64_t nullPointers) {
  if (!callee || numScalars < 0 || (numScalars && !scalars))
    return -1;
  for (const auto &entry : workspaceCalls) {
    if (std::strcmp(entry.name, callee))
      continue;
    WorkspaceQuery query;
    WorkspaceQuery *outer = std::exchange(workspaceQuery, &query);
    PlannedWorkspace planned = plannedWorkspace;
    // Primitives are made for a thread count: the one the step will run
    // with, which a compiler worker thread does not have of its own.
    int threads = nnc::runtime::configuredThreads();
    int ownThreads = omp_get_max_threads();
    if (threads > 0)
      omp_set_num_threads(threads);
    bool ok = true;
    try {
      QueryArguments args(scalars, numScalars, nullPointers);
      entry.call(args);
    } catch (...) { // QueryFailed, or no memory for the primitive
      ok = false;
    }
    if (threads > 0)
      omp_set_num_threads(ownThreads);
    workspaceQuery = outer;
    plannedWorkspace = planned; // the query was not the next call
    currentWorkspace = {};
    return ok ? int64_t(query.bytes) : -1;
  }
  return -2;
}

void nncrt_use_workspace(void *workspace, int64_t bytes) {
  // oneDNN's buffers want 64-byte alignment: a workspace without it is not
  // used (the arena's are aligned so).
  bool usable = workspace && bytes > 0 &&
                reinterpret_cast<uintptr_t>(workspace) % 64 == 0;
  plannedWorkspace = {usable ? static_cast<char *>(workspace) : nullptr,
                      usable ? size_t(bytes) : 0};
}
