// Real, trained ONNX models on real photos, against ONNX Runtime on the same inputs:
// PaddleOCR's PP-OCRv4 text detector (weights in Constant nodes, HardSigmoid, hard-swish
// spelled as Add/Clip/Mul/Div, transposed convs, nearest Resize) on opencv-doc's scene
// text, and its text-direction classifier on a sign crop, upright and upside down.
// Tolerance: probabilities within 1e-4 (absolute); the detector's text mask (p > 0.3,
// PaddleOCR's threshold) agrees on all but 1e-4 of the pixels.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/npy.hpp"
#include "model/onnx/onnx_model.hpp"

using namespace osprey;

namespace {

nlohmann::json cases() {
  std::ifstream in(std::string(OSPREY_ONNX_REAL) + "/cases.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

Tensor run_case(const nlohmann::json& c) {
  const OnnxModel model(c["model"].get<std::string>());
  const Tensor input = read_npy(c["input"].get<std::string>());
  auto graph = std::make_shared<Graph>(model.build({input.shape}));
  optimize(*graph, {input.shape});
  Executor executor{std::shared_ptr<const Graph>(graph)};
  return executor.run(input).at(0);
}

}  // namespace

TEST_CASE("PP-OCRv4 text detector on scene-text photos matches ONNX Runtime") {
  int checked = 0;
  for (const auto& c : cases()) {
    if (c["name"].get<std::string>().rfind("det_", 0) != 0) continue;
    const Tensor got = run_case(c);
    const Tensor want = read_npy(c["expected"][0].get<std::string>());
    REQUIRE(got.shape == want.shape);
    float max_err = 0.0f;
    int64_t mask_diff = 0, text = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
      max_err = std::max(max_err, std::abs(got.data[i] - want.data[i]));
      mask_diff += (got.data[i] > 0.3f) != (want.data[i] > 0.3f);
      text += want.data[i] > 0.3f;
    }
    MESSAGE(c["name"].get<std::string>(), ": max abs diff ", max_err, ", text pixels ", text, ", mask disagreements ", mask_diff);
    CHECK(max_err <= 1e-4f);
    CHECK(mask_diff <= static_cast<int64_t>(got.data.size() / 10000));
    CHECK(text > 1000);  // the photos do contain text
    ++checked;
  }
  CHECK(checked == 3);
}

TEST_CASE("PP-OCR text direction classifier: upright and upside-down sign") {
  int checked = 0;
  for (const auto& c : cases()) {
    const std::string name = c["name"];
    if (name.rfind("cls_", 0) != 0) continue;
    const Tensor got = run_case(c);
    const Tensor want = read_npy(c["expected"][0].get<std::string>());
    REQUIRE(got.shape == want.shape);
    for (size_t i = 0; i < got.data.size(); ++i) CHECK(std::abs(got.data[i] - want.data[i]) <= 1e-4f);
    const bool flipped = name.find("flipped") != std::string::npos;
    CHECK(got.data[flipped ? 1 : 0] > 0.9f);  // class 0 = 0 degrees, class 1 = 180 degrees
    ++checked;
  }
  CHECK(checked == 2);
}
