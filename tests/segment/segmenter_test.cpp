// The semantic segmenter's settings and its one-channel (probability map) path, the shipped
// FCN configs, and the optional aux head of torchvision's FCN.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "model/model.hpp"
#include "model/safetensors.hpp"
#include "segment/segmenter.hpp"

using namespace osprey;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "segment_unit";
  fs::create_directories(dir);
  return dir;
}

std::string write_config(const std::string& name, const nlohmann::json& doc) {
  const fs::path path = scratch_dir() / (name + ".json");
  std::ofstream(path) << doc.dump(1);
  return path.string();
}

}  // namespace

TEST_CASE("resize of the shorter side follows torchvision's Resize") {
  CHECK(segment::resized_shorter_side(240, 320, 160) == std::array<int64_t, 2>{160, 213});
  CHECK(segment::resized_shorter_side(320, 240, 160) == std::array<int64_t, 2>{213, 160});
  CHECK(segment::resized_shorter_side(500, 500, 520) == std::array<int64_t, 2>{520, 520});
}

TEST_CASE("shipped FCN configs parse with VOC labels") {
  for (const char* name : {"fcn_resnet50", "fcn_resnet101", "fcn32s_vgg16", "fcn16s_vgg16", "fcn8s_vgg16"}) {
    CAPTURE(name);
    const std::string path = std::string(OSPREY_SOURCE_DIR) + "/configs/" + name + ".json";
    Graph graph;
    const ModelConfig cfg = read_config(path, &graph);
    CHECK(cfg.task == "segment");
    CHECK(cfg.num_classes == 21);
    CHECK(cfg.labels.size() == 21);
    CHECK(graph.output_names == std::vector<std::string>{"out"});
    const segment::SegmenterSettings s = segment::read_segmenter_settings(path);
    const bool vgg = std::string(name).find("vgg") != std::string::npos;
    CHECK(s.resize_shorter == (vgg ? 0 : 520));
    CHECK(s.size_divisible == (vgg ? 32 : 1));
  }
}

TEST_CASE("fcn_resnet50 with aux binds the aux head strictly") {
  const std::string weights = std::string(OSPREY_SEGMENT_REFS) + "/fcn_resnet50.safetensors";
  const std::string with_aux = write_config("aux", {{"task", "segment"}, {"architecture", {{"family", "fcn_resnet50"}, {"aux", true}}}, {"weights", weights}});
  Graph graph;
  read_config(with_aux, &graph);
  CHECK(graph.output_names == std::vector<std::string>{"out", "aux"});
  auto model = Model::load(with_aux);  // every aux_classifier.* tensor is used
  CHECK(model->config().num_classes == 21);
}

TEST_CASE("one-channel outputs are probability maps thresholded to class 1") {
  // score = R - 0.5 (a 1x1 conv reading the red channel): the left half of the image is red
  // 0.8, the right half 0.2.
  const fs::path weights = scratch_dir() / "binary.safetensors";
  write_safetensors(weights.string(), {{"score.weight", Tensor(Shape{1, 3, 1, 1}, {1, 0, 0})}, {"score.bias", Tensor(Shape{1}, {-0.5f})}});
  const nlohmann::json graph = nlohmann::json::parse(R"({"graph": {"input_channels": 3,
      "layers": [{"name": "score", "op": "conv", "out_channels": 1, "kernel": 1}]}})");
  nlohmann::json doc = {{"task", "segment"},
                        {"architecture", graph},
                        {"input", {{"size", 8}, {"mean", {0, 0, 0}}, {"std", {1, 1, 1}}}},
                        {"weights", weights.string()}};
  Tensor image(Shape{3, 4, 6});
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) image.data[static_cast<size_t>(y * 6 + x)] = x < 3 ? 0.8f : 0.2f;

  auto logits = segment::Segmenter::load(write_config("binary_logits", doc));
  const auto a = logits->segment(image);
  CHECK(a.classes[0] == 1);
  CHECK(a.classes[5] == 0);
  CHECK(a.logits.data[0] == doctest::Approx(1.0 / (1.0 + std::exp(-0.3))));

  doc["segmenter"] = {{"sigmoid", false}, {"threshold", 0.2}};
  auto probabilities = segment::Segmenter::load(write_config("binary_probabilities", doc));
  const auto b = probabilities->segment(image);
  CHECK(b.classes[0] == 1);  // 0.3 > 0.2
  CHECK(b.classes[5] == 0);  // -0.3
  doc["segmenter"] = {{"sigmoid", false}, {"threshold", 0.35}};
  CHECK(segment::Segmenter::load(write_config("binary_high", doc))->segment(image).classes[0] == 0);
}

TEST_CASE("stretched inputs and channels-last outputs come back at the image size") {
  // Two classes: 0 scores 0, 1 scores R - 0.5; the graph answers [1, H, W, 2] (TF.js-style).
  const fs::path weights = scratch_dir() / "two_class.safetensors";
  write_safetensors(weights.string(), {{"score.weight", Tensor(Shape{2, 3, 1, 1}, {0, 0, 0, 1, 0, 0})},
                                       {"score.bias", Tensor(Shape{2}, {0.0f, -0.5f})}});
  const nlohmann::json graph = nlohmann::json::parse(R"({"graph": {"input_channels": 3, "layers": [
      {"name": "score", "op": "conv", "out_channels": 2, "kernel": 1},
      {"name": "nhwc", "op": "transpose", "perm": [0, 2, 3, 1]}]}})");
  const nlohmann::json doc = {{"task", "segment"},
                              {"architecture", graph},
                              {"input", {{"size", 8}, {"mean", {0, 0, 0}}, {"std", {1, 1, 1}}}},
                              {"weights", weights.string()},
                              {"segmenter", {{"stretch", true}}}};
  Tensor image(Shape{3, 4, 6});
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) image.data[static_cast<size_t>(y * 6 + x)] = x < 3 ? 0.8f : 0.2f;
  const auto r = segment::Segmenter::load(write_config("two_class", doc))->segment(image);
  CHECK(r.height == 4);
  CHECK(r.width == 6);
  CHECK(r.logits.shape == Shape{2, 4, 6});
  CHECK(r.classes[0] == 1);
  CHECK(r.classes[5] == 0);
  CHECK(r.classes[18] == 1);
  CHECK(r.classes[23] == 0);
}

TEST_CASE("segmenter settings are read strictly") {
  const std::string weights = std::string(OSPREY_SEGMENT_REFS) + "/fcn_resnet50.safetensors";
  const std::string bad = write_config("bad_divisible", {{"task", "segment"}, {"architecture", {{"family", "fcn_resnet50"}}},
                                                         {"weights", weights}, {"segmenter", {{"size_divisible", 0}}}});
  CHECK_THROWS_WITH_AS(segment::read_segmenter_settings(bad), doctest::Contains("size_divisible"), ModelError);
  const std::string classify = write_config("not_segment", {{"architecture", {{"family", "fcn_resnet50"}}}, {"weights", weights}});
  CHECK_THROWS_WITH_AS(segment::Segmenter::load(classify), doctest::Contains("task"), ModelError);
}
