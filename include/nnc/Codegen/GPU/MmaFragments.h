//===- MmaFragments.h - Which lane holds which element of an mma tile -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The distribution of the tiles of `mma.sync.aligned.m16n8k16.row.col`
/// (f16 or bf16 multiplicands, f32 accumulators) over the 32 lanes of a
/// warp: for lane `lane` and the `element`-th value of its fragment, the
/// (row, col) of the tile it holds. Multiplicand elements go two to a
/// 32-bit register (elements 2r and 2r + 1 in register r, the lower one in
/// the low half).
///
/// The tensor-core kernel builder evaluates these functions on IR values
/// (the lane is `threadIdx.x % 32` at run time), and
/// unittests/Codegen/MmaFragmentsTest.cpp evaluates them on integers against
/// the PTX ISA's tables: a kernel with the layout wrong would compute
/// garbage on a GPU and nothing here could tell otherwise.
///
/// `Int` is int64_t or any type with `/`, `%`, `*` and `+` by an int64_t
/// constant.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_GPU_MMAFRAGMENTS_H
#define NNC_CODEGEN_GPU_MMAFRAGMENTS_H

#include <cstdint>

namespace mlir::nnc::mma {

/// The three tiles of D = A·B + C: A is 16×16 (m×k), B 16×8 (k×n), C and D
/// 16×8 (m×n).
enum class Fragment { A, B, C };

inline constexpr int64_t kM = 16, kN = 8, kK = 16;

/// Values a lane holds: 8 of A (4 registers), 4 of B (2), 4 of C.
constexpr int64_t elementsPerLane(Fragment f) {
  return f == Fragment::A ? 8 : 4;
}

template <typename Int> struct Coord {
  Int row, col;
};

/// (row, col) in its tile of element `element` of lane `lane`'s fragment.
/// Lanes come in 8 groups of 4 (group = lane / 4, the row of A and C, the
/// column of B); within a group a lane holds column pairs of A and C and
/// row pairs of B. Higher elements step by 8 rows (A's registers 1 and 3,
/// C's elements 2 and 3) or 8 along k (A's registers 2 and 3, B's 1).
template <typename Int>
Coord<Int> fragmentCoord(Fragment f, Int lane, int64_t element) {
  Int group = lane / 4, inGroup = lane % 4;
  int64_t pairLow = element % 2, reg = element / 2;
  switch (f) {
  case Fragment::A:
    return {group + 8 * (reg % 2), inGroup * 2 + (pairLow + 8 * (reg / 2))};
  case Fragment::B:
    return {inGroup * 2 + (pairLow + 8 * reg), group + 0};
  case Fragment::C:
    return {group + 8 * reg, inGroup * 2 + pairLow};
  }
  return {group, inGroup};
}

} // namespace mlir::nnc::mma

#endif // NNC_CODEGEN_GPU_MMAFRAGMENTS_H
