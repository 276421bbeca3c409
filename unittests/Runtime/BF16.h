//===- BF16.h - bf16 conversions for the runtime's tests --------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The tests build bf16 inputs and compare against double references of the
// same bf16 values; the machine must have bf16 instructions to run them.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_UNITTESTS_RUNTIME_BF16_H
#define NNC_UNITTESTS_RUNTIME_BF16_H

#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace nnc::test {

/// Round to nearest even, as the compiler does.
inline uint16_t toBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

inline float fromBF16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// AVX-512 BF16 or AMX, as /proc/cpuinfo lists them.
inline bool cpuHasBF16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string word;
  while (cpuinfo >> word)
    if (word == "avx512_bf16" || word == "amx_bf16")
      return true;
  return false;
}

/// Whether oneDNN may run AMX here, asked as the runtime asks it (the CPU
/// has it, the OS grants it, ONEDNN_MAX_CPU_ISA allows it).
inline bool oneDNNMayRunAMX() {
  return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_amx) ==
         dnnl_cpu_isa_avx512_core_amx;
}

} // namespace nnc::test

#endif // NNC_UNITTESTS_RUNTIME_BF16_H
