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
