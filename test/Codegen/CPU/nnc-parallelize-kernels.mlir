// RUN: nnc-opt %s --split-input-file \
// RUN:   --nnc-parallelize-kernels | FileCheck %s
// RUN: nnc-opt %s --split-input-file \
// RUN:   --nnc-parallelize-kernels="min-elements=131073" \
// RUN:   | FileCheck %s --check-prefix=HIGH
// RUN: nnc-opt %s --split-input-file \
// RUN:   --nnc-parallelize-kernels="grain-elements=9223372036854775807" \
// RUN:   | FileCheck %s --check-prefix=HUGE
// RUN: not nnc-opt %s --split-input-file \
// RUN:   --nnc-parallelize-kernels="grain-elements=0" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BADOPT

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#all = affine_map<(d0, d1) -> ()>

// An elementwise kernel of 256 x 512 = 131072 points splits d0: its
// outer loop runs over the two new bounds, every call passes [0, 256), and
// the grain is 16384 / 512 = 32 rows. With min-elements one above that
// size, no kernel splits (HIGH).
// CHECK-LABEL: func.func @step
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[ROWS:.+]] = arith.constant 256 : index
// CHECK: call @relu(%{{.+}}, %{{.+}}, %[[ZERO]], %[[ROWS]])
// CHECK: call @bias_grad(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}})
// CHECK: call @small(%{{.+}}, %{{.+}}) :
// CHECK: call @loss(%{{.+}}, %{{.+}}) :
// CHECK-LABEL: func.func private @relu
// CHECK-SAME: (%[[IN:.+]]: memref<256x512xf32>, %[[OUT:.+]]: memref<256x512xf32>, %[[LO:.+]]: index, %[[HI:.+]]: index)
// CHECK-SAME: nnc.parallel_grain = 32 : i64
// CHECK: scf.for %{{.+}} = %[[LO]] to %[[HI]] step
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step
// CHECK: memref.load %[[IN]]
// CHECK: arith.maximumf
// CHECK: memref.store {{.+}}, %[[OUT]]
// CHECK-NOT: linalg.generic
// A bias gradient reduces over rows (d0) into columns (d1): d1 is split,
// and the rows stay the outer loop, in their order. Grain: 16384 / 256.
// CHECK-LABEL: func.func private @bias_grad
// CHECK-SAME: %[[BLO:[^:]+]]: index, %[[BHI:[^:]+]]: index)
// CHECK-SAME: nnc.parallel_grain = 64 : i64
// CHECK: scf.for %{{.+}} = %c0{{.*}} to %c256
// CHECK: scf.for %{{.+}} = %[[BLO]] to %[[BHI]] step
// Too small, or no dimension that keeps the writes apart: left whole.
// CHECK-LABEL: func.func private @small
// CHECK-NOT: nnc.parallel_grain
// CHECK: linalg.generic
// CHECK-LABEL: func.func private @loss
// CHECK-NOT: nnc.parallel_grain
// CHECK: linalg.generic
// HIGH-NOT: nnc.parallel_grain
// The largest grain-elements does not overflow: ceil((2^63 - 1) / 512).
// HUGE-LABEL: func.func private @relu
// HUGE-SAME: nnc.parallel_grain = 18014398509481984 : i64
func.func @step(%a: memref<256x512xf32>, %b: memref<256x512xf32>,
                %g: memref<512xf32>, %s: memref<4x4xf32>,
                %t: memref<4x4xf32>, %l: memref<f32>) {
  call @relu(%a, %b) : (memref<256x512xf32>, memref<256x512xf32>) -> ()
  call @bias_grad(%a, %g) : (memref<256x512xf32>, memref<512xf32>) -> ()
  call @small(%s, %t) : (memref<4x4xf32>, memref<4x4xf32>) -> ()
  call @loss(%a, %l) : (memref<256x512xf32>, memref<f32>) -> ()
  return
}
func.func private @relu(%in: memref<256x512xf32>, %out: memref<256x512xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<256x512xf32>) outs(%out : memref<256x512xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  }
  return
}
func.func private @bias_grad(%d: memref<256x512xf32>, %g: memref<512xf32>) {
  linalg.generic {indexing_maps = [#id2, #row],
                  iterator_types = ["reduction", "parallel"]}
      ins(%d : memref<256x512xf32>) outs(%g : memref<512xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  }
  return
}
func.func private @small(%in: memref<4x4xf32>, %out: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<4x4xf32>) outs(%out : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}
func.func private @loss(%d: memref<256x512xf32>, %l: memref<f32>) {
  linalg.generic {indexing_maps = [#id2, #all],
                  iterator_types = ["reduction", "reduction"]}
      ins(%d : memref<256x512xf32>) outs(%l : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A kernel used other than by a direct call cannot be handed the range.
// CHECK-LABEL: func.func private @taken
// CHECK-NOT: nnc.parallel_grain
func.func @f() -> ((memref<256x512xf32>) -> ()) {
  %k = func.constant @taken : (memref<256x512xf32>) -> ()
  return %k : (memref<256x512xf32>) -> ()
}
func.func private @taken(%out: memref<256x512xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<256x512xf32>)
  return
}

// BADOPT: error: nnc-parallelize-kernels: min-elements and grain-elements must be positive

// -----

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#c = affine_map<(d0, d1, d2, d3) -> (d1)>

// Batch norm's f64 sum over n, h, w splits its channels (d1) over threads
// and keeps h, w as one vectorised flat range inside (the rewrite of
// nnc-lower-lane-reductions): n stays the outer loop, in its order.
// CHECK-LABEL: func.func private @bn_mean
// CHECK-SAME: %[[MLO:[^:]+]]: index, %[[MHI:[^:]+]]: index)
// CHECK-SAME: nnc.parallel_grain = 16 : i64
// CHECK: memref.collapse_shape
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4
// CHECK: scf.for %{{.+}} = %[[MLO]] to %[[MHI]] step
// CHECK: scf.for {{.+}} iter_args({{.+}}) -> (vector<8xf64>)
// CHECK: vector.reduction <add>
// CHECK-NOT: linalg.generic
func.func @bn(%x: memref<4x64x16x16xf32>, %m: memref<64xf64>) {
  call @bn_mean(%x, %m) : (memref<4x64x16x16xf32>, memref<64xf64>) -> ()
  return
}
func.func private @bn_mean(%x: memref<4x64x16x16xf32>, %m: memref<64xf64>) {
  linalg.generic {indexing_maps = [#x, #c],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<4x64x16x16xf32>) outs(%m : memref<64xf64>) {
  ^bb0(%a: f32, %acc: f64):
    %e = arith.extf %a : f32 to f64
    %s = arith.addf %acc, %e : f64
    linalg.yield %s : f64
  }
  return
}
