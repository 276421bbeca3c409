// The pipelines' options are the tools' (nnc/Pipeline/Options.h), checked
// the same way: a bad value is an error of the pipeline, never a default.
// RUN: not nnc-opt %s --nnc-cpu-pipeline="slots=0 strategy=dp budget=1KiB" 2>&1 | FileCheck %s --check-prefix=SLOTS
// SLOTS: error: --slots must be positive
// RUN: not nnc-opt %s --nnc-cpu-pipeline="learning-rate=1e39" 2>&1 | FileCheck %s --check-prefix=F32
// F32: error: --learning-rate=1.000000e+39 is beyond the f32 range the step computes in
// RUN: not nnc-opt %s --nnc-gpu-pipeline="momentum=nan optimizer=momentum" 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: error: --momentum must be a finite number, got nan
// RUN: not nnc-opt %s --nnc-cpu-pipeline="budget=lots" 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: for the --budget option: invalid byte size 'lots'
// The pass alone checks the f32 range too.
// RUN: not nnc-opt %s --nnc-autodiff="learning-rate=1e39" 2>&1 | FileCheck %s --check-prefix=PASS
// PASS: error: nnc-autodiff: learning-rate 1.000000e+39 is beyond the f32 range the step computes in

func.func @net(%x: tensor<4x8xf32>, %t: tensor<4x2xf32>, %w: tensor<2x8xf32> {nn.param}) -> tensor<f32> {
  %y = nn.linear %x, %w : (tensor<4x8xf32>, tensor<2x8xf32>) -> tensor<4x2xf32>
  %l = nn.mse_loss %y, %t : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
