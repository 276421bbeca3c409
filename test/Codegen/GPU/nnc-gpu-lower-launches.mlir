// RUN: nnc-opt %s --nnc-gpu-lower-launches | FileCheck %s
// RUN: not nnc-opt %s --nnc-gpu-lower-launches="chip=sm_80" 2>&1 | FileCheck %s --check-prefix=CHIP

// The PTX of the chip becomes a constant string; each launch a call of the
// CUDA runtime with the buffers' device addresses; the step runs inside
// step_begin/step_end so the runtime can capture and replay it as a graph.

// CHECK: llvm.mlir.global internal constant @__nnc_kernel_k("k\00")
// CHECK: llvm.mlir.global internal constant @__nnc_ptx("fake ptx\00")
// CHECK-LABEL: func.func @step
// CHECK: %[[BEGIN:.+]] = call @nncrt_cuda_step_begin(%{{.+}}, %c0_i32, %{{.+}}, %c2_i32{{.*}}) : (!llvm.ptr, i32, !llvm.ptr, i32) -> i32
// CHECK: scf.if
// A view's address is the arena's plus its byte shift.
// CHECK: memref.extract_aligned_pointer_as_index %arg1
// CHECK: arith.addi %{{.+}}, %c64
// CHECK: llvm.alloca
// CHECK: call @nncrt_cuda_launch(%{{.+}}, %c0_i32{{.*}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, i32, !llvm.ptr, i32, i32, i32, i32, i32, i32, !llvm.ptr) -> ()
// CHECK: call @nncrt_cuda_step_end
// CHECK-NOT: gpu.binary
// CHIP: error: no PTX for chip 'sm_80' in the gpu.binary

module attributes {gpu.container_module} {
  gpu.binary @nnc_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "fake ptx">]
  func.func @step(%x: memref<16xf32>, %arena: memref<128xi8>) {
    %c64 = arith.constant 64 : index
    %c1 = arith.constant 1 : index
    %view = memref.view %arena[%c64][] : memref<128xi8> to memref<16xf32>
    gpu.launch_func @nnc_kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<16xf32>, %view : memref<16xf32>)
    return
  }
}
