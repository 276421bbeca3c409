// nnc-plan-memory added a workspace argument to @taken, whose func.constant
// kept the old type: invalid IR (nnc-ir-fuzzer, 463 runs into a -seed=1 run).
// A kernel used other than by a direct call cannot be handed the range.
// CHECK-LABEL: func.func private @taken
// CHECK-NOT: nnc.pavallel_grain
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
