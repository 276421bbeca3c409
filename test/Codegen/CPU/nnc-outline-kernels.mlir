// RUN: nnc-opt %s --nnc-outline-kernels | FileCheck %s

#id = affine_map<(d0) -> (d0)>

// A layer's op and its recomputation (same shapes, maps and body) share one
// kernel; a different body gets its own; a captured constant is copied into
// the kernel; a strided buffer cannot be passed as a bare pointer, so that
// op stays where it is.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[A:.+]]: memref<8xf32>, %[[B:.+]]: memref<8xf32>, %[[C:.+]]: memref<8xf32>, %[[S:.+]]: memref<8xf32, strided<[2]>>)
// CHECK-NEXT: %[[HALF:.+]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: call @__nnc_kernel_0(%[[A]], %[[B]])
// CHECK-NEXT: call @__nnc_kernel_0(%[[B]], %[[C]])
// CHECK-NEXT: call @__nnc_kernel_1(%[[A]], %[[C]])
// CHECK-NEXT: linalg.generic
// CHECK: return
// CHECK: func.func private @__nnc_kernel_0(%[[X:.+]]: memref<8xf32>, %[[Y:.+]]: memref<8xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-NEXT: linalg.generic {{.+}} ins(%[[X]] : memref<8xf32>) outs(%[[Y]] : memref<8xf32>)
// CHECK: arith.maximumf
// CHECK: func.func private @__nnc_kernel_1
// CHECK-NEXT: %[[K:.+]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: linalg.generic
// CHECK: arith.mulf {{.+}}, %[[K]]
// CHECK-NOT: func.func
func.func @step(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>,
                %s: memref<8xf32, strided<[2]>>) {
  %half = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<8xf32>) outs(%b : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%b : memref<8xf32>) outs(%c : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<8xf32>) outs(%c : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %half : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%s : memref<8xf32, strided<[2]>>) outs(%c : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}
