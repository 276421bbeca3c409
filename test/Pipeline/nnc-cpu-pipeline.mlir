// The default engine calls the CPU runtime's GEMM (its shared library for
// mlir-cpu-runner); gemm=generated runs nnc's own loops. Both agree.
// UNSUPPORTED: sanitizers
// RUN: nnc-opt %s --nnc-cpu-pipeline | mlir-cpu-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%nnc_lib_dir/libnnc_runtime_cpu.so | FileCheck %s
// RUN: nnc-opt %s --nnc-cpu-pipeline="gemm=generated" | mlir-cpu-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so | FileCheck %s

// One linear unit under MSE, small enough to differentiate by hand:
//   y = 0.5·1 − 1·2 + 0.25 = −1.25,  loss = (y − 1)² = 5.0625,
//   dy = 2(y − 1) = −4.5,  dW = dy·x = [−4.5, −9],  db = −4.5.
// CHECK: 5.0625
// CHECK-NEXT: -4.5
// CHECK-NEXT: -9
// CHECK-NEXT: -4.5
func.func @m(%x: tensor<1x2xf32>, %t: tensor<1x1xf32>,
             %w: tensor<1x2xf32> {nn.param}, %b: tensor<1xf32> {nn.param}) -> tensor<f32> {
  %y = nn.linear %x, %w, %b : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<1x1xf32>
  %l = nn.mse_loss %y, %t : (tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

func.func private @m_grad(tensor<1x2xf32>, tensor<1x1xf32>, tensor<1x2xf32>, tensor<1xf32>)
    -> (tensor<f32>, tensor<1x2xf32>, tensor<1xf32>)

func.func @print(%l: tensor<f32>, %w: tensor<1x2xf32>, %b: tensor<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %lv = tensor.extract %l[] : tensor<f32>
  vector.print %lv : f32
  %w0 = tensor.extract %w[%c0, %c0] : tensor<1x2xf32>
  vector.print %w0 : f32
  %w1 = tensor.extract %w[%c0, %c1] : tensor<1x2xf32>
  vector.print %w1 : f32
  %b0 = tensor.extract %b[%c0] : tensor<1xf32>
  vector.print %b0 : f32
  return
}

func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %t = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %w = arith.constant dense<[[0.5, -1.0]]> : tensor<1x2xf32>
  %b = arith.constant dense<[0.25]> : tensor<1xf32>
  %l, %dw, %db = func.call @m_grad(%x, %t, %w, %b)
      : (tensor<1x2xf32>, tensor<1x1xf32>, tensor<1x2xf32>, tensor<1xf32>) -> (tensor<f32>, tensor<1x2xf32>, tensor<1xf32>)
  func.call @print(%l, %dw, %db) : (tensor<f32>, tensor<1x2xf32>, tensor<1xf32>) -> ()
  return
}
