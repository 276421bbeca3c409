// RUN: nnc-opt %s --nnc-lower-runtime-calls --split-input-file --verify-diagnostics | FileCheck %s
// RUN: not nnc-opt %s --nnc-lower-runtime-calls=target=nvptx --split-input-file 2>&1 | FileCheck %s --check-prefix=GPU

// A call on buffers becomes a func.call of the declared runtime function:
// pointers in the callee's order (the arena view's byte shift added; null
// for -1), then the scalars as constants.
// CHECK: func.func private @nncrt_pool2d_backward(!llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @pool_backward
// CHECK-DAG: %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK-DAG: %[[SHIFTED:.+]] = arith.addi %[[BASE]], %c64
// CHECK-DAG: %[[KIND:.+]] = arith.constant 2 : i32
// CHECK: call @nncrt_pool2d_backward(%[[NULL]], %{{.+}}, %{{.+}}, %[[KIND]], %{{.+}})
// CHECK-NOT: nn.runtime_call
// GPU: error: 'nn.runtime_call' op calls 'nncrt_pool2d_backward', a primitive of the CPU run-time library: the nvptx target has no lowering for it yet
func.func @pool_backward(%dy: memref<1x1x2x2xf32>, %arena: memref<128xi8>) {
  %c64 = arith.constant 64 : index
  %dx = memref.view %arena[%c64][] : memref<128xi8> to memref<1x1x4x4xf32>
  nn.runtime_call "nncrt_pool2d_backward" ins(%dy : memref<1x1x2x2xf32>) outs(%dx : memref<1x1x4x4xf32>)
      {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

func.func @unknown(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{calls 'nncrt_fancy', which is not a run-time function}}
  nn.runtime_call "nncrt_fancy" ins(%x : memref<4xf32>) outs(%y : memref<4xf32>) {pointers = array<i64: 0, 1>, scalars = []}
  return
}

// -----

func.func @scalar_type(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{scalar #0 of 'nncrt_pool2d_forward' must be 'i32', got 0 : i64}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

func.func @too_few(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{has too few scalars for 'nncrt_pool2d_forward'}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1]}
  return
}

// -----

// Counts are checked before any scalar's type.
func.func @too_few_pointers(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{has too few pointers for 'nncrt_pool2d_forward'}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>)
      {pointers = array<i64: 0>, scalars = [0, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

func.func @too_many(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{has more pointers or scalars than 'nncrt_pool2d_forward' takes}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 7]}
  return
}

// -----

func.func @tensors(%x: tensor<1x1x4x4xf32>, %e: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{must be bufferized before it is lowered}}
  %y = nn.runtime_call "nncrt_pool2d_forward" ins(%x : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// A call's workspace (nnc-plan-runtime-workspaces) is handed to the CPU
// runtime just before the call: its address and its bytes. (The GPU target
// refuses the CPU runtime's calls, workspace or not.)
// CHECK-LABEL: func.func @workspace
// CHECK: %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: %[[PTR:.+]] = llvm.inttoptr %{{.+}} : i64 to !llvm.ptr
// CHECK: %[[BYTES:.+]] = arith.constant 4096 : i64
// CHECK: call @nncrt_use_workspace(%[[PTR]], %[[BYTES]])
// CHECK: call @nncrt_pool2d_forward(
// GPU: error: 'nn.runtime_call' op calls 'nncrt_pool2d_forward', a primitive of the CPU run-time library
func.func @workspace(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>, %ws: memref<4096xi8>) {
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y, %ws : memref<1x1x2x2xf32>, memref<4096xi8>)
      {pointers = array<i64: 0, 1>, scalars = [1 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0], workspace = 2}
  return
}
