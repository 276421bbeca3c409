// RUN: nnc-opt %s --nnc-gpu-build-kernels | FileCheck %s

// A mixed-precision step's products on tensor cores: the bf16 GEMM call
// (x·Wᵀ with its bias and ReLU, a bf16 result) and the contractions whose
// body widens bf16 operands onto an f32 result (a weight gradient δᵀ·x)
// become mma.sync kernels, m16n8k16, bf16 multiplicands, f32
// accumulators; shapes off the 64×64×32 tile get bounds checks.

#dT = affine_map<(m, n, k) -> (k, m)>
#x = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>

// CHECK-LABEL: func.func @step
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_0 blocks in (%[[C1:.+]], %[[C2:.+]], %{{.+}}) threads in (%[[C128:.+]], %{{.+}}, %{{.+}})  args(%arg0 : memref<128x64xbf16>, %arg1 : memref<64x64xbf16>, %arg3 : memref<128x64xbf16>, %arg2 : memref<64xf32>)
// The zero fill before the weight gradient is absorbed (beta = 0).
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_1
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_2
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_3
// CHECK-NOT: nn.runtime_call
// CHECK-NOT: linalg.
// CHECK: return

// The GEMM call: shared tiles [64][32 + 8] of bf16, 128 threads (4 warps).
// CHECK: gpu.func @matmul_0(%{{.+}}: memref<128x64xbf16>, %{{.+}}: memref<64x64xbf16>, %{{.+}}: memref<128x64xbf16>, %{{.+}}: memref<64xf32>) workgroup(%{{.+}} : memref<64x40xbf16, 3> {llvm.align = 16 : i64}, %{{.+}} : memref<64x40xbf16, 3> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: memref.assume_alignment
// CHECK: scf.for
// 128-bit global loads of 8 bf16 into k-contiguous shared rows.
// CHECK: vector.load {{.+}} : memref<128x64xbf16>, vector<8xbf16>
// CHECK: vector.store {{.+}} : memref<64x40xbf16, 3>, vector<8xbf16>
// CHECK: gpu.barrier
// Each fragment register is one 32-bit shared load, passed as i32.
// CHECK: vector.load {{.+}} : memref<64x40xbf16, 3>, vector<2xbf16>
// CHECK: vector.bitcast {{.+}} : vector<2xbf16> to vector<1xi32>
// Two k-steps × 2 × 4 tiles of 16×8 a warp: 16 mma a k tile. bf16 calls
// the intrinsic nvvm.mma.sync stands for (MLIR 19's verifier refuses the
// i32 registers it takes: KernelBuilder.cpp, emitMma).
// CHECK-COUNT-16: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"({{.+}}) : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: llvm.call_intrinsic
// CHECK: gpu.barrier
// Epilogue: the bias, the ReLU (x > 0 ? x : 0), one rounding to bf16.
// CHECK: memref.load {{.+}} : memref<64xf32>
// CHECK: arith.addf
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: gpu.return

// The weight gradient reads δ transposed ([K][M] stored): shared rows are
// filled element by element; its f32 result is stored as accumulated.
// CHECK: gpu.func @matmul_1(%{{.+}}: memref<256x64xbf16>, %{{.+}}: memref<256x64xbf16>, %{{.+}}: memref<64x64xf32>)
// CHECK: vector.load {{.+}} : memref<256x64xbf16>, vector<8xbf16>
// CHECK: vector.extract
// CHECK: memref.store {{.+}} : memref<64x40xbf16, 3>
// CHECK: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"
// CHECK-NOT: arith.truncf
// CHECK: memref.store {{.+}} : memref<64x64xf32>
// CHECK: gpu.return

// Off the tile (30×10, k = 20): guarded loads (zeros outside) and stores,
// still on tensor cores.
// CHECK: gpu.func @matmul_2(%{{.+}}: memref<20x30xbf16>, %{{.+}}: memref<20x10xbf16>, %{{.+}}: memref<30x10xf32>)
// CHECK-NOT: assume_alignment
// CHECK: scf.if
// CHECK: memref.load {{.+}} : memref<20x30xbf16>
// CHECK: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"
// CHECK: scf.if
// CHECK: memref.store {{.+}} : memref<30x10xf32>
// f16 (precision=fp16): the same kernel, nvvm.mma.sync on f16x2
// registers.
// CHECK: gpu.func @matmul_3(%{{.+}}: memref<64x32xf16>, %{{.+}}: memref<64x32xf16>, %{{.+}}: memref<64x64xf32>)
// CHECK-NOT: vector.bitcast
// CHECK: vector.load {{.+}} : memref<64x40xf16, 3>, vector<2xf16>
// CHECK: nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
#h = affine_map<(m, n, k) -> (m, k)>
#hw = affine_map<(m, n, k) -> (n, k)>
func.func @step(%x: memref<128x64xbf16>, %w: memref<64x64xbf16>, %b: memref<64xf32>, %y: memref<128x64xbf16>,
                %d: memref<256x64xbf16>, %a: memref<256x64xbf16>, %gw: memref<64x64xf32>,
                %d2: memref<20x30xbf16>, %a2: memref<20x10xbf16>, %gw2: memref<30x10xf32>,
                %hx: memref<64x32xf16>, %hw: memref<64x32xf16>, %hy: memref<64x64xf32>) {
  nn.runtime_call "nncrt_gemm_bf16" ins(%x, %w, %b : memref<128x64xbf16>, memref<64x64xbf16>, memref<64xf32>)
      outs(%y : memref<128x64xbf16>)
      {pointers = array<i64: 0, 1, 3, 2>,
       scalars = [0 : i32, 1 : i32, 128 : i64, 64 : i64, 64 : i64, 1.0 : f32, 64 : i64, 64 : i64,
                  0.0 : f32, 64 : i64, 1 : i32, 1 : i32, 0.0 : f32]}
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%gw : memref<64x64xf32>)
  linalg.generic {indexing_maps = [#dT, #x, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d, %a : memref<256x64xbf16>, memref<256x64xbf16>) outs(%gw : memref<64x64xf32>) {
  ^bb0(%p: bf16, %q: bf16, %c: f32):
    %pw = arith.extf %p : bf16 to f32
    %qw = arith.extf %q : bf16 to f32
    %m = arith.mulf %pw, %qw : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#dT, #x, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d2, %a2 : memref<20x30xbf16>, memref<20x10xbf16>) outs(%gw2 : memref<30x10xf32>) {
  ^bb0(%p: bf16, %q: bf16, %c: f32):
    %pw = arith.extf %p : bf16 to f32
    %qw = arith.extf %q : bf16 to f32
    %m = arith.mulf %pw, %qw : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#h, #hw, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%hx, %hw : memref<64x32xf16>, memref<64x32xf16>) outs(%hy : memref<64x64xf32>) {
  ^bb0(%p: f16, %q: f16, %c: f32):
    %pw = arith.extf %p : f16 to f32
    %qw = arith.extf %q : f16 to f32
    %m = arith.mulf %pw, %qw : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}
