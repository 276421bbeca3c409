//===- CPURuntime.cpp - what CPU code compiled by nnc calls ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "Threads.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

// oneDNN's CPU engine is built on OpenMP here (Debian's libdnnl: libgomp);
// its thread count is OpenMP's.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_thread_num(void);
extern "C" int omp_get_num_threads(void);
extern "C" int omp_in_parallel(void);
// libgomp's entry point of `#pragma omp parallel`, called directly so the
// runtime needs no OpenMP compiler flag (and clang's would pick libomp, a
// second thread pool beside oneDNN's).
extern "C" void GOMP_parallel(void (*fn)(void *), void *data,
                              unsigned numThreads, unsigned flags);

[[noreturn]] static void fail(const char *what, int32_t transA, int32_t transB,
                              int64_t M, int64_t N, int64_t K, int64_t lda,
                              int64_t ldb, int64_t ldc, dnnl_status_t status) {
  std::fprintf(stderr,
               "nnc runtime: error: %s(%c%c, M=%lld N=%lld K=%lld, "
               "lda=%lld ldb=%lld ldc=%lld) failed with oneDNN status %d\n",
               what, transA ? 'T' : 'N', transB ? 'T' : 'N', (long long)M,
               (long long)N, (long long)K, (long long)lda, (long long)ldb,
               (long long)ldc, (int)status);
  std::abort();
}

namespace {
/// Whether `name` is one of the ", "-separated names in `list`.
bool isListed(const std::string &list, const char *name) {
  size_t n = std::strlen(name);
  for (size_t at = list.find(name); at != std::string::npos;
       at = list.find(name, at + 1))
    if ((at == 0 || list[at - 1] == ' ') &&
        (at + n == list.size() || list[at + n] == ','))
      return true;
  return false;
}

/// Everything a matmul primitive is specialised for. The thread count is
/// part of it: oneDNN blocks the problem for the threads it was created
/// with, and running it with others is slower or, for some kernels, wrong.
struct MatmulKey {
  int32_t transA, transB;
  int64_t M, N, K, lda, ldb, ldc;
  bool accumulate, bias;
  int32_t activation;
  float slope;
  int threads;
  /// dnnl_data_type_t of A and B, and of C (f32 everywhere but in
  /// nncrt_gemm_bf16).
  int32_t abType, cType;
  /// alpha is read at each call (nncrt_gemm_bf16's output scale).
  bool runtimeScale;
  bool operator==(const MatmulKey &o) const {
    return std::memcmp(this, &o, sizeof(*this)) == 0;
  }
};

struct MatmulKeyHash {
  size_t operator()(const MatmulKey &k) const {
    size_t h = 0;
    int32_t slopeBits;
    std::memcpy(&slopeBits, &k.slope, sizeof(slopeBits));
    for (int64_t v : {(int64_t)k.transA, (int64_t)k.transB, k.M, k.N, k.K,
                      k.lda, k.ldb, k.ldc, (int64_t)k.accumulate,
                      (int64_t)k.bias, (int64_t)k.activation,
                      (int64_t)slopeBits, (int64_t)k.threads,
                      (int64_t)k.abType, (int64_t)k.cType,
                      (int64_t)k.runtimeScale})
      h = h * 0x9E3779B97F4A7C15ull + std::hash<int64_t>()(v);
    return h;
  }
};

/// One created matmul primitive with its memory objects (their data
/// pointers are set per call) and its scratchpad, allocated once here, so
/// that a step allocates nothing after its first call.
struct Matmul {
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_t src = nullptr, weights = nullptr, bias = nullptr,
                dst = nullptr, scratch = nullptr, scale = nullptr;
  void *scratchBuffer = nullptr;
  ~Matmul() {
    for (dnnl_memory_t m : {src, weights, bias, dst, scratch, scale})
      if (m)
        dnnl_memory_destroy(m);
    if (primitive)
      dnnl_primitive_destroy(primitive);
    std::free(scratchBuffer);
  }
};

/// Matmul primitives by shape, per thread (a thread's steps never wait for
/// another's). A failed creation is cached as a null entry: that shape then
/// always takes the sgemm path.
class MatmulCache {
public:
  ~MatmulCache() {
    map.clear();
    if (stream)
      dnnl_stream_destroy(stream);
    if (engine)
      dnnl_engine_destroy(engine);
  }

  Matmul *lookup(const MatmulKey &key) {
    auto it = map.find(key);
    if (it != map.end())
      return it->second.get();
    std::unique_ptr<Matmul> created = create(key);
    Matmul *result = created.get();
    map.emplace(key, std::move(created));
    return result;
  }

  dnnl_stream_t getStream() const { return stream; }
  /// The implementations oneDNN chose for the bf16 primitives made here,
  /// each named once ("brg:avx512_core_amx, gemm:jit").
  std::string bf16Impls;

private:
  std::unique_ptr<Matmul> create(const MatmulKey &k) {
    if (!engine) { // both or neither: a stream-less engine cannot run
      if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        engine = nullptr;
        return nullptr;
      }
      if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) !=
          dnnl_success) {
        dnnl_engine_destroy(engine);
        engine = nullptr;
        stream = nullptr;
        return nullptr;
      }
    }
    // Row-major views of op(A) (M x K), op(B) (K x N) and C (M x N): a
    // transposed operand is the same memory with its strides swapped.
    dnnl_memory_desc_t a, b, bias, c;
    dnnl_dims_t aDims = {k.M, k.K}, bDims = {k.K, k.N}, cDims = {k.M, k.N};
    dnnl_dims_t aStrides = {k.transA ? 1 : k.lda, k.transA ? k.lda : 1};
    dnnl_dims_t bStrides = {k.transB ? 1 : k.ldb, k.transB ? k.ldb : 1};
    dnnl_dims_t cStrides = {k.ldc, 1};
    // The bias is one row, broadcast over C's rows.
    dnnl_dims_t biasDims = {1, k.N}, biasStrides = {k.N, 1};
    auto abType = static_cast<dnnl_data_type_t>(k.abType);
    auto cType = static_cast<dnnl_data_type_t>(k.cType);
    if (dnnl_memory_desc_init_by_strides(&a, 2, aDims, abType, aStrides) ||
        dnnl_memory_desc_init_by_strides(&b, 2, bDims, abType, bStrides) ||
        dnnl_memory_desc_init_by_strides(&bias, 2, biasDims, dnnl_f32,
                                         biasStrides) ||
        dnnl_memory_desc_init_by_strides(&c, 2, cDims, cType, cStrides))
      return nullptr;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &a, &b, k.bias ? &bias : nullptr, &c))
      return nullptr;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr))
      return nullptr;
    bool ok = dnnl_primitive_attr_set_scratchpad_mode(
                  attr, dnnl_scratchpad_mode_user) == dnnl_success;
    // alpha as an output scale given at each call: applied to the
    // accumulator before the sum post-op and the activation.
    const float runtimeScale = DNNL_RUNTIME_F32_VAL;
    if (ok && k.runtimeScale)
      ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &runtimeScale) ==
           dnnl_success;
    // beta = 1 (C += A·B) as a sum post-op, then the activation: relu with
    // a negative slope is x > 0 ? x : slope·x, the leaky relu nnc computes.
    if (ok && (k.accumulate || k.activation != NNCRT_ACTIVATION_NONE)) {
      dnnl_post_ops_t postOps;
      ok = dnnl_post_ops_create(&postOps) == dnnl_success;
      if (ok) {
        if (k.accumulate)
          ok = dnnl_post_ops_append_sum(postOps, 1.0f) == dnnl_success;
        if (ok && k.activation != NNCRT_ACTIVATION_NONE)
          ok = dnnl_post_ops_append_eltwise(
                   postOps, 1.0f, dnnl_eltwise_relu,
                   k.activation == NNCRT_ACTIVATION_LEAKY_RELU ? k.slope : 0.0f,
                   0.0f) == dnnl_success;
        ok = ok &&
             dnnl_primitive_attr_set_post_ops(attr, postOps) == dnnl_success;
        dnnl_post_ops_destroy(postOps);
      }
    }
    dnnl_primitive_desc_t pd = nullptr;
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, engine, nullptr) ==
                   dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (!ok)
      return nullptr;
    if (k.abType != dnnl_f32) {
      const char *impl = nullptr;
      if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) ==
              dnnl_success &&
          impl &&
          !isListed(bf16Impls, impl))
        bf16Impls += (bf16Impls.empty() ? "" : ", ") + std::string(impl);
    }
    auto m = std::make_unique<Matmul>();
    const dnnl_memory_desc_t *scratchDesc =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratchBytes =
        scratchDesc ? dnnl_memory_desc_get_size(scratchDesc) : 0;
    ok = dnnl_primitive_create(&m->primitive, pd) == dnnl_success &&
         dnnl_memory_create(&m->src, &a, engine, DNNL_MEMORY_NONE) ==
             dnnl_success &&
         dnnl_memory_create(&m->weights, &b, engine, DNNL_MEMORY_NONE) ==
             dnnl_success &&
         dnnl_memory_create(&m->dst, &c, engine, DNNL_MEMORY_NONE) ==
             dnnl_success &&
         (!k.bias || dnnl_memory_create(&m->bias, &bias, engine,
                                        DNNL_MEMORY_NONE) == dnnl_success);
    if (ok && k.runtimeScale) {
      dnnl_memory_desc_t scaleDesc;
      dnnl_dims_t one = {1};
      ok = dnnl_memory_desc_init_by_tag(&scaleDesc, 1, one, dnnl_f32,
                                        dnnl_a) == dnnl_success &&
           dnnl_memory_create(&m->scale, &scaleDesc, engine,
                              DNNL_MEMORY_NONE) == dnnl_success;
    }
    if (ok && scratchBytes) {
      m->scratchBuffer = std::aligned_alloc(64, (scratchBytes + 63) / 64 * 64);
      ok = m->scratchBuffer &&
           dnnl_memory_create(&m->scratch, scratchDesc, engine,
                              m->scratchBuffer) == dnnl_success;
    }
    dnnl_primitive_desc_destroy(pd);
    return ok ? std::move(m) : nullptr;
  }

  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::unordered_map<MatmulKey, std::unique_ptr<Matmul>, MatmulKeyHash> map;
};

thread_local MatmulCache matmulCache;

/// The engine for each call, chosen by measurement (docs/Performance.md):
/// oneDNN's matmul primitive runs its brgemm kernels on op(A) = A, where
/// they beat dnnl_sgemm by 10-50 % (x·Wᵀ and δ·W), but not on δᵀ·x, and
/// with a run-time alpha (the fused SGD update's -lr) oneDNN falls back to
/// the sgemm kernels; those calls take dnnl_sgemm directly. NNC_GEMM=sgemm
/// in the environment sends every call to dnnl_sgemm.
bool useMatmulPrimitive(int32_t transA, float alpha, float beta) {
  static const bool enabled = [] {
    const char *v = std::getenv("NNC_GEMM");
    return !(v && std::strcmp(v, "sgemm") == 0);
  }();
  return enabled && !transA && alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
}
} // namespace

namespace {
/// One call of either entry point: C = act(alpha·op(A)·op(B) + beta·C +
/// bias).
struct GemmCall {
  int32_t transA, transB;
  int64_t M, N, K;
  float alpha;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float beta;
  float *C;
  int64_t ldc;
  const float *bias;
  int32_t activation;
  float slope;
};

[[noreturn]] void fail(const char *what, const GemmCall &g,
                       dnnl_status_t status) {
  ::fail(what, g.transA, g.transB, g.M, g.N, g.K, g.lda, g.ldb, g.ldc,
         status);
}

/// Runs the cached primitive `mm` on these buffers (`scale`: its run-time
/// output scale, where it has one) and waits for it.
dnnl_status_t execute(const Matmul &mm, const void *A, const void *B, void *C,
                      const float *bias, float *scale) {
  dnnl_status_t status =
      dnnl_memory_set_data_handle(mm.src, const_cast<void *>(A));
  if (status == dnnl_success)
    status = dnnl_memory_set_data_handle(mm.weights, const_cast<void *>(B));
  if (status == dnnl_success && mm.bias)
    status = dnnl_memory_set_data_handle(
        mm.bias, const_cast<void *>(static_cast<const void *>(bias)));
  if (status == dnnl_success)
    status = dnnl_memory_set_data_handle(mm.dst, C);
  if (status == dnnl_success && mm.scale)
    status = dnnl_memory_set_data_handle(mm.scale, scale);
  dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, mm.src},
                             {DNNL_ARG_WEIGHTS, mm.weights},
                             {DNNL_ARG_DST, mm.dst}};
  int nargs = 3;
  if (mm.scale)
    args[nargs++] = {DNNL_ARG_ATTR_OUTPUT_SCALES, mm.scale};
  if (mm.bias)
    args[nargs++] = {DNNL_ARG_BIAS, mm.bias};
  if (mm.scratch)
    args[nargs++] = {DNNL_ARG_SCRATCHPAD, mm.scratch};
  if (status == dnnl_success)
    status = dnnl_primitive_execute(mm.primitive, matmulCache.getStream(),
                                    nargs, args);
  if (status == dnnl_success)
    status = dnnl_stream_wait(matmulCache.getStream());
  return status;
}

/// The matmul primitive for `g`, or false if there is none (not its case,
/// or oneDNN could not create one): the caller then takes dnnl_sgemm.
bool runPrimitive(const GemmCall &g) {
  if (!useMatmulPrimitive(g.transA, g.alpha, g.beta))
    return false;
  MatmulKey key;
  std::memset(&key, 0, sizeof(key)); // padding too: keys compare as bytes
  key.transA = g.transA != 0;
  key.transB = g.transB != 0;
  key.M = g.M, key.N = g.N, key.K = g.K;
  key.lda = g.lda, key.ldb = g.ldb, key.ldc = g.ldc;
  key.accumulate = g.beta != 0.0f;
  key.bias = g.bias != nullptr;
  key.activation = g.activation;
  key.slope = g.activation == NNCRT_ACTIVATION_LEAKY_RELU ? g.slope : 0.0f;
  key.threads = omp_get_max_threads();
  key.abType = key.cType = dnnl_f32;
  Matmul *mm = matmulCache.lookup(key);
  if (!mm)
    return false;
  dnnl_status_t status = execute(*mm, g.A, g.B, g.C, g.bias, nullptr);
  if (status != dnnl_success)
    fail("matmul", g, status);
  return true;
}

/// dnnl_sgemm, with the bias and the activation as passes over C, in the
/// arithmetic nnc's own loops use (the bias first, the products
/// accumulated onto it; relu as x > 0 ? x : 0).
void runSgemm(const GemmCall &g) {
  float beta = g.beta;
  if (g.bias) {
    for (int64_t i = 0; i < g.M; ++i) {
      float *row = g.C + i * g.ldc;
      for (int64_t j = 0; j < g.N; ++j)
        row[j] = beta == 0.0f ? g.bias[j] : beta * row[j] + g.bias[j];
    }
    beta = 1.0f;
  }
  dnnl_status_t status =
      dnnl_sgemm(g.transA ? 'T' : 'N', g.transB ? 'T' : 'N', g.M, g.N, g.K,
                 g.alpha, g.A, g.lda, g.B, g.ldb, beta, g.C, g.ldc);
  if (status != dnnl_success)
    fail("sgemm", g, status);
  if (g.activation == NNCRT_ACTIVATION_NONE)
    return;
  bool leaky = g.activation == NNCRT_ACTIVATION_LEAKY_RELU;
  for (int64_t i = 0; i < g.M; ++i) {
    float *row = g.C + i * g.ldc;
    for (int64_t j = 0; j < g.N; ++j)
      row[j] = row[j] > 0.0f ? row[j] : (leaky ? row[j] * g.slope : 0.0f);
  }
}

void run(const GemmCall &g) {
  if (!runPrimitive(g))
    runSgemm(g);
}
} // namespace

void nncrt_sgemm(int32_t transA, int32_t transB, int64_t M, int64_t N,
                 int64_t K, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc) {
  run({transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr,
       NNCRT_ACTIVATION_NONE, 0.0f});
}

void nncrt_sgemm_epilogue(int32_t transA, int32_t transB, int64_t M,
                          int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float beta, float *C,
                          int64_t ldc, const float *bias, int32_t activation,
                          float slope) {
  if (activation != NNCRT_ACTIVATION_NONE &&
      activation != NNCRT_ACTIVATION_RELU &&
      activation != NNCRT_ACTIVATION_LEAKY_RELU) {
    std::fprintf(stderr,
                 "nnc runtime: error: nncrt_sgemm_epilogue: unknown "
                 "activation %d\n",
                 (int)activation);
    std::abort();
  }
  run({transA, transB, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc, bias,
       activation, slope});
}

namespace {
/// This thread's buffer for nncrt_gemm_bf16's products, grown to the
/// largest (an M×N f32 product; 4 MiB for a 1024×1024 layer): like the
/// primitives' scratchpads, held by the runtime, not the arena.
float *productBuffer(int64_t elements) {
  struct Buffer {
    std::unique_ptr<float[], void (*)(void *)> data{nullptr, std::free};
    int64_t capacity = 0;
  };
  thread_local Buffer buffer;
  if (elements > buffer.capacity) {
    buffer.data.reset(); // not both at once
    size_t bytes = (static_cast<size_t>(elements) * sizeof(float) + 63) / 64 * 64;
    buffer.data.reset(static_cast<float *>(std::aligned_alloc(64, bytes)));
    if (!buffer.data) {
      std::fprintf(stderr,
                   "nnc runtime: error: out of memory for a %lld-element "
                   "bf16 product\n",
                   (long long)elements);
      std::abort();
    }
    buffer.capacity = elements;
  }
  return buffer.data.get();
}

struct ScaledProduct {
  float *C;
  int64_t ldc;
  const float *product;
  int64_t N;
  float alpha;
};

void addScaledRows(void *data, int64_t lo, int64_t hi) {
  const auto &p = *static_cast<const ScaledProduct *>(data);
  for (int64_t i = lo; i < hi; ++i) {
    float *row = p.C + i * p.ldc;
    const float *product = p.product + i * p.N;
    for (int64_t j = 0; j < p.N; ++j)
      row[j] += p.alpha * product[j];
  }
}

/// C += alpha·product, over the threads (rows split, so bits do not
/// depend on the thread count).
void addScaledProduct(float *C, int64_t ldc, const float *product, int64_t M,
                      int64_t N, float alpha) {
  ScaledProduct p{C, ldc, product, N, alpha};
  nncrt_parallel_for(addScaledRows, &p, 0, M,
                     std::max<int64_t>(1, 16384 / std::max<int64_t>(N, 1)));
}
} // namespace

void nncrt_gemm_bf16(int32_t transA, int32_t transB, int64_t M, int64_t N,
                     int64_t K, float alpha, const void *A, int64_t lda,
                     const void *B, int64_t ldb, float beta, void *C,
                     int64_t ldc, int32_t cType, const float *bias,
                     int32_t activation, float slope) {
  const char *problem = nullptr;
  if (activation != NNCRT_ACTIVATION_NONE &&
      activation != NNCRT_ACTIVATION_RELU &&
      activation != NNCRT_ACTIVATION_LEAKY_RELU)
    problem = "unknown activation";
  else if (cType != NNCRT_TYPE_F32 && cType != NNCRT_TYPE_BF16)
    problem = "unknown C type";
  else if (beta != 0.0f && (beta != 1.0f || cType != NNCRT_TYPE_F32))
    problem = "beta must be 0, or 1 with an f32 C";
  MatmulKey key;
  std::memset(&key, 0, sizeof(key)); // padding too: keys compare as bytes
  key.transA = transA != 0;
  key.transB = transB != 0;
  key.M = M, key.N = N, key.K = K;
  key.lda = lda, key.ldb = ldb, key.ldc = ldc;
  key.accumulate = beta != 0.0f;
  key.bias = bias != nullptr;
  key.activation = activation;
  key.slope = activation == NNCRT_ACTIVATION_LEAKY_RELU ? slope : 0.0f;
  key.threads = omp_get_max_threads();
  key.abType = dnnl_bf16;
  key.cType = cType == NNCRT_TYPE_BF16 ? dnnl_bf16 : dnnl_f32;
  // oneDNN 2.6 takes a run-time output scale only on its gemm:jit matmul,
  // never on the brgemm kernels (AMX, AVX-512 BF16): on an AMX CPU the
  // fused update's C += alpha·Aᵀ·B ran 12× slower that way
  // (docs/MixedPrecision.md). So alpha = 1 has no scale, and that update
  // (f32 C, no bias or activation) takes the product alone into a
  // per-thread f32 buffer, added to C scaled here.
  bool viaProduct = alpha != 1.0f && beta == 1.0f &&
                    cType == NNCRT_TYPE_F32 && !bias &&
                    activation == NNCRT_ACTIVATION_NONE;
  key.runtimeScale = alpha != 1.0f && !viaProduct;
  if (viaProduct) {
    key.accumulate = false;
    key.ldc = N;
  }
  Matmul *mm = problem ? nullptr : matmulCache.lookup(key);
  if (!mm) {
    // No fallback: a CPU without a bf16 matmul would run it emulated, many
    // times slower than the f32 step; the tools refuse bf16 there first.
    std::fprintf(stderr,
                 "nnc runtime: error: nncrt_gemm_bf16(%c%c, M=%lld N=%lld "
                 "K=%lld, lda=%lld ldb=%lld ldc=%lld): %s\n",
                 transA ? 'T' : 'N', transB ? 'T' : 'N', (long long)M,
                 (long long)N, (long long)K, (long long)lda, (long long)ldb,
                 (long long)ldc,
                 problem ? problem
                         : "oneDNN has no bf16 matmul for these operands on "
                           "this CPU");
    std::abort();
  }
  if (viaProduct) {
    float *product = productBuffer(M * N);
    dnnl_status_t status = execute(*mm, A, B, product, nullptr, nullptr);
    if (status != dnnl_success)
      fail("gemm_bf16", transA, transB, M, N, K, lda, ldb, ldc, status);
    addScaledProduct(static_cast<float *>(C), ldc, product, M, N, alpha);
    return;
  }
  float scale = alpha;
  dnnl_status_t status = execute(*mm, A, B, C, bias, &scale);
  if (status != dnnl_success)
    fail("gemm_bf16", transA, transB, M, N, K, lda, ldb, ldc, status);
}

const char *nncrt_gemm_bf16_impl(void) {
  return matmulCache.bf16Impls.c_str();
}

namespace {
struct ParallelFor {
  void (*task)(void *, int64_t, int64_t);
  void *ctx;
  int64_t lo, hi;
};

/// One thread's piece: the team's size decides the split, so the pieces
/// cover the range even if OpenMP grants fewer threads than asked.
void runPiece(void *data) {
  auto *p = static_cast<ParallelFor *>(data);
  int64_t n = p->hi - p->lo, t = omp_get_thread_num(),
          threads = omp_get_num_threads();
  int64_t b = p->lo + n * t / threads, e = p->lo + n * (t + 1) / threads;
  if (b < e)
    p->task(p->ctx, b, e);
}
} // namespace

void nncrt_parallel_for(void (*task)(void *, int64_t, int64_t), void *ctx,
                        int64_t lo, int64_t hi, int64_t grain) {
  int64_t n = hi - lo;
  int64_t pieces =
      std::min<int64_t>(omp_get_max_threads(), n / std::max<int64_t>(grain, 1));
  if (pieces < 2 || omp_in_parallel()) {
    if (n > 0)
      task(ctx, lo, hi);
    return;
  }
  ParallelFor p{task, ctx, lo, hi};
  GOMP_parallel(runPiece, &p, static_cast<unsigned>(pieces), 0);
}

namespace {
/// The open profile: the caller's arrays, and how many marks arrived.
struct Profile {
  int64_t *ids = nullptr, *nanoseconds = nullptr;
  int64_t capacity = 0, count = 0;
};
Profile profile;
} // namespace

void nncrt_profile_mark(int64_t id) {
  if (!profile.ids)
    return;
  if (profile.count < profile.capacity) {
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    profile.ids[profile.count] = id;
    profile.nanoseconds[profile.count] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  }
  ++profile.count;
}

void nncrt_profile_open(int64_t *ids, int64_t *nanoseconds, int64_t capacity) {
  profile = Profile{ids, nanoseconds, capacity, 0};
}

int64_t nncrt_profile_close(void) {
  int64_t count = profile.count;
  profile = Profile{};
  return count;
}

namespace {
std::atomic<int32_t> lastSetThreads{0};
} // namespace

int32_t nnc::runtime::configuredThreads() { return lastSetThreads.load(); }

int32_t nncrt_set_num_threads(int32_t threads) {
  static const int initial = omp_get_max_threads();
  int previous = omp_get_max_threads();
  omp_set_num_threads(threads > 0 ? threads : initial);
  lastSetThreads.store(threads > 0 ? threads : 0);
  return previous;
}
