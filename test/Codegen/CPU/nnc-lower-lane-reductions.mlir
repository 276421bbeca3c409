// RUN: nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-lane-reductions))" | FileCheck %s
// RUN: nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-lane-reductions{lanes=4}))" | FileCheck %s --check-prefix=FOUR
// RUN: not nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-lane-reductions{lanes=0}))" 2>&1 | FileCheck %s --check-prefix=ZERO

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d1)>

// Batch norm's mean: sum over n, h, w per channel in f64. h and w are
// trailing reductions, contiguous in x, so they become one flat range of
// 4 * 5 = 20: terms [0, 16) in 8 partial sums, reduced in lane order, then
// terms 16..19 one by one, and the total added to mean[c] once per (n, c).
// With 4 lanes, the flat range divides: no remainder loop.
// CHECK-LABEL: func.func @mean
// CHECK-SAME: (%[[X:.+]]: memref<2x16x4x5xf32>, %[[M:.+]]: memref<16xf64>)
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]] : memref<2x16x4x5xf32> into memref<2x16x20xf32>
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG: %[[C20:.+]] = arith.constant 20 : index
// CHECK-DAG: %[[ZV:.+]] = arith.constant dense<0.000000e+00> : vector<8xf64>
// CHECK: scf.for %[[N:.+]] = %{{.+}} to %{{.+}} step
// CHECK: scf.for %[[C:.+]] = %{{.+}} to %[[C16]] step
// CHECK: %[[ACC:.+]] = scf.for %[[K:.+]] = %{{.+}} to %[[C16]] step %[[C8]] iter_args(%[[A:.+]] = %[[ZV]]) -> (vector<8xf64>)
// CHECK: %[[V:.+]] = vector.load %[[FLAT]][%[[N]], %[[C]], %[[K]]] : memref<2x16x20xf32>, vector<8xf32>
// CHECK: %[[E:.+]] = arith.extf %[[V]] : vector<8xf32> to vector<8xf64>
// CHECK: arith.addf %[[A]], %[[E]] : vector<8xf64>
// CHECK: %[[RED:.+]] = vector.reduction <add>, %[[ACC]] : vector<8xf64> into f64
// CHECK: %[[SUM:.+]] = scf.for %[[R:.+]] = %[[C16]] to %[[C20]] step %{{.+}} iter_args(%[[S:.+]] = %[[RED]]) -> (f64)
// CHECK: memref.load %[[FLAT]][%[[N]], %[[C]], %[[R]]] : memref<2x16x20xf32>
// CHECK: %[[OLD:.+]] = memref.load %[[M]][%[[C]]] : memref<16xf64>
// CHECK: %[[NEW:.+]] = arith.addf %[[OLD]], %[[SUM]] : f64
// CHECK: memref.store %[[NEW]], %[[M]][%[[C]]]
// CHECK-NOT: linalg.generic
// FOUR-LABEL: func.func @mean
// FOUR: iter_args(%{{.+}}) -> (vector<4xf64>)
// FOUR: vector.reduction <add>
// FOUR-NOT: iter_args(%{{.+}}) -> (f64)
// FOUR: return
// ZERO: error: reduction lanes must be in [1, 256], got 0
func.func @mean(%x: memref<2x16x4x5xf32>, %m: memref<16xf64>) {
  linalg.generic {indexing_maps = [#x, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x16x4x5xf32>) outs(%m : memref<16xf64>) {
  ^bb0(%a: f32, %acc: f64):
    %e = arith.extf %a : f32 to f64
    %s = arith.addf %acc, %e : f64
    linalg.yield %s : f64
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d1)>

// The variance's sum of squares: the mean, which does not depend on the
// flat range, is loaded once per point and broadcast; a constant of the
// kernel (the scale) too.
// CHECK-LABEL: func.func @var
// CHECK-SAME: (%[[X:.+]]: memref<2x16x4x4xf32>, %[[MEAN:.+]]: memref<16xf64>, %[[V:.+]]: memref<16xf64>)
// CHECK: %[[HALF:.+]] = arith.constant 5.000000e-01 : f64
// CHECK: scf.for
// CHECK: scf.for %[[C:.+]] =
// CHECK: scf.for
// CHECK-DAG: %[[XV:.+]] = vector.load %{{.+}} : memref<2x16x16xf32>, vector<8xf32>
// CHECK-DAG: %[[MS:.+]] = memref.load %[[MEAN]][%[[C]]] : memref<16xf64>
// CHECK-DAG: %[[MV:.+]] = vector.broadcast %[[MS]] : f64 to vector<8xf64>
// CHECK: %[[D:.+]] = arith.subf %{{.+}}, %[[MV]] : vector<8xf64>
// CHECK: arith.mulf %[[D]], %[[D]] : vector<8xf64>
// CHECK: vector.broadcast %[[HALF]] : f64 to vector<8xf64>
// CHECK: vector.reduction <add>
// CHECK-NOT: linalg.generic
func.func @var(%x: memref<2x16x4x4xf32>, %mean: memref<16xf64>, %v: memref<16xf64>) {
  %half = arith.constant 0.5 : f64
  linalg.generic {indexing_maps = [#x, #c, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x, %mean : memref<2x16x4x4xf32>, memref<16xf64>) outs(%v : memref<16xf64>) {
  ^bb0(%a: f32, %m: f64, %acc: f64):
    %e = arith.extf %a : f32 to f64
    %d = arith.subf %e, %m : f64
    %q = arith.mulf %d, %d : f64
    %h = arith.mulf %q, %half : f64
    %s = arith.addf %acc, %h : f64
    linalg.yield %s : f64
  }
  return
}

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#t = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d1)>

// Left alone: an f32 sum (a bias gradient: nnc-block-conv-layouts relies on
// its scalar order), a sum whose trailing loops are not contiguous in x
// (its w and h swapped), and one over fewer terms than lanes.
// CHECK-LABEL: func.func @f32_sum
// CHECK: linalg.generic
// CHECK-LABEL: func.func @strided
// CHECK: linalg.generic
// CHECK-LABEL: func.func @short
// CHECK: linalg.generic
func.func @f32_sum(%x: memref<2x16x4x4xf32>, %g: memref<16xf32>) {
  linalg.generic {indexing_maps = [#x, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x16x4x4xf32>) outs(%g : memref<16xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}
func.func @strided(%x: memref<2x16x4x4xf32>, %m: memref<16xf64>) {
  linalg.generic {indexing_maps = [#t, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x16x4x4xf32>) outs(%m : memref<16xf64>) {
  ^bb0(%a: f32, %acc: f64):
    %e = arith.extf %a : f32 to f64
    %s = arith.addf %acc, %e : f64
    linalg.yield %s : f64
  }
  return
}
func.func @short(%x: memref<2x16x1x3xf32>, %m: memref<16xf64>) {
  linalg.generic {indexing_maps = [#x, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<2x16x1x3xf32>) outs(%m : memref<16xf64>) {
  ^bb0(%a: f32, %acc: f64):
    %e = arith.extf %a : f32 to f64
    %s = arith.addf %acc, %e : f64
    linalg.yield %s : f64
  }
  return
}
