// RUN: nnc-opt %s --nnc-strip-nn-attributes | FileCheck %s

// CHECK-LABEL: func.func @f(%arg0: tensor<4xf32>, %arg1: tensor<4xf32> {other.keep}) -> tensor<4xf32>
// CHECK-NOT: nn.
// CHECK: arith.constant {other.keep} dense
func.func @f(%x: tensor<4xf32> {nn.param}, %y: tensor<4xf32> {nn.param, other.keep}) -> tensor<4xf32> attributes {nn.grad_of = @g} {
  %c = arith.constant {nn.grad_seed, other.keep} dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}
