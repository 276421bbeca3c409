// RUN: nnc-opt %s --nnc-plan-memory -split-input-file -verify-diagnostics

// A checkpoint budget the arena cannot meet is an error with the figures.
// expected-error @+1 {{the arena needs 256 bytes, over the checkpoint budget of 100 bytes (predicted peak 96 bytes, max-live lower bound 256 bytes)}}
func.func @over_budget(%out: memref<64xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, budget = 100, stages = 1, schedule = [F_all 1, B 1], peak_bytes = 96>} {
  %a = memref.alloc() : memref<64xf32>
  memref.copy %out, %a : memref<64xf32> to memref<64xf32>
  memref.copy %a, %out : memref<64xf32> to memref<64xf32>
  return
}

// -----

// Dynamic shapes cannot be placed statically.
func.func @dynamic(%n: index) {
  // expected-error @+1 {{'memref.alloc' op cannot be planned: the arena needs static, identity-layout buffers}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

// Sizes are computed with overflow checks: a wrapped size would give an
// offset that overlaps other buffers.
func.func @overflow() {
  // expected-error @+1 {{'memref.alloc' op cannot be planned: 'memref<4294967296x4294967296xf32>' takes more than 2^63 bytes, over nnc's limit of 1 TiB per tensor}}
  %a = memref.alloc() : memref<4294967296x4294967296xf32>
  return
}

// -----

// A vector element counts all its lanes (16 bytes each here).
func.func @vectors() {
  // expected-error @+1 {{'memref.alloc' op cannot be planned: 'memref<1099511627776xvector<4xf32>>' takes 17592186044416 bytes, over nnc's limit of 1 TiB per tensor}}
  %a = memref.alloc() : memref<1099511627776xvector<4xf32>>
  return
}

// -----

// A function with arguments gets the workspace as one more argument; a
// func.constant of it would keep the old type (found by
// nnc-ir-fuzzer: the IR no longer verified).
func.func @f() -> ((memref<4xf32>) -> ()) {
  // expected-error @below {{cannot add a workspace argument to @taken: it is used as a value}}
  %k = func.constant @taken : (memref<4xf32>) -> ()
  return %k : (memref<4xf32>) -> ()
}
func.func private @taken(%out: memref<4xf32>) {
  return
}
