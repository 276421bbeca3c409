// RUN: nnc-opt %s --nnc-verify-no-nn -verify-diagnostics

func.func @left(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'nn.relu' op survived lowering: convert-nn-to-linalg must run first}}
  %y = nn.relu %x : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
