// The TF.js graph reader on small hand-written models: weight dequantisation, errors that
// name the file and the problem, TensorFlow's SAME padding (odd pixel at the bottom/right)
// and the NHWC <-> NCHW bookkeeping.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "engine/executor.hpp"
#include "engine/passes.hpp"
#include "model/tfjs/tfjs_model.hpp"

using namespace osprey;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const json kSame = {{"s", "U0FNRQ=="}};    // base64("SAME")
const json kValid = {{"s", "VkFMSUQ="}};   // base64("VALID")
const json kNhwc = {{"s", "TkhXQw=="}};    // base64("NHWC")

json placeholder(const std::string& name, std::vector<int> dims) {
  json d = json::array();
  for (int v : dims) d.push_back({{"size", std::to_string(v)}});
  return {{"name", name}, {"op", "Placeholder"}, {"attr", {{"shape", {{"shape", {{"dim", d}}}}}, {"dtype", {{"type", "DT_FLOAT"}}}}}};
}

json list_i(std::vector<int> v) {
  json l = json::array();
  for (int x : v) l.push_back(std::to_string(x));
  return {{"list", {{"i", l}}}};
}

// Writes DIR/model.json and DIR/model.bin; returns the model.json path.
std::string write_model(const std::string& name, const json& nodes, const json& weights, const std::string& bin) {
  const fs::path dir = fs::temp_directory_path() / ("osprey_tfjs_" + name);
  fs::create_directories(dir);
  json doc = {{"format", "graph-model"},
              {"modelTopology", {{"node", nodes}}},
              {"weightsManifest", json::array({{{"paths", {"model.bin"}}, {"weights", weights}}})}};
  std::ofstream(dir / "model.json") << doc.dump();
  std::ofstream(dir / "model.bin", std::ios::binary).write(bin.data(), static_cast<std::streamsize>(bin.size()));
  return (dir / "model.json").string();
}

std::string floats(std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

std::vector<Tensor> run(const Graph& g, const Tensor& x) {
  auto graph = std::make_shared<Graph>(g);
  optimize(*graph, {x.shape});
  Executor ex{std::shared_ptr<const Graph>(graph)};
  return ex.run(x);
}

// x [1, 4, 5, 1] NHWC -> Conv2D 2x2 SAME stride 1, weights 1, 10, 100, 1000.
std::string same_conv_model(int stride) {
  json nodes = json::array({placeholder("x", {1, 4, 5, 1}),
                            {{"name", "w"}, {"op", "Const"}},
                            {{"name", "conv"}, {"op", "Conv2D"}, {"input", {"x", "w"}},
                             {"attr", {{"padding", kSame}, {"data_format", kNhwc}, {"strides", list_i({1, stride, stride, 1})}}}}});
  json weights = json::array({{{"name", "w"}, {"shape", {2, 2, 1, 1}}, {"dtype", "float32"}}});
  return write_model("same_s" + std::to_string(stride), nodes, weights, floats({1, 10, 100, 1000}));
}

}  // namespace

TEST_CASE("tf_same_padding puts the odd pixel at the end") {
  CHECK(tf_same_padding(5, 3, 2) == std::array<int, 2>{1, 1});  // out 3, total 2
  CHECK(tf_same_padding(6, 3, 2) == std::array<int, 2>{0, 1});  // out 3, total 1
  CHECK(tf_same_padding(7, 1, 2) == std::array<int, 2>{0, 0});
  CHECK(tf_same_padding(4, 4, 1) == std::array<int, 2>{1, 2});  // out 4, total 3
  CHECK(tf_same_padding(5, 3, 1, 2) == std::array<int, 2>{2, 2});  // dilated kernel spans 5
  CHECK(tf_same_padding(8, 3, 2) == std::array<int, 2>{0, 1});
  CHECK(tf_same_padding(9, 2, 3) == std::array<int, 2>{0, 0});  // out 3, (3-1)*3+2 = 8 < 9
}

TEST_CASE("SAME conv pads bottom and right on an NHWC input") {
  TfjsModel model(same_conv_model(1));
  // Engine input NCHW [1, 1, 4, 5], value = 10 * row + column + 1.
  Tensor x(Shape{1, 1, 4, 5});
  for (int i = 0; i < 20; ++i) x.data[static_cast<size_t>(i)] = static_cast<float>((i / 5) * 10 + i % 5 + 1);
  const auto out = run(model.build(x.shape), x);
  REQUIRE(out.size() == 1);
  CHECK(out[0].shape == Shape{1, 4, 5, 1});  // TensorFlow's NHWC
  auto at = [&](int r, int c) { return r < 4 && c < 5 ? x.data[static_cast<size_t>(r * 5 + c)] : 0.0f; };
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) {
      const float want = at(r, c) + 10 * at(r, c + 1) + 100 * at(r + 1, c) + 1000 * at(r + 1, c + 1);
      CHECK(out[0].data[static_cast<size_t>(r * 5 + c)] == doctest::Approx(want));
    }
}

TEST_CASE("SAME conv with stride 2 on odd sizes") {
  TfjsModel model(same_conv_model(2));
  Tensor x(Shape{1, 1, 4, 5});
  for (int i = 0; i < 20; ++i) x.data[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  const auto out = run(model.build(x.shape), x);
  // out = ceil(4/2) x ceil(5/2) = 2 x 3; width 5: total pad (3-1)*2+2-5 = 1, all on the right.
  REQUIRE(out[0].shape == Shape{1, 2, 3, 1});
  auto at = [&](int r, int c) { return r < 4 && c < 5 ? x.data[static_cast<size_t>(r * 5 + c)] : 0.0f; };
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      const int y = 2 * r, xx = 2 * c;
      const float want = at(y, xx) + 10 * at(y, xx + 1) + 100 * at(y + 1, xx) + 1000 * at(y + 1, xx + 1);
      CHECK(out[0].data[static_cast<size_t>(r * 3 + c)] == doctest::Approx(want));
    }
}

TEST_CASE("float16 and uint8 weights are dequantised") {
  json nodes = json::array({placeholder("x", {1, 2, 2, 3}), {{"name", "h"}, {"op", "Const"}}, {{"name", "q"}, {"op", "Const"}}});
  json weights = json::array({{{"name", "h"}, {"shape", {2}}, {"dtype", "float32"}, {"quantization", {{"dtype", "float16"}, {"original_dtype", "float32"}}}},
                              {{"name", "q"}, {"shape", {3}}, {"dtype", "float32"}, {"quantization", {{"dtype", "uint8"}, {"min", -1.0}, {"scale", 0.5}}}}});
  const std::string bin = std::string("\x00\x3c\x00\xc0", 4) + std::string("\x00\x01\x04", 3);  // 1.0, -2.0; codes 0, 1, 4
  TfjsModel model(write_model("quant", nodes, weights, bin));
  CHECK(model.weights().at("h").floats == std::vector<float>{1.0f, -2.0f});
  CHECK(model.weights().at("q").floats == std::vector<float>{-1.0f, -0.5f, 1.0f});
}

TEST_CASE("a truncated weights file names the file and both sizes") {
  json nodes = json::array({placeholder("x", {1, 4, 4, 1}), {{"name", "w"}, {"op", "Const"}}});
  json weights = json::array({{{"name", "w"}, {"shape", {2, 2, 1, 1}}, {"dtype", "float32"}}});
  const std::string path = write_model("truncated", nodes, weights, std::string(10, '\0'));
  try {
    TfjsModel model(path);
    FAIL("no error");
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("model.bin") != std::string::npos);
    CHECK(msg.find("needs 16 bytes") != std::string::npos);
    CHECK(msg.find("holds 10") != std::string::npos);
  }
}

TEST_CASE("an unknown op names the op and the node") {
  json nodes = json::array({placeholder("x", {1, 4, 4, 1}), {{"name", "odd_one"}, {"op", "Erf"}, {"input", {"x"}}}});
  TfjsModel model(write_model("unknown_op", nodes, json::array(), ""));
  try {
    model.build({1, 1, 4, 4}, {"odd_one"});
    FAIL("no error");
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("'odd_one'") != std::string::npos);
    CHECK(msg.find("Erf") != std::string::npos);
  }
  // Unused nodes are not converted: cutting the graph before them is fine.
  CHECK_NOTHROW(model.build({1, 1, 4, 4}, {"x"}));
}

TEST_CASE("transposes are bookkeeping and reshapes see TensorFlow's order") {
  // x NCHW [1, 2, 5, 5] (as onnx-tf graphs take it) -> Transpose to NHWC -> Reshape [1, 50]:
  // the result must be the NHWC element order.
  json nodes = json::array({placeholder("x", {1, 2, 5, 5}),
                            {{"name", "perm"}, {"op", "Const"}},
                            {{"name", "shape"}, {"op", "Const"}},
                            {{"name", "t"}, {"op", "Transpose"}, {"input", {"x", "perm"}}},
                            {{"name", "r"}, {"op", "Reshape"}, {"input", {"t", "shape"}}}});
  json weights = json::array({{{"name", "perm"}, {"shape", {4}}, {"dtype", "int32"}}, {{"name", "shape"}, {"shape", {2}}, {"dtype", "int32"}}});
  std::string bin(24, '\0');
  const int32_t perm[4] = {0, 2, 3, 1}, shape[2] = {1, -1};
  std::memcpy(bin.data(), perm, 16);
  std::memcpy(bin.data() + 16, shape, 8);
  TfjsModel model(write_model("transpose", nodes, weights, bin));
  CHECK_FALSE(model.input().nhwc);
  Tensor x(Shape{1, 2, 5, 5});
  for (int i = 0; i < 50; ++i) x.data[static_cast<size_t>(i)] = static_cast<float>(i);
  const auto graph = model.build(x.shape, {"r"});
  const auto out = run(graph, x);
  REQUIRE(out[0].shape == Shape{1, 50});
  for (int h = 0; h < 5; ++h)
    for (int w = 0; w < 5; ++w)
      for (int c = 0; c < 2; ++c) CHECK(out[0].data[static_cast<size_t>((h * 5 + w) * 2 + c)] == x.data[static_cast<size_t>((c * 5 + h) * 5 + w)]);
}
