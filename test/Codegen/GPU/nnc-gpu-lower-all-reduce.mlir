// RUN: nnc-opt %s --split-input-file --verify-diagnostics --nnc-gpu-lower-all-reduce | FileCheck %s
// RUN: nnc-opt %s --split-input-file --verify-diagnostics --nnc-gpu-lower-all-reduce --nnc-lower-runtime-calls="target=nvptx" | FileCheck %s --check-prefix=CALLS

// The MPI runtime's calls of a data-parallel step (convert-nn-to-linalg's
// lowering of nn.all_reduce_start/wait) become the NCCL runtime's, with the
// same operands; other runtime calls stay. On the nvptx target
// nnc-lower-runtime-calls then takes them as calls of the NCCL runtime.

// CHECK-LABEL: func.func @step
// CHECK: nn.runtime_call "nncrt_nccl_allreduce_start" outs(%{{.+}} : memref<24xf32>) {pointers = array<i64: 0>, scalars = [24, 0]}
// CHECK: nn.runtime_call "nncrt_nccl_allreduce_wait" outs(%{{.+}} : memref<24xf32>) {pointers = array<i64: 0>, scalars = [24, 0]}
// CHECK-NOT: "nncrt_allreduce_

// CALLS-LABEL: func.func @step
// CALLS: %[[A:.+]] = memref.extract_aligned_pointer_as_index %arg0
// CALLS: %[[SHIFTED:.+]] = arith.addi %[[A]], %c64
// CALLS: call @nncrt_nccl_allreduce_start(%{{.+}}, %c24_i64, %c0_i64) : (!llvm.ptr, i64, i64) -> ()
// CALLS: call @nncrt_nccl_allreduce_wait(%{{.+}}, %c24_i64{{.*}}, %c0_i64{{.*}}) : (!llvm.ptr, i64, i64) -> ()
// CALLS-NOT: nn.runtime_call
// CALLS-NOT: @nncrt_allreduce_

func.func @step(%arena: memref<256xi8>) {
  %c64 = arith.constant 64 : index
  %bucket = memref.view %arena[%c64][] : memref<256xi8> to memref<24xf32>
  nn.runtime_call "nncrt_allreduce_start" outs(%bucket : memref<24xf32>) {pointers = array<i64: 0>, scalars = [24, 0]}
  nn.runtime_call "nncrt_allreduce_wait" outs(%bucket : memref<24xf32>) {pointers = array<i64: 0>, scalars = [24, 0]}
  return
}

// -----

// An all-reduce still on tensors: the bucket is no buffer of the arena.
func.func @tensors(%bucket: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{must be bufferized before the all-reduce is lowered: NCCL reduces a bucket the arena holds}}
  %r = nn.runtime_call "nncrt_allreduce_start" outs(%bucket : tensor<4xf32>) {pointers = array<i64: 0>, scalars = [4, 0]} -> tensor<4xf32>
  return %r : tensor<4xf32>
}
