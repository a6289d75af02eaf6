// torchvision models exported to ONNX (opsets 11 and 13, seeded weights) run through the
// importer and compared with PyTorch and with ONNX Runtime on the same input.
// Tolerance: max |osprey - reference| <= 1e-4 (absolute; the outputs are of order 1 to 5,
// and the two reference runtimes themselves differ by up to 4e-6). The batch dimension is
// dynamic: the same file also runs at batch 1 and must give sample 0's result.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape == b.shape);
  float m = 0.0f;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

Tensor run(const OnnxModel& model, const Tensor& input) {
  auto graph = std::make_shared<Graph>(model.build({input.shape}));
  optimize(*graph, {input.shape});
  Executor executor{std::shared_ptr<const Graph>(graph)};
  return executor.run(input).at(0);
}

void check_model(const std::string& name) {
  const std::string dir = OSPREY_ONNX_REFS;
  std::ifstream in(dir + "/onnx_references.json");
  REQUIRE(in);
  const auto index = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& m : index["models"]) {
    if (m["name"] != name) continue;
    const OnnxModel model(dir + "/" + m["onnx"].get<std::string>());
    const Tensor input = read_npy(dir + "/" + m["input"].get<std::string>());
    const Tensor got = run(model, input);
    const float vs_torch = max_abs_diff(got, read_npy(dir + "/" + m["torch"].get<std::string>()));
    const float vs_ort = max_abs_diff(got, read_npy(dir + "/" + m["ort"].get<std::string>()));
    MESSAGE(m["onnx"].get<std::string>(), ": max abs diff vs PyTorch ", vs_torch, ", vs ONNX Runtime ", vs_ort);
    CHECK(vs_torch <= 1e-4f);
    CHECK(vs_ort <= 1e-4f);

    // Batch 1 from the same (dynamic-batch) file gives the first sample's result.
    Shape one = input.shape;
    one[0] = 1;
    const size_t per_sample = input.data.size() / static_cast<size_t>(input.shape[0]);
    const Tensor first(one, std::vector<float>(input.data.begin(), input.data.begin() + static_cast<long>(per_sample)));
    const Tensor single = run(model, first);
    const size_t out_per_sample = single.data.size();
    float batch_diff = 0.0f;
    for (size_t i = 0; i < out_per_sample; ++i) batch_diff = std::max(batch_diff, std::abs(single.data[i] - got.data[i]));
    CHECK(batch_diff <= 1e-4f);
    ++checked;
  }
  CHECK(checked == 2);  // opsets 11 and 13
}

}  // namespace

TEST_CASE("torchvision resnet50 via ONNX") { check_model("resnet50"); }
TEST_CASE("torchvision googlenet via ONNX") { check_model("googlenet"); }
TEST_CASE("torchvision vgg16 via ONNX") { check_model("vgg16"); }
TEST_CASE("torchvision mobilenet_v2 via ONNX") { check_model("mobilenet_v2"); }
TEST_CASE("torchvision fcn_resnet50 via ONNX") { check_model("fcn_resnet50"); }
