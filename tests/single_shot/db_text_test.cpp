// PP-OCRv4 text detection (PaddleOCR's ONNX model, tools/fetch_assets.sh) on opencv-doc's
// scene-text photos against the generator's DBPostProcess (cv2 + pyclipper, as PaddleOCR)
// on ONNX Runtime's probability maps: the postprocess alone on ORT's map gives the same
// boxes (corners within 1 px, scores within 1e-4); end to end, Osprey's own map stays
// within 5e-4 of ORT's and gives the same boxes within 1 px; osprey-detect draws them.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "detect/db_text.hpp"
#include "detect/detector.hpp"
#include "references.hpp"

using namespace osprey;
using namespace osprey::detect;
using namespace osprey::single_shot::test;
namespace fs = std::filesystem;

namespace {

const std::string kConfig = std::string(OSPREY_SOURCE_DIR) + "/configs/ppocr_v4_det.json";

// Each reference box (4 corners + score per row) matched, in order, by a box with every
// corner within `tol` px; returns the largest corner error.
float check_boxes(const std::vector<TextBox>& got, const Tensor& ref, float tol, float score_tol) {
  const auto n = static_cast<size_t>(ref.shape[0]);
  REQUIRE(got.size() == n);
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* r = ref.data.data() + i * 9;
    for (size_t k = 0; k < 4; ++k) {
      worst = std::max({worst, std::abs(got[i].corners[k].x - r[2 * k]), std::abs(got[i].corners[k].y - r[2 * k + 1])});
    }
    CHECK(std::abs(got[i].score - r[8]) <= score_tol);
  }
  CHECK(worst <= tol);
  return worst;
}

}  // namespace

TEST_CASE("DB postprocess matches PaddleOCR's DBPostProcess on ORT's maps") {
  for (const auto& im : ref_case("db_text").at("images")) {
    CAPTURE(im.at("name").get<std::string>());
    const Tensor prob = ref_array(im.at("prob"));
    const Tensor image = ref_array(im.at("image"));
    const std::vector<TextBox> boxes = db_text_boxes(prob.data, prob.shape[0], prob.shape[1], image.shape[1], image.shape[2], DbParams{});
    const float err = check_boxes(boxes, ref_array(im.at("boxes")), 1.0f, 1e-4f);
    MESSAGE(boxes.size() << " boxes, max corner error " << err << " px");
  }
}

TEST_CASE("PP-OCRv4 text boxes end to end match the reference") {
  auto detector = DbText::load(kConfig, DbParams{});
  for (const auto& im : ref_case("db_text").at("images")) {
    CAPTURE(im.at("name").get<std::string>());
    const Tensor image = ref_array(im.at("image"));
    const Tensor ref_map = ref_array(im.at("prob"));
    Tensor map;
    const std::vector<TextBox> boxes = detector->text_boxes(image, &map);
    REQUIRE(map.shape == Shape{1, 1, ref_map.shape[0], ref_map.shape[1]});
    float map_err = 0;
    for (size_t i = 0; i < map.data.size(); ++i) map_err = std::max(map_err, std::abs(map.data[i] - ref_map.data[i]));
    CHECK(map_err <= 5e-4f);
    const float err = check_boxes(boxes, ref_array(im.at("boxes")), 1.0f, 1e-3f);
    MESSAGE(boxes.size() << " boxes, map error " << map_err << ", max corner error " << err << " px");
  }
  // scenetext01's sign: NOTICE / DOUBLE / PARKING / PROHIBITED / AT ALL TIMES.
  const Tensor sign = ref_array(ref_case("db_text").at("images")[0].at("image"));
  const Detections d = detector->detect(std::span<const Tensor>(&sign, 1))[0];
  CHECK(d.size() >= 5);
  for (size_t i = 0; i < d.size(); ++i) {
    CHECK(d.labels[i] == 0);
    REQUIRE(d.keypoints[i].size() == 4);
    if (i > 0) CHECK(d.scores[i] <= d.scores[i - 1]);
  }
  CHECK(detector->config().labels.at(0) == "text");
}

TEST_CASE("DetResizeForTest sizes and the round-join offset") {
  // 1000x750 (w x h): the longer side to 960 (ratio 0.96), the shorter 720: 720 / 32 = 22.5 rounds to even, 22 -> 704.
  CHECK(db_input_size(750, 1000, DbParams{}) == std::array<int64_t, 2>{704, 960});
  CHECK(db_input_size(10, 20, DbParams{}) == std::array<int64_t, 2>{32, 32});
  // A 40x10 rectangle grown by 3.3: every offset vertex within the rectangle grown by 3.3 (+0.5 rounding).
  const std::vector<std::array<float, 2>> rect{{10.7f, 20.2f}, {50.9f, 20.2f}, {50.9f, 30.8f}, {10.7f, 30.8f}};
  const auto grown = clipper_offset_round(rect, 3.3);
  // pyclipper 1.2.1 gives 12 vertices, extremes x 7..53, y 17..33.
  CHECK(grown.size() == 12);
  int64_t x0 = 1000, x1 = -1000, y0 = 1000, y1 = -1000;
  for (const auto& p : grown) x0 = std::min(x0, p[0]), x1 = std::max(x1, p[0]), y0 = std::min(y0, p[1]), y1 = std::max(y1, p[1]);
  CHECK(x0 == 7);
  CHECK(x1 == 53);
  CHECK(y0 == 17);
  CHECK(y1 == 33);
}

TEST_CASE("osprey-detect finds the sign's text lines") {
  const fs::path dir = fs::path(OSPREY_BINARY_DIR) / "single_shot_cli" / "ocr";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string photo = std::string(OSPREY_SOURCE_DIR) + "/assets/photos/text/scenetext01.jpg";
  const std::string cmd = std::string(OSPREY_DETECT) + " --model '" + kConfig + "' --threads 2 '" + photo + "' --draw '" +
                          dir.string() + "' >" + (dir / "out.json").string() + " 2>" + (dir / "err.txt").string();
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::ifstream in(dir / "out.json");
  const auto line = nlohmann::json::parse(in);
  const auto& dets = line.at("detections");
  CHECK(dets.size() >= 5);
  for (const auto& d : dets) CHECK(d.at("label") == "text");
  CHECK(fs::file_size(dir / "scenetext01.jpg") > 1000);
}
