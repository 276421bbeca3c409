// RUN: nnc-opt %s --nnc-skip-self-copies | FileCheck %s

// The fused update's copy of W into new_W, both arguments of the step:
// the call runs only when they are different buffers.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[W:.+]]: memref<4x8xf32>, %[[NEW:.+]]: memref<4x8xf32>, %[[ARENA:.+]]: memref<128xi8>)
// CHECK: %[[A:.+]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[B:.+]] = memref.extract_aligned_pointer_as_index %[[NEW]]
// CHECK: %[[DIFFER:.+]] = arith.cmpi ne, %[[A]], %[[B]] : index
// CHECK: scf.if %[[DIFFER]] {
// CHECK-NEXT: func.call @copy(%[[W]], %[[NEW]])
// CHECK-NEXT: }
// A copy into an arena view is never in place, and a kernel that does more
// than copy is not a copy: both calls stay as they are.
// CHECK: %[[VIEW:.+]] = memref.view
// CHECK-NEXT: call @copy(%[[W]], %[[VIEW]])
// CHECK-NEXT: call @scale(%[[W]], %[[NEW]])
// CHECK-NEXT: return
func.func @step(%w: memref<4x8xf32>, %new: memref<4x8xf32>,
                %arena: memref<128xi8>) {
  call @copy(%w, %new) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
  %c0 = arith.constant 0 : index
  %v = memref.view %arena[%c0][] : memref<128xi8> to memref<4x8xf32>
  call @copy(%w, %v) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
  call @scale(%w, %new) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
  return
}
func.func private @copy(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  linalg.copy ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>)
  return
}
func.func private @scale(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  linalg.copy ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>)
  linalg.copy ins(%b : memref<4x8xf32>) outs(%a : memref<4x8xf32>)
  return
}
