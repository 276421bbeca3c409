//===- GraphBuilderTest.cpp - tests of the C++ frontend -------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/Verifier.h"
#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;

namespace {

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registerNNCDialects(registry);
    return new MLIRContext(registry);
  }();
  return *ctx;
}

TEST(MLPSpec, ParsesTheSeedModel) {
  auto spec = parseMLPSpec("784,100,10", 128);
  ASSERT_TRUE(bool(spec));
  EXPECT_EQ(spec->widths, (std::vector<int64_t>{784, 100, 10}));
  EXPECT_EQ(spec->numLayers(), 2);
  EXPECT_EQ(spec->numParameters(), 79510);
}

TEST(MLPSpec, RejectsBadSpecsWithAMessage) {
  auto msg = [](llvm::Expected<MLPSpec> s) {
    EXPECT_FALSE(bool(s));
    return s ? std::string() : llvm::toString(s.takeError());
  };
  EXPECT_NE(
      msg(parseMLPSpec("784,,10", 8)).find("bad MLP width"),
      std::string::npos);
  EXPECT_NE(
      msg(parseMLPSpec("784,-3,10", 8)).find("bad MLP width"),
      std::string::npos);
  EXPECT_NE(msg(parseMLPSpec("784", 8)).find("at least"),
            std::string::npos);
  EXPECT_NE(
      msg(parseMLPSpec("4,2", 0)).find("batch must be positive"),
      std::string::npos);
}

TEST(GraphBuilder, BuildsAVerifiedModelAndPredictFunction) {
  MLPSpec spec;
  spec.widths = {6, 5, 4, 3};
  spec.activation = Activation::Tanh;
  spec.loss = Loss::MSE;
  spec.batch = 2;
  spec.dropout = 0.25;
  OwningOpRef<ModuleOp> module = buildMLP(context(), spec, "net");
  ASSERT_TRUE(succeeded(verify(*module)));
  auto model = module->lookupSymbol<func::FuncOp>("net");
  auto predict = module->lookupSymbol<func::FuncOp>("net_predict");
  ASSERT_TRUE(model && predict);
  EXPECT_TRUE(succeeded(verifyModelFunction(model)));
  EXPECT_FALSE(isModelFunction(predict));
  // x, targets, then W, b per layer; only parameters carry nn.param.
  ASSERT_EQ(model.getNumArguments(), 2u + 2 * 3);
  for (unsigned i = 0; i < model.getNumArguments(); ++i)
    EXPECT_EQ(model.getArgAttr(i, NNDialect::getParamAttrName()) != nullptr,
              i >= 2);
  EXPECT_EQ(cast<RankedTensorType>(model.getArgumentTypes()[2]).getShape(),
            ArrayRef<int64_t>({5, 6})); // W1 is [out, in]
  int linears = 0, tanhs = 0, dropouts = 0, predictDropouts = 0;
  model.walk([&](Operation *op) {
    linears += isa<LinearOp>(op);
    tanhs += isa<TanhOp>(op);
    dropouts += isa<DropoutOp>(op);
  });
  predict.walk([&](DropoutOp) { ++predictDropouts; });
  EXPECT_EQ(linears, 3);
  EXPECT_EQ(tanhs, 2); // hidden layers only; the output layer is linear
  EXPECT_EQ(dropouts, 2);
  EXPECT_EQ(predictDropouts, 0);
}

TEST(GraphBuilder, InitializationIsSeededAndScaled) {
  MLPSpec spec;
  spec.widths = {400, 300, 10};
  spec.seed = 7;
  auto a = initParameters(spec), b = initParameters(spec);
  EXPECT_EQ(a, b);
  spec.seed = 8;
  EXPECT_NE(a, initParameters(spec));
  auto variance = [](const std::vector<float> &v) {
    double s = 0, s2 = 0;
    for (float x : v) {
      s += x;
      s2 += double(x) * x;
    }
    double m = s / v.size();
    return s2 / v.size() - m * m;
  };
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0].size(), 400u * 300u);
  // Kaiming: Var = 2 / fan_in.
  EXPECT_NEAR(variance(a[0]), 2.0 / 400, 0.05 * 2.0 / 400);
  for (float v : a[1])
    EXPECT_EQ(v, 0.0f);
  spec.init = Init::Xavier; // U(±a): Var = a² / 3 = 2 / (in + out)
  EXPECT_NEAR(variance(initParameters(spec)[0]), 2.0 / 700, 0.05 * 2.0 / 700);
  spec.init = Init::Gaussian;
  EXPECT_NEAR(variance(initParameters(spec)[0]), 1e-4, 0.05 * 1e-4);
  spec.initStd = 1.0; // N(0, σ²) with the σ given
  EXPECT_NEAR(variance(initParameters(spec)[0]), 1.0, 0.05);
  spec.init = Init::XavierNormal; // Var = 2 / (in + out)
  EXPECT_NEAR(variance(initParameters(spec)[0]), 2.0 / 700, 0.05 * 2.0 / 700);
  spec.init = Init::KaimingUniform; // U(±√(6/in)): Var = 2 / in
  auto ku = initParameters(spec)[0];
  EXPECT_NEAR(variance(ku), 2.0 / 400, 0.05 * 2.0 / 400);
  for (float v : ku)
    EXPECT_LE(std::abs(v), std::sqrt(6.0 / 400) + 1e-6);
  spec.init = Init::Constant;
  spec.initValue = 0.25;
  auto constant = initParameters(spec);
  for (float v : constant[2])
    EXPECT_EQ(v, 0.25f);
  for (float v : constant[3]) // biases stay at zero
    EXPECT_EQ(v, 0.0f);
}

} // namespace

TEST(GraphBuilder, ShapeMismatchIsALocatedErrorNotACrash) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context()));
  std::vector<std::string> errors;
  ScopedDiagnosticHandler handler(&context(), [&](Diagnostic &d) {
    errors.push_back(d.str());
    return success();
  });
  GraphBuilder g(*module, "bad");
  Value x = g.input({8, 4});
  Value w = g.param({3, 5}); // [out, in] with in = 5, but x has 4 features
  Value y = g.linear(x, w);
  EXPECT_FALSE(y);
  // Later ops on a failed value fail quietly: one error, where it happened.
  Value r = g.relu(y);
  EXPECT_FALSE(r);
  EXPECT_TRUE(failed(g.finish(r)));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("input features 4 do not match weight [3, 5]"),
            std::string::npos);
  // A label tensor of floats is caught by inference, not by an assertion.
  GraphBuilder h(*module, "bad_labels");
  Value z = h.input({8, 10});
  Value labels = h.input({8, 2});
  EXPECT_FALSE(h.crossEntropy(z, labels));
  EXPECT_EQ(errors.size(), 2u);
}

TEST(GraphBuilder, InfersResultTypes) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context()));
  GraphBuilder g(*module, "m");
  Value x = g.input({8, 4});
  Value w = g.param({3, 4}, "W");
  Value y = g.linear(x, w);
  ASSERT_TRUE(y);
  EXPECT_EQ(cast<RankedTensorType>(y.getType()).getShape(),
            (ArrayRef<int64_t>{8, 3}));
  Value t = g.matmul(y, w); // [8, 3] · [3, 4]
  ASSERT_TRUE(t);
  EXPECT_EQ(cast<RankedTensorType>(t.getType()).getShape(),
            (ArrayRef<int64_t>{8, 4}));
  Value loss = g.mseLoss(t, g.input({8, 4}));
  FailureOr<func::FuncOp> fn = g.finish(loss);
  ASSERT_TRUE(succeeded(fn));
  EXPECT_TRUE(succeeded(verify(*fn)));
  EXPECT_EQ(getArgName(*fn, 1), "W");
}

TEST(Vocabularies, ParseWithAMessageListingTheWords) {
  llvm::Expected<Activation> gelu = ::nnc::activations.parse("gelu");
  ASSERT_FALSE(bool(gelu));
  EXPECT_EQ(llvm::toString(gelu.takeError()),
            "unknown activation 'gelu' (expected relu, sigmoid or tanh)");
  llvm::Expected<Loss> hinge = ::nnc::losses.parse("hinge");
  ASSERT_FALSE(bool(hinge));
  EXPECT_EQ(llvm::toString(hinge.takeError()),
            "unknown loss 'hinge' (expected mse, cross-entropy or nll)");
  // Aliases parse to their word and are not listed.
  EXPECT_EQ(*::nnc::inits.lookup("he"), Init::Kaiming);
  EXPECT_EQ(::nnc::inits.name(Init::Kaiming), "kaiming");
  EXPECT_EQ(::nnc::checkpointStrategies.irName(CheckpointStrategy::StoreAll),
            "store_all");
  EXPECT_EQ(::nnc::checkpointStrategies.lookupIRName("recompute_all"),
            CheckpointStrategy::RecomputeAll);
}
