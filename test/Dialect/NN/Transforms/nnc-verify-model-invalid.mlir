// RUN: nnc-opt %s --nnc-verify-model -split-input-file --allow-unregistered-dialect -verify-diagnostics

// Class 1 of the bad-input issue: types the later passes assume. A
// parameter is a statically shaped f32 tensor...
// expected-error @+1 {{argument #2 is marked 'nn.param' but has type 'f32'; a parameter must be a statically shaped f32 tensor}}
func.func @scalar_param(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: f32 {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #2 is marked 'nn.param' but has type 'index'}}
func.func @index_param(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: index {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #2 is marked 'nn.param' but has type 'tensor<3x3xi32>'}}
func.func @int_param(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xi32> {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #2 is marked 'nn.param' but has type 'tensor<*xf32>'}}
func.func @unranked_param(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<*xf32> {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// ...and every argument a statically shaped tensor of f32 or integer labels.

// expected-error @+1 {{argument #2 of model function 'memref_param' has type 'memref<3x3xf32>'; a model takes statically shaped tensors of f32 (or of i32/i64 labels)}}
func.func @memref_param(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: memref<3x3xf32> {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #0 of model function 'dynamic_input' has type 'tensor<?x3xf32>'}}
func.func @dynamic_input(%x: tensor<?x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %t, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #3 of model function 'flag_input' has type 'i1'}}
func.func @flag_input(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}, %c: i1) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #0 of model function 'vector_elements' has type 'tensor<4xvector<3xf32>>'}}
func.func @vector_elements(%x: tensor<4xvector<3xf32>>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %l = nn.mse_loss %t, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Sizes: no empty tensors (batch 0, 0 classes), none over 1 TiB, and no
// byte count that overflows.

// expected-error @+1 {{argument #0 of type 'tensor<0x3xf32>' has a dimension of size 0}}
func.func @batch_zero(%x: tensor<0x3xf32>, %t: tensor<0x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<0x3xf32>, tensor<3x3xf32>) -> tensor<0x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<0x3xf32>, tensor<0x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #0 of type 'tensor<1048576x1048576xf32>' takes 4398046511104 bytes, over nnc's limit of 1 TiB per tensor}}
func.func @too_big(%x: tensor<1048576x1048576xf32>, %t: tensor<1048576x3xf32>, %w: tensor<3x1048576xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<1048576x1048576xf32>, tensor<3x1048576xf32>) -> tensor<1048576x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<1048576x3xf32>, tensor<1048576x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


// expected-error @+1 {{argument #0 of type 'tensor<4294967296x4294967296xf32>' takes more than 2^63 bytes, over nnc's limit of 1 TiB per tensor}}
func.func @overflow(%x: tensor<4294967296x4294967296xf32>, %t: tensor<4294967296x3xf32>, %w: tensor<3x4294967296xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4294967296x4294967296xf32>, tensor<3x4294967296xf32>) -> tensor<4294967296x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<4294967296x3xf32>, tensor<4294967296x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// The body: nn ops and tensor constants only. A region would hide the
// parameters it captures from nnc-autodiff (their gradient silently zero).
func.func @region(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  // expected-error @+1 {{'scf.execute_region' op is not supported in a model function: a model is nn ops on tensors and tensor constants, without regions}}
  %r = scf.execute_region -> tensor<4x3xf32> {
    %z = nn.relu %h : tensor<4x3xf32>
    scf.yield %z : tensor<4x3xf32>
  }
  %l = nn.mse_loss %r, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


func.func @unregistered(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  // expected-error @+1 {{'foo.bar' op is not supported in a model function}}
  %u = "foo.bar"(%h) : (tensor<4x3xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %u, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----


func.func @arith(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  // expected-error @+1 {{'arith.mulf' op is not supported in a model function}}
  %m = arith.mulf %h, %h : tensor<4x3xf32>
  %l = nn.mse_loss %m, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
