//===- FiniteDifferenceTest.cpp - gradients against central differences ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// For each differentiable op: build `loss(op(params))` with the GraphBuilder,
// compile it through the whole CPU pipeline, run it in the JIT, and compare
// the gradient function with central finite differences of the compiled
// loss function. This checks the op's VJP, its lowering and the pipeline
// together, independently of PyTorch.
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Pipeline/Compiler.h"

#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <random>

using namespace mlir;
using namespace mlir::nnc;

namespace {

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registerNNCDialects(registry);
    auto *c = new MLIRContext(registry);
    c->loadAllAvailableDialects();
    return c;
  }();
  return *ctx;
}

using Body = std::function<Value(GraphBuilder &, ArrayRef<Value>)>;

struct Case {
  std::vector<std::vector<int64_t>> paramShapes;
  Body body;
  /// Labels for cross-entropy instead of an MSE target.
  bool crossEntropy = false;
};

int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// Compiles the case, then checks every parameter's gradient.
void checkGradients(const Case &c, uint64_t seed = 1) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context()));
  std::vector<int64_t> outShape;
  {
    GraphBuilder g(*module, "m");
    SmallVector<Value> params;
    for (const auto &s : c.paramShapes)
      params.push_back(g.param(s));
    Value y = c.body(g, params);
    auto yShape = cast<RankedTensorType>(y.getType()).getShape();
    outShape.assign(yShape.begin(), yShape.end());
    Value loss;
    if (c.crossEntropy)
      loss = g.crossEntropy(
          y, g.input({yShape[0]}, IntegerType::get(&context(), 32)));
    else
      loss = g.mseLoss(y, g.input(yShape));
    ASSERT_TRUE(succeeded(g.finish(loss)));
  }
  CompileOptions options;
  options.step.learningRate = 0.0;
  auto compiled = compileForCPU(std::move(module), options);
  ASSERT_TRUE(succeeded(compiled));
  auto jit = JITModule::create(*compiled->module);
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mag(0.2f, 1.0f);
  std::bernoulli_distribution sign(0.5);
  // Values kept away from 0 so no ReLU input sits on its kink.
  auto sample = [&] { return sign(rng) ? mag(rng) : -mag(rng); };
  std::vector<std::vector<float>> params;
  for (const auto &s : c.paramShapes) {
    params.emplace_back(numel(s));
    for (float &v : params.back())
      v = sample();
  }
  std::vector<float> target(numel(outShape));
  std::vector<int32_t> labels(outShape[0]);
  for (float &v : target)
    v = sample();
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = (3 * i + 1) % outShape.back();
  void *targetPtr = c.crossEntropy ? static_cast<void *>(labels.data())
                                   : static_cast<void *>(target.data());

  auto lossAt = [&]() {
    float loss = 0;
    SmallVector<void *> bufs;
    for (auto &p : params)
      bufs.push_back(p.data());
    bufs.push_back(targetPtr);
    bufs.push_back(&loss);
    llvm::Error err = (*jit)->invokeWithWorkspace(
        "m", bufs, compiled->find(EntryRole::Loss)->workspaceBytes);
    EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
    return static_cast<double>(loss);
  };

  float loss = 0;
  std::vector<std::vector<float>> grads;
  SmallVector<void *> bufs;
  for (auto &p : params)
    bufs.push_back(p.data());
  bufs.push_back(targetPtr);
  bufs.push_back(&loss);
  for (auto &p : params) {
    grads.emplace_back(p.size());
    bufs.push_back(grads.back().data());
  }
  llvm::Error err = (*jit)->invokeWithWorkspace(
      "m_grad", bufs, compiled->find(EntryRole::Grad)->workspaceBytes);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  EXPECT_NEAR(loss, lossAt(), 1e-6 * std::max(1.0, std::fabs(lossAt())));

  const float eps = 1e-2f;
  for (size_t k = 0; k < params.size(); ++k) {
    double diff2 = 0, ref2 = 0;
    for (size_t i = 0; i < params[k].size(); ++i) {
      float saved = params[k][i];
      params[k][i] = saved + eps;
      double up = lossAt();
      params[k][i] = saved - eps;
      double down = lossAt();
      params[k][i] = saved;
      double fd = (up - down) / (2.0 * eps);
      diff2 += (fd - grads[k][i]) * (fd - grads[k][i]);
      ref2 += fd * fd;
    }
    double relErr = std::sqrt(diff2 / std::max(ref2, 1e-20));
    EXPECT_LT(relErr, 3e-3)
        << "parameter " << k << ": |g_fd| = " << std::sqrt(ref2);
    EXPECT_GT(ref2, 0.0) << "parameter " << k << " has no gradient signal";
  }
}

TEST(FiniteDifferences, Linear) {
  checkGradients(
      {{{3, 4}, {5, 4}, {5}}, [](GraphBuilder &g, ArrayRef<Value> p) {
         return g.linear(p[0], p[1], p[2]);
       }});
}

TEST(FiniteDifferences, LinearWithoutBias) {
  checkGradients({{{3, 4}, {5, 4}}, [](GraphBuilder &g, ArrayRef<Value> p) {
                    return g.linear(p[0], p[1]);
                  }});
}

TEST(FiniteDifferences, MatmulAllTransposes) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(testing::Message() << "transpose " << ta << tb);
      std::vector<int64_t> a =
          ta ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4};
      std::vector<int64_t> b =
          tb ? std::vector<int64_t>{5, 4} : std::vector<int64_t>{4, 5};
      checkGradients({{a, b}, [=](GraphBuilder &g, ArrayRef<Value> p) {
                        return g.matmul(p[0], p[1], ta, tb);
                      }});
    }
}

TEST(FiniteDifferences, AddOfAValueWithItself) {
  checkGradients({{{3, 4}, {3, 4}}, [](GraphBuilder &g, ArrayRef<Value> p) {
                    return g.add(g.add(p[0], p[1]), p[0]);
                  }});
}

TEST(FiniteDifferences, Activations) {
  for (int act = 0; act < 3; ++act) {
    SCOPED_TRACE(act);
    checkGradients({{{4, 5}}, [=](GraphBuilder &g, ArrayRef<Value> p) {
                      return act == 0   ? g.relu(p[0])
                             : act == 1 ? g.sigmoid(p[0])
                                        : g.tanh(p[0]);
                    }});
  }
}

TEST(FiniteDifferences, Softmax) {
  checkGradients({{{4, 5}}, [](GraphBuilder &g, ArrayRef<Value> p) {
                    return g.softmax(p[0]);
                  }});
}

TEST(FiniteDifferences, Dropout) {
  checkGradients({{{6, 5}}, [](GraphBuilder &g, ArrayRef<Value> p) {
                    return g.dropout(p[0], 0.3, 11);
                  }});
}

TEST(FiniteDifferences, CrossEntropy) {
  Case c{{{4, 6}}, [](GraphBuilder &g, ArrayRef<Value> p) { return p[0]; }};
  c.crossEntropy = true;
  checkGradients(c);
}

TEST(FiniteDifferences, TwoLayerNetwork) {
  Case c{{{3, 4}, {6, 4}, {6}, {5, 6}, {5}},
         [](GraphBuilder &g, ArrayRef<Value> p) {
           return g.linear(g.tanh(g.linear(p[0], p[1], p[2])), p[3], p[4]);
         }};
  c.crossEntropy = true;
  checkGradients(c);
}

} // namespace
