// RUN: nnc-opt %s --nnc-verify-arena -split-input-file -verify-diagnostics

func.func @outside(%arena: memref<64xi8>) {
  // expected-error @+1 {{'memref.alloc' op allocates outside the arena: run nnc-plan-memory}}
  %a = memref.alloc() : memref<4xf32>
  return
}

// -----

func.func @ok() {
  %a = memref.alloc() {nn.arena} : memref<64xi8>
  return
}
