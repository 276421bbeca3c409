// RUN: nnc-opt %s --nnc-verify-no-nn -split-input-file --allow-unregistered-dialect -verify-diagnostics

func.func @left(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'nn.relu' op survived lowering: convert-nn-to-linalg must run first}}
  %y = nn.relu %x : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// An unregistered op has no dialect at all (nnc-ir-fuzzer found the pass
// dereferencing it): it is not an nn op, so it passes.
func.func @unregistered(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = "foo.bar"(%x) : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
