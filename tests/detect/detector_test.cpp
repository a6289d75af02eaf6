// The detector interface: select_detections (the NMS + top-k every detector ends with) on
// hand-made candidates, and load_detector's choice of pipeline and its errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "detect/detector.hpp"

using namespace osprey;
using namespace osprey::detect;
namespace fs = std::filesystem;

namespace {

// Two overlapping boxes of class 1 (IoU 90 / 100 = 0.9), one of class 2 on top of them, one far away.
const std::vector<Box> kBoxes{{0, 0, 10, 10}, {0, 0, 10, 9}, {0, 0, 10, 10}, {50, 50, 60, 60}};
const std::vector<float> kScores{0.9f, 0.8f, 0.7f, 0.6f};
const std::vector<int64_t> kLabels{1, 1, 2, 1};

std::string write_config(const std::string& name, const std::string& text) {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "detector_test";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

std::string load_error(const std::string& config) {
  try {
    load_detector(config);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("select_detections suppresses per class across classes or softly") {
  SelectionParams p;
  p.iou_thresh = 0.5;
  Detections d = select_detections(kBoxes, kScores, kLabels, p);
  CHECK(d.labels == std::vector<int64_t>{1, 2, 1});
  CHECK(d.scores == std::vector<float>{0.9f, 0.7f, 0.6f});

  p.suppression = Suppression::Agnostic;
  d = select_detections(kBoxes, kScores, kLabels, p);
  CHECK(d.scores == std::vector<float>{0.9f, 0.6f});

  p.suppression = Suppression::Soft;  // Gaussian, sigma 0.5: 0.8 * exp(-0.9^2 / 0.5) = 0.158
  p.score_thresh = 0.05f;
  d = select_detections(kBoxes, kScores, kLabels, p);
  REQUIRE(d.size() == 4);
  CHECK(d.scores[0] == 0.9f);
  CHECK(d.scores[3] == doctest::Approx(0.8 * std::exp(-0.9 * 0.9 / 0.5)).epsilon(1e-5));

  p.suppression = Suppression::PerClass;
  p.max_detections = 2;
  d = select_detections(kBoxes, kScores, kLabels, p);
  CHECK(d.scores == std::vector<float>{0.9f, 0.7f});
  CHECK_THROWS_AS(select_detections(kBoxes, kScores, std::vector<int64_t>{1}, p), std::invalid_argument);
}

TEST_CASE("DetectorOptions override only what the user set") {
  SelectionParams defaults;
  defaults.score_thresh = 0.25f;
  defaults.iou_thresh = 0.45;
  defaults.max_detections = 300;
  DetectorOptions o;
  o.iou_thresh = 0.7;
  const SelectionParams p = o.apply(defaults);
  CHECK(p.score_thresh == 0.25f);
  CHECK(p.iou_thresh == 0.7);
  CHECK(p.max_detections == 300);
  CHECK(p.suppression == Suppression::PerClass);
}

TEST_CASE("load_detector names the config when it describes no detector") {
  const std::string classifier = std::string(OSPREY_SOURCE_DIR) + "/configs/resnet50.json";
  CHECK(load_error(classifier).find("resnet50.json: not a detector") != std::string::npos);
  const std::string unknown = write_config("unknown_kind.json", R"({"architecture": {"family": "resnet"}, "detector": {"kind": "yolo9000"}})");
  CHECK(load_error(unknown).find("unknown kind 'yolo9000'") != std::string::npos);
  const std::string no_kind = write_config("no_kind.json", R"({"architecture": {"family": "resnet"}, "detector": {"thresh": 1}})");
  CHECK(load_error(no_kind).find("no_kind.json: detector: expected an object with a \"kind\"") != std::string::npos);
  CHECK(load_error(write_config("missing.json", "")).find("missing.json") != std::string::npos);
}

// The tools' preprocessing flags reach a detector as DetectorOptions::load.input_json; a kind
// refuses those it would ignore (before loading anything), naming the flag and the kind.
TEST_CASE("load_detector refuses a preprocessing flag the kind ignores naming the flag and the kind") {
  auto error = [](const std::string& config, const std::string& input_json) {
    DetectorOptions options;
    options.load.input_json = input_json;
    try {
      load_detector(std::string(OSPREY_SOURCE_DIR) + "/configs/" + config, "", options);
    } catch (const ModelError& e) {
      const std::string message = e.what();
      MESSAGE(message);
      return message;
    }
    return std::string();
  };
  // R-CNN and SSD take sizes and normalisation from their architecture: every flag is refused.
  std::string e = error("ssd300_vgg16.json", R"({"size": 512})");
  CHECK(e.starts_with("--input-size: the ssd detector ("));
  CHECK(e.find("ssd300_vgg16.json) does not use input.size (it takes none of the preprocessing flags") != std::string::npos);
  e = error("fasterrcnn_resnet50_fpn.json", R"({"mean": [0.5, 0.5, 0.5]})");
  CHECK(e.starts_with("--mean: the faster_rcnn detector ("));
  CHECK(error("ppocr_v4_det.json", R"({"resize_shorter": 300})").starts_with("--resize-shorter: the db_text detector ("));
  // NanoDet uses stretched_input's size, channels and normalisation, never --resize.
  e = error("nanodet_coco.json", R"({"resize": "stretch"})");
  CHECK(e.starts_with("--resize: the nanodet detector ("));
  CHECK(e.find("it takes only --input-size, --channels, --scale, --mean, --std") != std::string::npos);
  // A YOLOv8 ONNX config takes --input-size only.
  const std::string yolov8 = write_config("yolov8.json", R"({"task": "detect", "architecture": {"onnx": "none.onnx"}, "detector": {"kind": "yolov8"}})");
  DetectorOptions options;
  options.load.input_json = R"({"scale": 1})";
  try {
    load_detector(yolov8, "", options);
    FAIL("expected a ModelError");
  } catch (const ModelError& x) {
    CHECK(std::string(x.what()).starts_with("--scale: the yolov8 detector ("));
  }
}
