// Model parity with PyTorch: each seed classifier is built by Osprey from its config and
// by PyTorch (torchvision, or tools/reference_models.py), both with the same seeded
// random weights (batch-norm statistics randomised so folding is exercised), and both
// run on the same batch of two random inputs.
//
// Tolerance: max |osprey - torch| over all logits <= 1e-4 * max |torch| (relative to the
// logit scale; float32 with different summation orders through up to 152 layers).
// Top-5 order must agree wherever the reference's gaps exceed the measured error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "classify/classifier.hpp"
#include "model/model.hpp"
#include "model/npy.hpp"

using namespace osprey;

namespace {

std::string config_for(const std::string& name) {
  const std::string file = name == "lenet5" ? "lenet5_fashion_mnist" : name;
  return std::string(OSPREY_SOURCE_DIR) + "/configs/" + file + ".json";
}

void check_parity(const std::string& name) {
  const std::string dir = OSPREY_PARITY_DIR;
  LoadOptions options;
  options.weights = dir + "/" + name + ".safetensors";
  auto model = Model::load(config_for(name), options);
  const Tensor input = read_npy(dir + "/" + name + ".input.npy");
  const Tensor expected = read_npy(dir + "/" + name + ".logits.npy");
  const Tensor got = model->run(input).at(0);
  REQUIRE(got.shape == expected.shape);

  float max_err = 0.0f, scale = 0.0f;
  for (size_t i = 0; i < got.data.size(); ++i) {
    max_err = std::max(max_err, std::abs(got.data[i] - expected.data[i]));
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  const float relative = max_err / scale;
  MESSAGE(name, ": max abs error ", max_err, ", logit scale ", scale, ", relative ", relative);
  CHECK(scale > 0.0f);
  CHECK(relative <= 1e-4f);

  const int classes = static_cast<int>(expected.shape[1]);
  for (int64_t n = 0; n < expected.shape[0]; ++n) {
    const float* ref = expected.data.data() + n * classes;
    const float* ours = got.data.data() + n * classes;
    const auto ref_top = top_k(ref, classes, std::min(6, classes));
    const auto our_top = top_k(ours, classes, std::min(5, classes));
    for (size_t r = 0; r < our_top.size(); ++r) {
      // Rank r is well defined when the reference separates it from its neighbours by more
      // than twice the error.
      const bool separated = (r == 0 || ref_top[r - 1].score - ref_top[r].score > 2 * max_err) &&
                             (r + 1 >= ref_top.size() || ref_top[r].score - ref_top[r + 1].score > 2 * max_err);
      if (separated) CHECK_MESSAGE(our_top[r].class_id == ref_top[r].class_id, name, " sample ", n, " rank ", r);
    }
  }
}

}  // namespace

#define PARITY(model) \
  TEST_CASE(model) { check_parity(model); }

PARITY("lenet5")
PARITY("alexnet")
PARITY("alexnet_lrn")
PARITY("zfnet")
PARITY("vgg11")
PARITY("vgg11_bn")
PARITY("vgg13")
PARITY("vgg13_bn")
PARITY("vgg16")
PARITY("vgg16_bn")
PARITY("vgg19")
PARITY("vgg19_bn")
PARITY("googlenet")
PARITY("inception_v3")
PARITY("inception_v4")
PARITY("resnet18")
PARITY("resnet34")
PARITY("resnet50")
PARITY("resnet101")
PARITY("resnet152")
